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
