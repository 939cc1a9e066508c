//! The one CSRF guard: every POST under the HTML routes must carry the session's synchronizer
//! token in the `csrf_token` form field, and must not come from another site (`Origin`,
//! `Sec-Fetch-Site`). It wraps the whole HTML scope, so no handler can forget it; the OAuth2
//! endpoints that authenticate clients rather than cookies are outside that scope.

use actix_session::{Session, SessionExt};
use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::Method;
use actix_web::middleware::Next;
use actix_web::web::Bytes;
use actix_web::{Error, HttpResponse};

use super::{constant_time_eq, random};
use crate::web::errors::{ErrorKind, error_page};

/// The session state key of the synchronizer token.
const SESSION_KEY: &str = "csrf";
/// The form field that carries it.
pub const FIELD: &str = "csrf_token";

/// The session's token, made on first use.
pub fn token(session: &Session) -> String {
    if let Ok(Some(token)) = session.get::<String>(SESSION_KEY) {
        return token;
    }
    rotate(session)
}

/// Gives the session a new token (at sign-in).
pub fn rotate(session: &Session) -> String {
    let token = random::token(32);
    let _ = session.insert(SESSION_KEY, &token);
    token
}

pub async fn guard(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, Error> {
    if matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        return Ok(next.call(req).await?.map_into_left_body());
    }
    if is_cross_site(&req) {
        return Ok(reject(req));
    }
    let body = match req.extract::<Bytes>().await {
        Ok(body) => body,
        Err(_) => {
            let response = error_page(ErrorKind::PayloadTooLarge, "");
            return Ok(req.into_response(response).map_into_right_body());
        }
    };
    let expected = req.get_session().get::<String>(SESSION_KEY).ok().flatten();
    let sent = form_field(&body, FIELD);
    let valid = match (expected, sent) {
        (Some(expected), Some(sent)) => constant_time_eq(expected.as_bytes(), sent.as_bytes()),
        _ => false,
    };
    if !valid {
        return Ok(reject(req));
    }
    req.set_payload(body.into());
    Ok(next.call(req).await?.map_into_left_body())
}

fn reject<B>(req: ServiceRequest) -> ServiceResponse<EitherBody<B>> {
    tracing::warn!(
        path = req.path(),
        "refused a POST without a valid CSRF token"
    );
    let response: HttpResponse = error_page(
        ErrorKind::Forbidden,
        "This form has expired or was sent from another site. Go back, reload the page and try again.",
    );
    req.into_response(response).map_into_right_body()
}

/// A request a browser marks as coming from another site, or whose `Origin` is not this host.
fn is_cross_site(req: &ServiceRequest) -> bool {
    let header = |name: &str| req.headers().get(name).and_then(|v| v.to_str().ok());
    if header("sec-fetch-site") == Some("cross-site") {
        return true;
    }
    let Some(origin) = header("origin") else {
        return false;
    };
    let Some(host) = header("host") else {
        return true;
    };
    let origin_host = origin
        .strip_prefix("https://")
        .or_else(|| origin.strip_prefix("http://"));
    origin_host != Some(host)
}

/// The first value of `name` in an urlencoded body.
fn form_field(body: &[u8], name: &str) -> Option<String> {
    url::form_urlencoded::parse(body)
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.into_owned())
}
