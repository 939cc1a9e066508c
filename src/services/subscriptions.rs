//! Subscriptions: subscribe an application to an API under a tier, unsubscribe, and the
//! administrator's approval of tiers that require it.

use crate::db::DbPool;
use crate::db::models::apis::Api;
use crate::db::models::applications::Application;
use crate::db::models::audit_events::{Actor, Subject};
use crate::db::models::subscriptions::Subscription;
use crate::domain::apis::ApiStatus;
use crate::domain::applications::{SubscriptionStatus, rejection_reason};
use crate::domain::ids::ApiId;
use crate::domain::ids::ApplicationId;

use super::{ServiceError, ServiceResult, audited};

/// What the subscribe form sends.
#[derive(Debug, Default, Clone, serde::Deserialize)]
pub struct SubscribeForm {
    #[serde(default)]
    pub application_id: String,
    #[serde(default)]
    pub throttling_policy: String,
}

fn subject(
    subscription_id: Option<i64>,
    application_id: Option<ApplicationId>,
) -> Subject<'static> {
    Subject {
        object_type: "subscription",
        object_id: subscription_id,
        application_id,
    }
}

/// Subscribes one of the actor's applications to a published API under one of its tiers.
/// A tier that requires approval makes the subscription wait (ON_HOLD) for an administrator.
/// A new subscription, with what its confirmation names.
pub struct Subscribed {
    pub application: Application,
    pub subscription: Subscription,
    /// The API's name and version.
    pub api: String,
    /// The tier's display name.
    pub tier: String,
}

pub async fn subscribe(
    pool: &DbPool,
    actor: Actor,
    api_id: ApiId,
    form: SubscribeForm,
) -> ServiceResult<Subscribed> {
    // An id that is not a number cannot be one of the actor's applications.
    let application_id: ApplicationId = form.application_id.trim().parse().map_err(|_| {
        if form.application_id.trim().is_empty() {
            ServiceError::invalid("application_id", "Choose one of your applications.")
        } else {
            ServiceError::NotFound
        }
    })?;
    let owner = actor.id;
    let subject = self::subject(None, None);
    audited(pool, &actor, "subscribe", subject, move |conn, subject| {
        let api = Api::find(conn, api_id)?
            .filter(|a| a.status.is_listed())
            .ok_or(ServiceError::NotFound)?;
        let application = super::organisations::changeable(conn, application_id, owner)?;
        if !api.status.is_subscribable() {
            // Shown by the application field: the form is how the TPP learns it.
            return Err(ServiceError::taken(
                "application_id",
                format!(
                    "{} {} is deprecated and takes no new subscriptions.",
                    api.name, api.version
                ),
            ));
        }
        let tier = Api::tiers(conn, api.id)?
            .into_iter()
            .find(|t| t.name == form.throttling_policy.trim())
            .ok_or_else(|| {
                ServiceError::invalid(
                    "throttling_policy",
                    "Choose one of the tiers this API offers.",
                )
            })?;
        match Subscription::find_for(conn, application.id, api.id)? {
            Some(existing) if existing.status == SubscriptionStatus::Rejected => {
                // A rejected request may be made again: the old decision stays in the audit trail.
                Subscription::delete(conn, existing.id)?;
            }
            Some(_) => {
                return Err(ServiceError::taken(
                    "application_id",
                    format!(
                        "“{}” is already subscribed to {} {}.",
                        application.name, api.name, api.version
                    ),
                ));
            }
            None => {}
        }
        let status = if tier.requires_approval {
            SubscriptionStatus::OnHold
        } else {
            SubscriptionStatus::Active
        };
        let subscription = Subscription::insert(conn, application.id, api.id, tier.id, status)?;
        *subject = self::subject(Some(subscription.id), Some(application.id));
        let summary = format!(
            "Subscribed “{}” to {} {} ({}){}",
            application.name,
            api.name,
            api.version,
            tier.name,
            if status == SubscriptionStatus::OnHold {
                ", waiting for approval"
            } else {
                ""
            }
        );
        let subscribed = Subscribed {
            api: format!("{} {}", api.name, api.version),
            tier: tier.display_name.clone(),
            application,
            subscription,
        };
        Ok((subscribed, summary))
    })
    .await
}

/// Removes one of the application's subscriptions.
pub async fn unsubscribe(
    pool: &DbPool,
    actor: Actor,
    application_id: ApplicationId,
    subscription_id: i64,
) -> ServiceResult<()> {
    let owner = actor.id;
    let subject = subject(Some(subscription_id), Some(application_id));
    audited(pool, &actor, "unsubscribe", subject, move |conn, _| {
        let application = super::organisations::changeable(conn, application_id, owner)?;
        let subscription = Subscription::find(conn, subscription_id)?
            .filter(|s| s.application_id == application.id)
            .ok_or(ServiceError::NotFound)?;
        let api = Api::find(conn, subscription.api_id)?.ok_or(ServiceError::NotFound)?;
        Subscription::delete(conn, subscription.id)?;
        let summary = format!(
            "Unsubscribed “{}” from {} {}",
            application.name, api.name, api.version
        );
        Ok(((), summary))
    })
    .await
}

/// An administrator's decision on a subscription waiting for approval.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Approve,
    Reject,
}

pub async fn decide(
    pool: &DbPool,
    admin: Actor,
    subscription_id: i64,
    decision: Decision,
    reason: &str,
) -> ServiceResult<Subscription> {
    let reason = match decision {
        Decision::Approve => None,
        Decision::Reject => {
            Some(rejection_reason(reason).map_err(|m| ServiceError::invalid("reason", m))?)
        }
    };
    let (status, action) = match decision {
        Decision::Approve => (SubscriptionStatus::Active, "approve"),
        Decision::Reject => (SubscriptionStatus::Rejected, "reject"),
    };
    let admin_id = admin.id;
    let subject = subject(Some(subscription_id), None);
    audited(pool, &admin, action, subject, move |conn, subject| {
        let subscription =
            Subscription::find(conn, subscription_id)?.ok_or(ServiceError::NotFound)?;
        if subscription.status != SubscriptionStatus::OnHold {
            return Err(ServiceError::Conflict(
                "This subscription has already been decided.".into(),
            ));
        }
        let api = Api::find(conn, subscription.api_id)?.ok_or(ServiceError::NotFound)?;
        subject.application_id = Some(subscription.application_id);
        Subscription::decide(conn, subscription.id, status, reason.as_deref(), admin_id)?;
        let summary = match &reason {
            None => format!("Approved the subscription to {} {}", api.name, api.version),
            Some(reason) => format!(
                "Rejected the subscription to {} {}: {reason}",
                api.name, api.version
            ),
        };
        let decided = Subscription {
            status,
            decision_reason: reason.clone(),
            ..subscription
        };
        Ok((decided, summary))
    })
    .await
}

impl ApiStatus {
    /// The explanation a TPP sees on an API that takes no new subscriptions.
    pub fn subscription_notice(&self) -> Option<&'static str> {
        match self {
            ApiStatus::Deprecated => Some(
                "This API is deprecated: existing subscriptions keep working, new ones are not accepted.",
            ),
            _ => None,
        }
    }
}
