//! The organisation a person works in: its details and members, and switching to another of
//! theirs (the header's switcher).

use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use crate::db::models::organisations::{Member, Organisation};
use crate::db::{self, DbPool};
use crate::domain::ids::OrganisationId;
use crate::error::AppError;
use crate::security::session_store::ORGANISATION_ID;
use crate::services::organisations;
use crate::web::SignedInRequest;
use crate::web::{PageContext, SignedIn, Url, success};

#[derive(Template)]
#[template(path = "organisations/show.html")]
struct OrganisationPage {
    ctx: PageContext,
    organisation: Option<Organisation>,
    members: Vec<Member>,
}

pub async fn show(
    ctx: PageContext,
    SignedIn(viewer): SignedIn,
    pool: web::Data<DbPool>,
) -> Result<HttpResponse, AppError> {
    let current = viewer.membership.as_ref().map(|m| m.organisation_id);
    let (organisation, members) = db::run(&pool, move |conn| {
        let Some(id) = current else {
            return Ok((None, Vec::new()));
        };
        let organisation = Organisation::find(conn, id)?;
        let members = crate::db::models::organisations::Membership::members(conn, id)?;
        Ok::<_, AppError>((organisation, members))
    })
    .await?;
    Ok(super::ok(&OrganisationPage {
        ctx,
        organisation,
        members,
    }))
}

#[derive(Deserialize)]
pub struct SwitchForm {
    #[serde(default)]
    organisation_id: String,
}

/// Works in another of the person's organisations from now on (this session).
pub async fn switch(
    post: SignedInRequest,
    form: web::Form<SwitchForm>,
) -> Result<HttpResponse, AppError> {
    let (viewer, session, _) = post.into_parts();
    let chosen: OrganisationId = form.organisation_id.trim().parse().map_err(|_| {
        AppError::BadRequest("organisation_id: choose one of your organisations.".into())
    })?;
    let membership = organisations::switchable(&viewer.memberships, chosen)?;
    session
        .insert(ORGANISATION_ID, membership.organisation_id)
        .map_err(|e| AppError::Failed(Box::new(e)))?;
    let message = format!(
        "You are working in {} now, as {}.",
        membership.organisation_name,
        membership.role.label()
    );
    Ok(success(&session, Url::Applications, message))
}
