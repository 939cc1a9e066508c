//! Key-manager tasks: clients a key manager failed to delete (an application was deleted, or a
//! generation could not finish, while it was down), left on a list for an administrator, who
//! retries the deletion or resolves the task after dealing with the client by hand.

use std::sync::Arc;

use crate::db::models::audit_events::Actor;
use crate::db::models::key_manager_tasks::{KeyManagerTask, NewTask};
use crate::db::models::key_managers::KeyManagerRow;
use crate::db::models::key_mappings::KeyMapping;
use crate::db::{self, DbPool};
use crate::domain::keys::{CreateMode, MappingState};
use crate::key_managers::{Connectors, KeyManager, KeyManagerError, KmResult};
use crate::services::{ServiceError, ServiceResult, audited, subject};

use super::unlink_or_delete;

/// Records a client a key manager failed to delete, for an administrator to resolve.
async fn record_task(
    pool: &DbPool,
    key_manager: &KeyManagerRow,
    consumer_key: &str,
    application_name: &str,
    error: &KeyManagerError,
) {
    tracing::error!(key_manager = %key_manager.name, consumer_key, %error, "a key manager failed to delete a client");
    let (id, name) = (key_manager.id, key_manager.display_name.clone());
    let (key, app, message) = (
        consumer_key.to_string(),
        application_name.to_string(),
        error.to_string(),
    );
    let recorded = db::run(pool, move |conn| {
        KeyManagerTask::record(
            conn,
            &NewTask {
                key_manager_id: id,
                key_manager_name: &name,
                consumer_key: &key,
                application_name: &app,
                error: &message,
            },
        )
        .map_err(ServiceError::from)
    })
    .await;
    if let Err(error) = recorded {
        tracing::error!(%error, consumer_key, "a key manager task could not be recorded");
    }
}

/// Hands a client back to its key manager, outside any transaction: a CREATED one is deleted
/// there, a MAPPED one only unlinked. A failed delete leaves a task for an administrator (the
/// client would be left behind); a failed unlink leaves nothing behind and is only logged.
pub(super) async fn give_back(
    pool: &DbPool,
    connector: KmResult<Arc<dyn KeyManager>>,
    key_manager: &KeyManagerRow,
    mode: CreateMode,
    consumer_key: &str,
    application_name: &str,
) {
    let outcome = match connector {
        Ok(connector) => unlink_or_delete(connector.as_ref(), mode, consumer_key).await,
        Err(error) => Err(error),
    };
    match outcome {
        Ok(()) => {}
        Err(error) if mode == CreateMode::Created => {
            record_task(pool, key_manager, consumer_key, application_name, &error).await;
        }
        Err(error) => tracing::warn!(%error, consumer_key, "a mapped client could not be unlinked"),
    }
}

/// Hands a deleted application's keys back to their key managers (see `give_back`). Called
/// after the application's rows are gone, outside any transaction.
pub async fn hand_back(
    pool: &DbPool,
    connectors: &Connectors,
    application_name: &str,
    mappings: Vec<(KeyMapping, KeyManagerRow)>,
) {
    for (mapping, key_manager) in mappings {
        // A reservation belongs to a generation still under way: it cleans up after itself.
        let (MappingState::Active, Some(consumer_key)) = (mapping.state, &mapping.consumer_key)
        else {
            continue;
        };
        let connector = connectors.connector(&key_manager);
        let mode = mapping.create_mode;
        give_back(
            pool,
            connector,
            &key_manager,
            mode,
            consumer_key,
            application_name,
        )
        .await;
    }
}

/// How long a retry holds its task: more than a key manager call may take.
const RETRY_LEASE_SECS: i64 = 120;

/// Tries again to delete a task's client at its key manager; resolves the task when it worked.
/// The task is claimed meanwhile, so that two administrators (at two instances, say) never
/// call the key manager for it at once.
pub async fn retry_task(
    pool: &DbPool,
    connectors: &Connectors,
    actor: Actor,
    task_id: i64,
) -> ServiceResult<KeyManagerTask> {
    let (task, key_manager) = db::run(pool, move |conn| {
        db::write(conn, |conn| {
            let task = KeyManagerTask::find(conn, task_id)?
                .filter(|t| t.resolved_at.is_none())
                .ok_or(ServiceError::NotFound)?;
            let key_manager = match task.key_manager_id {
                Some(id) => KeyManagerRow::find(conn, id)?,
                None => None,
            }
            .ok_or_else(|| ServiceError::Conflict(
                "The key manager of this task no longer exists: delete the client there by hand, then mark the task resolved.".into(),
            ))?;
            if !KeyManagerTask::claim(conn, task_id, RETRY_LEASE_SECS)? {
                return Err(ServiceError::Conflict(
                    "This task is being retried already (by another administrator, or a retry that has not finished): reload the page in a minute.".into(),
                ));
            }
            Ok::<_, ServiceError>((task, key_manager))
        })
    })
    .await?;
    let deleted = match connectors.connector(&key_manager) {
        Ok(connector) => connector.delete_application(&task.consumer_key).await,
        Err(e) => Err(e),
    };
    if let Err(error) = deleted {
        db::run(pool, move |conn| {
            KeyManagerTask::release(conn, task_id).map_err(ServiceError::from)
        })
        .await?;
        return Err(error.into());
    }
    resolve(
        pool,
        &actor,
        task.id,
        "Deleted the client at its key manager",
    )
    .await?;
    Ok(task)
}

/// Marks a task resolved (the administrator dealt with the client by hand).
pub async fn resolve_task(pool: &DbPool, actor: Actor, task_id: i64) -> ServiceResult<()> {
    resolve(pool, &actor, task_id, "Marked resolved by hand").await
}

/// Resolves a task and records who did it and how in the audit trail.
async fn resolve(
    pool: &DbPool,
    actor: &Actor,
    task_id: i64,
    how: &'static str,
) -> ServiceResult<()> {
    let subject = subject("key_manager_task", Some(task_id));
    audited(pool, actor, "resolve", subject, move |conn, _| {
        let task = KeyManagerTask::find(conn, task_id)?.ok_or(ServiceError::NotFound)?;
        KeyManagerTask::resolve(conn, task_id)?;
        let summary = format!(
            "{how}: client {} at {}",
            task.consumer_key, task.key_manager_name
        );
        Ok(((), summary))
    })
    .await
}
