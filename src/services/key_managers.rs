//! Key managers, as administrators configure them: the list with how many application keys use
//! each, create, update, enable, disable and delete. The resident key manager's endpoints are
//! Portico's own and are not stored; it can be disabled but never deleted. A key manager that
//! application keys use cannot be deleted. Masked connector fields are sealed with `SecretBox`.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::config::Settings;
use crate::db::models::audit_events::Actor;
use crate::db::models::key_managers::{KeyManagerChanges, KeyManagerRow, KeyUser, SECRETS_PURPOSE};
use crate::db::{self, DbError, DbPool, is_unique_violation};
use crate::domain::ids::KeyManagerId;
use crate::domain::key_managers::{KeyManagerForm, KeyManagerInput};
use crate::domain::keys::KeyManagerKind;
use crate::security::secret_box::SecretBox;
use crate::services::{ServiceError, ServiceResult, audited, subject};

/// A key manager and how many application keys it holds.
#[derive(Debug, Clone)]
pub struct KeyManagerEntry {
    pub key_manager: KeyManagerRow,
    pub keys: i64,
}

/// What Portico's settings say about key managers, as creating and changing one needs it.
pub struct KeyManagerSettings {
    /// Seals the masked connector fields.
    pub secret_box: Arc<SecretBox>,
    /// Portico's public URL, the resident key manager's issuer, which no other may take.
    pub own_issuer: String,
    /// Whether a key manager's URLs may point at private addresses.
    pub allow_private: bool,
}

impl KeyManagerSettings {
    pub fn of(settings: &Settings) -> Self {
        Self {
            secret_box: Arc::new(SecretBox::new(&settings.secret_key)),
            own_issuer: settings.base_url(),
            allow_private: settings.allow_private_km_urls,
        }
    }
}

const OBJECT_TYPE: &str = "key_manager";

/// The plain connector fields of a row.
pub fn connector_config(row: &KeyManagerRow) -> BTreeMap<String, String> {
    row.connector_plain()
}

/// The names of the masked connector fields that have a stored value.
pub fn stored_secret_names(secret_box: &SecretBox, row: &KeyManagerRow) -> Vec<String> {
    open_secrets(secret_box, row).into_keys().collect()
}

fn open_secrets(secret_box: &SecretBox, row: &KeyManagerRow) -> BTreeMap<String, String> {
    row.connector_secrets(secret_box).unwrap_or_default()
}

fn changes(
    input: &KeyManagerInput,
    secret_box: &SecretBox,
    mut secrets: BTreeMap<String, String>,
) -> KeyManagerChanges {
    secrets.extend(input.connector_secrets.clone());
    KeyManagerChanges {
        display_name: input.display_name.clone(),
        description: input.description.clone(),
        enabled: input.enabled,
        issuer: input.issuer.clone(),
        config: serde_json::to_string(&input.config).expect("the configuration serializes"),
        connector_config: serde_json::to_string(&input.connector_plain)
            .expect("the connector configuration serializes"),
        connector_secrets: (!secrets.is_empty()).then(|| {
            secret_box.seal(
                SECRETS_PURPOSE,
                &serde_json::to_vec(&secrets).expect("secrets serialize"),
            )
        }),
    }
}

fn issuer_taken(issuer: &str) -> ServiceError {
    ServiceError::taken(
        "issuer",
        format!("Another key manager already has the issuer {issuer}."),
    )
}

/// True when a UNIQUE violation is the issuer's (two creates racing for one issuer).
fn violates_issuer(error: &diesel::result::Error) -> bool {
    matches!(error, diesel::result::Error::DatabaseError(_, info) if info.message().contains("issuer"))
}

fn check_issuer(
    conn: &mut crate::db::DbConnection,
    issuer: Option<&str>,
    own_issuer: &str,
    id: Option<KeyManagerId>,
) -> ServiceResult<()> {
    let Some(issuer) = issuer else { return Ok(()) };
    if issuer.trim_end_matches('/') == own_issuer.trim_end_matches('/') {
        return Err(ServiceError::taken(
            "issuer",
            "This is the issuer of the resident key manager.",
        ));
    }
    match KeyManagerRow::find_by_issuer(conn, issuer)? {
        Some(other) if Some(other.id) != id => Err(issuer_taken(issuer)),
        _ => Ok(()),
    }
}

/// Every key manager (the resident one first) with its key count: one grouped query.
pub async fn overview(pool: &DbPool) -> Result<Vec<KeyManagerEntry>, DbError> {
    db::run(pool, |conn| {
        let counts = KeyManagerRow::key_counts(conn)?;
        Ok(KeyManagerRow::all(conn)?
            .into_iter()
            .map(|key_manager| KeyManagerEntry {
                keys: counts.get(&key_manager.id).copied().unwrap_or(0),
                key_manager,
            })
            .collect())
    })
    .await
}

pub async fn find(pool: &DbPool, id: KeyManagerId) -> ServiceResult<KeyManagerEntry> {
    db::run(pool, move |conn| {
        let key_manager = KeyManagerRow::find(conn, id)?.ok_or(ServiceError::NotFound)?;
        let keys = KeyManagerRow::key_counts(conn)?
            .get(&id)
            .copied()
            .unwrap_or(0);
        Ok(KeyManagerEntry { key_manager, keys })
    })
    .await
}

/// Creates a key manager: its name and issuer must be free.
pub async fn create(
    pool: &DbPool,
    settings: KeyManagerSettings,
    actor: Actor,
    form: KeyManagerForm,
) -> ServiceResult<KeyManagerRow> {
    let input = KeyManagerInput::parse(&form, None, &[], settings.allow_private)
        .map_err(ServiceError::Invalid)?;
    let about = subject(OBJECT_TYPE, None);
    audited(pool, &actor, "create", about, move |conn, subject| {
        let name_taken = || {
            ServiceError::taken(
                "name",
                format!("A key manager named {} already exists.", input.name),
            )
        };
        if KeyManagerRow::find_by_name(conn, &input.name)?.is_some() {
            return Err(name_taken());
        }
        check_issuer(conn, input.issuer.as_deref(), &settings.own_issuer, None)?;
        let changes = changes(&input, &settings.secret_box, BTreeMap::new());
        let row =
            KeyManagerRow::insert(conn, &input.name, input.kind, &changes).map_err(|e| {
                match (is_unique_violation(&e), input.issuer.as_deref()) {
                    (true, Some(issuer)) if violates_issuer(&e) => issuer_taken(issuer),
                    (true, _) => name_taken(),
                    _ => e.into(),
                }
            })?;
        subject.object_id = Some(row.id.get());
        let summary = format!("Created {} key manager {}", row.kind, row.name);
        Ok((row, summary))
    })
    .await
}

/// Changes a key manager; its name and type stay. An empty masked field keeps its stored value.
/// The resident key manager's endpoints and issuer are Portico's own and are not stored.
pub async fn update(
    pool: &DbPool,
    settings: KeyManagerSettings,
    actor: Actor,
    id: KeyManagerId,
    form: KeyManagerForm,
) -> ServiceResult<KeyManagerRow> {
    let about = subject(OBJECT_TYPE, Some(id.get()));
    audited(pool, &actor, "update", about, move |conn, _| {
        let current = KeyManagerRow::find(conn, id)?.ok_or(ServiceError::NotFound)?;
        let stored = open_secrets(&settings.secret_box, &current);
        let names: Vec<String> = stored.keys().cloned().collect();
        let input = KeyManagerInput::parse(
            &form,
            Some((&current.name, current.kind)),
            &names,
            settings.allow_private,
        )
        .map_err(ServiceError::Invalid)?;
        check_issuer(
            conn,
            input.issuer.as_deref(),
            &settings.own_issuer,
            Some(id),
        )?;
        let changes = changes(&input, &settings.secret_box, stored);
        let row = KeyManagerRow::update(conn, id, &changes).map_err(|e| {
            if is_unique_violation(&e) {
                issuer_taken(input.issuer.as_deref().unwrap_or(""))
            } else {
                e.into()
            }
        })?;
        let summary = format!("Updated {} key manager {}", row.kind, row.name);
        Ok((row, summary))
    })
    .await
}

/// Enables or disables a key manager. Disabled, TPPs cannot get new keys from it; keys it
/// issued keep working.
pub async fn set_enabled(
    pool: &DbPool,
    actor: Actor,
    id: KeyManagerId,
    enabled: bool,
) -> ServiceResult<KeyManagerRow> {
    let action = if enabled { "enable" } else { "disable" };
    let about = subject(OBJECT_TYPE, Some(id.get()));
    audited(pool, &actor, action, about, move |conn, _| {
        let row = KeyManagerRow::find(conn, id)?.ok_or(ServiceError::NotFound)?;
        KeyManagerRow::set_enabled(conn, id, enabled)?;
        let summary = format!("{}d key manager {}", capitalised(action), row.name);
        Ok((row, summary))
    })
    .await
}

fn capitalised(word: &str) -> String {
    let mut chars = word.chars();
    chars
        .next()
        .map(|c| c.to_ascii_uppercase().to_string() + chars.as_str())
        .unwrap_or_default()
}

/// Deletes a key manager no application keys use; never the resident one.
pub async fn delete(pool: &DbPool, actor: Actor, id: KeyManagerId) -> ServiceResult<KeyManagerRow> {
    audited(pool, &actor, "delete", subject(OBJECT_TYPE, Some(id.get())), move |conn, _| {
            let row = KeyManagerRow::find(conn, id)?.ok_or(ServiceError::NotFound)?;
            if row.kind == KeyManagerKind::Resident {
                return Err(ServiceError::Conflict(
                    "The resident key manager is built in and cannot be deleted; disable it instead."
                        .into(),
                ));
            }
            let users = KeyManagerRow::key_users(conn, id)?;
            if !users.is_empty() {
                return Err(in_use(&row.display_name, users));
            }
            KeyManagerRow::delete(conn, id)?;
            let summary = format!("Deleted {} key manager {}", row.kind, row.name);
            Ok((row, summary))
    })
    .await
}

/// Why a key manager cannot be deleted: the applications whose keys it holds.
fn in_use(name: &str, users: Vec<KeyUser>) -> ServiceError {
    let n = users.len();
    let message = format!(
        "{name} cannot be deleted: {n} application{} use{} its keys. Remove those keys first.",
        if n == 1 { "" } else { "s" },
        if n == 1 { "s" } else { "" },
    );
    ServiceError::InUse { message, users }
}
