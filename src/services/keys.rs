//! Keys: generate, provide out-of-band (map), update, regenerate the secret of, remove, and get
//! access tokens for an application's production and sandbox keys, through its key managers.
//!
//! Every operation checks, in one database read or immediate transaction, ownership (another
//! TPP's application is not found), the key manager (`may_use`, its flags) and the input; then
//! calls the key manager OUTSIDE any transaction; then records the outcome and the audit event in
//! a second transaction. A generation reserves its key mapping first, so two requests cannot
//! both make a client, and undoes what it made when it cannot finish.
//!
//! Over 600 lines: issue #15 splits it into `services/keys/` (view, one provision saga, changes,
//! key-manager tasks); until then it stays whole so the saga is not copied.

use secrecy::SecretString;

use crate::db::models::applications::Application;
use crate::db::models::audit_events::{Actor, AuditEvent, Subject};
use crate::db::models::key_manager_tasks::{KeyManagerTask, NewTask};
use crate::db::models::key_managers::{KeyManagerConfig, KeyManagerRow};
use crate::db::models::key_mappings::KeyMapping;
use crate::db::models::user_roles::UserRole;
use crate::db::models::users::User;
use crate::db::{self, DbPool, is_unique_violation};
use crate::domain::keys::{
    CREDENTIALS_MESSAGE, CreateMode, KeyManagerKind, KeySettings, KeyType, KeysForm, MapInput,
    MappingState, TokenInput,
};
use crate::key_managers::{
    AccessToken, ClientRequest, ConnectorSpec, Connectors, KeyManager, KeyManagerError, MapRequest,
    TokenRequest, may_use, spec,
};
use crate::oauth_server::clients::OAuthClient;

use super::ServiceError;

mod offer;

pub use offer::{ExistingKeys, KeysAction, Offer, message};

impl From<KeyManagerError> for ServiceError {
    fn from(error: KeyManagerError) -> Self {
        match error {
            KeyManagerError::Invalid { field, message } => ServiceError::invalid(field, message),
            KeyManagerError::InvalidCredentials => {
                ServiceError::invalid("consumer_secret", CREDENTIALS_MESSAGE)
            }
            KeyManagerError::Conflict(message) => ServiceError::Conflict {
                field: None,
                message,
            },
            KeyManagerError::NotFound => ServiceError::Conflict {
                field: None,
                message: "The key manager no longer knows these keys. Remove them, then generate or provide new ones.".into(),
            },
            KeyManagerError::Unavailable(cause) => {
                tracing::warn!(%cause, "a key manager is unavailable");
                ServiceError::Unavailable(
                    "The key manager is unavailable or answered with an error. Nothing was changed; try again in a moment.".into(),
                )
            }
            KeyManagerError::Timeout => ServiceError::Timeout(
                "The key manager did not answer in time. Nothing was changed; try again in a moment.".into(),
            ),
            KeyManagerError::Unsupported(what) => {
                ServiceError::Forbidden(format!("This key manager cannot do that: {what}."))
            }
            KeyManagerError::Internal(cause) => ServiceError::Internal(cause),
        }
    }
}

/// What the keys operations work with: the database, the connectors, and two settings.
#[derive(Clone)]
pub struct Keys {
    pub pool: DbPool,
    pub connectors: Connectors,
    /// `settings.key_provisioning`: the global switch of out-of-band provisioning.
    pub provisioning: bool,
    /// The resident authorization server's issuer (Portico's public URL).
    pub issuer: String,
}

/// The keys tab of one environment: the key managers the user may use, and the chosen one.
pub struct KeysView {
    pub application: Application,
    pub key_type: KeyType,
    pub tabs: Vec<KeyManagerRow>,
    pub selected: Option<SelectedKeyManager>,
}

/// One key manager's part of the keys tab.
pub struct SelectedKeyManager {
    pub key_manager: KeyManagerRow,
    pub config: KeyManagerConfig,
    pub spec: Option<&'static ConnectorSpec>,
    /// The keys, when they exist (or are being generated).
    pub mapping: Option<KeyMapping>,
    pub settings: KeySettings,
    pub token_endpoint: String,
    /// Out-of-band provisioning is on for the whole portal.
    pub portal_provisioning: bool,
}

impl SelectedKeyManager {
    pub fn offer(&self) -> Offer<'_> {
        Offer {
            key_manager: &self.key_manager,
            config: &self.config,
            spec: self.spec,
            portal_provisioning: self.portal_provisioning,
        }
    }

    /// Why the tab does not offer `action` here (the message its POST would answer with);
    /// `None` when it does. Actions on keys are judged on the keys shown.
    pub fn why_not(&self, action: KeysAction) -> Option<String> {
        let refusal = match &self.mapping {
            Some(mapping) => self.offer().refuses_for(
                action,
                ExistingKeys {
                    mode: mapping.create_mode,
                    settings: &self.settings,
                },
            ),
            None => self.offer().refuses(action),
        };
        refusal.as_ref().map(message)
    }

    pub fn max_token_validity(&self) -> i64 {
        self.spec.map_or(3600, |s| s.max_token_validity)
    }

    /// The grant types the key manager offers.
    pub fn offered(&self) -> &[String] {
        &self.config.grant_types
    }

    pub fn consumer_key(&self) -> &str {
        self.mapping
            .as_ref()
            .and_then(|m| m.consumer_key.as_deref())
            .unwrap_or_default()
    }
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

/// What a checked request is about.
struct Checked {
    application: Application,
    key_manager: KeyManagerRow,
    config: KeyManagerConfig,
    connector: std::sync::Arc<dyn KeyManager>,
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
    fn allow(&self, action: KeysAction) -> Result<(), ServiceError> {
        self.offer().refuses(action).map_or(Ok(()), Err)
    }

    /// Refuses `action` when it cannot work on these keys.
    fn allow_on(&self, action: KeysAction, mapping: &KeyMapping) -> Result<(), ServiceError> {
        let settings = mapping.settings();
        let keys = ExistingKeys {
            mode: mapping.create_mode,
            settings: &settings,
        };
        self.offer().refuses_for(action, keys).map_or(Ok(()), Err)
    }
}

fn subject(mapping_id: i64, application_id: i64) -> Subject<'static> {
    Subject {
        object_type: "keys",
        object_id: Some(mapping_id),
        application_id: Some(application_id),
    }
}

fn forbidden(message: impl Into<String>) -> ServiceError {
    ServiceError::Forbidden(message.into())
}

fn no_keys(key_type: KeyType) -> ServiceError {
    ServiceError::Conflict {
        field: None,
        message: format!(
            "This application has no {} keys at this key manager yet: generate or provide them first.",
            key_type.label().to_lowercase()
        ),
    }
}

fn keys_exist(key_type: KeyType, key_manager: &KeyManagerRow) -> ServiceError {
    ServiceError::Conflict {
        field: None,
        message: format!(
            "This application already has {} keys at {}. Remove them first to get new ones.",
            key_type.label().to_lowercase(),
            key_manager.display_name
        ),
    }
}

fn in_progress() -> ServiceError {
    ServiceError::Conflict {
        field: None,
        message: "These keys are being generated right now. Reload the page in a moment.".into(),
    }
}

/// The key manager a form names (or, when it names none, the first the user may use), checked
/// with `may_use`.
fn usable_key_manager(
    conn: &mut diesel::SqliteConnection,
    user: &User,
    roles: &[String],
    name: &str,
) -> Result<(KeyManagerRow, KeyManagerConfig), ServiceError> {
    let name = name.trim();
    let key_manager = if name.is_empty() {
        KeyManagerRow::all(conn)?
            .into_iter()
            .find(|km| may_use(user, roles, km))
            .ok_or_else(|| forbidden("No key manager is available to you. Ask an administrator."))?
    } else {
        let key_manager = KeyManagerRow::find_by_name(conn, name)?.ok_or_else(|| {
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
    let config = key_manager
        .config()
        .map_err(|e| ServiceError::Internal(format!("key manager configuration: {e}")))?;
    Ok((key_manager, config))
}

impl Keys {
    /// Ownership, then the key manager: what every operation checks first.
    fn check(
        &self,
        conn: &mut diesel::SqliteConnection,
        actor: &Actor,
        application_id: i64,
        key_manager: &str,
    ) -> Result<Checked, ServiceError> {
        let application = Application::find_owned(conn, application_id, actor.id)?
            .ok_or(ServiceError::NotFound)?;
        let user = User::find(conn, actor.id)?.ok_or(ServiceError::NotFound)?;
        let roles = UserRole::of(conn, user.id)?;
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

    /// The keys tab: the key managers the user may use, and `key_manager` (or the first).
    pub async fn view(
        &self,
        user_id: i64,
        application_id: i64,
        key_type: KeyType,
        key_manager: Option<String>,
    ) -> Result<KeysView, ServiceError> {
        let provisioning = self.provisioning;
        let issuer = self.issuer.clone();
        db::run(&self.pool, move |conn| {
            let application = Application::find_owned(conn, application_id, user_id)?
                .ok_or(ServiceError::NotFound)?;
            let user = User::find(conn, user_id)?.ok_or(ServiceError::NotFound)?;
            let roles = UserRole::of(conn, user.id)?;
            let tabs: Vec<KeyManagerRow> = KeyManagerRow::all(conn)?
                .into_iter()
                .filter(|km| may_use(&user, &roles, km))
                .collect();
            let chosen = match key_manager.as_deref().map(str::trim) {
                None | Some("") => tabs.first().cloned(),
                Some(name) => Some(
                    tabs.iter()
                        .find(|km| km.name == name)
                        .cloned()
                        .ok_or(ServiceError::NotFound)?,
                ),
            };
            let selected = match chosen {
                None => None,
                Some(key_manager) => {
                    let config = key_manager.config().map_err(|e| {
                        ServiceError::Internal(format!("key manager configuration: {e}"))
                    })?;
                    let mapping = KeyMapping::find(conn, application.id, key_type, key_manager.id)?
                        .filter(|m| !m.is_stale());
                    let settings = mapping
                        .as_ref()
                        .map(KeyMapping::settings)
                        .unwrap_or_default();
                    Some(SelectedKeyManager {
                        token_endpoint: key_manager.token_endpoint(&config, &issuer),
                        portal_provisioning: provisioning,
                        spec: spec(key_manager.kind),
                        key_manager,
                        config,
                        mapping,
                        settings,
                    })
                }
            };
            Ok(KeysView {
                application,
                key_type,
                tabs,
                selected,
            })
        })
        .await
    }

    /// Generates keys: reserve, ask the key manager, then activate — or undo.
    pub async fn generate(
        &self,
        actor: Actor,
        application_id: i64,
        key_type: KeyType,
        form: KeysForm,
    ) -> Result<Issued, ServiceError> {
        let this = self.clone();
        let author = actor.clone();
        let (checked, reservation, request) = db::run(&self.pool, move |conn| {
            db::write(conn, |conn| {
                let checked = this.check(conn, &author, application_id, &form.key_manager)?;
                checked.allow(KeysAction::Generate)?;
                let settings = KeySettings::parse(&form, &checked.config.grant_types, db::now())
                    .map_err(ServiceError::Invalid)?;
                let reservation = reserve(
                    conn,
                    &checked,
                    application_id,
                    key_type,
                    CreateMode::Created,
                )?;
                let request = ClientRequest {
                    client_name: format!("{} ({})", checked.application.name, key_type.label()),
                    owner: author.name.clone(),
                    application_name: checked.application.name.clone(),
                    application_id,
                    key_type,
                    settings,
                };
                Ok::<_, ServiceError>((checked, reservation, request))
            })
        })
        .await?;

        let made = self
            .or_release(
                reservation.id,
                checked.connector.create_application(&request).await,
            )
            .await?;
        let consumer_key = made.consumer_key.clone();
        let settings = request.settings.clone();
        let names = (
            checked.application.name.clone(),
            checked.key_manager.display_name.clone(),
        );
        let activated = db::run(&self.pool, move |conn| {
            db::write(conn, |conn| {
                if KeyMapping::activate(conn, reservation.id, &consumer_key, &settings)? == 0 {
                    return Ok(false);
                }
                AuditEvent::record(
                    conn,
                    &actor,
                    "generate",
                    subject(reservation.id, application_id),
                    &format!(
                        "Generated {} keys of “{}” at {}: consumer key {consumer_key}",
                        key_type.label().to_lowercase(),
                        names.0,
                        names.1
                    ),
                )?;
                Ok::<_, ServiceError>(true)
            })
        })
        .await;
        match activated {
            Ok(true) => Ok(Issued {
                key_manager: checked.key_manager.name,
                consumer_key: made.consumer_key,
                consumer_secret: made.consumer_secret,
            }),
            outcome => {
                // The reservation is gone (the application was deleted meanwhile) or could not
                // be written: the client just made must not outlive it.
                self.release(reservation.id).await;
                if let Err(error) = checked
                    .connector
                    .delete_application(&made.consumer_key)
                    .await
                {
                    record_task(
                        &self.pool,
                        &checked.key_manager,
                        &made.consumer_key,
                        &checked.application.name,
                        &error,
                    )
                    .await;
                }
                match outcome {
                    Err(error) => Err(error),
                    _ => Err(ServiceError::NotFound),
                }
            }
        }
    }

    /// What the key manager answered for a reservation; on a refusal the reservation is dropped.
    async fn or_release<T>(
        &self,
        reservation_id: i64,
        answer: Result<T, KeyManagerError>,
    ) -> Result<T, ServiceError> {
        match answer {
            Ok(value) => Ok(value),
            Err(error) => {
                self.release(reservation_id).await;
                Err(error.into())
            }
        }
    }

    /// Drops a reservation; a failure is logged (a stale reservation is taken over later).
    async fn release(&self, reservation_id: i64) {
        let released = db::run(&self.pool, move |conn| {
            KeyMapping::release(conn, reservation_id).map_err(ServiceError::from)
        })
        .await;
        if let Err(error) = released {
            tracing::error!(%error, reservation_id, "a key reservation could not be released");
        }
    }

    /// Out-of-band provisioning: the key manager proves the client exists and the secret is
    /// right, then the application uses it like generated keys.
    pub async fn map(
        &self,
        actor: Actor,
        application_id: i64,
        key_type: KeyType,
        form: KeysForm,
    ) -> Result<String, ServiceError> {
        let this = self.clone();
        let author = actor.clone();
        let (checked, reservation, input) = db::run(&self.pool, move |conn| {
            db::write(conn, |conn| {
                let checked = this.check(conn, &author, application_id, &form.key_manager)?;
                checked.allow(KeysAction::Map)?;
                let input = MapInput::parse(&form).map_err(ServiceError::Invalid)?;
                let reservation =
                    reserve(conn, &checked, application_id, key_type, CreateMode::Mapped)?;
                Ok::<_, ServiceError>((checked, reservation, input))
            })
        })
        .await?;

        let request = MapRequest {
            consumer_key: input.consumer_key.into_string(),
            consumer_secret: SecretString::from(input.consumer_secret),
            application_id,
            key_type,
        };
        let mapped = self
            .or_release(
                reservation.id,
                checked.connector.map_oauth_application(&request).await,
            )
            .await?;
        let consumer_key = mapped.consumer_key.clone();
        let settings = mapped.settings.clone();
        let names = (
            checked.application.name.clone(),
            checked.key_manager.display_name.clone(),
        );
        let activated = db::run(&self.pool, move |conn| {
            db::write(conn, |conn| {
                let changed = KeyMapping::activate(conn, reservation.id, &consumer_key, &settings)
                    .map_err(|e| {
                        if is_unique_violation(&e) {
                            ServiceError::Conflict {
                                field: Some("consumer_key"),
                                message: "These OAuth keys are already mapped to an application."
                                    .into(),
                            }
                        } else {
                            e.into()
                        }
                    })?;
                if changed == 0 {
                    return Err(ServiceError::NotFound);
                }
                AuditEvent::record(
                    conn,
                    &actor,
                    "map",
                    subject(reservation.id, application_id),
                    &format!(
                        "Provided existing {} keys for “{}” at {}: consumer key {consumer_key}",
                        key_type.label().to_lowercase(),
                        names.0,
                        names.1
                    ),
                )?;
                Ok(())
            })
        })
        .await;
        match activated {
            Ok(()) => Ok(checked.key_manager.name),
            Err(error) => {
                self.release(reservation.id).await;
                // Only the link this request made is undone: the client stays where it was.
                if let Err(cause) = checked
                    .connector
                    .delete_mapped_application(&mapped.consumer_key)
                    .await
                {
                    tracing::error!(%cause, "a mapping that did not complete could not be unlinked");
                }
                Err(error)
            }
        }
    }

    /// The active keys a request is about.
    fn active_mapping(
        conn: &mut diesel::SqliteConnection,
        checked: &Checked,
        key_type: KeyType,
    ) -> Result<(KeyMapping, String), ServiceError> {
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

    /// Changes what the keys' client is registered with.
    pub async fn update(
        &self,
        actor: Actor,
        application_id: i64,
        key_type: KeyType,
        form: KeysForm,
    ) -> Result<String, ServiceError> {
        let this = self.clone();
        let author = actor.clone();
        let (checked, mapping, consumer_key, request) = db::run(&self.pool, move |conn| {
            let checked = this.check(conn, &author, application_id, &form.key_manager)?;
            checked.allow(KeysAction::Update)?;
            let (mapping, consumer_key) = Self::active_mapping(conn, &checked, key_type)?;
            checked.allow_on(KeysAction::Update, &mapping)?;
            let settings = KeySettings::parse(&form, &checked.config.grant_types, db::now())
                .map_err(ServiceError::Invalid)?;
            let request = ClientRequest {
                client_name: format!("{} ({})", checked.application.name, key_type.label()),
                owner: author.name.clone(),
                application_name: checked.application.name.clone(),
                application_id,
                key_type,
                settings,
            };
            Ok::<_, ServiceError>((checked, mapping, consumer_key, request))
        })
        .await?;

        checked
            .connector
            .update_application(&consumer_key, &request)
            .await?;
        let settings = request.settings;
        let before = mapping.settings();
        db::run(&self.pool, move |conn| {
            db::write(conn, |conn| {
                KeyMapping::update_settings(conn, mapping.id, &settings)?;
                AuditEvent::record(
                    conn,
                    &actor,
                    "update",
                    subject(mapping.id, application_id),
                    &format!(
                        "Updated {} keys {consumer_key}: {}",
                        key_type.label().to_lowercase(),
                        describe_changes(&before, &settings)
                    ),
                )?;
                Ok::<_, ServiceError>(())
            })
        })
        .await?;
        Ok(checked.key_manager.name)
    }

    /// A new consumer secret, shown once; the old one stops working.
    pub async fn regenerate_secret(
        &self,
        actor: Actor,
        application_id: i64,
        key_type: KeyType,
        form: KeysForm,
    ) -> Result<Issued, ServiceError> {
        let this = self.clone();
        let author = actor.clone();
        let (checked, mapping, consumer_key) = db::run(&self.pool, move |conn| {
            let checked = this.check(conn, &author, application_id, &form.key_manager)?;
            checked.allow(KeysAction::Regenerate)?;
            let (mapping, consumer_key) = Self::active_mapping(conn, &checked, key_type)?;
            checked.allow_on(KeysAction::Regenerate, &mapping)?;
            Ok::<_, ServiceError>((checked, mapping, consumer_key))
        })
        .await?;

        let secret = checked.connector.regenerate_secret(&consumer_key).await?;
        let key = consumer_key.clone();
        db::run(&self.pool, move |conn| {
            db::write(conn, |conn| {
                KeyMapping::touch(conn, mapping.id)?;
                AuditEvent::record(
                    conn,
                    &actor,
                    "regenerate_secret",
                    subject(mapping.id, application_id),
                    &format!(
                        "Regenerated the consumer secret of {} keys {key}",
                        key_type.label().to_lowercase()
                    ),
                )?;
                Ok::<_, ServiceError>(())
            })
        })
        .await?;
        Ok(Issued {
            key_manager: checked.key_manager.name,
            consumer_key,
            consumer_secret: Some(secret),
        })
    }

    /// An access token for the keys (client_credentials), the consumer secret proven.
    pub async fn token(
        &self,
        actor: Actor,
        application_id: i64,
        key_type: KeyType,
        form: KeysForm,
    ) -> Result<IssuedToken, ServiceError> {
        let this = self.clone();
        let author = actor.clone();
        let (checked, mapping, consumer_key, input) = db::run(&self.pool, move |conn| {
            let checked = this.check(conn, &author, application_id, &form.key_manager)?;
            checked.allow(KeysAction::Token)?;
            let (mapping, consumer_key) = Self::active_mapping(conn, &checked, key_type)?;
            checked.allow_on(KeysAction::Token, &mapping)?;
            let max = spec(checked.key_manager.kind).map_or(3600, |s| s.max_token_validity);
            let input = TokenInput::parse(&form, max).map_err(ServiceError::Invalid)?;
            Ok::<_, ServiceError>((checked, mapping, consumer_key, input))
        })
        .await?;

        let request = TokenRequest {
            consumer_key: consumer_key.clone(),
            consumer_secret: SecretString::from(input.consumer_secret),
            scopes: input.scopes.as_slice().to_vec(),
            validity_period: input.validity_period,
        };
        let token = checked
            .connector
            .get_new_application_access_token(&request)
            .await?;
        let (scope, expires_in) = (token.scope.clone(), token.expires_in);
        db::run(&self.pool, move |conn| {
            AuditEvent::record(
                conn,
                &actor,
                "generate_token",
                subject(mapping.id, application_id),
                &format!(
                    "Generated an access token for {} keys {consumer_key} (scope “{scope}”, valid {expires_in} s)",
                    key_type.label().to_lowercase()
                ),
            )
            .map_err(ServiceError::from)
        })
        .await?;
        Ok(IssuedToken {
            key_manager: checked.key_manager.name,
            token,
        })
    }

    /// Removes the keys: a CREATED client is deleted at its key manager, a MAPPED one only
    /// unlinked. When the key manager fails, the keys stay and the error is shown.
    pub async fn remove(
        &self,
        actor: Actor,
        application_id: i64,
        key_type: KeyType,
        form: KeysForm,
    ) -> Result<(String, CreateMode), ServiceError> {
        let this = self.clone();
        let author = actor.clone();
        let (checked, mapping, consumer_key) = db::run(&self.pool, move |conn| {
            let checked = this.check(conn, &author, application_id, &form.key_manager)?;
            let (mapping, consumer_key) = Self::active_mapping(conn, &checked, key_type)?;
            checked.allow_on(KeysAction::Remove, &mapping)?;
            Ok::<_, ServiceError>((checked, mapping, consumer_key))
        })
        .await?;

        match mapping.create_mode {
            CreateMode::Created => checked.connector.delete_application(&consumer_key).await?,
            CreateMode::Mapped => {
                checked
                    .connector
                    .delete_mapped_application(&consumer_key)
                    .await?
            }
        }
        let mode = mapping.create_mode;
        db::run(&self.pool, move |conn| {
            db::write(conn, |conn| {
                if KeyMapping::delete(conn, mapping.id)? == 1 {
                    let what = match mode {
                        CreateMode::Created => "deleted its client at the key manager",
                        CreateMode::Mapped => "unlinked; the client stays at the key manager",
                    };
                    AuditEvent::record(
                        conn,
                        &actor,
                        "remove",
                        subject(mapping.id, application_id),
                        &format!(
                            "Removed {} keys {consumer_key} ({what})",
                            key_type.label().to_lowercase()
                        ),
                    )?;
                }
                Ok::<_, ServiceError>(())
            })
        })
        .await?;
        Ok((checked.key_manager.name, mode))
    }
}

/// Reserves the key mapping of a generation or mapping: 409 when keys exist or are being made.
/// A reservation left by a stopped process is taken over.
fn reserve(
    conn: &mut diesel::SqliteConnection,
    checked: &Checked,
    application_id: i64,
    key_type: KeyType,
    mode: CreateMode,
) -> Result<KeyMapping, ServiceError> {
    if let Some(existing) =
        KeyMapping::find(conn, application_id, key_type, checked.key_manager.id)?
    {
        if existing.is_stale() {
            tracing::warn!(
                mapping_id = existing.id,
                "a stale key reservation was taken over"
            );
            KeyMapping::release(conn, existing.id)?;
            if checked.key_manager.kind == KeyManagerKind::Resident {
                tidy_interrupted(conn, &existing)?;
            }
        } else if existing.is_active() {
            return Err(keys_exist(key_type, &checked.key_manager));
        } else {
            return Err(in_progress());
        }
    }
    KeyMapping::reserve(conn, application_id, key_type, checked.key_manager.id, mode).map_err(|e| {
        if is_unique_violation(&e) {
            keys_exist(key_type, &checked.key_manager)
        } else {
            e.into()
        }
    })
}

/// A process stopped between making (or linking) a resident client and activating the keys
/// left the client behind: one made for the reservation, whose secret nobody ever saw, is
/// deleted; one that was provided out-of-band is unlinked, so that it can be provided again.
fn tidy_interrupted(
    conn: &mut diesel::SqliteConnection,
    reservation: &KeyMapping,
) -> Result<(), ServiceError> {
    let since = reservation.created_at;
    let left = OAuthClient::unmapped_since(
        conn,
        reservation.application_id,
        reservation.key_type,
        since,
    )?;
    for (client_id, created_at) in left {
        if created_at >= since && reservation.create_mode == CreateMode::Created {
            OAuthClient::delete(conn, &client_id)?;
        } else {
            OAuthClient::link(conn, &client_id, None, None)?;
        }
        tracing::warn!(
            client_id,
            "a client left by an interrupted key generation was tidied"
        );
    }
    Ok(())
}

fn describe_changes(before: &KeySettings, after: &KeySettings) -> String {
    let mut changed = Vec::new();
    if before.grant_types != after.grant_types {
        changed.push(format!("grant types {}", after.grant_types.join(" ")));
    }
    if before.callback_urls != after.callback_urls {
        changed.push("callback URLs".to_string());
    }
    if before.pkce_mandatory != after.pkce_mandatory
        || before.pkce_support_plain != after.pkce_support_plain
    {
        changed.push("PKCE".to_string());
    }
    if before.public_client != after.public_client {
        changed.push("public client".to_string());
    }
    if before.certificate != after.certificate {
        changed.push("application certificate".to_string());
    }
    if before.regulatory != after.regulatory {
        changed.push("regulatory".to_string());
    }
    if changed.is_empty() {
        "saved without changes".to_string()
    } else {
        changed.join(", ")
    }
}

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

/// Hands a deleted application's keys back to their key managers: CREATED clients are deleted
/// there, MAPPED ones only unlinked. A key manager that fails leaves a task for an
/// administrator. Called after the application's rows are gone, outside any transaction.
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
        let outcome = match connectors.connector(&key_manager) {
            Ok(connector) => match mapping.create_mode {
                CreateMode::Created => connector.delete_application(consumer_key).await,
                CreateMode::Mapped => connector.delete_mapped_application(consumer_key).await,
            },
            Err(error) => Err(error),
        };
        if let Err(error) = outcome {
            // An unlink that fails leaves nothing behind to delete; a failed delete does.
            if mapping.create_mode == CreateMode::Created {
                record_task(pool, &key_manager, consumer_key, application_name, &error).await;
            } else {
                tracing::warn!(%error, consumer_key, "a mapped client could not be unlinked");
            }
        }
    }
}

/// Tries again to delete a task's client at its key manager; resolves the task when it worked.
pub async fn retry_task(
    pool: &DbPool,
    connectors: &Connectors,
    actor: Actor,
    task_id: i64,
) -> Result<KeyManagerTask, ServiceError> {
    let (task, key_manager) = db::run(pool, move |conn| {
        let task = KeyManagerTask::find(conn, task_id)?
            .filter(|t| t.resolved_at.is_none())
            .ok_or(ServiceError::NotFound)?;
        let key_manager = match task.key_manager_id {
            Some(id) => KeyManagerRow::find(conn, id)?,
            None => None,
        }
        .ok_or_else(|| ServiceError::Conflict {
            field: None,
            message: "The key manager of this task no longer exists: delete the client there by hand, then mark the task resolved.".into(),
        })?;
        Ok::<_, ServiceError>((task, key_manager))
    })
    .await?;
    connectors
        .connector(&key_manager)?
        .delete_application(&task.consumer_key)
        .await?;
    resolve(
        pool,
        actor,
        task.id,
        "Deleted the client at its key manager",
    )
    .await?;
    Ok(task)
}

/// Marks a task resolved (the administrator dealt with the client by hand).
pub async fn resolve_task(pool: &DbPool, actor: Actor, task_id: i64) -> Result<(), ServiceError> {
    resolve(pool, actor, task_id, "Marked resolved by hand").await
}

/// Resolves a task and records who did it and how in the audit trail.
async fn resolve(
    pool: &DbPool,
    actor: Actor,
    task_id: i64,
    how: &'static str,
) -> Result<(), ServiceError> {
    db::run(pool, move |conn| {
        db::write(conn, |conn| {
            let task = KeyManagerTask::find(conn, task_id)?.ok_or(ServiceError::NotFound)?;
            KeyManagerTask::resolve(conn, task_id)?;
            let subject = Subject {
                object_type: "key_manager_task",
                object_id: Some(task_id),
                application_id: None,
            };
            let summary = format!(
                "{how}: client {} at {}",
                task.consumer_key, task.key_manager_name
            );
            AuditEvent::record(conn, &actor, "resolve", subject, &summary)?;
            Ok(())
        })
    })
    .await
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use secrecy::SecretString;

    use super::*;
    use crate::key_managers::{
        KmFuture, OAuthApplicationInfo, TokenMetadata, resident::SPEC as RESIDENT,
    };

    /// A connector that fails (or succeeds) as told and remembers what it was asked.
    struct Stub {
        fail_create: bool,
        fail_delete: bool,
        /// Deletes the application while "creating", as a concurrent request would.
        delete_application_meanwhile: Option<DbPool>,
        deleted: Mutex<Vec<String>>,
    }

    impl Stub {
        fn new() -> Self {
            Self {
                fail_create: false,
                fail_delete: false,
                delete_application_meanwhile: None,
                deleted: Mutex::new(Vec::new()),
            }
        }
    }

    fn down<'a, T: Send + 'a>() -> KmFuture<'a, T> {
        Box::pin(async { Err(KeyManagerError::Unavailable("connection refused".into())) })
    }

    impl KeyManager for Stub {
        fn spec(&self) -> &'static ConnectorSpec {
            &RESIDENT
        }
        fn create_application<'a>(
            &'a self,
            request: &'a ClientRequest,
        ) -> KmFuture<'a, OAuthApplicationInfo> {
            Box::pin(async move {
                if self.fail_create {
                    return Err(KeyManagerError::Timeout);
                }
                if let Some(pool) = &self.delete_application_meanwhile {
                    let id = request.application_id;
                    db::run(pool, move |conn| {
                        Application::delete(conn, id).map_err(KeyManagerError::from)
                    })
                    .await?;
                }
                Ok(OAuthApplicationInfo {
                    consumer_key: "stub-client".into(),
                    consumer_secret: Some(SecretString::from("stub-secret")),
                    settings: request.settings.clone(),
                })
            })
        }
        fn update_application<'a>(
            &'a self,
            _: &'a str,
            _: &'a ClientRequest,
        ) -> KmFuture<'a, OAuthApplicationInfo> {
            down()
        }
        fn retrieve_application<'a>(&'a self, _: &'a str) -> KmFuture<'a, OAuthApplicationInfo> {
            down()
        }
        fn delete_application<'a>(&'a self, consumer_key: &'a str) -> KmFuture<'a, ()> {
            Box::pin(async move {
                if self.fail_delete {
                    return Err(KeyManagerError::Unavailable("HTTP 500".into()));
                }
                self.deleted.lock().unwrap().push(consumer_key.to_string());
                Ok(())
            })
        }
        fn map_oauth_application<'a>(
            &'a self,
            _: &'a MapRequest,
        ) -> KmFuture<'a, OAuthApplicationInfo> {
            Box::pin(async { Err(KeyManagerError::InvalidCredentials) })
        }
        fn delete_mapped_application<'a>(&'a self, _: &'a str) -> KmFuture<'a, ()> {
            Box::pin(async { Ok(()) })
        }
        fn regenerate_secret<'a>(&'a self, _: &'a str) -> KmFuture<'a, SecretString> {
            down()
        }
        fn get_new_application_access_token<'a>(
            &'a self,
            _: &'a TokenRequest,
        ) -> KmFuture<'a, AccessToken> {
            down()
        }
        fn get_token_metadata<'a>(&'a self, _: &'a str) -> KmFuture<'a, TokenMetadata> {
            down()
        }
        fn revoke_token<'a>(&'a self, _: &'a str, _: &'a str) -> KmFuture<'a, ()> {
            down()
        }
    }

    struct Fixture {
        _dir: tempfile::TempDir,
        pool: DbPool,
        actor: Actor,
        application_id: i64,
    }

    fn fixture() -> Fixture {
        use diesel::RunQueryDsl;
        let dir = tempfile::tempdir().unwrap();
        let pool = db::connect(&dir.path().join("keys.db")).unwrap();
        let mut conn = pool.get().unwrap();
        diesel::sql_query(
            "INSERT INTO users (username, username_key, email, first_name, last_name, password_hash, role, status, created_at, updated_at) \
             VALUES ('tpp', 'tpp', 'tpp@example.com', 'T', 'P', 'x', 'tpp', 'active', 0, 0)",
        )
        .execute(&mut conn)
        .unwrap();
        diesel::sql_query(
            "INSERT INTO applications (owner_id, name, name_key, description, policy_id, created_at, updated_at) \
             SELECT 1, 'Wallet', 'wallet', '', id, 0, 0 FROM throttling_policies WHERE name = '10PerMin'",
        )
        .execute(&mut conn)
        .unwrap();
        Fixture {
            _dir: dir,
            pool,
            actor: Actor {
                id: 1,
                name: "tpp".into(),
            },
            application_id: 1,
        }
    }

    fn service(fixture: &Fixture, stub: Arc<Stub>) -> Keys {
        Keys {
            pool: fixture.pool.clone(),
            connectors: Connectors::new(stub),
            provisioning: true,
            issuer: "https://portal.example".into(),
        }
    }

    fn form() -> KeysForm {
        KeysForm {
            key_manager: "resident".into(),
            grant_types: vec!["client_credentials".into()],
            ..Default::default()
        }
    }

    fn count(pool: &DbPool, sql: &str) -> i64 {
        use diesel::RunQueryDsl;
        #[derive(diesel::QueryableByName)]
        struct N {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
        }
        diesel::sql_query(sql)
            .get_result::<N>(&mut pool.get().unwrap())
            .unwrap()
            .n
    }

    #[actix_web::test]
    async fn a_failing_key_manager_leaves_no_reservation_and_no_audit() {
        let fixture = fixture();
        let stub = Arc::new(Stub {
            fail_create: true,
            ..Stub::new()
        });
        let keys = service(&fixture, stub);
        let error = keys
            .generate(
                fixture.actor.clone(),
                fixture.application_id,
                KeyType::Production,
                form(),
            )
            .await
            .err()
            .unwrap();
        assert!(matches!(error, ServiceError::Timeout(_)), "{error:?}");
        assert_eq!(
            count(&fixture.pool, "SELECT COUNT(*) AS n FROM key_mappings"),
            0
        );
        assert_eq!(
            count(&fixture.pool, "SELECT COUNT(*) AS n FROM audit_events"),
            0
        );
        // And the keys can be generated once the key manager is back.
        let working = service(&fixture, Arc::new(Stub::new()));
        let issued = working
            .generate(
                fixture.actor.clone(),
                fixture.application_id,
                KeyType::Production,
                form(),
            )
            .await
            .unwrap();
        assert_eq!(issued.consumer_key, "stub-client");
        assert_eq!(
            count(
                &fixture.pool,
                "SELECT COUNT(*) AS n FROM key_mappings WHERE state = 'ACTIVE' AND consumer_key = 'stub-client'"
            ),
            1
        );
    }

    #[actix_web::test]
    async fn a_client_made_for_a_vanished_reservation_is_deleted_again() {
        let fixture = fixture();
        let stub = Arc::new(Stub {
            delete_application_meanwhile: Some(fixture.pool.clone()),
            ..Stub::new()
        });
        let keys = service(&fixture, stub.clone());
        let error = keys
            .generate(
                fixture.actor.clone(),
                fixture.application_id,
                KeyType::Sandbox,
                form(),
            )
            .await
            .err()
            .unwrap();
        assert!(matches!(error, ServiceError::NotFound), "{error:?}");
        assert_eq!(*stub.deleted.lock().unwrap(), vec!["stub-client"]);
        assert_eq!(
            count(&fixture.pool, "SELECT COUNT(*) AS n FROM key_mappings"),
            0
        );
    }

    #[actix_web::test]
    async fn a_key_manager_that_cannot_delete_leaves_a_task_for_the_administrator() {
        let fixture = fixture();
        let stub = Arc::new(Stub {
            fail_delete: true,
            ..Stub::new()
        });
        let keys = service(&fixture, stub.clone());
        keys.generate(
            fixture.actor.clone(),
            fixture.application_id,
            KeyType::Production,
            form(),
        )
        .await
        .unwrap();
        let connectors = Connectors::new(stub);
        let application = crate::services::applications::delete(
            &fixture.pool,
            &connectors,
            fixture.actor.clone(),
            fixture.application_id,
        )
        .await
        .unwrap();
        assert_eq!(application.name, "Wallet");
        assert_eq!(
            count(&fixture.pool, "SELECT COUNT(*) AS n FROM applications"),
            0
        );
        assert_eq!(
            count(
                &fixture.pool,
                "SELECT COUNT(*) AS n FROM key_manager_tasks WHERE consumer_key = 'stub-client' \
                 AND application_name = 'Wallet' AND resolved_at IS NULL AND error LIKE '%HTTP 500%'"
            ),
            1
        );
        // A failed removal keeps the keys instead.
        let fixture = self::fixture();
        let stub = Arc::new(Stub {
            fail_delete: true,
            ..Stub::new()
        });
        let keys = service(&fixture, stub);
        keys.generate(
            fixture.actor.clone(),
            fixture.application_id,
            KeyType::Production,
            form(),
        )
        .await
        .unwrap();
        let error = keys
            .remove(
                fixture.actor.clone(),
                fixture.application_id,
                KeyType::Production,
                form(),
            )
            .await
            .err()
            .unwrap();
        assert!(matches!(error, ServiceError::Unavailable(_)), "{error:?}");
        assert_eq!(
            count(&fixture.pool, "SELECT COUNT(*) AS n FROM key_mappings"),
            1
        );
    }

    #[test]
    fn key_manager_failures_become_502_and_504_pages() {
        use actix_web::ResponseError;
        let status = |e: KeyManagerError| {
            crate::error::AppError::from(ServiceError::from(e))
                .status_code()
                .as_u16()
        };
        assert_eq!(status(KeyManagerError::Unavailable("HTTP 500".into())), 502);
        assert_eq!(status(KeyManagerError::Timeout), 504);
        assert_eq!(status(KeyManagerError::InvalidCredentials), 422);
        assert_eq!(status(KeyManagerError::Conflict("mapped".into())), 409);
        assert_eq!(status(KeyManagerError::Unsupported("dcr".into())), 403);
    }

    #[actix_web::test]
    async fn wrong_credentials_at_mapping_store_nothing() {
        let fixture = fixture();
        let keys = service(&fixture, Arc::new(Stub::new()));
        let mut form = form();
        form.consumer_key = "someone-elses".into();
        form.consumer_secret = "guess".into();
        let error = keys
            .map(
                fixture.actor.clone(),
                fixture.application_id,
                KeyType::Production,
                form,
            )
            .await
            .err()
            .unwrap();
        match error {
            ServiceError::Invalid(errors) => {
                assert_eq!(errors.get("consumer_secret"), Some(CREDENTIALS_MESSAGE))
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(
            count(&fixture.pool, "SELECT COUNT(*) AS n FROM key_mappings"),
            0
        );
    }
}
