//! `/admin/organisations`: every organisation with its members and applications, and the
//! administrator's suspend and reinstate. A suspended organisation's tokens stop at their next
//! use and its members cannot work in it; reinstated, it works again.

use actix_web::{HttpResponse, web};
use askama::Template;

use crate::db::models::organisations::{Organisation, OrganisationLine};
use crate::db::{self, DbPool};
use crate::domain::ids::OrganisationId;
use crate::domain::organisations::OrganisationStatus;
use crate::error::AppError;
use crate::services::organisations::{self, Standing};
use crate::web::OnObject;
use crate::web::{PageContext, Url, success};

#[derive(Template)]
#[template(path = "admin/organisations.html")]
struct OrganisationsPage {
    ctx: PageContext,
    lines: Vec<OrganisationLine>,
}

pub async fn list(ctx: PageContext, pool: web::Data<DbPool>) -> Result<HttpResponse, AppError> {
    let lines = db::run(&pool, |conn| {
        Organisation::all_with_counts(conn).map_err(AppError::from)
    })
    .await?;
    Ok(crate::web::ok(&OrganisationsPage { ctx, lines }))
}

async fn set(post: OnObject<OrganisationId>, standing: Standing) -> Result<HttpResponse, AppError> {
    let (admin, session, pool, id) = post.into_parts();
    let organisation = organisations::set_standing(&pool, admin.actor(), id, standing).await?;
    let message = format!("{} is {} now.", organisation.name, organisation.status);
    Ok(success(&session, Url::AdminOrganisations, message))
}

pub async fn suspend(post: OnObject<OrganisationId>) -> Result<HttpResponse, AppError> {
    set(post, Standing::Suspend).await
}

pub async fn reinstate(post: OnObject<OrganisationId>) -> Result<HttpResponse, AppError> {
    set(post, Standing::Reinstate).await
}

/// The badge class of an organisation's status.
pub fn status_badge(status: &OrganisationStatus) -> &'static str {
    match status {
        OrganisationStatus::Active => "badge-success",
        OrganisationStatus::Pending => "badge-warning",
        OrganisationStatus::Suspended | OrganisationStatus::Rejected => "badge-danger",
    }
}
