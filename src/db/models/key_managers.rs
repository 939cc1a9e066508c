//! `key_managers`: the key managers an administrator configured (the resident one is seeded),
//! with their `config` JSON read through the typed `KeyManagerConfig`.

use crate::db::DbConnection;
use std::collections::{BTreeMap, HashMap};

use diesel::dsl::count_star;
use diesel::prelude::*;

use crate::db::now;
use crate::db::rows::FirstRow;
use crate::db::schema::{applications, key_managers, key_mappings, users};
use crate::domain::ids::{ApplicationId, KeyManagerId};
pub use crate::domain::key_managers::{KeyManagerConfig, PermissionType};
use crate::domain::keys::KeyManagerKind;
use crate::security::secret_box::SecretBox;

#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = key_managers)]
pub struct KeyManagerRow {
    pub id: KeyManagerId,
    pub name: String,
    pub display_name: String,
    pub kind: KeyManagerKind,
    pub description: String,
    pub enabled: bool,
    pub config: String,
    pub created_at: i64,
    pub updated_at: i64,
    /// NULL for the resident key manager, whose issuer is Portico's public URL.
    pub issuer: Option<String>,
    /// The connector's plain configuration fields, by field name (JSON object).
    pub connector_config: String,
    /// The connector's masked fields: a JSON object sealed with `SecretBox` (`SECRETS_PURPOSE`).
    pub connector_secrets: Option<Vec<u8>>,
}

/// The `SecretBox` purpose of `connector_secrets`.
pub const SECRETS_PURPOSE: &str = "connector secret";

impl KeyManagerRow {
    /// The typed configuration; a row whose JSON cannot be read is not used.
    pub fn config(&self) -> Result<KeyManagerConfig, serde_json::Error> {
        serde_json::from_str(&self.config)
    }

    /// The connector's plain fields, by name (empty when the JSON cannot be read).
    pub fn connector_plain(&self) -> BTreeMap<String, String> {
        serde_json::from_str(&self.connector_config).unwrap_or_default()
    }

    /// The connector's masked fields, unsealed; `None` when they cannot be (wrong secret key,
    /// tampered data).
    pub fn connector_secrets(&self, secret_box: &SecretBox) -> Option<BTreeMap<String, String>> {
        match &self.connector_secrets {
            None => Some(BTreeMap::new()),
            Some(sealed) => secret_box
                .open(SECRETS_PURPOSE, sealed)
                .ok()
                .and_then(|plain| serde_json::from_slice(&plain).ok()),
        }
    }

    /// The token endpoint TPPs are shown: the display endpoint when set, else the token
    /// endpoint, else (resident) the one of Portico's own authorization server.
    pub fn token_endpoint(&self, config: &KeyManagerConfig, issuer: &str) -> String {
        let set = |v: &Option<String>| v.as_ref().filter(|s| !s.trim().is_empty()).cloned();
        set(&config.display_token_endpoint)
            .or_else(|| set(&config.token_endpoint))
            .unwrap_or_else(|| match self.kind {
                KeyManagerKind::Resident => format!("{issuer}/oauth2/token"),
                _ => String::new(),
            })
    }

    pub fn find(conn: &mut DbConnection, id: KeyManagerId) -> QueryResult<Option<KeyManagerRow>> {
        key_managers::table.find(id).first_row(conn)
    }

    pub fn find_by_name(conn: &mut DbConnection, name: &str) -> QueryResult<Option<Self>> {
        key_managers::table
            .filter(key_managers::name.eq(name))
            .first_row(conn)
    }

    /// Every key manager, the resident one first, then by display name.
    pub fn all(conn: &mut DbConnection) -> QueryResult<Vec<KeyManagerRow>> {
        let mut rows: Vec<KeyManagerRow> = key_managers::table
            .order((key_managers::display_name.asc(), key_managers::id.asc()))
            .select(KeyManagerRow::as_select())
            .load(conn)?;
        rows.sort_by_key(|r| r.kind != KeyManagerKind::Resident);
        Ok(rows)
    }
}

/// What the administrator's key-manager form writes (an issuer or sealed secrets of `None`
/// clear the column).
#[derive(Debug, Clone, Insertable, AsChangeset)]
#[diesel(table_name = key_managers, treat_none_as_null = true)]
pub struct KeyManagerChanges {
    pub display_name: String,
    pub description: String,
    pub enabled: bool,
    pub issuer: Option<String>,
    pub config: String,
    pub connector_config: String,
    pub connector_secrets: Option<Vec<u8>>,
}

/// An application that has keys at a key manager, with its owner.
#[derive(Debug, Clone)]
pub struct KeyUser {
    pub application_id: ApplicationId,
    pub application_name: String,
    pub owner: String,
}

impl KeyManagerRow {
    pub fn find_by_issuer(conn: &mut DbConnection, issuer: &str) -> QueryResult<Option<Self>> {
        key_managers::table
            .filter(key_managers::issuer.eq(issuer))
            .first_row(conn)
    }

    pub fn insert(
        conn: &mut DbConnection,
        name: &str,
        kind: KeyManagerKind,
        changes: &KeyManagerChanges,
    ) -> QueryResult<KeyManagerRow> {
        let now = now();
        crate::on_each!(conn, |c| diesel::insert_into(key_managers::table)
            .values((
                key_managers::name.eq(name),
                key_managers::kind.eq(kind),
                changes,
                key_managers::created_at.eq(now),
                key_managers::updated_at.eq(now),
            ))
            .returning(KeyManagerRow::as_returning())
            .get_result(c))
    }

    /// Applies the form; name and type stay.
    pub fn update(
        conn: &mut DbConnection,
        id: KeyManagerId,
        changes: &KeyManagerChanges,
    ) -> QueryResult<KeyManagerRow> {
        crate::on_each!(conn, |c| diesel::update(key_managers::table.find(id))
            .set((changes, key_managers::updated_at.eq(now())))
            .returning(KeyManagerRow::as_returning())
            .get_result(c))
    }

    pub fn set_enabled(
        conn: &mut DbConnection,
        id: KeyManagerId,
        enabled: bool,
    ) -> QueryResult<usize> {
        diesel::update(key_managers::table.find(id))
            .set((
                key_managers::enabled.eq(enabled),
                key_managers::updated_at.eq(now()),
            ))
            .execute(conn)
    }

    pub fn delete(conn: &mut DbConnection, id: KeyManagerId) -> QueryResult<usize> {
        diesel::delete(key_managers::table.find(id)).execute(conn)
    }

    /// How many application keys (mappings, in any state) each key manager has: one grouped query.
    pub fn key_counts(conn: &mut DbConnection) -> QueryResult<HashMap<KeyManagerId, i64>> {
        let rows: Vec<(KeyManagerId, i64)> = key_mappings::table
            .group_by(key_mappings::key_manager_id)
            .select((key_mappings::key_manager_id, count_star()))
            .load(conn)?;
        Ok(rows.into_iter().collect())
    }

    /// The applications with keys at this key manager, with their owners, by name.
    pub fn key_users(conn: &mut DbConnection, id: KeyManagerId) -> QueryResult<Vec<KeyUser>> {
        let rows: Vec<(ApplicationId, String, String)> = key_mappings::table
            .inner_join(applications::table.inner_join(users::table))
            .filter(key_mappings::key_manager_id.eq(id))
            .select((applications::id, applications::name, users::username))
            .distinct()
            .order((applications::name.asc(), applications::id.asc()))
            .load(conn)?;
        Ok(rows
            .into_iter()
            .map(|(application_id, application_name, owner)| KeyUser {
                application_id,
                application_name,
                owner,
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_seeded_resident_config_reads_and_missing_flags_default_on() {
        let seeded = r#"{"grant_types":["client_credentials","authorization_code","refresh_token"],"enable_token_generation":true,"enable_oob_provisioning":true,"enable_oauth_app_creation":true,"permission_type":"PUBLIC","permission_roles":[]}"#;
        let config: KeyManagerConfig = serde_json::from_str(seeded).unwrap();
        assert_eq!(config.grant_types.len(), 3);
        assert_eq!(config.permission_type, PermissionType::Public);
        let bare: KeyManagerConfig = serde_json::from_str(r#"{"other":1}"#).unwrap();
        assert!(bare.enable_oob_provisioning && bare.enable_token_generation);
        assert!(serde_json::from_str::<KeyManagerConfig>(r#"{"permission_type":"SOME"}"#).is_err());
    }
}
