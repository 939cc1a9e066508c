//! Throttling policies: the administrator's list, create, update and delete. A policy that an
//! application, a subscription or an API's tiers still use cannot be deleted.

use crate::db::models::audit_events::Actor;
use crate::db::models::throttling_policies::ThrottlingPolicy;
use crate::db::{self, DbError, DbPool, is_unique_violation};
use crate::domain::policies::{NewPolicy, PolicyChanges, PolicyForm, PolicyLevel, PolicyUses};
use crate::services::{ServiceError, ServiceResult, audited, subject};

/// A policy and what uses it.
#[derive(Debug, Clone)]
pub struct PolicyRow {
    pub policy: ThrottlingPolicy,
    pub uses: PolicyUses,
}

/// Both levels, each by name.
#[derive(Debug, Clone, Default)]
pub struct PolicyOverview {
    pub application: Vec<PolicyRow>,
    pub subscription: Vec<PolicyRow>,
}

const OBJECT_TYPE: &str = "throttling_policy";

fn name_taken(level: PolicyLevel, name: &str) -> ServiceError {
    ServiceError::taken(
        "name",
        format!("A {level} policy named {name} already exists (names are compared ignoring case)."),
    )
}

/// Every policy with its uses (three grouped queries, whatever the number of policies).
pub async fn overview(pool: &DbPool) -> Result<PolicyOverview, DbError> {
    db::run(pool, |conn| {
        let policies = ThrottlingPolicy::list_all(conn)?;
        let uses = ThrottlingPolicy::all_uses(conn)?;
        let mut overview = PolicyOverview::default();
        for policy in policies {
            let row = PolicyRow {
                uses: uses.get(&policy.id).copied().unwrap_or_default(),
                policy,
            };
            match row.policy.level {
                PolicyLevel::Application => overview.application.push(row),
                PolicyLevel::Subscription => overview.subscription.push(row),
            }
        }
        Ok::<_, DbError>(overview)
    })
    .await
}

/// One policy and its uses.
pub async fn find(pool: &DbPool, id: i64) -> ServiceResult<PolicyRow> {
    db::run(pool, move |conn| {
        let policy = ThrottlingPolicy::find(conn, id)?.ok_or(ServiceError::NotFound)?;
        let uses = ThrottlingPolicy::uses(conn, id)?;
        Ok(PolicyRow { policy, uses })
    })
    .await
}

/// Creates a policy; its name must be free at its level.
pub async fn create(
    pool: &DbPool,
    actor: Actor,
    new: NewPolicy,
) -> ServiceResult<ThrottlingPolicy> {
    let about = subject(OBJECT_TYPE, None);
    audited(pool, &actor, "create", about, move |conn, subject| {
        if ThrottlingPolicy::find_by_name_ignoring_case(conn, new.level, &new.name)?.is_some() {
            return Err(name_taken(new.level, &new.name));
        }
        let policy = ThrottlingPolicy::insert(conn, &new).map_err(|e| {
            if is_unique_violation(&e) {
                name_taken(new.level, &new.name)
            } else {
                e.into()
            }
        })?;
        subject.object_id = Some(policy.id);
        let summary = format!("Created {}", described(&policy));
        Ok((policy, summary))
    })
    .await
}

/// Changes a policy's display name, description, quota and approval; level and name stay
/// (the form's `level` and `name`, if sent, are ignored). The form is checked against the
/// stored policy's level.
pub async fn update(
    pool: &DbPool,
    actor: Actor,
    id: i64,
    form: PolicyForm,
) -> ServiceResult<ThrottlingPolicy> {
    let about = subject(OBJECT_TYPE, Some(id));
    audited(pool, &actor, "update", about, move |conn, _| {
        let current = ThrottlingPolicy::find(conn, id)?.ok_or(ServiceError::NotFound)?;
        let changes = PolicyChanges::parse(&form, current.level).map_err(ServiceError::Invalid)?;
        let policy = ThrottlingPolicy::update(conn, id, &changes)?;
        let summary = format!("Updated {}", described(&policy));
        Ok((policy, summary))
    })
    .await
}

/// Deletes a policy that nothing uses.
pub async fn delete(pool: &DbPool, actor: Actor, id: i64) -> ServiceResult<ThrottlingPolicy> {
    let about = subject(OBJECT_TYPE, Some(id));
    audited(pool, &actor, "delete", about, move |conn, _| {
        let policy = ThrottlingPolicy::find(conn, id)?.ok_or(ServiceError::NotFound)?;
        let uses = ThrottlingPolicy::uses(conn, id)?;
        if uses.total() > 0 {
            return Err(ServiceError::Conflict(format!(
                "{} is used by {}; change those first.",
                policy.name,
                uses.describe()
            )));
        }
        ThrottlingPolicy::delete(conn, id)?;
        let summary = format!("Deleted {} policy {}", policy.level, policy.name);
        Ok((policy, summary))
    })
    .await
}

/// A policy as the audit trail names it: "subscription policy Gold (100 requests per minute)".
fn described(policy: &ThrottlingPolicy) -> String {
    format!(
        "{} policy {} ({})",
        policy.level,
        policy.name,
        policy.quota()
    )
}
