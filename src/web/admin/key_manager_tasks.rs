//! `GET /admin/key-manager-tasks`: clients a key manager failed to delete (an application was
//! deleted while its key manager was down). The administrator retries the deletion, or resolves
//! the task after dealing with the client by hand.

use actix_web::{HttpResponse, web};
use askama::Template;

use crate::db::models::key_manager_tasks::KeyManagerTask;
use crate::db::{self, DbPool};
use crate::error::AppError;
use crate::key_managers::Connectors;
use crate::services::keys;
use crate::web::OnObject;
use crate::web::{PageContext, Url, success};

#[derive(Template)]
#[template(path = "admin/key_manager_tasks.html")]
struct TasksPage {
    ctx: PageContext,
    tasks: Vec<KeyManagerTask>,
}

#[cfg(test)]
mod render_test;

pub async fn list(ctx: PageContext, pool: web::Data<DbPool>) -> Result<HttpResponse, AppError> {
    let tasks = db::run(&pool, |conn| {
        KeyManagerTask::list(conn, 200).map_err(AppError::from)
    })
    .await?;
    Ok(crate::web::ok(&TasksPage { ctx, tasks }))
}

/// `POST /admin/key-manager-tasks/{id}/retry`.
pub async fn retry(
    post: OnObject<i64>,
    connectors: web::Data<Connectors>,
) -> Result<HttpResponse, AppError> {
    let (admin, session, pool, id) = post.into_parts();
    let task = keys::retry_task(&pool, &connectors, admin.actor(), id).await?;
    let message = format!(
        "The client {} was deleted at {}.",
        task.consumer_key, task.key_manager_name
    );
    Ok(success(&session, Url::KeyManagerTasks, message))
}

/// `POST /admin/key-manager-tasks/{id}/resolve`.
pub async fn resolve(post: OnObject<i64>) -> Result<HttpResponse, AppError> {
    let (admin, session, pool, id) = post.into_parts();
    keys::resolve_task(&pool, admin.actor(), id).await?;
    let message = "The task is marked resolved.";
    Ok(success(&session, Url::KeyManagerTasks, message))
}
