//! What the pages of the OpenID Connect endpoints a browser visits (authorization, end
//! session) take from a request: `Visit` — the page's context, the session and the
//! authorization server — and `ProtocolRequest<T>`, the endpoint's parameters from the query of
//! a GET or the form of a POST (OIDC Core §3.1.2.1, RP-Initiated Logout §2 allow both).
//!
//! Other sites post to these endpoints by design, and such a POST carries no `SameSite=Lax`
//! session cookie: where no session is in sight, the extractor answers a POST with a redirect
//! to the GET of the same request, which the browser makes with its cookie — before any
//! handler decides anything.

use std::future::{Ready, ready};

use actix_session::{Session, SessionExt};
use actix_web::dev::Payload;
use actix_web::error::InternalError;
use actix_web::http::Method;
use actix_web::{Error, FromRequest, HttpMessage, HttpRequest, web};
use futures_core::future::LocalBoxFuture;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::oauth_server::AuthorizationServer;
use crate::web::context::Viewer;
use crate::web::{PageContext, see_other};

/// The page's context, the session and the authorization server.
pub struct Visit {
    pub ctx: PageContext,
    pub session: Session,
    pub server: web::Data<AuthorizationServer>,
}

impl FromRequest for Visit {
    type Error = Error;
    type Future = Ready<Result<Self, Error>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let visit = PageContext::from_request(req, payload)
            .into_inner()
            .and_then(|ctx| {
                let server = web::Data::<AuthorizationServer>::extract(req).into_inner()?;
                Ok(Visit {
                    ctx,
                    session: req.get_session(),
                    server,
                })
            });
        ready(visit)
    }
}

/// An endpoint's parameters, from the query (GET) or the form (POST).
pub struct ProtocolRequest<T> {
    pub params: T,
}

impl<T: DeserializeOwned + Serialize + 'static> FromRequest for ProtocolRequest<T> {
    type Error = Error;
    type Future = LocalBoxFuture<'static, Result<Self, Error>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        if req.method() != Method::POST {
            let query = web::Query::<T>::from_request(req, payload).into_inner();
            return Box::pin(async move {
                Ok(ProtocolRequest {
                    params: query?.into_inner(),
                })
            });
        }
        let form = web::Form::<T>::from_request(req, payload);
        let path = req.path().to_string();
        let session_seen = req.extensions().get::<Viewer>().is_some();
        Box::pin(async move {
            let params = form.await?.into_inner();
            if session_seen {
                return Ok(ProtocolRequest { params });
            }
            let query = serde_urlencoded::to_string(&params).unwrap_or_default();
            let redirect = see_other(&format!("{path}?{query}"));
            Err(InternalError::from_response("posted without a session in sight", redirect).into())
        })
    }
}

/// A request's parameters as the hidden fields of a form that carries it on (the consent
/// decision, the logout confirmation): the ones it has, in order.
pub fn hidden_fields<T: Serialize>(params: &T) -> Vec<(String, String)> {
    serde_urlencoded::to_string(params)
        .ok()
        .and_then(|query| serde_urlencoded::from_str(&query).ok())
        .unwrap_or_default()
}
