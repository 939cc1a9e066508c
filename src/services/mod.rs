//! The operations behind the pages: each one validates through `domain`, works through
//! `db::models` in the right transaction, writes the audit trail (`audited`), and reports
//! outcomes as one typed error, `ServiceError`, that the web layer turns into pages.

pub mod accounts;
pub mod api_scopes;
pub mod apis;
pub mod applications;
pub mod demo;
pub mod gateways;
pub mod invitations;
pub mod key_managers;
pub mod keys;
pub mod organisations;
pub mod policies;
pub mod sign_in;
pub mod subscriptions;

use crate::db::DbConnection;
use crate::db::models::audit_events::{Actor, AuditEvent, Subject};
use crate::db::models::key_managers::KeyUser;
use crate::db::{self, DbError, DbPool};
use crate::domain::FieldErrors;
use crate::error::{AppError, BoxError};
use crate::key_managers::KeyManagerError;

/// Why an operation did not happen. The messages of the refusals are for the user; the causes
/// of failures are kept as sources, for the log.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// The object does not exist, or belongs to someone else.
    #[error("not found")]
    NotFound,
    /// Input that breaks a rule; the form is shown again with these errors (422).
    #[error("invalid input")]
    Invalid(FieldErrors),
    /// A value the form names is taken or cannot be had (a name, a context, keys already
    /// mapped, an API that takes no new subscriptions): the form is shown again with these
    /// errors (409).
    #[error("taken")]
    Taken(FieldErrors),
    /// The request conflicts with the state of things, no field to blame (409).
    #[error("{0}")]
    Conflict(String),
    /// A key manager cannot be deleted while application keys use it (409, with those keys).
    #[error("{message}")]
    InUse {
        message: String,
        users: Vec<KeyUser>,
    },
    /// The user may not do this (a switched-off feature, a key manager they may not use).
    #[error("{0}")]
    Forbidden(String),
    /// Too many attempts from this address: nothing is tried before `until` (Unix seconds).
    #[error("too many attempts")]
    Throttled { until: i64 },
    /// A key manager could not be reached or answered with an error (502).
    #[error(
        "The key manager is unavailable or answered with an error. Nothing was changed; try again in a moment."
    )]
    Unavailable(#[source] KeyManagerError),
    /// A key manager did not answer in time (504).
    #[error("The key manager did not answer in time. Nothing was changed; try again in a moment.")]
    Timeout,
    #[error("the database failed")]
    Database(#[from] DbError),
    /// Something broke on Portico's side (500): `context` says what, `source` why.
    #[error("{context}")]
    Internal {
        context: &'static str,
        #[source]
        source: BoxError,
    },
}

impl From<diesel::result::Error> for ServiceError {
    fn from(error: diesel::result::Error) -> Self {
        ServiceError::Database(DbError::Query(error))
    }
}

impl ServiceError {
    /// The value of `field` is taken.
    pub fn taken(field: &'static str, message: impl Into<String>) -> Self {
        ServiceError::Taken(FieldErrors::single(field, message))
    }

    pub fn invalid(field: &'static str, message: impl Into<String>) -> Self {
        ServiceError::Invalid(FieldErrors::single(field, message))
    }

    pub fn internal(context: &'static str, source: impl Into<BoxError>) -> Self {
        ServiceError::Internal {
            context,
            source: source.into(),
        }
    }
}

impl From<KeyManagerError> for ServiceError {
    fn from(error: KeyManagerError) -> Self {
        match error {
            KeyManagerError::Invalid { field, message } => ServiceError::invalid(field, message),
            KeyManagerError::InvalidCredentials => ServiceError::invalid(
                "consumer_secret",
                crate::domain::keys::CREDENTIALS_MESSAGE,
            ),
            KeyManagerError::Conflict(message) => ServiceError::Conflict(message),
            KeyManagerError::NotFound => ServiceError::Conflict(
                "The key manager no longer knows these keys. Remove them, then generate or provide new ones.".into(),
            ),
            error @ KeyManagerError::Unavailable(_) => {
                tracing::warn!(cause = %error, "a key manager is unavailable");
                ServiceError::Unavailable(error)
            }
            KeyManagerError::Timeout => ServiceError::Timeout,
            KeyManagerError::Unsupported(what) => {
                ServiceError::Forbidden(format!("This key manager cannot do that: {what}."))
            }
            error @ KeyManagerError::Internal(_) => {
                ServiceError::internal("a key manager connector failed", error)
            }
        }
    }
}

impl From<ServiceError> for AppError {
    fn from(error: ServiceError) -> Self {
        use actix_web::http::StatusCode;
        match error {
            ServiceError::NotFound => AppError::NotFound,
            ServiceError::Invalid(errors) => AppError::Form {
                status: StatusCode::UNPROCESSABLE_ENTITY,
                errors,
            },
            ServiceError::Taken(errors) => AppError::Form {
                status: StatusCode::CONFLICT,
                errors,
            },
            ServiceError::Conflict(message) | ServiceError::InUse { message, .. } => {
                AppError::Conflict(message)
            }
            ServiceError::Forbidden(message) => AppError::Forbidden(message),
            ServiceError::Throttled { .. } => AppError::TooManyRequests(String::new()),
            e @ ServiceError::Unavailable(_) => AppError::BadGateway(e.to_string()),
            e @ ServiceError::Timeout => AppError::GatewayTimeout(e.to_string()),
            ServiceError::Database(e) => AppError::Database(e),
            e @ ServiceError::Internal { .. } => AppError::Failed(Box::new(e)),
        }
    }
}

/// What a service operation answers.
pub type ServiceResult<T> = Result<T, ServiceError>;

/// Writes a change and its audit event in one write transaction (`db::write`, on the blocking
/// pool): `change` makes the change and answers with its outcome and the event's summary (`None`
/// when, in the end, nothing changed and there is nothing to record). A change that makes its
/// object names it in `subject` (`object_id`), which `change` receives.
pub async fn audited<T, S, F>(
    pool: &DbPool,
    actor: &Actor,
    verb: &'static str,
    subject: Subject<'static>,
    change: F,
) -> ServiceResult<T>
where
    T: Send + 'static,
    S: Into<Option<String>>,
    F: FnOnce(&mut DbConnection, &mut Subject<'static>) -> ServiceResult<(T, S)> + Send + 'static,
{
    let actor = actor.clone();
    db::run(pool, move |conn| {
        db::write(conn, |conn| {
            let mut subject = subject;
            let (outcome, summary) = change(conn, &mut subject)?;
            if let Some(summary) = summary.into() {
                AuditEvent::record(conn, &actor, verb, subject, &summary)?;
            }
            Ok(outcome)
        })
    })
    .await
}

/// The subject of an audit event: an object of `object_type`, by id when it has one yet.
pub fn subject(object_type: &'static str, object_id: Option<i64>) -> Subject<'static> {
    Subject {
        object_type,
        object_id,
        application_id: None,
    }
}
