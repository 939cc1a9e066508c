//! `subscriptions`: which application uses which API under which tier, and its status.

use crate::db::DbConnection;
use diesel::prelude::*;

use crate::db::now;
use crate::db::rows::FirstRow;
use crate::db::schema::{apis, applications, subscriptions, throttling_policies, users};
use crate::domain::applications::SubscriptionStatus;
use crate::domain::ids::ApiId;
use crate::domain::ids::ApplicationId;
use crate::domain::ids::UserId;

#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = subscriptions)]
pub struct Subscription {
    pub id: i64,
    pub application_id: ApplicationId,
    pub api_id: ApiId,
    pub policy_id: i64,
    pub status: SubscriptionStatus,
    pub decision_reason: Option<String>,
    pub decided_by: Option<UserId>,
    pub decided_at: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// A subscription as its application's page shows it.
#[derive(Debug, Clone, Queryable)]
pub struct SubscriptionLine {
    pub id: i64,
    pub api_id: ApiId,
    pub api_name: String,
    pub api_version: String,
    pub api_context: String,
    pub tier: String,
    pub status: SubscriptionStatus,
    pub decision_reason: Option<String>,
    pub created_at: i64,
}

/// A subscription waiting for (or given) an administrator's decision.
#[derive(Debug, Clone, Queryable)]
pub struct ApprovalLine {
    pub id: i64,
    pub application_name: String,
    pub owner: String,
    pub organization: String,
    pub api_name: String,
    pub api_version: String,
    pub tier: String,
    pub status: SubscriptionStatus,
    pub decision_reason: Option<String>,
    pub created_at: i64,
}

impl Subscription {
    pub fn find(conn: &mut DbConnection, id: i64) -> QueryResult<Option<Subscription>> {
        subscriptions::table.find(id).first_row(conn)
    }

    pub fn find_for(
        conn: &mut DbConnection,
        application_id: ApplicationId,
        api_id: ApiId,
    ) -> QueryResult<Option<Subscription>> {
        subscriptions::table
            .filter(subscriptions::application_id.eq(application_id))
            .filter(subscriptions::api_id.eq(api_id))
            .first_row(conn)
    }

    pub fn insert(
        conn: &mut DbConnection,
        application_id: ApplicationId,
        api_id: ApiId,
        policy_id: i64,
        status: SubscriptionStatus,
    ) -> QueryResult<Subscription> {
        let now = now();
        crate::on_each!(conn, |c| diesel::insert_into(subscriptions::table)
            .values((
                subscriptions::application_id.eq(application_id),
                subscriptions::api_id.eq(api_id),
                subscriptions::policy_id.eq(policy_id),
                subscriptions::status.eq(status),
                subscriptions::created_at.eq(now),
                subscriptions::updated_at.eq(now),
            ))
            .returning(Subscription::as_returning())
            .get_result(c))
    }

    pub fn delete(conn: &mut DbConnection, id: i64) -> QueryResult<usize> {
        diesel::delete(subscriptions::table.find(id)).execute(conn)
    }

    pub fn decide(
        conn: &mut DbConnection,
        id: i64,
        status: SubscriptionStatus,
        reason: Option<&str>,
        admin_id: UserId,
    ) -> QueryResult<usize> {
        let now = now();
        diesel::update(subscriptions::table.find(id))
            .set((
                subscriptions::status.eq(status),
                subscriptions::decision_reason.eq(reason),
                subscriptions::decided_by.eq(admin_id),
                subscriptions::decided_at.eq(now),
                subscriptions::updated_at.eq(now),
            ))
            .execute(conn)
    }

    /// The subscriptions of one application, by API name.
    pub fn lines_of(
        conn: &mut DbConnection,
        application_id: ApplicationId,
    ) -> QueryResult<Vec<SubscriptionLine>> {
        subscriptions::table
            .inner_join(apis::table)
            .inner_join(throttling_policies::table)
            .filter(subscriptions::application_id.eq(application_id))
            .order((apis::name.asc(), apis::version.asc()))
            .select((
                subscriptions::id,
                apis::id,
                apis::name,
                apis::version,
                apis::context,
                throttling_policies::display_name,
                subscriptions::status,
                subscriptions::decision_reason,
                subscriptions::created_at,
            ))
            .load(conn)
    }

    /// The subscriptions in one status (oldest first), for the administrator's task list.
    pub fn approvals(
        conn: &mut DbConnection,
        status: SubscriptionStatus,
        limit: i64,
    ) -> QueryResult<Vec<ApprovalLine>> {
        subscriptions::table
            .inner_join(applications::table.inner_join(users::table))
            .inner_join(apis::table)
            .inner_join(throttling_policies::table)
            .filter(subscriptions::status.eq(status))
            .order(subscriptions::id.asc())
            .limit(limit)
            .select((
                subscriptions::id,
                applications::name,
                users::username,
                users::organization,
                apis::name,
                apis::version,
                throttling_policies::display_name,
                subscriptions::status,
                subscriptions::decision_reason,
                subscriptions::created_at,
            ))
            .load(conn)
    }
}
