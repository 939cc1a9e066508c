//! `AppError`: what an HTML handler can fail with, rendered as a styled error page. Internal
//! causes are logged, never shown. (The OAuth2 endpoints answer RFC 6749 JSON errors instead.)

use actix_web::{HttpResponse, ResponseError, http::StatusCode};

use crate::db::DbError;
use crate::web::errors::{ErrorKind, error_page};

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("bad request: {0}")]
    BadRequest(String),
    #[error("payload too large")]
    PayloadTooLarge,
    #[error("not found")]
    NotFound,
    #[error("forbidden: {0}")]
    Forbidden(String),
    #[error("conflict: {0}")]
    Conflict(String),
    #[error("unprocessable: {0}")]
    Unprocessable(String),
    #[error("too many requests: {0}")]
    TooManyRequests(String),
    /// A key manager (or another upstream server) failed: 502 with what the user can do.
    #[error("bad gateway: {0}")]
    BadGateway(String),
    /// A key manager did not answer in time: 504.
    #[error("gateway timeout: {0}")]
    GatewayTimeout(String),
    #[error(transparent)]
    Database(#[from] DbError),
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<diesel::result::Error> for AppError {
    fn from(error: diesel::result::Error) -> Self {
        AppError::Database(DbError::Query(error))
    }
}

impl AppError {
    fn kind(&self) -> ErrorKind {
        match self {
            AppError::BadRequest(_) => ErrorKind::BadRequest,
            AppError::PayloadTooLarge => ErrorKind::PayloadTooLarge,
            AppError::NotFound => ErrorKind::NotFound,
            AppError::Forbidden(_) => ErrorKind::Forbidden,
            AppError::Conflict(_) => ErrorKind::Conflict,
            AppError::Unprocessable(_) => ErrorKind::Unprocessable,
            AppError::TooManyRequests(_) => ErrorKind::TooManyRequests,
            AppError::BadGateway(_) => ErrorKind::BadGateway,
            AppError::GatewayTimeout(_) => ErrorKind::GatewayTimeout,
            AppError::Database(_) | AppError::Internal(_) => ErrorKind::Internal,
        }
    }
}

impl ResponseError for AppError {
    fn status_code(&self) -> StatusCode {
        self.kind().status()
    }

    fn error_response(&self) -> HttpResponse {
        let message = match self {
            AppError::BadRequest(m)
            | AppError::Forbidden(m)
            | AppError::Conflict(m)
            | AppError::Unprocessable(m)
            | AppError::TooManyRequests(m)
            | AppError::BadGateway(m)
            | AppError::GatewayTimeout(m) => m.as_str(),
            AppError::Database(_) | AppError::Internal(_) => {
                tracing::error!(error = %self, "request failed");
                ""
            }
            AppError::NotFound | AppError::PayloadTooLarge => "",
        };
        error_page(self.kind(), message)
    }
}
