//! `GET /admin/subscriptions`: subscriptions waiting for approval, approve / reject with a reason.

use super::{DecisionForm, DecisionList, DecisionPost, FailedRejection, decision_answer};
use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use crate::db::models::subscriptions::{ApprovalLine, Subscription};
use crate::db::{self, DbPool};
use crate::domain::applications::SubscriptionStatus;
use crate::error::AppError;
use crate::services::subscriptions::{self, Decision};
use crate::web::{PageContext, Url};

#[derive(Template)]
#[template(path = "admin/subscriptions.html")]
struct ApprovalsPage {
    ctx: PageContext,
    status: SubscriptionStatus,
    pending: Vec<ApprovalLine>,
    failed: FailedRejection,
}

#[cfg(test)]
mod render_test;

async fn approvals_page(
    ctx: PageContext,
    pool: &DbPool,
    status: SubscriptionStatus,
    failed: FailedRejection,
) -> Result<ApprovalsPage, AppError> {
    let pending = db::run(pool, move |conn| {
        Subscription::approvals(conn, status, 200).map_err(AppError::from)
    })
    .await?;
    Ok(ApprovalsPage {
        ctx,
        status,
        pending,
        failed,
    })
}

#[derive(Deserialize)]
pub struct ListQuery {
    status: Option<String>,
}

/// `?status=ACTIVE|REJECTED` lists decided subscriptions; the default is those waiting.
pub async fn list(
    ctx: PageContext,
    pool: web::Data<DbPool>,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, AppError> {
    let status = query
        .status
        .as_deref()
        .and_then(|s| s.parse().ok())
        .unwrap_or(SubscriptionStatus::OnHold);
    let page = approvals_page(ctx, &pool, status, FailedRejection::default()).await?;
    Ok(crate::web::ok(&page))
}

impl DecisionList for ApprovalsPage {
    const LIST: Url = Url::AdminSubscriptions;

    /// The subscriptions waiting for approval: only their rejection can be refused.
    async fn refused(
        ctx: PageContext,
        pool: &DbPool,
        failed: FailedRejection,
    ) -> Result<Self, AppError> {
        approvals_page(ctx, pool, SubscriptionStatus::OnHold, failed).await
    }
}

async fn decide(
    post: DecisionPost,
    decision: Decision,
    reason: String,
) -> Result<HttpResponse, AppError> {
    let actor = post.object.viewer.actor();
    let result =
        subscriptions::decide(&post.object.pool, actor, post.object.id, decision, &reason).await;
    let done = match decision {
        Decision::Approve => "Subscription approved.",
        Decision::Reject => "Subscription rejected.",
    };
    decision_answer::<ApprovalsPage, _>(post, result, reason, |_| done.to_string()).await
}

pub async fn approve(post: DecisionPost) -> Result<HttpResponse, AppError> {
    decide(post, Decision::Approve, String::new()).await
}

pub async fn reject(
    post: DecisionPost,
    form: web::Form<DecisionForm>,
) -> Result<HttpResponse, AppError> {
    decide(post, Decision::Reject, form.into_inner().reason()).await
}
