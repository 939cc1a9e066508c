//! Keys: generate, provide out-of-band (map), update, regenerate the secret of, remove, and get
//! access tokens for an application's production and sandbox keys, through its key managers.
//!
//! Every operation checks, in one database read or immediate transaction, ownership (another
//! TPP's application is not found), the key manager (`may_use`, its flags) and the input; then
//! calls the key manager OUTSIDE any transaction; then records the outcome and the audit event in
//! a second transaction (`audited`). Getting keys (`provision`) reserves the key mapping first,
//! so two requests cannot both make a client, and undoes what it made when it cannot finish.
//! The tab's view is in `view`, the changes to existing keys in `changes`, and what is left for
//! an administrator when a key manager fails to delete a client in `tasks`.

use crate::domain::ids::ApplicationId;
use crate::domain::ids::UserId;
use std::sync::Arc;

use secrecy::SecretString;

use crate::db::models::applications::{Application, MemberAccess};
use crate::db::models::audit_events::{Actor, Subject};
use crate::db::models::key_managers::{KeyManagerConfig, KeyManagerRow};
use crate::db::models::key_mappings::KeyMapping;
use crate::db::models::user_roles::UserRole;
use crate::db::models::users::User;
use crate::db::{self, DbPool};
use crate::domain::keys::{CreateMode, KeyType, KeysForm, MappingState};
use crate::key_managers::{AccessToken, Connectors, KeyManager, KmResult, may_use};

use super::{ServiceError, ServiceResult};

mod changes;
mod offer;
mod provision;
mod tasks;
#[cfg(test)]
mod tests;
mod view;

pub use offer::{ExistingKeys, KeysAction, Offer};
pub use provision::Provision;
pub use tasks::{hand_back, resolve_task, retry_task};
pub use view::{KeysView, SelectedKeyManager};

/// What the keys operations work with: the database, the connectors, and two settings. Built
/// once at start and handed to the handlers as app data.
#[derive(Clone)]
pub struct Keys {
    pub pool: DbPool,
    pub connectors: Connectors,
    /// `settings.key_provisioning`: the global switch of out-of-band provisioning.
    pub provisioning: bool,
    /// The resident authorization server's issuer (Portico's public URL).
    pub issuer: String,
}

/// Keys just made or re-secreted: the consumer secret is shown this once.
pub struct Issued {
    pub key_manager: String,
    pub consumer_key: String,
    pub consumer_secret: Option<SecretString>,
}

/// An access token generated from the portal, shown once.
pub struct IssuedToken {
    pub key_manager: String,
    pub token: AccessToken,
}

/// Which keys a request is about: an application's keys of one type at the key manager its form
/// names.
#[derive(Debug, Clone, Copy)]
pub struct Target {
    pub application_id: ApplicationId,
    pub key_type: KeyType,
}

/// What a checked request is about.
struct Checked {
    application: Application,
    key_manager: KeyManagerRow,
    config: KeyManagerConfig,
    connector: Arc<dyn KeyManager>,
    portal_provisioning: bool,
}

impl Checked {
    fn offer(&self) -> Offer<'_> {
        Offer {
            key_manager: &self.key_manager,
            config: &self.config,
            spec: Some(self.connector.spec()),
            portal_provisioning: self.portal_provisioning,
        }
    }

    /// Refuses `action` when the key manager cannot do it at all.
    fn allow(&self, action: KeysAction) -> ServiceResult<()> {
        self.offer().refuses(action).map_or(Ok(()), Err)
    }

    /// Refuses `action` when it cannot work on these keys.
    fn allow_on(&self, action: KeysAction, mapping: &KeyMapping) -> ServiceResult<()> {
        let settings = mapping.settings();
        let keys = ExistingKeys {
            mode: mapping.create_mode,
            settings: &settings,
        };
        self.offer().refuses_for(action, keys).map_or(Ok(()), Err)
    }

    /// The audit trail's subject for the keys `mapping_id` of the application.
    fn subject(&self, mapping_id: i64) -> Subject<'static> {
        Subject {
            object_type: "keys",
            object_id: Some(mapping_id),
            application_id: Some(self.application.id),
        }
    }
}

fn forbidden(message: impl Into<String>) -> ServiceError {
    ServiceError::Forbidden(message.into())
}

fn no_keys(key_type: KeyType) -> ServiceError {
    ServiceError::Conflict(format!(
        "This application has no {} keys at this key manager yet: generate or provide them first.",
        key_type.label().to_lowercase()
    ))
}

fn in_progress() -> ServiceError {
    ServiceError::Conflict(
        "These keys are being generated right now. Reload the page in a moment.".into(),
    )
}

/// A key manager's stored configuration; one that does not read is Portico's failure.
fn config_of(key_manager: &KeyManagerRow) -> ServiceResult<KeyManagerConfig> {
    key_manager
        .config()
        .map_err(|e| ServiceError::internal("a key manager's configuration does not read", e))
}

/// The key manager a form names (or, when it names none, the first the user may use), checked
/// with `may_use`.
fn usable_key_manager(
    conn: &mut crate::db::DbConnection,
    user: &User,
    roles: &[String],
    name: &str,
) -> ServiceResult<(KeyManagerRow, KeyManagerConfig)> {
    let name = name.trim();
    let key_manager = if name.is_empty() {
        KeyManagerRow::all(conn)?
            .into_iter()
            .find(|km| may_use(user, roles, km))
            .ok_or_else(|| forbidden("No key manager is available to you. Ask an administrator."))?
    } else {
        // No name holds a NUL, which PostgreSQL text cannot: such a name is not looked up.
        let found = if name.contains('\0') {
            None
        } else {
            KeyManagerRow::find_by_name(conn, name)?
        };
        let key_manager = found.ok_or_else(|| {
            let shown: String = name.chars().take(60).collect();
            ServiceError::invalid(
                "key_manager",
                format!("There is no key manager named “{shown}”."),
            )
        })?;
        if !key_manager.enabled {
            return Err(forbidden(format!(
                "The key manager “{}” is disabled. Ask an administrator.",
                key_manager.display_name
            )));
        }
        if !may_use(user, roles, &key_manager) {
            return Err(forbidden(format!(
                "You may not use the key manager “{}”.",
                key_manager.display_name
            )));
        }
        key_manager
    };
    let config = config_of(&key_manager)?;
    Ok((key_manager, config))
}

/// The application `user_id` may read as a member of its organisation, with their access,
/// that user, and their roles (what `may_use` reads).
fn owned(
    conn: &mut crate::db::DbConnection,
    user_id: UserId,
    application_id: ApplicationId,
) -> ServiceResult<(Application, MemberAccess, User, Vec<String>)> {
    let (application, access) = super::organisations::readable(conn, application_id, user_id)?;
    let user = User::find(conn, user_id)?.ok_or(ServiceError::NotFound)?;
    let roles = UserRole::of(conn, user.id)?;
    Ok((application, access, user, roles))
}

impl Keys {
    /// Membership with a role that may change keys, then the key manager: what every
    /// operation checks first.
    fn check(
        &self,
        conn: &mut crate::db::DbConnection,
        actor: &Actor,
        application_id: ApplicationId,
        key_manager: &str,
    ) -> ServiceResult<Checked> {
        let (application, access, user, roles) = owned(conn, actor.id, application_id)?;
        super::organisations::may_change(access)?;
        let (key_manager, config) = usable_key_manager(conn, &user, &roles, key_manager)?;
        let connector = self.connectors.connector(&key_manager)?;
        Ok(Checked {
            application,
            key_manager,
            config,
            connector,
            portal_provisioning: self.provisioning,
        })
    }
}

/// Hands a client back to its key manager: a CREATED one is deleted there, a MAPPED one only
/// unlinked (it stays where it was).
async fn unlink_or_delete(
    connector: &dyn KeyManager,
    mode: CreateMode,
    consumer_key: &str,
) -> KmResult<()> {
    match mode {
        CreateMode::Created => connector.delete_application(consumer_key).await,
        CreateMode::Mapped => connector.delete_mapped_application(consumer_key).await,
    }
}

/// The active keys of a checked request, with their consumer key.
fn active_mapping(
    conn: &mut crate::db::DbConnection,
    checked: &Checked,
    key_type: KeyType,
) -> ServiceResult<(KeyMapping, String)> {
    let mapping = KeyMapping::find(
        conn,
        checked.application.id,
        key_type,
        checked.key_manager.id,
    )?
    .ok_or_else(|| no_keys(key_type))?;
    match (&mapping.state, mapping.consumer_key.clone()) {
        (MappingState::Active, Some(key)) => Ok((mapping, key)),
        _ => Err(in_progress()),
    }
}

/// The form and its target, as every POST of the keys tab sends them.
pub struct KeysRequest {
    pub actor: Actor,
    pub target: Target,
    pub form: KeysForm,
}

impl Keys {
    /// Checks a request on existing keys in one read: the application, the key manager, that
    /// it does `action`, and the active keys.
    async fn on_keys(
        &self,
        request: &KeysRequest,
        action: KeysAction,
    ) -> ServiceResult<(Checked, KeyMapping, String)> {
        let this = self.clone();
        let (actor, target) = (request.actor.clone(), request.target);
        let key_manager = request.form.key_manager.clone();
        db::run(&self.pool, move |conn| {
            let checked = this.check(conn, &actor, target.application_id, &key_manager)?;
            checked.allow(action)?;
            let (mapping, consumer_key) = active_mapping(conn, &checked, target.key_type)?;
            checked.allow_on(action, &mapping)?;
            Ok((checked, mapping, consumer_key))
        })
        .await
    }
}
