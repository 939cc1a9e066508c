//! What a signed-in request starts from: `SignedInRequest` — the person, their session (for the
//! message after a change) and the database; and `OnObject<Id>` — the same about one object,
//! with its id from the route's `{id}` as its own id type. Handlers take one of these instead
//! of three or four extractors (and `PageContext` beside it when they draw a page: its
//! extraction takes the pending messages, so only handlers that draw pages ask for it).

use actix_session::Session;
use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, web};
use futures_core::future::LocalBoxFuture;
use serde::de::DeserializeOwned;

use super::SignedIn;
use super::context::Viewer;
use crate::db::DbPool;

pub struct SignedInRequest {
    pub viewer: Viewer,
    pub session: Session,
    pub pool: web::Data<DbPool>,
}

impl SignedInRequest {
    /// The person, the session and the database, in that order.
    pub fn into_parts(self) -> (Viewer, Session, web::Data<DbPool>) {
        (self.viewer, self.session, self.pool)
    }

    async fn extract_from(req: &HttpRequest) -> Result<Self, actix_web::Error> {
        Ok(SignedInRequest {
            viewer: SignedIn::extract(req).await?.0,
            session: Session::extract(req).await?,
            pool: web::Data::<DbPool>::extract(req).await?,
        })
    }
}

impl FromRequest for SignedInRequest {
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move { Self::extract_from(&req).await })
    }
}

pub struct OnObject<Id> {
    pub viewer: Viewer,
    pub session: Session,
    pub pool: web::Data<DbPool>,
    pub id: Id,
}

impl<Id> OnObject<Id> {
    /// The person, the session, the database and the id, in that order.
    pub fn into_parts(self) -> (Viewer, Session, web::Data<DbPool>, Id) {
        (self.viewer, self.session, self.pool, self.id)
    }
}

impl<Id: DeserializeOwned + 'static> FromRequest for OnObject<Id> {
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let post = SignedInRequest::extract_from(&req).await?;
            Ok(OnObject {
                viewer: post.viewer,
                session: post.session,
                pool: post.pool,
                id: web::Path::<Id>::extract(&req).await?.into_inner(),
            })
        })
    }
}
