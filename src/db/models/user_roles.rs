//! `user_roles`: the roles administrators give users (`regulated-tpp`, `partner`, ...), which
//! key managers' ALLOW/DENY permissions refer to.

use crate::db::DbConnection;
use crate::domain::ids::UserId;
use std::collections::HashMap;

use diesel::prelude::*;

use crate::db::schema::user_roles;

pub struct UserRole;

impl UserRole {
    /// One user's roles, by name.
    pub fn of(conn: &mut DbConnection, user_id: UserId) -> QueryResult<Vec<String>> {
        user_roles::table
            .filter(user_roles::user_id.eq(user_id))
            .order(user_roles::role.asc())
            .select(user_roles::role)
            .load(conn)
    }

    /// The roles of several users (one query), by user id.
    pub fn of_users(
        conn: &mut DbConnection,
        user_ids: &[UserId],
    ) -> QueryResult<HashMap<UserId, Vec<String>>> {
        let rows: Vec<(UserId, String)> = user_roles::table
            .filter(user_roles::user_id.eq_any(user_ids))
            .order((user_roles::user_id.asc(), user_roles::role.asc()))
            .select((user_roles::user_id, user_roles::role))
            .load(conn)?;
        let mut roles: HashMap<UserId, Vec<String>> = HashMap::new();
        for (user_id, role) in rows {
            roles.entry(user_id).or_default().push(role);
        }
        Ok(roles)
    }

    /// Replaces a user's roles.
    pub fn replace(conn: &mut DbConnection, user_id: UserId, roles: &[String]) -> QueryResult<()> {
        diesel::delete(user_roles::table.filter(user_roles::user_id.eq(user_id))).execute(conn)?;
        for role in roles {
            diesel::insert_into(user_roles::table)
                .values((user_roles::user_id.eq(user_id), user_roles::role.eq(role)))
                .execute(conn)?;
        }
        Ok(())
    }
}
