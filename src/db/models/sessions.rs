//! `sessions`: the server-side session store. Rows are keyed by the SHA-256 of the cookie's key,
//! carry the signed-in user (so that locking an account can end all its sessions), and expire
//! after an idle period and at an absolute limit.

use crate::db::DbConnection;
use diesel::prelude::*;

use crate::db::rows::FirstRow;
use crate::db::schema::sessions;
use crate::domain::ids::UserId;

#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = sessions)]
pub struct SessionRow {
    pub state: String,
    pub created_at: i64,
    pub expires_at: i64,
}

#[derive(Insertable, AsChangeset)]
#[diesel(table_name = sessions)]
pub struct NewSession<'a> {
    pub id: &'a str,
    pub user_id: Option<UserId>,
    pub state: &'a str,
    pub created_at: i64,
    pub expires_at: i64,
}

impl SessionRow {
    /// The live session with this id: not idle-expired and not older than `oldest_created`.
    pub fn find_live(
        conn: &mut DbConnection,
        id: &str,
        now: i64,
        oldest_created: i64,
    ) -> QueryResult<Option<SessionRow>> {
        sessions::table
            .find(id)
            .filter(sessions::expires_at.gt(now))
            .filter(sessions::created_at.gt(oldest_created))
            .first_row(conn)
    }

    pub fn insert(conn: &mut DbConnection, row: &NewSession) -> QueryResult<usize> {
        diesel::insert_into(sessions::table)
            .values(row)
            .execute(conn)
    }

    /// Replaces the state of an existing session; 0 when it is gone.
    pub fn update_state(
        conn: &mut DbConnection,
        id: &str,
        user_id: Option<UserId>,
        state: &str,
        expires_at: i64,
    ) -> QueryResult<usize> {
        diesel::update(sessions::table.find(id))
            .set((
                sessions::user_id.eq(user_id),
                sessions::state.eq(state),
                sessions::expires_at.eq(expires_at),
            ))
            .execute(conn)
    }

    pub fn extend(conn: &mut DbConnection, id: &str, expires_at: i64) -> QueryResult<usize> {
        diesel::update(sessions::table.find(id))
            .set(sessions::expires_at.eq(expires_at))
            .execute(conn)
    }

    pub fn delete(conn: &mut DbConnection, id: &str) -> QueryResult<usize> {
        diesel::delete(sessions::table.find(id)).execute(conn)
    }

    /// Ends every session of a user (when an admin locks or rejects the account).
    pub fn delete_for_user(conn: &mut DbConnection, user_id: UserId) -> QueryResult<usize> {
        diesel::delete(sessions::table.filter(sessions::user_id.eq(user_id))).execute(conn)
    }

    pub fn delete_expired(
        conn: &mut DbConnection,
        now: i64,
        oldest_created: i64,
    ) -> QueryResult<usize> {
        diesel::delete(
            sessions::table.filter(
                sessions::expires_at
                    .le(now)
                    .or(sessions::created_at.le(oldest_created)),
            ),
        )
        .execute(conn)
    }
}
