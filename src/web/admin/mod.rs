//! The admin area (`/admin`, administrators only — enforced by `require_admin` on the scope).

pub mod apis;
pub mod audit;
pub mod gateways;
pub mod key_manager_tasks;
pub mod key_managers;
pub mod policies;
pub mod subscriptions;
pub mod users;

use actix_web::HttpResponse;
use askama::Template;

use super::PageContext;
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
