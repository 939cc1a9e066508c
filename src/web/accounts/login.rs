//! `GET/POST /login` and `POST /logout`.

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use crate::db::DbPool;
use crate::domain::accounts::AccountStatus;
use crate::domain::local_path::LocalPath;
use crate::error::AppError;
use crate::security::{csrf, session_store::USER_ID};
use crate::services::accounts::{self, SignInError};
use crate::web::accounts::PendingPage;
use crate::web::{PageContext, render, see_other};

const AFTER_SIGN_IN: &str = "/applications";

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
}

fn safe_next(next: &str) -> Option<String> {
    LocalPath::parse(next).map(|p| p.as_str().to_string())
}

pub async fn form(ctx: PageContext, query: web::Query<LoginQuery>) -> HttpResponse {
    let next = query
        .next
        .as_deref()
        .and_then(safe_next)
        .unwrap_or_default();
    if ctx.viewer.is_some() {
        return see_other(if next.is_empty() {
            AFTER_SIGN_IN
        } else {
            &next
        });
    }
    let signed_out = query.signed_out == Some(true);
    super::super::ok(&LoginPage {
        ctx,
        username: String::new(),
        next,
        error: None,
        signed_out,
        expired: query.expired == Some(true),
    })
}

pub async fn submit(
    req: HttpRequest,
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
    let next = safe_next(&next).unwrap_or_default();
    let address = req
        .peer_addr()
        .map(|a| a.ip().to_string())
        .unwrap_or_default();
    let failed = |ctx, message: &str, status| {
        let page = LoginPage {
            ctx,
            username: username.clone(),
            next: next.clone(),
            error: Some(message.to_string()),
            signed_out: false,
            expired: false,
        };
        Ok(render(status, &page))
    };
    match accounts::sign_in(&pool, &username, password, &address).await {
        Ok(user) => {
            // A new session id at sign-in: whatever an attacker planted before is anonymous.
            session.renew();
            session
                .insert(USER_ID, user.id)
                .map_err(|e| AppError::Internal(e.to_string()))?;
            csrf::rotate(&session);
            tracing::info!(user_id = user.id, "signed in");
            Ok(see_other(if next.is_empty() {
                AFTER_SIGN_IN
            } else {
                &next
            }))
        }
        Err(SignInError::InvalidCredentials) => failed(
            ctx,
            "The username or password is not right. Check them and try again.",
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        Err(SignInError::Throttled) => failed(
            ctx,
            "Too many failed sign-in attempts. Wait 15 minutes, then try again.",
            StatusCode::TOO_MANY_REQUESTS,
        ),
        Err(SignInError::NotActive(AccountStatus::Pending)) => Ok(render(
            StatusCode::FORBIDDEN,
            &PendingPage {
                ctx,
                rejected: false,
            },
        )),
        Err(SignInError::NotActive(AccountStatus::Rejected)) => Ok(render(
            StatusCode::FORBIDDEN,
            &PendingPage {
                ctx,
                rejected: true,
            },
        )),
        Err(SignInError::NotActive(_)) => failed(
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
    see_other("/login?signed_out=true")
}
