//! `users`: administrators and third-party providers.

use crate::db::DbConnection;
use diesel::prelude::*;

use crate::db::now;
use crate::db::rows::FirstRow;
use crate::db::schema::users;
use crate::domain::accounts::{AccountStatus, Role};
use crate::domain::ids::UserId;

#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = users)]
pub struct User {
    pub id: UserId,
    pub username: String,
    pub username_key: String,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub organization: String,
    pub password_hash: String,
    pub role: Role,
    pub status: AccountStatus,
    pub terms_accepted_at: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
    /// Why an administrator rejected the sign-up, shown to the person.
    pub decision_reason: Option<String>,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = users)]
pub struct NewUser<'a> {
    pub username: &'a str,
    pub username_key: &'a str,
    pub email: &'a str,
    pub first_name: &'a str,
    pub last_name: &'a str,
    pub organization: &'a str,
    pub password_hash: &'a str,
    pub role: Role,
    pub status: AccountStatus,
    pub terms_accepted_at: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// One page of the admin's user list.
pub struct UserPage {
    pub users: Vec<User>,
    pub total: i64,
}

impl User {
    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }

    pub fn display_name(&self) -> String {
        format!("{} {}", self.first_name, self.last_name)
    }

    pub fn find(conn: &mut DbConnection, id: UserId) -> QueryResult<Option<User>> {
        users::table.find(id).first_row(conn)
    }

    pub fn find_by_key(conn: &mut DbConnection, key: &str) -> QueryResult<Option<User>> {
        users::table
            .filter(users::username_key.eq(key))
            .first_row(conn)
    }

    pub fn insert(conn: &mut DbConnection, new: &NewUser) -> QueryResult<User> {
        crate::on_each!(conn, |c| diesel::insert_into(users::table)
            .values(new)
            .returning(User::as_returning())
            .get_result(c))
    }

    pub fn admin_exists(conn: &mut DbConnection) -> QueryResult<bool> {
        diesel::select(diesel::dsl::exists(
            users::table.filter(users::role.eq(Role::Admin)),
        ))
        .get_result(conn)
    }

    /// The administrator created first, when there is one.
    pub fn first_admin(conn: &mut DbConnection) -> QueryResult<Option<User>> {
        users::table
            .filter(users::role.eq(Role::Admin))
            .order(users::id)
            .first_row(conn)
    }

    /// Users newest first, optionally only those of one status.
    pub fn page(
        conn: &mut DbConnection,
        status: Option<AccountStatus>,
        offset: i64,
        limit: i64,
    ) -> QueryResult<UserPage> {
        let mut query = users::table.select(User::as_select()).into_boxed();
        let mut count = users::table.count().into_boxed();
        if let Some(status) = status {
            query = query.filter(users::status.eq(status));
            count = count.filter(users::status.eq(status));
        }
        let users = query
            .order(users::id.desc())
            .offset(offset)
            .limit(limit)
            .load(conn)?;
        Ok(UserPage {
            users,
            total: count.get_result(conn)?,
        })
    }

    /// An administrator's decision: the new status and, for a rejection, its reason (any
    /// other decision clears an earlier reason).
    pub fn set_decision(
        conn: &mut DbConnection,
        id: UserId,
        status: AccountStatus,
        reason: Option<&str>,
    ) -> QueryResult<usize> {
        diesel::update(users::table.find(id))
            .set((
                users::status.eq(status),
                users::decision_reason.eq(reason),
                users::updated_at.eq(now()),
            ))
            .execute(conn)
    }
}
