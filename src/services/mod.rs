//! The operations behind the pages: each one validates through `domain`, works through
//! `db::models` in the right transaction, writes the audit trail, and reports outcomes as typed
//! errors that the web layer turns into pages.

pub mod accounts;
pub mod apis;
pub mod applications;
pub mod demo;
pub mod key_managers;
pub mod keys;
pub mod policies;
pub mod sign_in;
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
    /// The user may not do this (a switched-off feature, a key manager they may not use).
    #[error("forbidden: {0}")]
    Forbidden(String),
    /// A key manager could not be reached or answered with an error (502).
    #[error("key manager unavailable: {0}")]
    Unavailable(String),
    /// A key manager did not answer in time (504).
    #[error("key manager timeout: {0}")]
    Timeout(String),
    #[error(transparent)]
    Database(#[from] DbError),
    #[error("internal error: {0}")]
    Internal(String),
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
            ServiceError::Forbidden(message) => AppError::Forbidden(message),
            ServiceError::Unavailable(message) => AppError::BadGateway(message),
            ServiceError::Timeout(message) => AppError::GatewayTimeout(message),
            ServiceError::Database(e) => AppError::Database(e),
            ServiceError::Internal(message) => AppError::Internal(message),
        }
    }
}
