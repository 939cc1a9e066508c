//! `key_manager_tasks`: clients a key manager failed to delete. Each stays on the administrator's
//! list until it is resolved, so that no client is ever left behind silently.

use crate::db::DbConnection;
use diesel::prelude::*;

use crate::db::now;
use crate::db::rows::FirstRow;
use crate::db::schema::key_manager_tasks;
use crate::domain::ids::KeyManagerId;

#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = key_manager_tasks)]
pub struct KeyManagerTask {
    pub id: i64,
    pub key_manager_id: Option<KeyManagerId>,
    pub key_manager_name: String,
    pub consumer_key: String,
    pub application_name: String,
    pub error: String,
    pub created_at: i64,
    pub resolved_at: Option<i64>,
}

/// What a new task records.
pub struct NewTask<'a> {
    pub key_manager_id: KeyManagerId,
    pub key_manager_name: &'a str,
    pub consumer_key: &'a str,
    pub application_name: &'a str,
    pub error: &'a str,
}

impl KeyManagerTask {
    pub fn record(conn: &mut DbConnection, task: &NewTask) -> QueryResult<()> {
        diesel::insert_into(key_manager_tasks::table)
            .values((
                key_manager_tasks::key_manager_id.eq(task.key_manager_id),
                key_manager_tasks::key_manager_name.eq(task.key_manager_name),
                key_manager_tasks::consumer_key.eq(task.consumer_key),
                key_manager_tasks::application_name.eq(task.application_name),
                key_manager_tasks::error.eq(task.error),
                key_manager_tasks::created_at.eq(now()),
            ))
            .execute(conn)?;
        Ok(())
    }

    pub fn find(conn: &mut DbConnection, id: i64) -> QueryResult<Option<KeyManagerTask>> {
        key_manager_tasks::table.find(id).first_row(conn)
    }

    /// Open tasks first (oldest first), then the most recently resolved ones.
    pub fn list(conn: &mut DbConnection, limit: i64) -> QueryResult<Vec<KeyManagerTask>> {
        let mut open: Vec<KeyManagerTask> = key_manager_tasks::table
            .filter(key_manager_tasks::resolved_at.is_null())
            .order(key_manager_tasks::id.asc())
            .limit(limit)
            .select(KeyManagerTask::as_select())
            .load(conn)?;
        let resolved: Vec<KeyManagerTask> = key_manager_tasks::table
            .filter(key_manager_tasks::resolved_at.is_not_null())
            .order(key_manager_tasks::resolved_at.desc())
            .limit(limit)
            .select(KeyManagerTask::as_select())
            .load(conn)?;
        open.extend(resolved);
        Ok(open)
    }

    /// Claims an open task for `lease` seconds, unless another claim holds it: false when the
    /// task is resolved, gone or claimed. On PostgreSQL a claim being taken at this moment by
    /// another instance is skipped, not waited for (`FOR UPDATE SKIP LOCKED`); on SQLite the
    /// write transaction is already the only one.
    pub fn claim(conn: &mut DbConnection, id: i64, lease: i64) -> QueryResult<bool> {
        let now = now();
        let skip = if conn.is_postgres() {
            " FOR UPDATE SKIP LOCKED"
        } else {
            ""
        };
        let claimed = diesel::sql_query(format!(
            "UPDATE key_manager_tasks SET claimed_until = {until} WHERE id IN (SELECT id FROM \
             key_manager_tasks WHERE id = {id} AND resolved_at IS NULL AND (claimed_until IS \
             NULL OR claimed_until < {now}){skip})",
            until = now + lease
        ))
        .execute(conn)?;
        Ok(claimed == 1)
    }

    /// Lets a claimed task go (its retry failed): it can be retried again at once.
    pub fn release(conn: &mut DbConnection, id: i64) -> QueryResult<()> {
        diesel::update(key_manager_tasks::table.find(id))
            .set(key_manager_tasks::claimed_until.eq(None::<i64>))
            .execute(conn)?;
        Ok(())
    }

    /// Marks the task resolved; false when it already was.
    pub fn resolve(conn: &mut DbConnection, id: i64) -> QueryResult<bool> {
        let changed = diesel::update(
            key_manager_tasks::table
                .find(id)
                .filter(key_manager_tasks::resolved_at.is_null()),
        )
        .set(key_manager_tasks::resolved_at.eq(now()))
        .execute(conn)?;
        Ok(changed == 1)
    }
}
