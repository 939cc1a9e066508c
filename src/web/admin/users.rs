//! `GET /admin/users` and the approve / reject / lock / unlock decisions.

use super::{DecisionForm, DecisionList, DecisionPost, FailedRejection, decision_answer};
use crate::domain::ids::UserId;
use crate::web::OnObject;
use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use std::collections::HashMap;

use crate::db::models::user_roles::UserRole;
use crate::db::models::users::User;
use crate::db::{self, DbError, DbPool};
use crate::domain::accounts::AccountStatus;
use crate::error::AppError;
use crate::services::accounts::{self, AccountDecision};
use crate::web::pagination::Pagination;
use crate::web::{PageContext, Url, success};

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
    roles: HashMap<UserId, Vec<String>>,
    failed: FailedRejection,
}

#[cfg(test)]
mod render_test;

impl UsersPage {
    /// A user's roles, comma-separated.
    fn roles_of(&self, user_id: &UserId) -> String {
        self.roles
            .get(user_id)
            .map(|r| r.join(", "))
            .unwrap_or_default()
    }
}

pub async fn list(
    ctx: PageContext,
    pool: web::Data<DbPool>,
    query: web::Query<UsersQuery>,
) -> Result<HttpResponse, AppError> {
    let page = users_page(ctx, &pool, &query, FailedRejection::default()).await?;
    Ok(crate::web::ok(&page))
}

async fn users_page(
    ctx: PageContext,
    pool: &DbPool,
    query: &UsersQuery,
    failed: FailedRejection,
) -> Result<UsersPage, AppError> {
    let status = query
        .status
        .as_deref()
        .and_then(|s| s.parse::<AccountStatus>().ok());
    let page = query.page.unwrap_or(1).max(1);
    let (result, roles) = db::run(pool, move |conn| {
        let result = User::page(conn, status, (page - 1) * PER_PAGE, PER_PAGE)?;
        let ids: Vec<UserId> = result.users.iter().map(|u| u.id).collect();
        let roles = UserRole::of_users(conn, &ids)?;
        Ok::<_, DbError>((result, roles))
    })
    .await?;
    let list = Url::AdminUsers.with_query(status.map(|s| ("status", s.as_str())));
    let status_text = status.map(|s| s.as_str().to_string()).unwrap_or_default();
    Ok(UsersPage {
        ctx,
        users: result.users,
        status: status_text,
        pagination: Pagination::new(page, PER_PAGE, result.total, list),
        roles,
        failed,
    })
}

impl DecisionList for UsersPage {
    const LIST: Url = Url::AdminUsers;

    /// The accounts waiting for approval: only their rejection can be refused.
    async fn refused(
        ctx: PageContext,
        pool: &DbPool,
        failed: FailedRejection,
    ) -> Result<Self, AppError> {
        let query = UsersQuery {
            status: Some(AccountStatus::Pending.as_str().to_string()),
            page: None,
        };
        users_page(ctx, pool, &query, failed).await
    }
}

async fn decide(
    post: DecisionPost,
    decision: AccountDecision,
    reason: String,
) -> Result<HttpResponse, AppError> {
    let (admin, user_id) = (&post.object.viewer, post.object.id);
    let result = accounts::decide(
        &post.object.pool,
        admin.actor(),
        UserId(user_id),
        decision,
        &reason,
    )
    .await;
    let admin_id = admin.id.get();
    let done = |user: User| {
        let done = decision.done();
        tracing::info!(
            admin_id,
            user_id = %user.id,
            decision = done,
            "account decision"
        );
        format!("{} is now {done}.", user.username)
    };
    decision_answer::<UsersPage, _>(post, result, reason, done).await
}

pub async fn approve(post: DecisionPost) -> Result<HttpResponse, AppError> {
    decide(post, AccountDecision::Approve, String::new()).await
}

/// `POST /admin/users/{id}/reject`: `reason` (required; the person sees it at sign-in).
pub async fn reject(
    post: DecisionPost,
    form: web::Form<DecisionForm>,
) -> Result<HttpResponse, AppError> {
    decide(post, AccountDecision::Reject, form.into_inner().reason()).await
}

pub async fn lock(post: DecisionPost) -> Result<HttpResponse, AppError> {
    decide(post, AccountDecision::Lock, String::new()).await
}

pub async fn unlock(post: DecisionPost) -> Result<HttpResponse, AppError> {
    decide(post, AccountDecision::Unlock, String::new()).await
}

/// `POST /admin/users/{id}/roles`: repeated `roles` (a value may also list several,
/// comma-separated); each 1–64 of `[a-z0-9._-]`, at most 20. An empty list removes them all.
pub async fn roles(
    post: OnObject<UserId>,
    pairs: web::Form<Vec<(String, String)>>,
) -> Result<HttpResponse, AppError> {
    let (admin, session, pool, id) = post.into_parts();
    let values = role_values(pairs.into_inner());
    let (user, roles) = accounts::set_roles(&pool, admin.actor(), id, values).await?;
    let shown = if roles.is_empty() {
        "no roles".to_string()
    } else {
        roles.join(", ")
    };
    let message = format!("{} now has {shown}.", user.username);
    Ok(success(&session, Url::AdminUsers, message))
}

/// The roles a form lists: every `roles` value, split at commas and spaces.
fn role_values(pairs: Vec<(String, String)>) -> Vec<String> {
    pairs
        .into_iter()
        .filter(|(k, _)| k == "roles")
        .flat_map(|(_, v)| {
            v.split([',', ' '])
                .map(str::trim)
                .filter(|r| !r.is_empty())
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .collect()
}
