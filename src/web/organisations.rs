//! The organisation a person works in: its details and members, and switching to another of
//! theirs (the header's switcher).

use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use crate::db::models::organisations::{Member, Organisation};
use crate::db::{self, DbPool};
use crate::domain::ids::OrganisationId;
use crate::domain::ids::UserId;
use crate::domain::organisations::MemberRole;
use crate::error::AppError;
use crate::security::session_store::ORGANISATION_ID;
use crate::services::organisations::{self, MemberChange};
use crate::web::{OnObject, SignedInRequest};
use crate::web::{PageContext, SignedIn, Url, success};

#[derive(Template)]
#[template(path = "organisations/show.html")]
struct OrganisationPage {
    ctx: PageContext,
    organisation: Option<Organisation>,
    members: Vec<Member>,
}

impl OrganisationPage {
    /// The viewer's role in the organisation shown.
    fn my_role(&self) -> Option<MemberRole> {
        let viewer = self.ctx.viewer.as_ref()?;
        viewer.membership.as_ref().map(|m| m.role)
    }

    /// Whether the viewer may change this member's membership (the service decides again).
    fn may_manage(&self, member: &Member) -> bool {
        match self.my_role() {
            Some(MemberRole::Owner) => true,
            Some(MemberRole::Admin) => member.role != MemberRole::Owner,
            _ => false,
        }
    }

    /// The roles the viewer may give.
    fn roles(&self) -> &'static [MemberRole] {
        match self.my_role() {
            Some(MemberRole::Owner) => MemberRole::ALL,
            _ => &MemberRole::ALL[1..],
        }
    }
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

#[derive(Deserialize)]
pub struct RoleForm {
    #[serde(default)]
    role: String,
}

async fn change(post: OnObject<UserId>, change: MemberChange) -> Result<HttpResponse, AppError> {
    let (viewer, session, pool, member) = post.into_parts();
    let message = organisations::change_member(&pool, &viewer.actor(), member, change).await?;
    Ok(success(&session, Url::Organisation, format!("{message}.")))
}

/// `POST /organisation/members/{id}/role`: `role` (owner, admin, developer or viewer).
pub async fn change_role(
    post: OnObject<UserId>,
    form: web::Form<RoleForm>,
) -> Result<HttpResponse, AppError> {
    let role: MemberRole = form.role.trim().parse().map_err(|_| {
        AppError::Unprocessable("role: choose Owner, Admin, Developer or Viewer.".into())
    })?;
    change(post, MemberChange::Role(role)).await
}

pub async fn remove(post: OnObject<UserId>) -> Result<HttpResponse, AppError> {
    change(post, MemberChange::Remove).await
}

/// Leaves the organisation the person works in (refused to its last Owner).
pub async fn leave(post: SignedInRequest) -> Result<HttpResponse, AppError> {
    let (viewer, session, pool) = post.into_parts();
    let me = viewer.id;
    let message =
        organisations::change_member(&pool, &viewer.actor(), me, MemberChange::Leave).await?;
    let _ = session.remove(ORGANISATION_ID);
    Ok(success(&session, Url::Applications, format!("{message}.")))
}
