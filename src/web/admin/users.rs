//! `GET /admin/users` and the approve / reject / lock / unlock decisions.

use actix_session::Session;
use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use crate::db::models::users::User;
use crate::db::{self, DbError, DbPool};
use crate::domain::accounts::AccountStatus;
use crate::error::AppError;
use crate::services::accounts::{self, AccountDecision, DecisionError};
use crate::web::pagination::Pagination;
use crate::web::{PageContext, SignedIn, flash, see_other};

const PER_PAGE: i64 = 25;

#[derive(Deserialize)]
pub struct UsersQuery {
    status: Option<String>,
    page: Option<i64>,
}

#[derive(Template)]
#[template(path = "admin/users.html")]
struct UsersPage {
    ctx: PageContext,
    users: Vec<User>,
    status: String,
    pagination: Pagination,
}

pub async fn list(
    ctx: PageContext,
    pool: web::Data<DbPool>,
    query: web::Query<UsersQuery>,
) -> Result<HttpResponse, AppError> {
    let status = query
        .status
        .as_deref()
        .and_then(|s| s.parse::<AccountStatus>().ok());
    let page = query.page.unwrap_or(1).max(1);
    let result = db::run(&pool, move |conn| {
        User::page(conn, status, (page - 1) * PER_PAGE, PER_PAGE).map_err(DbError::from)
    })
    .await?;
    let status_text = status.map(|s| s.as_str().to_string()).unwrap_or_default();
    let base = if status_text.is_empty() {
        "/admin/users?".to_string()
    } else {
        format!("/admin/users?status={status_text}&")
    };
    Ok(crate::web::ok(&UsersPage {
        ctx,
        users: result.users,
        status: status_text,
        pagination: Pagination::new(page, PER_PAGE, result.total, base),
    }))
}

async fn decide(
    SignedIn(admin): SignedIn,
    session: Session,
    pool: web::Data<DbPool>,
    path: web::Path<i64>,
    decision: AccountDecision,
) -> Result<HttpResponse, AppError> {
    match accounts::decide(&pool, admin.id, path.into_inner(), decision).await {
        Ok(user) => {
            tracing::info!(
                admin_id = admin.id,
                user_id = user.id,
                decision = decision.done(),
                "account decision"
            );
            flash(
                &session,
                "success",
                format!("{} is now {}.", user.username, decision.done()),
            );
            Ok(see_other("/admin/users"))
        }
        Err(DecisionError::NotFound) => Err(AppError::NotFound),
        Err(DecisionError::NotApplicable(message)) => Err(AppError::Conflict(message.into())),
        Err(DecisionError::Database(e)) => Err(e.into()),
    }
}

pub async fn approve(
    a: SignedIn,
    s: Session,
    p: web::Data<DbPool>,
    id: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    decide(a, s, p, id, AccountDecision::Approve).await
}

pub async fn reject(
    a: SignedIn,
    s: Session,
    p: web::Data<DbPool>,
    id: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    decide(a, s, p, id, AccountDecision::Reject).await
}

pub async fn lock(
    a: SignedIn,
    s: Session,
    p: web::Data<DbPool>,
    id: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    decide(a, s, p, id, AccountDecision::Lock).await
}

pub async fn unlock(
    a: SignedIn,
    s: Session,
    p: web::Data<DbPool>,
    id: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    decide(a, s, p, id, AccountDecision::Unlock).await
}
