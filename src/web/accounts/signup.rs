//! `GET/POST /signup`: TPP self sign-up. Without approval the new account is signed in at once
//! and sent on to `next`; with approval it waits on `/signup/pending`.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use crate::config::Settings;
use crate::db::DbPool;
use crate::domain::FieldErrors;
use crate::domain::accounts::{AccountStatus, NewAccount, SignupForm};
use crate::error::AppError;
use crate::security::client_address::ClientAddress;
use crate::services::ServiceError;
use crate::services::sign_in;
use crate::web::accounts::{landing, safe_next, start_session, wait_text, with_next};
use crate::web::{PageContext, Url, flash, redirect, render, see_other};

#[derive(Template)]
#[template(path = "accounts/signup.html")]
struct SignupPage {
    ctx: PageContext,
    form: SignupForm,
    errors: FieldErrors,
    /// A message about the whole form (too many sign-ups from this address).
    notice: Option<String>,
    approval: bool,
}

#[cfg(test)]
mod render_test;

impl SignupPage {
    /// The "I already have an account" link, carrying `next` along.
    fn login_link(&self) -> String {
        with_next(Url::Login, &self.form.next)
    }
}

#[derive(Deserialize)]
pub struct SignupQuery {
    #[serde(default)]
    next: String,
}

pub async fn form(
    ctx: PageContext,
    settings: web::Data<Settings>,
    query: web::Query<SignupQuery>,
) -> HttpResponse {
    let next = safe_next(&query.next);
    if ctx.viewer.is_some() {
        // A signed-in administrator too goes on to the applications, not the dashboard.
        return landing(&next, false);
    }
    let page = SignupPage {
        ctx,
        form: SignupForm {
            next,
            ..SignupForm::default()
        },
        errors: FieldErrors::new(),
        notice: None,
        approval: settings.signup_approval,
    };
    super::super::ok(&page)
}

pub async fn submit(
    client: ClientAddress,
    ctx: PageContext,
    session: actix_session::Session,
    pool: web::Data<DbPool>,
    settings: web::Data<Settings>,
    form: web::Form<SignupForm>,
) -> Result<HttpResponse, AppError> {
    let mut form = form.into_inner();
    form.next = safe_next(&form.next);
    let rerender = |ctx, form: SignupForm, errors, notice, status| {
        // Passwords are never sent back.
        let form = SignupForm {
            password: String::new(),
            password_confirm: String::new(),
            ..form
        };
        let approval = settings.signup_approval;
        let page = SignupPage {
            ctx,
            form,
            errors,
            notice,
            approval,
        };
        render(status, &page)
    };
    let account = match NewAccount::parse(&form) {
        Ok(account) => account,
        Err(errors) => {
            let status = StatusCode::UNPROCESSABLE_ENTITY;
            return Ok(rerender(ctx, form, errors, None, status));
        }
    };
    match sign_in::sign_up(&pool, account, settings.signup_approval, client).await {
        Ok((user, _)) if user.status == AccountStatus::Pending => {
            tracing::info!(user_id = %user.id, %client, "a TPP signed up, waiting for approval");
            Ok(redirect(Url::SignupPending))
        }
        Ok((user, joined)) => {
            tracing::info!(user_id = %user.id, %client, joined, "a TPP signed up");
            start_session(&session, user.id)?;
            let (message, next) = match joined {
                // The invitation is used: its page has nothing more to offer.
                true => (
                    "Your account is ready, you are signed in, and you joined the organisation that invited you.",
                    Url::Applications.to_string(),
                ),
                false => (
                    "Your account is ready, and you are signed in.",
                    form.next.clone(),
                ),
            };
            flash(&session, "success", message);
            // `/login` sends a signed-in person on to `next` (or their applications).
            Ok(see_other(&with_next(Url::Login, &next)))
        }
        Err(ServiceError::Throttled { until }) => {
            tracing::warn!(%client, "sign-up refused: too many from this address");
            let notice = format!(
                "Too many sign-ups or failed sign-ins from your network. {}",
                wait_text(until)
            );
            let status = StatusCode::TOO_MANY_REQUESTS;
            Ok(rerender(
                ctx,
                form,
                FieldErrors::new(),
                Some(notice),
                status,
            ))
        }
        Err(error) => {
            let (status, errors) = AppError::from(error).into_form()?;
            Ok(rerender(ctx, form, errors, None, status))
        }
    }
}
