//! Client authentication at the token, introspection and revocation endpoints:
//! `client_secret_basic` or `client_secret_post` (never both), or a public client naming itself
//! (its proof is PKCE, checked by the grant). A call from a browser (an `Origin`, read by the
//! CORS middleware) must come from the origin of one of the client's redirect URIs.

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest, web};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use futures_core::future::LocalBoxFuture;
use std::sync::Arc;

use super::clients::ClientWithApplication;
use super::cors::{RequestOrigin, not_allowed};
use super::error::OAuthError;
use super::params::Params;

/// A request to a client-authenticated endpoint (token, introspection, revocation): its form
/// parameters and the credentials read from them and the `Authorization` header.
pub struct ClientCall {
    pub params: Params,
    pub credentials: Credentials,
}

impl ClientCall {
    pub fn into_parts(self) -> (Params, Credentials) {
        (self.params, self.credentials)
    }
}

impl FromRequest for ClientCall {
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let body = web::Bytes::from_request(req, payload);
        let req = req.clone();
        Box::pin(async move {
            let params = Params::parse(&body.await?)?;
            let credentials = Credentials::from_request(&req, &params)?;
            Ok(ClientCall {
                params,
                credentials,
            })
        })
    }
}

/// Who the request says it is, before the registry confirms it, and the browser origin it
/// came from (if any).
pub enum Credentials {
    /// client_id + client_secret, from the Authorization header or the body.
    Secret {
        client_id: String,
        client_secret: String,
        origin: Option<String>,
    },
    /// A client_id alone: only a public client may do this.
    Public {
        client_id: String,
        origin: Option<String>,
    },
}

impl Credentials {
    pub fn client_id(&self) -> &str {
        match self {
            Credentials::Secret { client_id, .. } | Credentials::Public { client_id, .. } => {
                client_id
            }
        }
    }

    fn origin(&self) -> Option<&str> {
        match self {
            Credentials::Secret { origin, .. } | Credentials::Public { origin, .. } => {
                origin.as_deref()
            }
        }
    }

    /// The client, when these credentials prove to be it: its secret for a confidential client,
    /// its id alone for a public one. Wrong secret and wrong kind of client look alike. A
    /// browser's call from an origin the client did not register is refused.
    pub fn confirm(
        &self,
        client: Arc<ClientWithApplication>,
    ) -> Result<Arc<ClientWithApplication>, OAuthError> {
        let valid = match self {
            Credentials::Secret { client_secret, .. } => {
                !client.client.public_client && client.client.secret_matches(client_secret)
            }
            Credentials::Public { .. } => client.client.public_client,
        };
        if !valid {
            return Err(OAuthError::invalid_client());
        }
        match self.origin() {
            Some(origin) if !client.client.allows_origin(origin) => Err(not_allowed(origin)),
            _ => Ok(client),
        }
    }

    /// Reads the credentials; malformed Basic is `invalid_client`, two methods `invalid_request`.
    pub fn from_request(req: &HttpRequest, params: &Params) -> Result<Self, OAuthError> {
        let basic = match req.headers().get(header::AUTHORIZATION) {
            Some(value) => Some(parse_basic(
                value.to_str().map_err(|_| OAuthError::invalid_client())?,
            )?),
            None => None,
        };
        let post_secret = params.get("client_secret");
        let post_id = params.get("client_id");
        let origin = RequestOrigin::of(req);
        match (basic, post_secret) {
            (Some(_), Some(_)) => Err(OAuthError::invalid_request(
                "Use one client authentication method, not both client_secret_basic and client_secret_post.",
            )),
            (Some((client_id, client_secret)), None) => {
                if post_id.is_some_and(|id| id != client_id) {
                    return Err(OAuthError::invalid_request(
                        "client_id does not match the authenticated client.",
                    ));
                }
                Ok(Credentials::Secret {
                    client_id,
                    client_secret,
                    origin,
                })
            }
            (None, Some(secret)) => match post_id {
                Some(client_id) => Ok(Credentials::Secret {
                    client_id: client_id.to_string(),
                    client_secret: secret.to_string(),
                    origin,
                }),
                None => Err(OAuthError::invalid_client()),
            },
            (None, None) => match post_id {
                Some(client_id) => Ok(Credentials::Public {
                    client_id: client_id.to_string(),
                    origin,
                }),
                None => Err(OAuthError::invalid_client()),
            },
        }
    }
}

/// `Basic base64(urlencode(id):urlencode(secret))` (RFC 6749 §2.3.1).
fn parse_basic(value: &str) -> Result<(String, String), OAuthError> {
    let encoded = value
        .strip_prefix("Basic ")
        .or_else(|| value.strip_prefix("basic "))
        .ok_or_else(OAuthError::invalid_client)?;
    let decoded = STANDARD
        .decode(encoded.trim())
        .map_err(|_| OAuthError::invalid_client())?;
    let decoded = String::from_utf8(decoded).map_err(|_| OAuthError::invalid_client())?;
    let (id, secret) = decoded
        .split_once(':')
        .ok_or_else(OAuthError::invalid_client)?;
    let unescape = |s: &str| {
        url::form_urlencoded::parse(format!("v={}", s.replace('+', "%2B")).as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default()
    };
    let (id, secret) = (unescape(id), unescape(secret));
    if id.is_empty() {
        return Err(OAuthError::invalid_client());
    }
    Ok((id, secret))
}
