//! The one CSRF guard: every POST under the HTML routes must carry a valid token in the
//! `csrf_token` form field, and must not come from another site (`Origin`, `Sec-Fetch-Site`).
//! It wraps the whole HTML scope, so no handler can forget it; the OAuth2 endpoints that
//! authenticate clients rather than cookies are outside that scope.
//!
//! Two kinds of token, so that a visitor who has not signed in costs no session row:
//! a signed-in session keeps a synchronizer token in its server-side state (made again at
//! sign-in); an anonymous visitor gets a signed double-submit cookie (`portico_csrf`, a random
//! nonce and its HMAC under a key derived from the secret key) and forms carry a second HMAC of
//! that nonce. Both are compared in constant time. A POST whose session cookie no longer
//! resolves is not a forgery but an expired session: see `expired_form`.

use actix_session::{Session, SessionExt};
use actix_web::body::{EitherBody, MessageBody};
use actix_web::cookie::{Cookie, SameSite};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::Method;
use actix_web::middleware::Next;
use actix_web::web::{self, Bytes};
use actix_web::{Error, HttpMessage, HttpRequest, ResponseError};
use aws_lc_rs::{hkdf, hmac};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use super::session_store::USER_ID;
use super::{constant_time_eq, expired_form, form_text, random};
use crate::config::{SecretKey, Settings};
use crate::domain::ids::UserId;
use crate::error::AppError;

/// The POST routes other sites post to by design, which the guard lets through: the
/// authorization endpoint (OIDC Core §3.1.2.1) and the end-session endpoint (RP-Initiated
/// Logout §2). Neither does anything a GET of the same request would not; the consent decision
/// and the logout confirmation they lead to are ordinary forms, guarded.
pub const EXEMPT: &[&str] = &["/oauth2/authorize", "/oauth2/logout"];

/// The session state key of the synchronizer token.
const SESSION_KEY: &str = "csrf";
/// The form field that carries it.
pub const FIELD: &str = "csrf_token";

/// The keys and cookie names of the guard, built once from the settings (app data).
pub struct CsrfConfig {
    key: hmac::Key,
    pub(super) drafts: super::secret_box::SecretBox,
    pub(super) secure: bool,
    anonymous_cookie: &'static str,
    session_cookie: &'static str,
    pub(super) draft_cookie: &'static str,
}

impl CsrfConfig {
    pub fn new(settings: &Settings) -> Self {
        let secure = settings.is_https();
        Self {
            key: derive_key(&settings.secret_key),
            drafts: super::secret_box::SecretBox::new(&settings.secret_key),
            secure,
            anonymous_cookie: if secure {
                "__Host-portico_csrf"
            } else {
                "portico_csrf"
            },
            session_cookie: super::session_store::cookie_name(secure),
            draft_cookie: if secure {
                "__Host-portico_draft"
            } else {
                "portico_draft"
            },
        }
    }

    fn mac(&self, purpose: &str, value: &str) -> String {
        let tag = hmac::sign(&self.key, format!("{purpose}|{value}").as_bytes());
        URL_SAFE_NO_PAD.encode(tag.as_ref())
    }

    fn verify(&self, purpose: &str, value: &str, mac: &str) -> bool {
        let Ok(tag) = URL_SAFE_NO_PAD.decode(mac) else {
            return false;
        };
        hmac::verify(&self.key, format!("{purpose}|{value}").as_bytes(), &tag).is_ok()
    }

    /// The nonce of a cookie value `nonce.mac`, when the mac is ours.
    fn anonymous_nonce(&self, cookie: &str) -> Option<String> {
        let (nonce, mac) = cookie.split_once('.')?;
        (!nonce.is_empty() && self.verify("cookie", nonce, mac)).then(|| nonce.to_string())
    }

    fn anonymous_token(&self, nonce: &str) -> String {
        self.mac("form", nonce)
    }

    /// True when `sent` is the form token of the request's own, validly signed cookie.
    fn anonymous_valid(&self, req: &ServiceRequest, sent: &str) -> bool {
        let Some(nonce) = req
            .cookie(self.anonymous_cookie)
            .and_then(|c| self.anonymous_nonce(c.value()))
        else {
            return false;
        };
        constant_time_eq(self.anonymous_token(&nonce).as_bytes(), sent.as_bytes())
    }

    /// The signed-in user a session token was made for, when the token is ours. Only used to
    /// bind the draft of an expired session's form to its author; never to authorise.
    pub(super) fn session_token_user(&self, token: &str) -> Option<UserId> {
        let mut parts = token.splitn(3, '.');
        let (random, user, mac) = (parts.next()?, parts.next()?, parts.next()?);
        let user_id = user.parse().ok()?;
        self.verify("session", &format!("{random}.{user}"), mac)
            .then_some(user_id)
    }

    fn cookie(&self, name: &'static str, value: String) -> Cookie<'static> {
        Cookie::build(name, value)
            .path("/")
            .http_only(true)
            .same_site(SameSite::Lax)
            .secure(self.secure)
            .finish()
    }

    /// True when the request carries a session cookie (live or not).
    pub fn had_session(&self, req: &ServiceRequest) -> bool {
        req.cookie(self.session_cookie).is_some()
    }

    /// A `Set-Cookie` that removes a session cookie that no longer resolves.
    pub fn session_removal(&self) -> Cookie<'static> {
        self.removal(self.session_cookie)
    }

    /// A `Set-Cookie` that removes `name`.
    pub(super) fn removal(&self, name: &'static str) -> Cookie<'static> {
        let mut cookie = self.cookie(name, String::new());
        cookie.make_removal();
        cookie
    }

    pub(super) fn draft_cookie(&self, value: String) -> Cookie<'static> {
        let mut cookie = self.cookie(self.draft_cookie, value);
        cookie.set_max_age(actix_web::cookie::time::Duration::seconds(
            expired_form::DRAFT_SECS,
        ));
        cookie
    }
}

fn derive_key(secret: &SecretKey) -> hmac::Key {
    let salt = hkdf::Salt::new(hkdf::HKDF_SHA256, b"portico");
    let info = [b"csrf tokens v1".as_slice()];
    let prk = salt.extract(secret.bytes());
    let okm = prk
        .expand(&info, hmac::HMAC_SHA256)
        .expect("HKDF yields an HMAC key");
    hmac::Key::from(okm)
}

/// The nonce a page issued to an anonymous visitor without a valid cookie; the guard sets the
/// cookie on the way out.
#[derive(Clone)]
struct IssuedNonce(String);

fn config_of(req: &HttpRequest) -> web::Data<CsrfConfig> {
    req.app_data::<web::Data<CsrfConfig>>()
        .expect("the CSRF configuration is app data")
        .clone()
}

/// The token for the forms of the page answering `req`: the session's own for a signed-in
/// person, the anonymous double-submit token otherwise (which starts no session).
pub fn token_for(req: &HttpRequest, signed_in: bool) -> String {
    if signed_in {
        return session_token(req);
    }
    let config = config_of(req);
    let issued = req.extensions().get::<IssuedNonce>().cloned();
    let nonce = match issued {
        Some(IssuedNonce(nonce)) => nonce,
        None => match req
            .cookie(config.anonymous_cookie)
            .and_then(|c| config.anonymous_nonce(c.value()))
        {
            Some(nonce) => nonce,
            None => {
                let nonce = random::token(32);
                req.extensions_mut().insert(IssuedNonce(nonce.clone()));
                nonce
            }
        },
    };
    config.anonymous_token(&nonce)
}

/// The signed-in session's token, made on first use. It names the signed-in user under our
/// MAC, so that a form sent after the session expired can be kept for that person only.
fn session_token(req: &HttpRequest) -> String {
    let session = req.get_session();
    if let Ok(Some(token)) = session.get::<String>(SESSION_KEY) {
        return token;
    }
    let user = session
        .get::<i64>(USER_ID)
        .ok()
        .flatten()
        .unwrap_or_default();
    let body = format!("{}.{user}", random::token(24));
    let token = format!("{body}.{}", config_of(req).mac("session", &body));
    let _ = session.insert(SESSION_KEY, &token);
    token
}

/// Forgets the session's token (at sign-in): the next page makes a new one.
pub fn rotate(session: &Session) {
    session.remove(SESSION_KEY);
}

fn signed_in(session: &Session) -> bool {
    session.get::<i64>(USER_ID).ok().flatten().is_some()
}

pub async fn guard(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, Error> {
    let config = config_of(req.request());
    let exempt = *req.method() == Method::POST && EXEMPT.contains(&req.path());
    if exempt || matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        let response = next.call(req).await?;
        return Ok(set_issued_cookie(response, &config).map_into_left_body());
    }
    if is_cross_site(&req) {
        return Ok(reject(req));
    }
    let body = match req.extract::<Bytes>().await {
        Ok(body) => body,
        Err(_) => {
            let response = AppError::PayloadTooLarge.error_response();
            return Ok(req.into_response(response).map_into_right_body());
        }
    };
    let session = req.get_session();
    let sent = form_field(&body, FIELD).unwrap_or_default();
    let signed_in = signed_in(&session);
    let valid = if signed_in {
        match session.get::<String>(SESSION_KEY).ok().flatten() {
            Some(expected) => constant_time_eq(expected.as_bytes(), sent.as_bytes()),
            None => false,
        }
    } else {
        config.anonymous_valid(&req, &sent)
    };
    if !valid {
        // A real form always carries a token; with one, and a session cookie that no longer
        // resolves, the person's session ended while they were typing.
        if !signed_in && !sent.is_empty() && config.had_session(&req) {
            let response = expired_form::sign_in_again(&req, &config, &body, &sent);
            return Ok(req.into_response(response).map_into_right_body());
        }
        return Ok(reject(req));
    }
    if let Some(field) = form_text::invalid_utf8_field(&body) {
        let response = AppError::BadRequest(form_text::message(&field)).error_response();
        return Ok(req.into_response(response).map_into_right_body());
    }
    let had_draft = signed_in && req.cookie(config.draft_cookie).is_some();
    req.set_payload(body.into());
    let mut response = set_issued_cookie(next.call(req).await?, &config);
    if had_draft {
        // The kept form was sent again (or another one was): it is not offered twice.
        let _ = response
            .response_mut()
            .add_cookie(&config.removal(config.draft_cookie));
    }
    Ok(response.map_into_left_body())
}

/// Sets the anonymous cookie when the page issued a new nonce.
fn set_issued_cookie<B>(
    mut response: ServiceResponse<B>,
    config: &CsrfConfig,
) -> ServiceResponse<B> {
    let issued = response
        .request()
        .extensions()
        .get::<IssuedNonce>()
        .cloned();
    if let Some(IssuedNonce(nonce)) = issued {
        let value = format!("{nonce}.{}", config.mac("cookie", &nonce));
        let cookie = config.cookie(config.anonymous_cookie, value);
        let _ = response.response_mut().add_cookie(&cookie);
    }
    response
}

fn reject<B>(req: ServiceRequest) -> ServiceResponse<EitherBody<B>> {
    tracing::warn!(
        path = req.path(),
        "refused a POST without a valid CSRF token"
    );
    let response = AppError::Forbidden(
        "This form has expired or was sent from another site. Go back, reload the page and try again.".into(),
    )
    .error_response();
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
