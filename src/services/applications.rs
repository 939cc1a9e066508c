//! Applications: create, update and delete a TPP's applications, with the audit trail.

use crate::db::models::applications::{Application, ApplicationChanges};
use crate::db::models::audit_events::{Actor, AuditEvent, Subject};
use crate::db::models::key_mappings::KeyMapping;
use crate::db::models::throttling_policies::ThrottlingPolicy;
use crate::db::{self, DbPool, is_unique_violation};
use crate::domain::applications::{ApplicationForm, ApplicationInput};
use crate::domain::policies::PolicyLevel;
use crate::key_managers::Connectors;

use super::{ServiceError, keys};

fn subject(id: i64) -> Subject<'static> {
    Subject {
        object_type: "application",
        object_id: Some(id),
        application_id: Some(id),
    }
}

fn duplicate(name: &str) -> ServiceError {
    ServiceError::conflict(
        "name",
        format!("You already have an application named “{name}”. Choose another name."),
    )
}

/// Resolves the application-level policy a form names.
fn application_policy(
    conn: &mut diesel::SqliteConnection,
    name: &str,
) -> Result<ThrottlingPolicy, ServiceError> {
    ThrottlingPolicy::find_by_name(conn, PolicyLevel::Application, name)?.ok_or_else(|| {
        ServiceError::invalid(
            "throttling_policy",
            "Choose one of the application throttling policies.",
        )
    })
}

pub async fn create(
    pool: &DbPool,
    actor: Actor,
    form: ApplicationForm,
) -> Result<Application, ServiceError> {
    let input = ApplicationInput::parse(&form).map_err(ServiceError::Invalid)?;
    db::run(pool, move |conn| {
        db::write(conn, |conn| {
            let policy = application_policy(conn, &input.policy_name)?;
            let changes = ApplicationChanges {
                name: input.name.as_str(),
                name_key: input.name.key(),
                description: &input.description,
                policy_id: policy.id,
                updated_at: db::now(),
            };
            let application = Application::insert(conn, actor.id, &changes).map_err(|e| {
                if is_unique_violation(&e) {
                    duplicate(input.name.as_str())
                } else {
                    e.into()
                }
            })?;
            AuditEvent::record(
                conn,
                &actor,
                "create",
                subject(application.id),
                &format!(
                    "Created application “{}” with policy {}",
                    application.name, policy.name
                ),
            )?;
            Ok(application)
        })
    })
    .await
}

pub async fn update(
    pool: &DbPool,
    actor: Actor,
    id: i64,
    form: ApplicationForm,
) -> Result<Application, ServiceError> {
    let input = ApplicationInput::parse(&form).map_err(ServiceError::Invalid)?;
    db::run(pool, move |conn| {
        db::write(conn, |conn| {
            let current =
                Application::find_owned(conn, id, actor.id)?.ok_or(ServiceError::NotFound)?;
            let policy = application_policy(conn, &input.policy_name)?;
            let changes = ApplicationChanges {
                name: input.name.as_str(),
                name_key: input.name.key(),
                description: &input.description,
                policy_id: policy.id,
                updated_at: db::now(),
            };
            Application::update(conn, id, &changes).map_err(|e| {
                if is_unique_violation(&e) {
                    duplicate(input.name.as_str())
                } else {
                    e.into()
                }
            })?;
            let mut changed = Vec::new();
            if current.name != input.name.as_str() {
                changed.push(format!(
                    "name “{}” → “{}”",
                    current.name,
                    input.name.as_str()
                ));
            }
            if current.policy_id != policy.id {
                changed.push(format!("policy → {}", policy.name));
            }
            if current.description != input.description {
                changed.push("description".to_string());
            }
            let summary = if changed.is_empty() {
                "Saved without changes".to_string()
            } else {
                format!("Updated {}", changed.join(", "))
            };
            AuditEvent::record(conn, &actor, "update", subject(id), &summary)?;
            Application::find_owned(conn, id, actor.id)?.ok_or(ServiceError::NotFound)
        })
    })
    .await
}

/// Deletes an application, its subscriptions and its keys.
///
/// The rows go first, in one transaction (so no new keys can be made for the application
/// meanwhile); then, outside it, each key manager gets the application's keys back: CREATED
/// clients are deleted there, MAPPED ones only unlinked. A key manager that fails leaves the
/// application deleted and a task on the administrator's list, never a silent orphan.
pub async fn delete(
    pool: &DbPool,
    connectors: &Connectors,
    actor: Actor,
    id: i64,
) -> Result<Application, ServiceError> {
    let (application, mappings) = db::run(pool, move |conn| {
        db::write(conn, |conn| {
            let application =
                Application::find_owned(conn, id, actor.id)?.ok_or(ServiceError::NotFound)?;
            let mappings = KeyMapping::of_application(conn, id)?;
            Application::delete(conn, id)?;
            let summary = if mappings.is_empty() {
                format!(
                    "Deleted application “{}” and its subscriptions",
                    application.name
                )
            } else {
                format!(
                    "Deleted application “{}”, its subscriptions and its keys",
                    application.name
                )
            };
            AuditEvent::record(conn, &actor, "delete", subject(id), &summary)?;
            Ok::<_, ServiceError>((application, mappings))
        })
    })
    .await?;
    keys::hand_back(pool, connectors, &application.name, mappings).await;
    Ok(application)
}
