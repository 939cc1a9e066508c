//! `applications`: the applications of organisations. Every query for a person goes through
//! their membership of the application's organisation, so an application of an organisation
//! they are not in is simply not found.

use crate::db::DbConnection;
use diesel::prelude::*;

use crate::db::schema::{
    applications, memberships, organisations, subscriptions, throttling_policies,
};
use crate::domain::ids::{ApplicationId, OrganisationId, UserId};
use crate::domain::organisations::{MemberRole, OrganisationStatus};

#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = applications)]
pub struct Application {
    pub id: ApplicationId,
    /// Who created it (`None` once their account is gone).
    pub owner_id: Option<UserId>,
    pub name: String,
    pub name_key: String,
    pub description: String,
    pub policy_id: i64,
    pub created_at: i64,
    pub updated_at: i64,
    pub organisation_id: Option<OrganisationId>,
}

/// What a member may do with an application: their role in its organisation, and where that
/// organisation stands.
#[derive(Debug, Clone, Copy, Queryable)]
pub struct MemberAccess {
    pub role: MemberRole,
    pub organisation: OrganisationStatus,
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
    /// The application when `user_id` is a member of its organisation, with their access.
    pub fn find_for_member(
        conn: &mut DbConnection,
        id: ApplicationId,
        user_id: UserId,
    ) -> QueryResult<Option<(Application, MemberAccess)>> {
        applications::table
            .inner_join(organisations::table)
            .inner_join(
                memberships::table.on(memberships::organisation_id
                    .nullable()
                    .eq(applications::organisation_id)),
            )
            .filter(applications::id.eq(id))
            .filter(memberships::user_id.eq(user_id))
            .select((
                Application::as_select(),
                (memberships::role, organisations::status),
            ))
            .first(conn)
            .optional()
    }

    /// The organisation's applications by name (for pickers).
    pub fn all_in(
        conn: &mut DbConnection,
        organisation_id: OrganisationId,
    ) -> QueryResult<Vec<Application>> {
        applications::table
            .filter(applications::organisation_id.eq(organisation_id))
            .order(applications::name_key.asc())
            .select(Application::as_select())
            .load(conn)
    }

    /// One page of the organisation's applications with their policy and subscription count,
    /// in two queries whatever the page size (each one statement diesel keeps prepared).
    pub fn page_in(
        conn: &mut DbConnection,
        organisation_id: OrganisationId,
        offset: i64,
        limit: i64,
    ) -> QueryResult<(Vec<ApplicationListItem>, i64)> {
        let total = applications::table
            .filter(applications::organisation_id.eq(organisation_id))
            .count()
            .get_result(conn)?;
        let subscription_count = subscriptions::table
            .filter(subscriptions::application_id.eq(applications::id))
            .count()
            .single_value();
        let rows: Vec<(Application, String, Option<i64>)> = applications::table
            .inner_join(throttling_policies::table)
            .filter(applications::organisation_id.eq(organisation_id))
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

    /// A new application of `organisation_id`, created by `owner_id`.
    pub fn insert(
        conn: &mut DbConnection,
        organisation_id: OrganisationId,
        owner_id: UserId,
        values: &ApplicationChanges,
    ) -> QueryResult<Application> {
        crate::on_each!(conn, |c| diesel::insert_into(applications::table)
            .values((
                values,
                applications::owner_id.eq(owner_id),
                applications::organisation_id.eq(organisation_id),
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
}
