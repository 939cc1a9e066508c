//! `key_managers`: the key managers an administrator configured (the resident one is seeded),
//! with their `config` JSON read through the typed `KeyManagerConfig`.

use diesel::prelude::*;
use serde::{Deserialize, Serialize};

use crate::db::schema::key_managers;
use crate::domain::keys::KeyManagerKind;

#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = key_managers)]
pub struct KeyManagerRow {
    pub id: i64,
    pub name: String,
    pub display_name: String,
    pub kind: KeyManagerKind,
    pub description: String,
    pub enabled: bool,
    pub config: String,
    pub created_at: i64,
    pub updated_at: i64,
}

/// Who may use a key manager: everyone, only the listed roles, or everyone but them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum PermissionType {
    #[default]
    Public,
    Allow,
    Deny,
}

fn yes() -> bool {
    true
}

/// The `config` column. Fields the admin form adds later (endpoints, claims, certificates) are
/// read by their connectors; unknown fields are kept out of the way, not refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyManagerConfig {
    /// The grant types TPPs may choose for their clients.
    #[serde(default)]
    pub grant_types: Vec<String>,
    /// TPPs may generate access tokens from the portal.
    #[serde(default = "yes")]
    pub enable_token_generation: bool,
    /// TPPs may provide existing OAuth clients (out-of-band provisioning).
    #[serde(default = "yes")]
    pub enable_oob_provisioning: bool,
    /// TPPs may have Portico create OAuth clients here.
    #[serde(default = "yes")]
    pub enable_oauth_app_creation: bool,
    #[serde(default)]
    pub permission_type: PermissionType,
    #[serde(default)]
    pub permission_roles: Vec<String>,
    /// Where clients get tokens, and the address shown to TPPs when it differs.
    #[serde(default)]
    pub token_endpoint: Option<String>,
    #[serde(default)]
    pub display_token_endpoint: Option<String>,
}

impl Default for KeyManagerConfig {
    fn default() -> Self {
        serde_json::from_str("{}").expect("every field has a default")
    }
}

impl KeyManagerRow {
    /// The typed configuration; a row whose JSON cannot be read is not used.
    pub fn config(&self) -> Result<KeyManagerConfig, serde_json::Error> {
        serde_json::from_str(&self.config)
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

    pub fn find(conn: &mut SqliteConnection, id: i64) -> QueryResult<Option<KeyManagerRow>> {
        key_managers::table
            .find(id)
            .select(KeyManagerRow::as_select())
            .first(conn)
            .optional()
    }

    pub fn find_by_name(
        conn: &mut SqliteConnection,
        name: &str,
    ) -> QueryResult<Option<KeyManagerRow>> {
        key_managers::table
            .filter(key_managers::name.eq(name))
            .select(KeyManagerRow::as_select())
            .first(conn)
            .optional()
    }

    /// Every key manager, the resident one first, then by display name.
    pub fn all(conn: &mut SqliteConnection) -> QueryResult<Vec<KeyManagerRow>> {
        let mut rows: Vec<KeyManagerRow> = key_managers::table
            .order((key_managers::display_name.asc(), key_managers::id.asc()))
            .select(KeyManagerRow::as_select())
            .load(conn)?;
        rows.sort_by_key(|r| r.kind != KeyManagerKind::Resident);
        Ok(rows)
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
