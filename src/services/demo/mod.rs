//! `portico seed-demo`: three published APIs with realistic OpenAPI documents and tiers, so
//! that a newcomer sees a working catalog in a minute. They go through the same service as the
//! admin form (validation, tiers, audit trail, recorded as the first administrator's doing);
//! an API whose context is already taken is left as it is, so running it twice adds nothing.

use crate::db::models::apis::{Api, Unique};
use crate::db::models::audit_events::Actor;
use crate::db::models::users::User;
use crate::db::{self, DbError, DbPool};
use crate::domain::apis::{ApiForm, ApiStatus};
use crate::services::ServiceError;
use crate::services::apis;

/// One demo API: name, version, context, description, tiers and its OpenAPI document.
struct DemoApi {
    name: &'static str,
    version: &'static str,
    context: &'static str,
    description: &'static str,
    tiers: &'static [&'static str],
    document: &'static str,
}

const APIS: &[DemoApi] = &[
    DemoApi {
        name: "Payments",
        version: "1.0.0",
        context: "/payments",
        description: "Initiate and track domestic payments from a customer's account, with their consent.",
        tiers: &["Bronze", "Silver", "Gold"],
        document: include_str!("payments.yaml"),
    },
    DemoApi {
        name: "Accounts",
        version: "2.1.0",
        context: "/accounts",
        description: "Read the accounts, balances and transactions a customer chooses to share.",
        tiers: &["Bronze", "Gold"],
        document: include_str!("accounts.yaml"),
    },
    DemoApi {
        name: "FX Rates",
        version: "1.2.0",
        context: "/fx",
        description: "Indicative foreign-exchange rates, refreshed every minute; client credentials only.",
        tiers: &["Bronze", "Silver", "Unlimited"],
        document: include_str!("fx-rates.json"),
    },
];

#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error("create an administrator first (PORTICO_ADMIN_USERNAME or `portico create-admin`)")]
    NoAdministrator,
    #[error("the demo API {name} was refused: {detail}")]
    Refused { name: &'static str, detail: String },
    #[error(transparent)]
    Database(#[from] DbError),
}

/// What `seed` did to each demo API.
#[derive(Debug, PartialEq, Eq)]
pub enum Seeded {
    Created(String),
    AlreadyThere(String),
}

/// Publishes the demo APIs that are not there yet.
pub async fn seed(pool: &DbPool) -> Result<Vec<Seeded>, DemoError> {
    let admin = db::run(pool, |conn| Ok::<_, DbError>(User::first_admin(conn)?)).await?;
    let admin = admin.ok_or(DemoError::NoAdministrator)?;
    let actor = Actor {
        id: admin.id,
        name: admin.username,
        organisation: None,
    };
    let mut outcome = Vec::new();
    for demo in APIS {
        let label = format!("{} {} at {}", demo.name, demo.version, demo.context);
        let context = demo.context;
        let taken = db::run(pool, move |conn| {
            Ok::<_, DbError>(Api::holder(conn, Unique::Context(context), None)?.is_some())
        })
        .await?;
        if taken {
            outcome.push(Seeded::AlreadyThere(label));
            continue;
        }
        apis::create(pool, actor.clone(), form_of(demo))
            .await
            .map_err(|e| refused(demo.name, e))?;
        outcome.push(Seeded::Created(label));
    }
    Ok(outcome)
}

fn form_of(demo: &DemoApi) -> ApiForm {
    ApiForm {
        name: demo.name.to_string(),
        version: demo.version.to_string(),
        context: demo.context.to_string(),
        description: demo.description.to_string(),
        tiers: demo.tiers.iter().map(|t| t.to_string()).collect(),
        status: ApiStatus::Published.as_str().to_string(),
        openapi_document: demo.document.to_string(),
        ..ApiForm::default()
    }
}

fn refused(name: &'static str, error: ServiceError) -> DemoError {
    match error {
        ServiceError::Database(e) => e.into(),
        ServiceError::Invalid(errors) | ServiceError::Taken(errors) => DemoError::Refused {
            name,
            detail: errors
                .iter()
                .map(|(field, message)| format!("{field}: {message}"))
                .collect::<Vec<_>>()
                .join("; "),
        },
        other => DemoError::Refused {
            name,
            detail: other.to_string(),
        },
    }
}
