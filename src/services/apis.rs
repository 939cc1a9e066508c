//! The administrator's side of the API catalog: create and update APIs, their subscription
//! tiers, their lifecycle status and their OpenAPI document.

use crate::db::models::api_scopes::ApiScope;
use crate::db::models::apis::{AdminApiRow, Api, ApiFields, ApiSummary, Unique};
use crate::db::models::audit_events::Actor;
use crate::db::models::throttling_policies::ThrottlingPolicy;
use crate::db::{self, DbError, DbPool, is_unique_violation};
use crate::domain::FieldErrors;
use crate::domain::apis::{ApiForm, ApiInput, DocumentChange};
use crate::domain::ids::ApiId;
use crate::domain::policies::PolicyLevel;
use crate::services::{ServiceError, ServiceResult, audited, subject};

/// An API as its edit page shows it.
#[derive(Debug, Clone)]
pub struct ApiDetail {
    pub api: Api,
    pub tiers: Vec<ThrottlingPolicy>,
    pub subscriptions: i64,
    pub scopes: Vec<ApiScope>,
}

const OBJECT_TYPE: &str = "api";

/// Every API with its subscription count.
pub async fn list(pool: &DbPool) -> Result<Vec<AdminApiRow>, DbError> {
    db::run(pool, |conn| Api::admin_list(conn).map_err(DbError::from)).await
}

/// The subscription policies an API may offer as tiers.
pub async fn tier_choices(pool: &DbPool) -> Result<Vec<ThrottlingPolicy>, DbError> {
    db::run(pool, |conn| {
        ThrottlingPolicy::list(conn, PolicyLevel::Subscription).map_err(DbError::from)
    })
    .await
}

/// One API with its tiers and subscription count, and the tiers it could offer.
pub async fn detail(pool: &DbPool, id: ApiId) -> ServiceResult<(ApiDetail, Vec<ThrottlingPolicy>)> {
    db::run(pool, move |conn| {
        let api = Api::find(conn, id)?.ok_or(ServiceError::NotFound)?;
        let detail = ApiDetail {
            tiers: Api::tiers(conn, id)?,
            subscriptions: Api::subscription_count(conn, id)?,
            scopes: ApiScope::of_api(conn, id)?,
            api,
        };
        let choices = ThrottlingPolicy::list(conn, PolicyLevel::Subscription)?;
        Ok((detail, choices))
    })
    .await
}

/// The subscription policies, which an API may offer as tiers.
fn subscription_policies(
    conn: &mut crate::db::DbConnection,
) -> diesel::QueryResult<(Vec<String>, Vec<ThrottlingPolicy>)> {
    let policies = ThrottlingPolicy::list(conn, PolicyLevel::Subscription)?;
    Ok((policies.iter().map(|p| p.name.clone()).collect(), policies))
}

/// The ids of the chosen tiers (all known: the domain checked them against the same list).
fn tier_ids(policies: &[ThrottlingPolicy], tiers: &[String]) -> Vec<i64> {
    policies
        .iter()
        .filter(|p| tiers.contains(&p.name))
        .map(|p| p.id)
        .collect()
}

/// Refuses a name + version, a context, a resource identifier or a scope of the document that
/// another API has.
fn check_conflicts(
    conn: &mut crate::db::DbConnection,
    input: &ApiInput,
    except: Option<ApiId>,
) -> ServiceResult<()> {
    let mut errors = FieldErrors::new();
    let mut uniques = vec![
        Unique::NameVersion(&input.name, &input.version),
        Unique::Context(&input.context),
    ];
    uniques.extend(input.resource_identifier.as_deref().map(Unique::Resource));
    for unique in uniques {
        if let Some(other) = Api::holder(conn, unique, except)? {
            let (field, message) = conflict(unique, &other);
            errors.add(field, message);
        }
    }
    if let DocumentChange::Replace(document) = &input.document {
        let names: Vec<&str> = document.scopes.iter().map(|(n, _)| n.as_str()).collect();
        let taken = ApiScope::taken_elsewhere(conn, except, &names)?;
        if !taken.is_empty() {
            let list: Vec<String> = taken
                .iter()
                .map(|(scope, api, version)| format!("{scope} ({api} {version})"))
                .collect();
            errors.add(
                "openapi_document",
                format!(
                    "Scope names are unique across APIs; the document declares scopes another API has: {}.",
                    list.join(", ")
                ),
            );
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(ServiceError::Taken(errors))
    }
}

/// The field and the message of a value another API (`other`) holds.
fn conflict(unique: Unique, other: &ApiSummary) -> (&'static str, String) {
    let by = format!("{} {}", other.name, other.version);
    match unique {
        Unique::NameVersion(name, version) => (
            "version",
            format!("An API named {name} already has version {version}."),
        ),
        Unique::Context(context) => (
            "context",
            format!("The context {context} is already used by {by}."),
        ),
        Unique::Resource(resource) => (
            "resource_identifier",
            format!("The resource identifier {resource} is already used by {by}."),
        ),
    }
}

/// Reads the form against the subscription policies (and, for an existing API, its status),
/// and checks that it conflicts with no other API: the input, and the ids of its tiers.
fn checked_input(
    conn: &mut crate::db::DbConnection,
    form: &ApiForm,
    current: Option<&Api>,
) -> ServiceResult<(ApiInput, Vec<i64>)> {
    let (names, policies) = subscription_policies(conn)?;
    let input = match current {
        None => ApiInput::parse_new(form, &names),
        Some(api) => ApiInput::parse_update(form, api.status, &names),
    }
    .map_err(ServiceError::Invalid)?;
    check_conflicts(conn, &input, current.map(|api| api.id))?;
    let tier_ids = tier_ids(&policies, &input.tiers);
    Ok((input, tier_ids))
}

fn fields(input: &ApiInput) -> ApiFields<'_> {
    ApiFields {
        name: &input.name,
        version: &input.version,
        context: &input.context,
        description: &input.description,
        status: input.status,
        resource_identifier: input.resource_identifier.as_deref(),
    }
}

fn unique_violation(e: diesel::result::Error) -> ServiceError {
    if is_unique_violation(&e) {
        ServiceError::taken(
            "context",
            "Another API has this context, or this name and version.",
        )
    } else {
        e.into()
    }
}

/// Parses the form's OpenAPI document on the blocking pool, outside the database's write lane:
/// a large document must not hold up every other write.
async fn read_document(mut form: ApiForm) -> ServiceResult<ApiForm> {
    actix_web::web::block(move || {
        form.read_document();
        form
    })
    .await
    .map_err(|_| ServiceError::Database(DbError::Blocking))
}

/// Checks the form (tiers against the subscription policies) and creates the API with its
/// tiers.
pub async fn create(pool: &DbPool, actor: Actor, form: ApiForm) -> ServiceResult<Api> {
    let form = read_document(form).await?;
    let about = subject(OBJECT_TYPE, None);
    audited(pool, &actor, "create", about, move |conn, subject| {
        let (input, tier_ids) = checked_input(conn, &form, None)?;
        let document = match &input.document {
            DocumentChange::Replace(doc) => Some((doc.text.as_str(), doc.operations.as_slice())),
            DocumentChange::Keep | DocumentChange::Remove => None,
        };
        let api = Api::insert(conn, fields(&input), document).map_err(unique_violation)?;
        Api::replace_tiers(conn, api.id, &tier_ids)?;
        replace_document_scopes(conn, api.id, &input.document)?;
        subject.object_id = Some(api.id.get());
        let tiers = input.tiers.join(", ");
        let summary = format!(
            "Created {} ({}, tiers {tiers})",
            described(&api),
            api.status
        );
        Ok((api, summary))
    })
    .await
}

/// Checks the form against the API's current status and the subscription policies, then
/// updates the API: its fields, its status along the lifecycle, its tiers (replaced) and its
/// OpenAPI document (kept, replaced or removed).
pub async fn update(pool: &DbPool, actor: Actor, id: ApiId, form: ApiForm) -> ServiceResult<Api> {
    let form = read_document(form).await?;
    let about = subject(OBJECT_TYPE, Some(id.get()));
    audited(pool, &actor, "update", about, move |conn, _| {
        let current = Api::find(conn, id)?.ok_or(ServiceError::NotFound)?;
        let (input, tier_ids) = checked_input(conn, &form, Some(&current))?;
        let (document, document_note) = match &input.document {
            DocumentChange::Keep => (None, ""),
            DocumentChange::Remove => (Some(None), "; OpenAPI document removed"),
            DocumentChange::Replace(doc) => (
                Some(Some((doc.text.as_str(), doc.operations.as_slice()))),
                "; OpenAPI document replaced",
            ),
        };
        let api = Api::update(conn, id, fields(&input), document).map_err(unique_violation)?;
        Api::replace_tiers(conn, id, &tier_ids)?;
        replace_document_scopes(conn, id, &input.document)?;
        let status_note = if current.status == api.status {
            String::new()
        } else {
            format!("; status {} → {}", current.status, api.status)
        };
        let tiers = input.tiers.join(", ");
        let summary = format!(
            "Updated {} (tiers {tiers}{status_note}{document_note})",
            described(&api)
        );
        Ok((api, summary))
    })
    .await
}

/// The scopes the document declares replace those the previous one declared (none, when the
/// document is removed); the administrator's own scopes stay.
fn replace_document_scopes(
    conn: &mut crate::db::DbConnection,
    id: ApiId,
    document: &DocumentChange,
) -> diesel::QueryResult<()> {
    match document {
        DocumentChange::Keep => Ok(()),
        DocumentChange::Remove => ApiScope::replace_from_document(conn, id, &[]),
        DocumentChange::Replace(doc) => ApiScope::replace_from_document(conn, id, &doc.scopes),
    }
}

/// An API as the audit trail names it: "API Payments v1 at /payments/v1".
fn described(api: &Api) -> String {
    format!("API {} {} at {}", api.name, api.version, api.context)
}
