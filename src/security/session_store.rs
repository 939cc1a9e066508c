//! actix-session's `SessionStore` on the `sessions` table.
//!
//! The cookie holds a random 256-bit key; the database holds only its SHA-256, so a copy of the
//! database does not let anyone resume a session. Sessions end after `IDLE_SECS` without a
//! request and `ABSOLUTE_SECS` after sign-in, whatever the activity.

use crate::domain::ids::UserId;
use std::collections::HashMap;

use actix_session::storage::{LoadError, SaveError, SessionKey, SessionStore, UpdateError};
use actix_web::cookie::time::Duration;

use super::{random, sha256_hex};
use crate::db::models::sessions::{NewSession, SessionRow};
use crate::db::{self, DbError, DbPool};

pub const IDLE_SECS: i64 = 30 * 60;
pub const ABSOLUTE_SECS: i64 = 12 * 60 * 60;
/// An idle deadline is pushed forward at most once a minute, not on every request.
const EXTEND_EVERY_SECS: i64 = 60;

/// The session state key holding the signed-in user's id.
pub const USER_ID: &str = "user_id";
/// The session key of the organisation the person works in now.
pub const ORGANISATION_ID: &str = "organisation_id";
/// The session state key holding when the user signed in (Unix seconds).
pub const AUTH_TIME: &str = "auth_time";

/// The session cookie's name: `__Host-` prefixed when served over https.
pub fn cookie_name(secure: bool) -> &'static str {
    if secure {
        "__Host-portico_session"
    } else {
        "portico_session"
    }
}

#[derive(Clone)]
pub struct DbSessionStore {
    pool: DbPool,
}

impl DbSessionStore {
    pub fn new(pool: DbPool) -> Self {
        Self { pool }
    }

    /// Deletes every idle-expired or too-old session.
    pub async fn purge_expired(&self) -> Result<usize, DbError> {
        db::run(&self.pool, |conn| {
            let now = db::now();
            Ok(SessionRow::delete_expired(conn, now, now - ABSOLUTE_SECS)?)
        })
        .await
    }
}

type State = HashMap<String, String>;

fn user_id_of(state: &State) -> Option<UserId> {
    state.get(USER_ID).and_then(|v| v.parse().ok())
}

fn row_id(key: &SessionKey) -> String {
    sha256_hex(key.as_ref().as_bytes())
}

impl SessionStore for DbSessionStore {
    async fn load(&self, key: &SessionKey) -> Result<Option<State>, LoadError> {
        let id = row_id(key);
        let row = db::run(&self.pool, move |conn| {
            let now = db::now();
            let row = SessionRow::find_live(conn, &id, now, now - ABSOLUTE_SECS)?;
            if let Some(row) = &row
                && row.expires_at < now + IDLE_SECS - EXTEND_EVERY_SECS
            {
                SessionRow::extend(conn, &id, now + IDLE_SECS)?;
            }
            Ok::<_, DbError>(row)
        })
        .await
        .map_err(|e| LoadError::Other(e.into()))?;
        match row {
            Some(row) => serde_json::from_str(&row.state)
                .map(Some)
                .map_err(|e| LoadError::Deserialization(e.into())),
            None => Ok(None),
        }
    }

    async fn save(&self, state: State, _ttl: &Duration) -> Result<SessionKey, SaveError> {
        let key = random::token(32);
        let id = sha256_hex(key.as_bytes());
        let json = serde_json::to_string(&state).map_err(|e| SaveError::Serialization(e.into()))?;
        let user_id = user_id_of(&state);
        db::run(&self.pool, move |conn| {
            let now = db::now();
            SessionRow::insert(
                conn,
                &NewSession {
                    id: &id,
                    user_id,
                    state: &json,
                    created_at: now,
                    expires_at: now + IDLE_SECS,
                },
            )?;
            Ok::<_, DbError>(())
        })
        .await
        .map_err(|e| SaveError::Other(e.into()))?;
        SessionKey::try_from(key).map_err(|e| SaveError::Other(e.into()))
    }

    async fn update(
        &self,
        key: SessionKey,
        state: State,
        _ttl: &Duration,
    ) -> Result<SessionKey, UpdateError> {
        let id = row_id(&key);
        let json =
            serde_json::to_string(&state).map_err(|e| UpdateError::Serialization(e.into()))?;
        let user_id = user_id_of(&state);
        // A session deleted meanwhile (sign-out elsewhere, account locked) stays deleted.
        db::run(&self.pool, move |conn| {
            SessionRow::update_state(conn, &id, user_id, &json, db::now() + IDLE_SECS)?;
            Ok::<_, DbError>(())
        })
        .await
        .map_err(|e| UpdateError::Other(e.into()))?;
        Ok(key)
    }

    async fn update_ttl(&self, _key: &SessionKey, _ttl: &Duration) -> Result<(), anyhow::Error> {
        // `load` already pushes the idle deadline forward.
        Ok(())
    }

    async fn delete(&self, key: &SessionKey) -> Result<(), anyhow::Error> {
        let id = row_id(key);
        db::run(&self.pool, move |conn| {
            SessionRow::delete(conn, &id)?;
            Ok::<_, DbError>(())
        })
        .await?;
        Ok(())
    }
}
