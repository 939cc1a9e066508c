//! `GET/POST /login` and `POST /logout`.

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use crate::db::DbPool;
use crate::domain::accounts::AccountStatus;
use crate::error::AppError;
use crate::security::client_address::ClientAddress;
use crate::services::sign_in::{self, SignInError};
use crate::web::accounts::{PendingPage, landing, safe_next, start_session, wait_text, with_next};
use crate::web::{PageContext, Url, flash, render, see_other};

#[derive(Deserialize, Default)]
pub struct LoginForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    next: String,
}

#[derive(Deserialize)]
pub struct LoginQuery {
    next: Option<String>,
    signed_out: Option<bool>,
    expired: Option<bool>,
    /// An application asked for a fresh sign-in (`prompt=login`, `max_age`): the form is shown
    /// even to a signed-in person.
    again: Option<bool>,
}

#[derive(Template)]
#[template(path = "accounts/login.html")]
struct LoginPage {
    ctx: PageContext,
    username: String,
    next: String,
    error: Option<String>,
    signed_out: bool,
    expired: bool,
    again: bool,
}

#[cfg(test)]
mod render_test;

impl LoginPage {
    /// The "create an account" link, carrying `next` along.
    fn signup_link(&self) -> String {
        with_next(Url::Signup, &self.next)
    }
}

pub async fn form(
    ctx: PageContext,
    session: Session,
    query: web::Query<LoginQuery>,
) -> HttpResponse {
    let next = safe_next(query.next.as_deref().unwrap_or_default());
    let again = query.again == Some(true);
    if let Some(viewer) = ctx.viewer.as_ref().filter(|_| again) {
        let username = viewer.username.clone();
        return super::super::ok(&LoginPage {
            ctx,
            username,
            next,
            error: None,
            signed_out: false,
            expired: false,
            again,
        });
    }
    if ctx.viewer.is_some() {
        // Passing through (right after sign-up): the messages wait for the page it goes on to.
        for message in &ctx.flashes {
            flash(&session, &message.level, message.message.clone());
        }
        return landing(&next, ctx.is_admin());
    }
    let signed_out = query.signed_out == Some(true);
    super::super::ok(&LoginPage {
        ctx,
        username: String::new(),
        next,
        error: None,
        signed_out,
        expired: query.expired == Some(true),
        again,
    })
}

pub async fn submit(
    client: ClientAddress,
    ctx: PageContext,
    session: Session,
    pool: web::Data<DbPool>,
    form: web::Form<LoginForm>,
) -> Result<HttpResponse, AppError> {
    let LoginForm {
        username,
        password,
        next,
    } = form.into_inner();
    let next = safe_next(&next);
    let failed = |ctx, message: &str, status| {
        let page = LoginPage {
            ctx,
            username: username.clone(),
            next: next.clone(),
            error: Some(message.to_string()),
            signed_out: false,
            expired: false,
            again: false,
        };
        Ok(render(status, &page))
    };
    match sign_in::sign_in(&pool, &username, password, client).await {
        Ok(user) => {
            start_session(&session, user.id)?;
            tracing::info!(user_id = %user.id, %client, "signed in");
            Ok(landing(&next, user.is_admin()))
        }
        Err(SignInError::InvalidCredentials) => failed(
            ctx,
            "The username or password is not right. Check them and try again.",
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        Err(SignInError::Throttled { until }) => {
            tracing::warn!(%client, "sign-in refused: too many failed attempts");
            let message = format!("Too many failed sign-in attempts. {}", wait_text(until));
            failed(ctx, &message, StatusCode::TOO_MANY_REQUESTS)
        }
        Err(SignInError::NotActive(AccountStatus::Pending, _)) => Ok(render(
            StatusCode::FORBIDDEN,
            &PendingPage {
                ctx,
                rejected: false,
                reason: None,
            },
        )),
        Err(SignInError::NotActive(AccountStatus::Rejected, reason)) => Ok(render(
            StatusCode::FORBIDDEN,
            &PendingPage {
                ctx,
                rejected: true,
                reason,
            },
        )),
        Err(SignInError::NotActive(..)) => failed(
            ctx,
            "This account is locked. Contact the portal administrators.",
            StatusCode::FORBIDDEN,
        ),
        Err(SignInError::Database(e)) => Err(e.into()),
    }
}

/// Ends the session server-side: the cookie, replayed, is anonymous.
pub async fn logout(session: Session) -> HttpResponse {
    session.purge();
    see_other(&Url::Login.query("signed_out", true))
}
