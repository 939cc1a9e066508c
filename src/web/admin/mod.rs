//! The admin area (`/admin`, administrators only — enforced by `require_admin` on the scope).

pub mod apis;
pub mod audit;
pub mod gateways;
pub mod key_manager_tasks;
pub mod key_managers;
pub mod policies;
pub mod subscriptions;
pub mod users;

use actix_session::Session;
use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, HttpResponse, web};
use askama::Template;
use futures_core::future::LocalBoxFuture;
use serde::Deserialize;

use super::context::Viewer;
use super::{PageContext, SignedIn};
use crate::db::DbPool;
use crate::error::AppError;
use crate::services::ServiceError;

#[derive(Template)]
#[template(path = "admin/index.html")]
struct AdminHome {
    ctx: PageContext,
}

#[cfg(test)]
mod render_test;

/// `GET /admin`: where each administration task lives.
pub async fn index(ctx: PageContext) -> HttpResponse {
    super::ok(&AdminHome { ctx })
}

/// A rejection (of a sign-up or a subscription) refused for its reason: which object, the
/// reason typed, and the error, shown by that object's reason field.
#[derive(Default)]
pub(crate) struct FailedRejection {
    pub id: i64,
    pub reason: String,
    pub message: String,
}

/// What an administrator's decision POST (approve, reject, lock, unlock) starts from: the page
/// context (to draw the list again after a refused rejection), the administrator, the session
/// for the message, the database and the id of what is decided on.
pub struct DecisionPost {
    pub ctx: PageContext,
    pub admin: Viewer,
    pub session: Session,
    pub pool: web::Data<DbPool>,
    pub id: i64,
}

impl FromRequest for DecisionPost {
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            Ok(DecisionPost {
                ctx: PageContext::extract(&req).await?,
                admin: SignedIn::extract(&req).await?.0,
                session: Session::extract(&req).await?,
                pool: web::Data::<DbPool>::extract(&req).await?,
                id: web::Path::<i64>::extract(&req).await?.into_inner(),
            })
        })
    }
}

/// The form of a rejection: its reason.
#[derive(Deserialize)]
pub struct DecisionForm {
    #[serde(default)]
    reason: String,
}

impl DecisionForm {
    pub fn reason(self) -> String {
        self.reason
    }
}

impl FailedRejection {
    /// The rejection of `id` refused for its `reason`, to show by its field; any other error
    /// stays an error (and becomes its page).
    pub fn of(id: i64, reason: String, error: ServiceError) -> Result<Self, AppError> {
        match error {
            ServiceError::Invalid(errors) => Ok(Self {
                id,
                message: errors
                    .get("reason")
                    .unwrap_or("Check the reason.")
                    .to_string(),
                reason,
            }),
            other => Err(other.into()),
        }
    }
}
