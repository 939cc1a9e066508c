//! The link of an invitation: `GET /invitations/{token}` says which organisation invites whom
//! with what role (or why the link no longer works), and `POST …/accept` joins it for the
//! signed-in person invited.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;

use crate::db::models::invitations::Invitation;
use crate::db::{self, DbPool};
use crate::error::AppError;
use crate::security::session_store::ORGANISATION_ID;
use crate::services::{ServiceError, invitations};
use crate::web::answer::render;
use crate::web::{OnObject, PageContext, Url, success};

#[derive(Template)]
#[template(path = "invitations/show.html")]
struct InvitationPage {
    ctx: PageContext,
    /// The invitation and its organisation's name, while it can be accepted.
    open: Option<(Invitation, String)>,
    /// Why it cannot (used, withdrawn, expired, for someone else …).
    refusal: Option<String>,
    /// This page's path (the `next` of sign-in and sign-up).
    here: String,
}

impl InvitationPage {
    fn accept_action(&self) -> String {
        format!("{}/accept", self.here)
    }

    fn login(&self) -> String {
        Url::Login.query("next", &self.here)
    }

    fn signup(&self) -> String {
        Url::Signup.query("next", &self.here)
    }
}

/// The page, or the refusal's page with its status (404 for a link that never was).
fn answer(
    ctx: PageContext,
    here: String,
    opened: Result<(Invitation, String), ServiceError>,
) -> Result<HttpResponse, AppError> {
    let (status, open, refusal) = match opened {
        Ok(open) => (StatusCode::OK, Some(open), None),
        Err(ServiceError::Conflict(message)) => (StatusCode::GONE, None, Some(message)),
        Err(ServiceError::Forbidden(message)) => (StatusCode::FORBIDDEN, None, Some(message)),
        Err(other) => return Err(other.into()),
    };
    let page = InvitationPage {
        ctx,
        open,
        refusal,
        here,
    };
    Ok(render(status, &page))
}

pub async fn show(
    ctx: PageContext,
    (pool, link): (web::Data<DbPool>, web::Path<String>),
) -> Result<HttpResponse, AppError> {
    let token = link.into_inner();
    let here = format!("/invitations/{token}");
    let opened = db::run(&pool, move |conn| {
        Ok::<_, AppError>(invitations::open(conn, &token))
    })
    .await?;
    answer(ctx, here, opened)
}

/// Joins the organisation; a refusal (used, withdrawn, expired, another address, a member
/// already) draws the invitation page with the reason and changes nothing.
pub async fn accept(ctx: PageContext, post: OnObject<String>) -> Result<HttpResponse, AppError> {
    let (viewer, session, pool, token) = post.into_parts();
    let here = format!("/invitations/{token}");
    match invitations::accept(&pool, &viewer.actor(), token).await {
        Ok((organisation, name, role)) => {
            session
                .insert(ORGANISATION_ID, organisation)
                .map_err(|e| AppError::Failed(Box::new(e)))?;
            let message = format!("You joined {name} as {}.", role.label());
            Ok(success(&session, Url::Applications, message))
        }
        Err(refused) => answer(ctx, here, Err(refused)),
    }
}
