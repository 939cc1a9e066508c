//! `applications`: a TPP's applications. Every query for a TPP filters on the owner, so another
//! TPP's application is simply not found.

use crate::db::DbConnection;
use diesel::prelude::*;

use crate::db::rows::FirstRow;
use crate::db::schema::{applications, subscriptions, throttling_policies, users};
use crate::domain::ids::ApplicationId;
use crate::domain::ids::UserId;

#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = applications)]
pub struct Application {
    pub id: ApplicationId,
    pub owner_id: UserId,
    pub name: String,
    pub name_key: String,
    pub description: String,
    pub policy_id: i64,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Insertable, AsChangeset)]
#[diesel(table_name = applications)]
pub struct ApplicationChanges<'a> {
    pub name: &'a str,
    pub name_key: &'a str,
    pub description: &'a str,
    pub policy_id: i64,
    pub updated_at: i64,
}

/// A line of the applications list.
pub struct ApplicationListItem {
    pub application: Application,
    pub policy_display_name: String,
    pub subscriptions: i64,
}

impl Application {
    /// The application when `owner_id` owns it.
    pub fn find_owned(
        conn: &mut DbConnection,
        id: ApplicationId,
        owner_id: UserId,
    ) -> QueryResult<Option<Application>> {
        applications::table
            .find(id)
            .filter(applications::owner_id.eq(owner_id))
            .first_row(conn)
    }

    /// The owner's applications by name (for pickers).
    pub fn all_owned(conn: &mut DbConnection, owner_id: UserId) -> QueryResult<Vec<Application>> {
        applications::table
            .filter(applications::owner_id.eq(owner_id))
            .order(applications::name_key.asc())
            .select(Application::as_select())
            .load(conn)
    }

    /// One page of the owner's applications with their policy and subscription count, in
    /// two queries whatever the page size (each one statement diesel keeps prepared).
    pub fn page_owned(
        conn: &mut DbConnection,
        owner_id: UserId,
        offset: i64,
        limit: i64,
    ) -> QueryResult<(Vec<ApplicationListItem>, i64)> {
        let total = applications::table
            .filter(applications::owner_id.eq(owner_id))
            .count()
            .get_result(conn)?;
        let subscription_count = subscriptions::table
            .filter(subscriptions::application_id.eq(applications::id))
            .count()
            .single_value();
        let rows: Vec<(Application, String, Option<i64>)> = applications::table
            .inner_join(throttling_policies::table)
            .filter(applications::owner_id.eq(owner_id))
            .order(applications::name_key.asc())
            .offset(offset)
            .limit(limit)
            .select((
                Application::as_select(),
                throttling_policies::display_name,
                subscription_count,
            ))
            .load(conn)?;
        let items = rows
            .into_iter()
            .map(
                |(application, policy_display_name, subscriptions)| ApplicationListItem {
                    subscriptions: subscriptions.unwrap_or(0),
                    application,
                    policy_display_name,
                },
            )
            .collect();
        Ok((items, total))
    }

    pub fn insert(
        conn: &mut DbConnection,
        owner_id: UserId,
        values: &ApplicationChanges,
    ) -> QueryResult<Application> {
        crate::on_each!(conn, |c| diesel::insert_into(applications::table)
            .values((
                values,
                applications::owner_id.eq(owner_id),
                applications::created_at.eq(values.updated_at),
            ))
            .returning(Application::as_returning())
            .get_result(c))
    }

    pub fn update(
        conn: &mut DbConnection,
        id: ApplicationId,
        values: &ApplicationChanges,
    ) -> QueryResult<usize> {
        diesel::update(applications::table.find(id))
            .set(values)
            .execute(conn)
    }

    /// Deletes the application; its subscriptions go with it (ON DELETE CASCADE).
    pub fn delete(conn: &mut DbConnection, id: ApplicationId) -> QueryResult<usize> {
        diesel::delete(applications::table.find(id)).execute(conn)
    }

    /// The owner's organisation (or name), as shown to people authorizing the application.
    pub fn owner_label(conn: &mut DbConnection, owner_id: UserId) -> QueryResult<String> {
        let (organization, username): (String, String) = users::table
            .find(owner_id)
            .select((users::organization, users::username))
            .first(conn)?;
        Ok(if organization.is_empty() {
            username
        } else {
            organization
        })
    }
}
