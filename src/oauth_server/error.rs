//! `OAuthError`: RFC 6749 §5.2 error answers — JSON, `Cache-Control: no-store` — with the
//! `WWW-Authenticate` challenge RFC 6749 §5.2 and RFC 6750 §3 ask for: `Basic` with
//! `error="invalid_client"` at the client-authenticated endpoints, `Bearer` with
//! `error="invalid_token"` / `"insufficient_scope"` at userinfo, and a bare `Bearer` when no
//! token was sent at all. Internal causes are logged, never shown.

use actix_web::http::{StatusCode, header};
use actix_web::{HttpResponse, ResponseError};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {description}")]
pub struct OAuthError {
    pub code: &'static str,
    pub description: String,
    status: StatusCode,
    /// A request without any token: its challenge names no error (RFC 6750 §3.1).
    no_token: bool,
}

/// The realm of Portico's challenges.
const REALM: &str = "portico";

impl OAuthError {
    fn new(code: &'static str, status: StatusCode, description: impl Into<String>) -> Self {
        Self {
            code,
            description: description.into(),
            status,
            no_token: false,
        }
    }

    pub fn invalid_request(description: impl Into<String>) -> Self {
        Self::new("invalid_request", StatusCode::BAD_REQUEST, description)
    }

    pub fn invalid_client() -> Self {
        Self::new(
            "invalid_client",
            StatusCode::UNAUTHORIZED,
            "Client authentication failed.",
        )
    }

    pub fn invalid_grant(description: impl Into<String>) -> Self {
        Self::new("invalid_grant", StatusCode::BAD_REQUEST, description)
    }

    pub fn unauthorized_client(description: impl Into<String>) -> Self {
        Self::new("unauthorized_client", StatusCode::BAD_REQUEST, description)
    }

    pub fn unsupported_grant_type() -> Self {
        Self::new(
            "unsupported_grant_type",
            StatusCode::BAD_REQUEST,
            "This grant type is not supported.",
        )
    }

    pub fn invalid_scope(description: impl Into<String>) -> Self {
        Self::new("invalid_scope", StatusCode::BAD_REQUEST, description)
    }

    pub fn invalid_target(description: impl Into<String>) -> Self {
        Self::new("invalid_target", StatusCode::BAD_REQUEST, description)
    }

    pub fn invalid_token(description: impl Into<String>) -> Self {
        Self::new("invalid_token", StatusCode::UNAUTHORIZED, description)
    }

    /// A protected resource asked without any access token (RFC 6750 §3.1).
    pub fn token_required() -> Self {
        Self {
            no_token: true,
            ..Self::invalid_token("A Bearer access token is required.")
        }
    }

    /// A valid token without the scope the resource needs (RFC 6750 §3.1): 403.
    pub fn insufficient_scope(description: impl Into<String>) -> Self {
        Self::new("insufficient_scope", StatusCode::FORBIDDEN, description)
    }

    /// RFC 7009 §2.2.1: a `token_type_hint` (or token type) the server does not revoke.
    pub fn unsupported_token_type(description: impl Into<String>) -> Self {
        Self::new(
            "unsupported_token_type",
            StatusCode::BAD_REQUEST,
            description,
        )
    }

    /// The `WWW-Authenticate` challenge of this answer, when it has one.
    fn challenge(&self) -> Option<String> {
        // Our descriptions are plain sentences; quotes and backslashes would end the value.
        let description: String = self
            .description
            .chars()
            .filter(|c| *c != '"' && *c != '\\' && !c.is_control())
            .collect();
        match self.code {
            "invalid_client" => Some(format!("Basic realm=\"{REALM}\", error=\"invalid_client\"")),
            "invalid_token" if self.no_token => Some(format!("Bearer realm=\"{REALM}\"")),
            "invalid_token" | "insufficient_scope" => Some(format!(
                "Bearer realm=\"{REALM}\", error=\"{}\", error_description=\"{description}\"",
                self.code
            )),
            _ => None,
        }
    }

    pub fn server_error() -> Self {
        Self::new(
            "server_error",
            StatusCode::INTERNAL_SERVER_ERROR,
            "The authorization server failed; try again.",
        )
    }
}

impl From<crate::db::DbError> for OAuthError {
    fn from(error: crate::db::DbError) -> Self {
        if error.is_unavailable() {
            crate::db::note_reachability(Some(&error));
            return Self::new(
                "temporarily_unavailable",
                StatusCode::SERVICE_UNAVAILABLE,
                "The authorization server cannot reach its database; try again in a moment.",
            );
        }
        if error.is_nul_in_text() {
            return OAuthError::invalid_request(crate::db::NUL_IN_TEXT);
        }
        tracing::error!(error = %error, "authorization server database error");
        OAuthError::server_error()
    }
}

impl From<diesel::result::Error> for OAuthError {
    fn from(error: diesel::result::Error) -> Self {
        crate::db::DbError::from(error).into()
    }
}

impl ResponseError for OAuthError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.status);
        response
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .insert_header((header::PRAGMA, "no-cache"));
        if let Some(challenge) = self.challenge() {
            response.insert_header((header::WWW_AUTHENTICATE, challenge));
        }
        response
            .json(serde_json::json!({ "error": self.code, "error_description": self.description }))
    }
}

/// A JSON answer that must never be cached (every token endpoint answer).
pub fn no_store_json(body: &serde_json::Value) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::PRAGMA, "no-cache"))
        .json(body)
}
