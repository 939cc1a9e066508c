//! The operations behind the pages: each one validates through `domain`, works through
//! `db::models` in the right transaction, writes the audit trail, and reports outcomes as typed
//! errors that the web layer turns into pages.

pub mod accounts;
pub mod apis;
pub mod applications;
pub mod policies;
pub mod subscriptions;

use crate::db::DbError;
use crate::domain::FieldErrors;

/// Why an operation on applications, subscriptions or the catalog did not happen.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// The object does not exist, or belongs to someone else.
    #[error("not found")]
    NotFound,
    /// Input that breaks a rule; the form is shown again with these errors.
    #[error("invalid input")]
    Invalid(FieldErrors),
    /// The request conflicts with what exists; `field` names the form field when there is one.
    #[error("conflict: {message}")]
    Conflict {
        field: Option<&'static str>,
        message: String,
    },
    #[error(transparent)]
    Database(#[from] DbError),
}

impl From<diesel::result::Error> for ServiceError {
    fn from(error: diesel::result::Error) -> Self {
        ServiceError::Database(DbError::Query(error))
    }
}

impl ServiceError {
    pub fn conflict(field: &'static str, message: impl Into<String>) -> Self {
        ServiceError::Conflict {
            field: Some(field),
            message: message.into(),
        }
    }

    pub fn invalid(field: &'static str, message: impl Into<String>) -> Self {
        ServiceError::Invalid(FieldErrors::single(field, message))
    }
}

impl From<ServiceError> for crate::error::AppError {
    fn from(error: ServiceError) -> Self {
        use crate::error::AppError;
        match error {
            ServiceError::NotFound => AppError::NotFound,
            ServiceError::Invalid(errors) => AppError::Unprocessable(
                errors
                    .iter()
                    .map(|(_, m)| m.to_string())
                    .collect::<Vec<_>>()
                    .join(" "),
            ),
            ServiceError::Conflict { message, .. } => AppError::Conflict(message),
            ServiceError::Database(e) => AppError::Database(e),
        }
    }
}
