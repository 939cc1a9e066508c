//! `AppError`: what an HTML handler can fail with, and `ErrorKind`, the status and title of
//! each kind of error page. Internal causes are kept as sources and logged with their whole
//! chain, never shown. (`web::errors` renders the page; the OAuth2 endpoints answer RFC 6749
//! JSON errors instead.)

use actix_web::http::StatusCode;

use crate::db::DbError;
use crate::domain::FieldErrors;

/// Any error kept as the cause of another.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

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
    /// A form refused for its fields (422 invalid, 409 taken): the handler draws the form
    /// again with `errors` (see `into_form`); one that reaches the error page lists them.
    #[error("the form was refused ({status})")]
    Form {
        status: StatusCode,
        errors: FieldErrors,
    },
    #[error(transparent)]
    Database(#[from] DbError),
    #[error("internal error: {0}")]
    Internal(String),
    /// A failure on Portico's side whose cause is kept, to be logged with its chain.
    #[error("the request failed")]
    Failed(#[source] BoxError),
}

impl From<diesel::result::Error> for AppError {
    fn from(error: diesel::result::Error) -> Self {
        AppError::Database(DbError::Query(error))
    }
}

impl AppError {
    /// The status and field errors of a refused form, for the handler to draw it again; any
    /// other error stays an error (and becomes its page).
    pub fn into_form(self) -> Result<(StatusCode, FieldErrors), AppError> {
        match self {
            AppError::Form { status, errors } => Ok((status, errors)),
            other => Err(other),
        }
    }

    pub fn kind(&self) -> ErrorKind {
        match self {
            AppError::BadRequest(_) => ErrorKind::BadRequest,
            AppError::PayloadTooLarge => ErrorKind::PayloadTooLarge,
            AppError::NotFound => ErrorKind::NotFound,
            AppError::Forbidden(_) => ErrorKind::Forbidden,
            AppError::Conflict(_) => ErrorKind::Conflict,
            AppError::Unprocessable(_) => ErrorKind::Unprocessable,
            AppError::Form { status, .. } if *status == StatusCode::CONFLICT => ErrorKind::Conflict,
            AppError::Form { .. } => ErrorKind::Unprocessable,
            AppError::TooManyRequests(_) => ErrorKind::TooManyRequests,
            AppError::BadGateway(_) => ErrorKind::BadGateway,
            AppError::GatewayTimeout(_) => ErrorKind::GatewayTimeout,
            AppError::Database(e) if e.is_unavailable() => ErrorKind::Unavailable,
            AppError::Database(e) if e.is_nul_in_text() => ErrorKind::BadRequest,
            AppError::Database(_) | AppError::Internal(_) | AppError::Failed(_) => {
                ErrorKind::Internal
            }
        }
    }

    /// What the error page says: the message when the user can act on it, empty for the
    /// kind's default (a failure on Portico's side is only logged, see `chain`).
    pub fn message(&self) -> String {
        match self {
            AppError::BadRequest(m)
            | AppError::Forbidden(m)
            | AppError::Conflict(m)
            | AppError::Unprocessable(m)
            | AppError::TooManyRequests(m)
            | AppError::BadGateway(m)
            | AppError::GatewayTimeout(m) => m.clone(),
            AppError::Form { errors, .. } => {
                errors.iter().map(|(_, m)| m).collect::<Vec<_>>().join(" ")
            }
            AppError::Database(e) if e.is_nul_in_text() => crate::db::NUL_IN_TEXT.to_string(),
            AppError::NotFound
            | AppError::PayloadTooLarge
            | AppError::Database(_)
            | AppError::Internal(_)
            | AppError::Failed(_) => String::new(),
        }
    }
}

/// An error and each of its causes, `: `-separated: what the log shows of a failure.
pub fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(source) = cause {
        text.push_str(": ");
        text.push_str(&source.to_string());
        cause = source.source();
    }
    text
}

/// The kinds of error page: each a status, a title and a default message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    BadRequest,
    Forbidden,
    NotFound,
    Conflict,
    Unprocessable,
    PayloadTooLarge,
    TooManyRequests,
    Internal,
    BadGateway,
    GatewayTimeout,
    /// The database cannot be reached (503): a moment's outage, not a defect.
    Unavailable,
}

impl ErrorKind {
    pub fn status(self) -> StatusCode {
        match self {
            ErrorKind::BadRequest => StatusCode::BAD_REQUEST,
            ErrorKind::Forbidden => StatusCode::FORBIDDEN,
            ErrorKind::NotFound => StatusCode::NOT_FOUND,
            ErrorKind::Conflict => StatusCode::CONFLICT,
            ErrorKind::Unprocessable => StatusCode::UNPROCESSABLE_ENTITY,
            ErrorKind::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ErrorKind::TooManyRequests => StatusCode::TOO_MANY_REQUESTS,
            ErrorKind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
            ErrorKind::BadGateway => StatusCode::BAD_GATEWAY,
            ErrorKind::GatewayTimeout => StatusCode::GATEWAY_TIMEOUT,
            ErrorKind::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            ErrorKind::BadRequest => "That request could not be understood",
            ErrorKind::Forbidden => "You do not have access to this page",
            ErrorKind::NotFound => "Page not found",
            ErrorKind::Conflict => "That conflicts with something that exists",
            ErrorKind::Unprocessable => "That could not be done",
            ErrorKind::PayloadTooLarge => "That was too large",
            ErrorKind::TooManyRequests => "Too many attempts",
            ErrorKind::Internal => "Something went wrong on our side",
            ErrorKind::BadGateway => "The key manager could not do that",
            ErrorKind::GatewayTimeout => "The key manager did not answer in time",
            ErrorKind::Unavailable => "Portico is briefly unavailable",
        }
    }

    pub fn default_message(self) -> &'static str {
        match self {
            ErrorKind::BadRequest => "Check what you sent and try again.",
            ErrorKind::Forbidden => {
                "Your account is not allowed to do this. If you think it should be, ask an administrator."
            }
            ErrorKind::NotFound => {
                "The page you asked for does not exist, or you do not have access to it."
            }
            ErrorKind::Conflict => "Reload the page to see the current state, then try again.",
            ErrorKind::Unprocessable => "Check what you sent and try again.",
            ErrorKind::PayloadTooLarge => {
                "The form you sent is larger than 64 KiB. Shorten the values and try again."
            }
            ErrorKind::TooManyRequests => "Wait a few minutes, then try again.",
            ErrorKind::Internal => "The error has been logged. Try again in a moment.",
            ErrorKind::BadGateway => {
                "The key manager is unavailable or answered with an error. Nothing was changed; try again in a moment."
            }
            ErrorKind::GatewayTimeout => {
                "The key manager did not answer in time. Nothing was changed; try again in a moment."
            }
            ErrorKind::Unavailable => {
                "Portico cannot reach its database right now. Nothing was changed; try again in a moment."
            }
        }
    }
}
