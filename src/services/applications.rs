//! Applications: create, update and delete a TPP's applications, with the audit trail.

use crate::db::models::applications::{Application, ApplicationChanges};
use crate::db::models::audit_events::{Actor, Subject};
use crate::db::models::key_mappings::KeyMapping;
use crate::db::models::throttling_policies::ThrottlingPolicy;
use crate::db::{self, DbPool, is_unique_violation};
use crate::domain::applications::{ApplicationForm, ApplicationInput};
use crate::domain::ids::ApplicationId;
use crate::domain::policies::PolicyLevel;
use crate::key_managers::Connectors;

use super::{ServiceError, ServiceResult, audited, keys, organisations};

fn subject(id: Option<ApplicationId>) -> Subject<'static> {
    Subject {
        object_type: "application",
        object_id: id.map(ApplicationId::get),
        application_id: id,
    }
}

fn duplicate(name: &str) -> ServiceError {
    ServiceError::taken(
        "name",
        format!(
            "Your organisation already has an application named “{name}”. Choose another name."
        ),
    )
}

/// Resolves the application-level policy a form names.
fn application_policy(
    conn: &mut crate::db::DbConnection,
    name: &str,
) -> ServiceResult<ThrottlingPolicy> {
    ThrottlingPolicy::find_by_name(conn, PolicyLevel::Application, name)?.ok_or_else(|| {
        ServiceError::invalid(
            "throttling_policy",
            "Choose one of the application throttling policies.",
        )
    })
}

/// The row's values from the form, with the policy it names.
fn changes<'a>(
    conn: &mut crate::db::DbConnection,
    input: &'a ApplicationInput,
) -> ServiceResult<(ApplicationChanges<'a>, ThrottlingPolicy)> {
    let policy = application_policy(conn, &input.policy_name)?;
    let changes = ApplicationChanges {
        name: input.name.as_str(),
        name_key: input.name.key(),
        description: &input.description,
        policy_id: policy.id,
        updated_at: db::now(),
    };
    Ok((changes, policy))
}

/// A taken name is the form's conflict; anything else a failure.
fn name_taken(input: &ApplicationInput) -> impl FnOnce(diesel::result::Error) -> ServiceError {
    move |e| {
        if is_unique_violation(&e) {
            duplicate(input.name.as_str())
        } else {
            e.into()
        }
    }
}

pub async fn create(
    pool: &DbPool,
    actor: Actor,
    form: ApplicationForm,
) -> ServiceResult<Application> {
    let input = ApplicationInput::parse(&form).map_err(ServiceError::Invalid)?;
    let (owner, organisation) = (actor.id, actor.organisation);
    let about = subject(None);
    audited(pool, &actor, "create", about, move |conn, subject| {
        let organisation = organisations::working_in(conn, owner, organisation)?;
        let (changes, policy) = changes(conn, &input)?;
        let application =
            Application::insert(conn, organisation, owner, &changes).map_err(name_taken(&input))?;
        *subject = self::subject(Some(application.id));
        let summary = format!(
            "Created application “{}” with policy {}",
            application.name, policy.name
        );
        Ok((application, summary))
    })
    .await
}

pub async fn update(
    pool: &DbPool,
    actor: Actor,
    id: ApplicationId,
    form: ApplicationForm,
) -> ServiceResult<Application> {
    let input = ApplicationInput::parse(&form).map_err(ServiceError::Invalid)?;
    let owner = actor.id;
    audited(pool, &actor, "update", subject(Some(id)), move |conn, _| {
        let current = organisations::changeable(conn, id, owner)?;
        let (changes, policy) = changes(conn, &input)?;
        Application::update(conn, id, &changes).map_err(name_taken(&input))?;
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
        let (application, _) = organisations::readable(conn, id, owner)?;
        Ok((application, summary))
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
    id: ApplicationId,
) -> ServiceResult<Application> {
    let owner = actor.id;
    let (application, mappings) =
        audited(pool, &actor, "delete", subject(Some(id)), move |conn, _| {
            let application = organisations::changeable(conn, id, owner)?;
            let mappings = KeyMapping::of_application(conn, id)?;
            Application::delete(conn, id)?;
            let what = if mappings.is_empty() {
                " and its subscriptions"
            } else {
                ", its subscriptions and its keys"
            };
            let summary = format!("Deleted application “{}”{what}", application.name);
            Ok(((application, mappings), summary))
        })
        .await?;
    keys::hand_back(pool, connectors, &application.name, mappings).await;
    Ok(application)
}
