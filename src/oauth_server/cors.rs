//! CORS for browser-based clients (single-page apps) on the endpoints they call from script.
//! Discovery and the JWKS are public documents: any origin may read them. The token, userinfo,
//! revocation and introspection endpoints answer only the origins of registered redirect URIs:
//! a preflight (which names no client) any client's, the request itself only those of the
//! client it authenticates (token, revocation, introspection: `Credentials::confirm`) or the
//! token was issued to (userinfo) — another origin is refused with `invalid_request` and nothing
//! is issued. A request without `Origin` (every server-side client) passes through untouched:
//! the client_credentials hot path pays one header lookup.

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::Method;
use actix_web::http::header::{self, HeaderMap, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{Error, HttpMessage, HttpResponse, ResponseError, web};

use super::AuthorizationServer;
use super::clients::OAuthClient;
use super::error::OAuthError;
use crate::db;
use crate::domain::oauth::parse_origin;

/// How long a browser may keep a preflight's answer.
const PREFLIGHT_MAX_AGE: &str = "600";

/// The request's `Origin`, checked and serialized as browsers send it (`scheme://host[:port]`);
/// put in the request's extensions by the `clients` middleware.
#[derive(Debug, Clone)]
pub struct RequestOrigin(pub String);

impl RequestOrigin {
    /// The origin of the request, when it carried one (the `clients` middleware read it).
    pub fn of(req: &actix_web::HttpRequest) -> Option<String> {
        req.extensions().get::<RequestOrigin>().map(|o| o.0.clone())
    }
}

/// Why the origin was refused: what the answer says.
pub fn not_allowed(origin: &str) -> OAuthError {
    OAuthError::invalid_request(format!(
        "Requests from the origin {origin} are not allowed for this client: it is not the origin of one of its registered redirect URIs."
    ))
}

fn is_preflight(req: &ServiceRequest) -> bool {
    req.method() == Method::OPTIONS
}

fn set(headers: &mut HeaderMap, name: header::HeaderName, value: &str) {
    if let Ok(value) = HeaderValue::from_str(value) {
        headers.insert(name, value);
    }
}

/// The preflight's answer for an allowed origin (`*` for the public documents).
fn preflight(allow_origin: &str, methods: &str) -> HttpResponse {
    let mut response = HttpResponse::NoContent().finish();
    let headers = response.headers_mut();
    set(headers, header::ACCESS_CONTROL_ALLOW_ORIGIN, allow_origin);
    set(headers, header::ACCESS_CONTROL_ALLOW_METHODS, methods);
    set(
        headers,
        header::ACCESS_CONTROL_ALLOW_HEADERS,
        "Authorization, Content-Type",
    );
    set(headers, header::ACCESS_CONTROL_MAX_AGE, PREFLIGHT_MAX_AGE);
    set(headers, header::VARY, "Origin");
    response
}

/// Middleware of discovery and the JWKS: any origin may read them.
pub async fn public(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, Error> {
    if is_preflight(&req) {
        let response = preflight("*", "GET");
        return Ok(req.into_response(response).map_into_right_body());
    }
    let mut response = next.call(req).await?;
    set(
        response.headers_mut(),
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        "*",
    );
    Ok(response.map_into_left_body())
}

/// Middleware of the token, userinfo, revocation and introspection endpoints.
pub async fn clients(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, Error> {
    let Some(sent) = req.headers().get(header::ORIGIN) else {
        return Ok(next.call(req).await?.map_into_left_body());
    };
    let Some(origin) = sent.to_str().ok().and_then(parse_origin) else {
        let refused = OAuthError::invalid_request(
            "The Origin header is not a web origin (scheme://host[:port]).",
        );
        return Ok(req
            .into_response(refused.error_response())
            .map_into_right_body());
    };
    let server = req
        .app_data::<web::Data<AuthorizationServer>>()
        .expect("the authorization server is app data")
        .clone();
    if is_preflight(&req) {
        let response = if registered(&server, &origin).await? {
            preflight(&origin, "GET, POST")
        } else {
            not_allowed(&origin).error_response()
        };
        return Ok(req.into_response(response).map_into_right_body());
    }
    req.extensions_mut().insert(RequestOrigin(origin.clone()));
    let mut response = next.call(req).await?;
    // A success passed the client's own check; an error may be read by any registered origin.
    if response.status().is_success() || registered(&server, &origin).await? {
        let headers = response.headers_mut();
        set(headers, header::ACCESS_CONTROL_ALLOW_ORIGIN, &origin);
        set(
            headers,
            header::ACCESS_CONTROL_EXPOSE_HEADERS,
            "WWW-Authenticate",
        );
        set(headers, header::VARY, "Origin");
    }
    Ok(response.map_into_left_body())
}

/// True when `origin` is the origin of some client's registered redirect URI.
async fn registered(server: &AuthorizationServer, origin: &str) -> Result<bool, OAuthError> {
    let origin = origin.to_string();
    db::run(&server.pool, move |conn| {
        OAuthClient::origin_registered(conn, &origin).map_err(OAuthError::from)
    })
    .await
}
