//! Accounts pages: sign-up with the terms, sign-in and sign-out, and the waiting-for-approval page.

pub mod login;
pub mod signup;

use actix_session::Session;
use actix_web::HttpResponse;
use askama::Template;

use super::{PageContext, Url, redirect, see_other};
use crate::domain::ids::UserId;
use crate::domain::local_path::LocalPath;
use crate::error::AppError;
use crate::security::csrf;
use crate::security::session_store::{AUTH_TIME, USER_ID};

/// 303 to where a person goes once signed in: `next` when there is one, else an
/// administrator's dashboard or a TPP's applications.
pub fn landing(next: &str, is_admin: bool) -> HttpResponse {
    match (next, is_admin) {
        ("", true) => redirect(Url::Admin),
        ("", false) => redirect(Url::Applications),
        (next, _) => see_other(next),
    }
}

/// `next` when it is a local path, else empty.
pub fn safe_next(next: &str) -> String {
    LocalPath::parse(next)
        .map(|p| p.as_str().to_string())
        .unwrap_or_default()
}

/// `url`, carrying `next` along as a query parameter when there is one.
pub fn with_next(url: Url, next: &str) -> String {
    url.with_query(Some(("next", next)).filter(|_| !next.is_empty()))
}

/// Signs `user_id` in on this browser, recording when (the ID tokens' `auth_time`). A new
/// session id: whatever an attacker planted before is anonymous afterwards.
pub fn start_session(session: &Session, user_id: UserId) -> Result<(), AppError> {
    session.renew();
    session
        .insert(USER_ID, user_id)
        .and_then(|()| session.insert(AUTH_TIME, crate::db::now()))
        .map_err(|e| AppError::Failed(Box::new(e)))?;
    csrf::rotate(session);
    Ok(())
}

/// "Try again in 15 minutes" for a lock that ends at `until`.
pub fn wait_text(until: i64) -> String {
    let minutes = ((until - crate::db::now()).max(1) + 59) / 60;
    if minutes <= 1 {
        "Wait a minute, then try again.".to_string()
    } else {
        format!("Wait {minutes} minutes, then try again.")
    }
}

#[derive(Template)]
#[template(path = "accounts/terms.html")]
struct TermsPage {
    ctx: PageContext,
}

#[cfg(test)]
mod render_test;

/// `GET /terms`: the terms and conditions a TPP accepts at sign-up.
pub async fn terms(ctx: PageContext) -> HttpResponse {
    super::ok(&TermsPage { ctx })
}

#[derive(Template)]
#[template(path = "accounts/pending.html")]
pub struct PendingPage {
    pub ctx: PageContext,
    pub rejected: bool,
    /// Why an administrator rejected the account (shown only after the right password).
    pub reason: Option<String>,
}

/// `GET /signup/pending`: what a person sees while their account waits for an administrator.
pub async fn pending(ctx: PageContext) -> HttpResponse {
    super::ok(&PendingPage {
        ctx,
        rejected: false,
        reason: None,
    })
}
