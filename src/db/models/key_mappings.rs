//! `key_mappings`: which client of which key manager an application uses in each environment.
//! A generation first RESERVES its row (so two requests cannot both make a client), then
//! ACTIVATES it with the consumer key once the key manager answered, or RELEASES it.

use crate::db::DbConnection;
use diesel::dsl::{Eq, Filter, Find};
use diesel::prelude::*;

use crate::db::models::key_managers::KeyManagerRow;
use crate::db::now;
use crate::db::rows::FirstRow;
use crate::db::schema::{key_managers, key_mappings};
use crate::domain::ids::ApplicationId;
use crate::domain::ids::KeyManagerId;
use crate::domain::keys::{CreateMode, KeySettings, KeyType, MappingState};

#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = key_mappings)]
pub struct KeyMapping {
    pub id: i64,
    pub application_id: ApplicationId,
    pub key_type: KeyType,
    pub key_manager_id: KeyManagerId,
    pub consumer_key: Option<String>,
    pub create_mode: CreateMode,
    pub state: MappingState,
    pub app_info: String,
    pub consumer_secret: Option<Vec<u8>>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// A reservation older than this was left by a process that stopped mid-generation.
pub const STALE_RESERVATION_SECS: i64 = 600;

impl KeyMapping {
    /// What the client is registered with (empty settings when the JSON cannot be read).
    pub fn settings(&self) -> KeySettings {
        serde_json::from_str(&self.app_info).unwrap_or_default()
    }

    pub fn is_active(&self) -> bool {
        self.state == MappingState::Active
    }

    /// True for a reservation no request will finish any more.
    pub fn is_stale(&self) -> bool {
        self.state == MappingState::Reserved && self.updated_at < now() - STALE_RESERVATION_SECS
    }

    pub fn find(
        conn: &mut DbConnection,
        application_id: ApplicationId,
        key_type: KeyType,
        key_manager_id: KeyManagerId,
    ) -> QueryResult<Option<KeyMapping>> {
        key_mappings::table
            .filter(key_mappings::application_id.eq(application_id))
            .filter(key_mappings::key_type.eq(key_type))
            .filter(key_mappings::key_manager_id.eq(key_manager_id))
            .first_row(conn)
    }

    /// Inserts a RESERVED row; a UNIQUE violation means keys exist (or are being made).
    pub fn reserve(
        conn: &mut DbConnection,
        application_id: ApplicationId,
        key_type: KeyType,
        key_manager_id: KeyManagerId,
        create_mode: CreateMode,
    ) -> QueryResult<KeyMapping> {
        let now = now();
        crate::on_each!(conn, |c| diesel::insert_into(key_mappings::table)
            .values((
                key_mappings::application_id.eq(application_id),
                key_mappings::key_type.eq(key_type),
                key_mappings::key_manager_id.eq(key_manager_id),
                key_mappings::create_mode.eq(create_mode),
                key_mappings::state.eq(MappingState::Reserved),
                key_mappings::created_at.eq(now),
                key_mappings::updated_at.eq(now),
            ))
            .returning(KeyMapping::as_returning())
            .get_result(c))
    }

    /// Fills a reservation with the key manager's answer; 0 when the reservation is gone (its
    /// application was deleted meanwhile).
    pub fn activate(
        conn: &mut DbConnection,
        id: i64,
        consumer_key: &str,
        settings: &KeySettings,
    ) -> QueryResult<usize> {
        diesel::update(in_state(id, MappingState::Reserved))
            .set((
                key_mappings::consumer_key.eq(consumer_key),
                key_mappings::state.eq(MappingState::Active),
                key_mappings::app_info.eq(app_info(settings)),
                key_mappings::updated_at.eq(now()),
            ))
            .execute(conn)
    }

    /// Drops a reservation that did not come through.
    pub fn release(conn: &mut DbConnection, id: i64) -> QueryResult<usize> {
        diesel::delete(in_state(id, MappingState::Reserved)).execute(conn)
    }

    pub fn update_settings(
        conn: &mut DbConnection,
        id: i64,
        settings: &KeySettings,
    ) -> QueryResult<usize> {
        diesel::update(in_state(id, MappingState::Active))
            .set((
                key_mappings::app_info.eq(app_info(settings)),
                key_mappings::updated_at.eq(now()),
            ))
            .execute(conn)
    }

    pub fn touch(conn: &mut DbConnection, id: i64) -> QueryResult<usize> {
        diesel::update(key_mappings::table.find(id))
            .set(key_mappings::updated_at.eq(now()))
            .execute(conn)
    }

    pub fn delete(conn: &mut DbConnection, id: i64) -> QueryResult<usize> {
        diesel::delete(key_mappings::table.find(id)).execute(conn)
    }

    /// Every mapping of an application with its key manager (before the application goes).
    pub fn of_application(
        conn: &mut DbConnection,
        application_id: ApplicationId,
    ) -> QueryResult<Vec<(KeyMapping, KeyManagerRow)>> {
        key_mappings::table
            .inner_join(key_managers::table)
            .filter(key_mappings::application_id.eq(application_id))
            .order(key_mappings::id.asc())
            .select((KeyMapping::as_select(), KeyManagerRow::as_select()))
            .load(conn)
    }
}

/// The mapping `id`, when it is in `state`.
fn in_state(
    id: i64,
    state: MappingState,
) -> Filter<Find<key_mappings::table, i64>, Eq<key_mappings::state, MappingState>> {
    key_mappings::table
        .find(id)
        .filter(key_mappings::state.eq(state))
}

fn app_info(settings: &KeySettings) -> String {
    serde_json::to_string(settings).expect("key settings serialize")
}
