//! `GET/POST /signup`: TPP self sign-up.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;

use crate::config::Settings;
use crate::db::DbPool;
use crate::domain::FieldErrors;
use crate::domain::accounts::{NewAccount, SignupForm};
use crate::error::AppError;
use crate::services::accounts::{self, SignUpError};
use crate::web::{PageContext, flash, render, see_other};

#[derive(Template)]
#[template(path = "accounts/signup.html")]
struct SignupPage {
    ctx: PageContext,
    form: SignupForm,
    errors: FieldErrors,
    approval: bool,
}

pub async fn form(ctx: PageContext, settings: web::Data<Settings>) -> HttpResponse {
    if ctx.viewer.is_some() {
        return see_other("/applications");
    }
    let page = SignupPage {
        ctx,
        form: SignupForm::default(),
        errors: FieldErrors::new(),
        approval: settings.signup_approval,
    };
    super::super::ok(&page)
}

pub async fn submit(
    ctx: PageContext,
    session: actix_session::Session,
    pool: web::Data<DbPool>,
    settings: web::Data<Settings>,
    form: web::Form<SignupForm>,
) -> Result<HttpResponse, AppError> {
    let form = form.into_inner();
    let rerender = |ctx, form: SignupForm, errors, status| {
        // Passwords are never sent back.
        let form = SignupForm {
            password: String::new(),
            password_confirm: String::new(),
            ..form
        };
        render(
            status,
            &SignupPage {
                ctx,
                form,
                errors,
                approval: settings.signup_approval,
            },
        )
    };
    let account = match NewAccount::parse(&form) {
        Ok(account) => account,
        Err(errors) => {
            return Ok(rerender(
                ctx,
                form,
                errors,
                StatusCode::UNPROCESSABLE_ENTITY,
            ));
        }
    };
    match accounts::sign_up(&pool, account, settings.signup_approval).await {
        Ok(user) => {
            tracing::info!(user_id = user.id, "a TPP signed up");
            if settings.signup_approval {
                Ok(see_other("/signup/pending"))
            } else {
                flash(
                    &session,
                    "success",
                    "Your account is ready. Sign in to start.",
                );
                Ok(see_other("/login"))
            }
        }
        Err(SignUpError::UsernameTaken) => {
            let errors =
                FieldErrors::single("username", "This username is taken. Choose another one.");
            Ok(rerender(ctx, form, errors, StatusCode::CONFLICT))
        }
        Err(SignUpError::Database(e)) => Err(e.into()),
    }
}
