//! The admin area (`/admin`, administrators only — enforced by `require_admin` on the scope).

pub mod api_scopes;
pub mod apis;
pub mod audit;
pub mod gateways;
pub mod key_manager_tasks;
pub mod key_managers;
pub mod organisations;
pub mod policies;
pub mod subscriptions;
pub mod users;

use actix_web::dev::Payload;
use actix_web::http::StatusCode;
use actix_web::{FromRequest, HttpRequest, HttpResponse};
use askama::Template;
use futures_core::future::LocalBoxFuture;
use serde::Deserialize;

use super::{OnObject, PageContext, Url, render, success};
use crate::db::DbPool;
use crate::db::models::key_managers::KeyUser;
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

/// What an administrator's decision POST (approve, reject, lock, unlock) starts from: the
/// administrator and the id of what is decided on, with the page context to draw the list again
/// after a refused rejection.
pub struct DecisionPost {
    pub ctx: PageContext,
    pub object: OnObject<i64>,
}

impl FromRequest for DecisionPost {
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            Ok(DecisionPost {
                ctx: PageContext::extract(&req).await?,
                object: OnObject::extract(&req).await?,
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

/// A list page that draws its decisions again after a refused rejection: the users waiting
/// for approval, the subscriptions waiting for approval.
pub(crate) trait DecisionList: Template + Sized {
    /// The list the decisions come back to.
    const LIST: Url;

    /// The list of what waits for a decision, with the refused rejection by its reason field.
    async fn refused(
        ctx: PageContext,
        pool: &DbPool,
        failed: FailedRejection,
    ) -> Result<Self, AppError>;
}

/// The answer to a decision on `post.id`: 303 to the list with the message `done` makes of what was decided; when a
/// rejection was refused for its `reason`, the list again (422) with the reason and why by its
/// field. Any other error is its error page.
pub(crate) async fn decision_answer<P: DecisionList, T>(
    post: DecisionPost,
    result: Result<T, ServiceError>,
    reason: String,
    done: impl FnOnce(T) -> String,
) -> Result<HttpResponse, AppError> {
    match result {
        Ok(decided) => Ok(success(&post.object.session, P::LIST, done(decided))),
        Err(error) => {
            let failed = FailedRejection::of(post.object.id, reason, error)?;
            let page = P::refused(post.ctx, &post.object.pool, failed).await?;
            Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &page))
        }
    }
}

/// Why a delete was refused (409): the thing is the resident one, or still in use — by the
/// applications (and owners) listed, for a key manager.
pub(crate) struct InUse {
    pub problem: String,
    pub users: Vec<KeyUser>,
}

/// The answer to an administrator's delete: `done` with what was deleted (a redirect to the
/// list); when it was refused, the list again (409) with why, drawn by `again`. Any other error
/// is its error page.
pub(crate) async fn delete_answer<T, P: Template>(
    result: Result<T, ServiceError>,
    done: impl FnOnce(T) -> HttpResponse,
    again: impl AsyncFnOnce(InUse) -> Result<P, AppError>,
) -> Result<HttpResponse, AppError> {
    let refusal = match result {
        Ok(deleted) => return Ok(done(deleted)),
        Err(ServiceError::Conflict(problem)) => InUse {
            problem,
            users: Vec::new(),
        },
        Err(ServiceError::InUse { message, users }) => InUse {
            problem: message,
            users,
        },
        Err(other) => return Err(other.into()),
    };
    Ok(render(StatusCode::CONFLICT, &again(refusal).await?))
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
