//! The organisation a person works in: its details and members, and switching to another of
//! theirs (the header's switcher).

use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use crate::db::models::audit_events::{AuditEvent, AuditFilter};
use crate::db::models::invitations::Invitation;
use crate::db::models::organisations::{Member, Membership, Organisation};
use crate::db::{self, DbPool};
use crate::domain::FieldErrors;
use crate::domain::ids::OrganisationId;
use crate::domain::ids::UserId;
use crate::domain::organisations::MemberRole;
use crate::error::AppError;
use crate::security::session_store::ORGANISATION_ID;
use crate::services::invitations::{self, Invited};
use crate::services::organisations::{self, MemberChange};
use crate::web::one_time::OneTime;
use crate::web::{OnObject, SignedInRequest};
use crate::web::{PageContext, SignedIn, Url, form_answer, redirect, success};

/// How many of the organisation's events its page shows.
const HISTORY: i64 = 50;

#[derive(Template)]
#[template(path = "organisations/show.html")]
struct OrganisationPage {
    ctx: PageContext,
    organisation: Option<Organisation>,
    members: Vec<Member>,
    /// The open invitations (for Owners and Admins).
    invitations: Vec<Invitation>,
    /// The invitation form's values and errors.
    invite: InviteForm,
    errors: FieldErrors,
    /// The invitation just made: its link, shown this once.
    invited: Option<Invited>,
    /// The organisation's newest events.
    history: Vec<AuditEvent>,
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

    fn manages_members(&self) -> bool {
        self.my_role().is_some_and(|r| r.may_manage_members())
    }

    /// The roles the viewer may give.
    fn roles(&self) -> &'static [MemberRole] {
        match self.my_role() {
            Some(MemberRole::Owner) => MemberRole::ALL,
            _ => &MemberRole::ALL[1..],
        }
    }

    /// The link an invitation's token opens.
    fn link(&self, invited: &Invited) -> String {
        format!("{}/invitations/{}", self.ctx.base_url(), invited.token)
    }
}

#[derive(Debug, Default, Clone, Deserialize)]
pub struct InviteForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    role: String,
}

async fn page(
    ctx: PageContext,
    pool: &DbPool,
    invite: InviteForm,
    errors: FieldErrors,
    invited: Option<Invited>,
) -> Result<OrganisationPage, AppError> {
    let viewer = ctx.viewer.as_ref();
    let current = viewer
        .and_then(|v| v.membership.as_ref())
        .map(|m| m.organisation_id);
    let (organisation, members, invitations, history) = db::run(pool, move |conn| {
        let Some(id) = current else {
            return Ok((None, Vec::new(), Vec::new(), Vec::new()));
        };
        let organisation = Organisation::find(conn, id)?;
        let members = Membership::members(conn, id)?;
        let invitations = Invitation::open_of(conn, id, db::now())?;
        let own = AuditFilter {
            organisation: Some(id),
            ..Default::default()
        };
        let (history, _) = AuditEvent::page(conn, &own, 0, HISTORY)?;
        Ok::<_, AppError>((organisation, members, invitations, history))
    })
    .await?;
    let mut page = OrganisationPage {
        ctx,
        organisation,
        members,
        invitations,
        invite,
        errors,
        invited,
        history,
    };
    if !page.manages_members() {
        page.invitations.clear();
    }
    Ok(page)
}

/// `GET /organisation`: with, this once, the link of the invitation just made.
pub async fn show(
    ctx: PageContext,
    one_time: OneTime,
    pool: web::Data<DbPool>,
) -> Result<HttpResponse, AppError> {
    let invited = one_time.take::<Invited>(&Url::Organisation.to_string());
    let blank = InviteForm {
        role: MemberRole::Developer.to_string(),
        ..Default::default()
    };
    let page = page(ctx, &pool, blank, FieldErrors::new(), invited).await?;
    Ok(super::ok(&page))
}

/// `POST /organisation/invitations`: `email` and `role`; 303 to the organisation page, which
/// shows the link once.
pub async fn invite(
    ctx: PageContext,
    SignedIn(viewer): SignedIn,
    (one_time, pool): (OneTime, web::Data<DbPool>),
    web::Form(form): web::Form<InviteForm>,
) -> Result<HttpResponse, AppError> {
    let result = invitations::invite(&pool, &viewer.actor(), &form.email, &form.role).await;
    let done = |invited| {
        one_time.keep(&Url::Organisation.to_string(), &invited);
        redirect(Url::Organisation)
    };
    let again = async |errors| page(ctx, &pool, form, errors, None).await;
    form_answer(result, done, again).await
}

pub async fn revoke_invitation(post: OnObject<i64>) -> Result<HttpResponse, AppError> {
    let (viewer, session, pool, id) = post.into_parts();
    let message = invitations::revoke(&pool, &viewer.actor(), id).await?;
    Ok(success(&session, Url::Organisation, format!("{message}.")))
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
