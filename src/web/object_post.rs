//! `ObjectPost<Id>`: what a signed-in POST about one object starts from — the page context (to
//! draw a form or list again), the person, their session (for the message after it), the
//! database, and the object's id from the route's `{id}`, as its own id type. The handlers of
//! such POSTs take this one value instead of five extractors.

use actix_session::Session;
use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, web};
use futures_core::future::LocalBoxFuture;
use serde::de::DeserializeOwned;

use super::context::Viewer;
use super::{PageContext, SignedIn};
use crate::db::DbPool;

pub struct ObjectPost<Id> {
    pub ctx: PageContext,
    pub viewer: Viewer,
    pub session: Session,
    pub pool: web::Data<DbPool>,
    pub id: Id,
}

impl<Id> ObjectPost<Id> {
    /// The context, the person, the session, the database and the id, in that order.
    pub fn into_parts(self) -> (PageContext, Viewer, Session, web::Data<DbPool>, Id) {
        (self.ctx, self.viewer, self.session, self.pool, self.id)
    }
}

impl<Id: DeserializeOwned + 'static> FromRequest for ObjectPost<Id> {
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            Ok(ObjectPost {
                ctx: PageContext::extract(&req).await?,
                viewer: SignedIn::extract(&req).await?.0,
                session: Session::extract(&req).await?,
                pool: web::Data::<DbPool>::extract(&req).await?,
                id: web::Path::<Id>::extract(&req).await?.into_inner(),
            })
        })
    }
}
