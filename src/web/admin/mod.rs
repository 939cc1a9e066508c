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

/// `GET /admin`: where each administration task lives.
pub async fn index(ctx: PageContext) -> HttpResponse {
    super::ok(&AdminHome { ctx })
}
