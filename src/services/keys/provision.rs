//! Getting keys, one saga for both ways: generating a new client at the key manager, or
//! providing an existing one out-of-band (mapping). Reserve the key mapping (so that two requests
//! cannot both get keys), call the key manager outside any transaction, then activate the keys
//! with their audit event — or, when the key manager refused, drop the reservation, and when the
//! activation failed, drop it and hand back what the key manager made.

use secrecy::SecretString;

use crate::db::models::key_managers::KeyManagerRow;
use crate::db::models::key_mappings::KeyMapping;
use crate::db::{self, is_unique_violation};
use crate::domain::keys::{CreateMode, KeyManagerKind, KeySettings, KeyType, KeysForm, MapInput};
use crate::key_managers::{ClientRequest, KeyManager, KmResult, MapRequest, OAuthApplicationInfo};
use crate::oauth_server::clients::OAuthClient;
use crate::services::audited;

use super::offer::KeysAction;
use super::tasks::give_back;
use super::{Checked, Issued, Keys, KeysRequest, ServiceError, ServiceResult, in_progress};

/// How keys are got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Provision {
    /// The key manager makes a new client; its secret is shown once.
    Generate,
    /// Out-of-band provisioning: the key manager proves an existing client and its secret.
    Map,
}

/// What the key manager is asked, by the way keys are got.
enum Ask {
    Create(ClientRequest),
    Map(MapRequest),
}

impl Provision {
    fn action(self) -> KeysAction {
        match self {
            Provision::Generate => KeysAction::Generate,
            Provision::Map => KeysAction::Map,
        }
    }

    fn create_mode(self) -> CreateMode {
        match self {
            Provision::Generate => CreateMode::Created,
            Provision::Map => CreateMode::Mapped,
        }
    }

    /// The audit trail's action and summary.
    fn event(
        self,
        key_type: KeyType,
        checked: &Checked,
        consumer_key: &str,
    ) -> (&'static str, String) {
        let (keys, application, key_manager) = (
            key_type.label().to_lowercase(),
            &checked.application.name,
            &checked.key_manager.display_name,
        );
        match self {
            Provision::Generate => (
                "generate",
                format!(
                    "Generated {keys} keys of “{application}” at {key_manager}: consumer key {consumer_key}"
                ),
            ),
            Provision::Map => (
                "map",
                format!(
                    "Provided existing {keys} keys for “{application}” at {key_manager}: consumer key {consumer_key}"
                ),
            ),
        }
    }

    /// Reads the form into what the key manager is asked.
    fn ask(
        self,
        form: &KeysForm,
        checked: &Checked,
        owner: &str,
        key_type: KeyType,
    ) -> ServiceResult<Ask> {
        let application_id = checked.application.id;
        Ok(match self {
            Provision::Generate => Ask::Create(ClientRequest {
                client_name: format!("{} ({})", checked.application.name, key_type.label()),
                owner: owner.to_string(),
                application_name: checked.application.name.clone(),
                application_id,
                key_type,
                settings: KeySettings::parse(form, &checked.config.grant_types, db::now())
                    .map_err(ServiceError::Invalid)?,
            }),
            Provision::Map => {
                let input = MapInput::parse(form).map_err(ServiceError::Invalid)?;
                Ask::Map(MapRequest {
                    consumer_key: input.consumer_key,
                    consumer_secret: SecretString::from(input.consumer_secret),
                    application_id,
                    key_type,
                })
            }
        })
    }
}

impl Ask {
    async fn send(&self, connector: &dyn KeyManager) -> KmResult<OAuthApplicationInfo> {
        match self {
            Ask::Create(request) => connector.create_application(request).await,
            Ask::Map(request) => connector.map_oauth_application(request).await,
        }
    }

    /// What the keys are stored with: what was asked for when generating, what the key manager
    /// knows of the client when mapping.
    fn settings(self, answer: &OAuthApplicationInfo) -> KeySettings {
        match self {
            Ask::Create(request) => request.settings,
            Ask::Map(_) => answer.settings.clone(),
        }
    }
}

impl Keys {
    /// Gets keys the way `mode` says: reserve, ask the key manager, then activate — or undo.
    pub async fn provision(&self, mode: Provision, request: &KeysRequest) -> ServiceResult<Issued> {
        let (checked, reservation, ask) = self.reserve(mode, request).await?;
        let made = match ask.send(checked.connector.as_ref()).await {
            Ok(made) => made,
            Err(error) => {
                self.release(reservation.id).await;
                return Err(error.into());
            }
        };
        let settings = ask.settings(&made);
        let key_type = request.target.key_type;
        let (verb, summary) = mode.event(key_type, &checked, &made.consumer_key);
        let (id, consumer_key) = (reservation.id, made.consumer_key.clone());
        let subject = checked.subject(id);
        let activated = audited(&self.pool, &request.actor, verb, subject, move |conn, _| {
            match KeyMapping::activate(conn, id, &consumer_key, &settings) {
                Ok(0) => Err(ServiceError::NotFound),
                Ok(_) => Ok(((), summary)),
                Err(e) if is_unique_violation(&e) => Err(ServiceError::taken(
                    "consumer_key",
                    "These OAuth keys are already mapped to an application.",
                )),
                Err(e) => Err(e.into()),
            }
        })
        .await;
        if let Err(error) = activated {
            // The reservation is gone (the application was deleted meanwhile) or could not be
            // written: what the key manager made for it must not outlive it.
            self.release(reservation.id).await;
            let connector = Ok(checked.connector.clone());
            let application = &checked.application.name;
            give_back(
                &self.pool,
                connector,
                &checked.key_manager,
                mode.create_mode(),
                &made.consumer_key,
                application,
            )
            .await;
            return Err(error);
        }
        Ok(Issued {
            key_manager: checked.key_manager.name,
            consumer_key: made.consumer_key,
            consumer_secret: made.consumer_secret,
        })
    }

    /// Checks the request, reads its form and reserves its key mapping, in one transaction.
    async fn reserve(
        &self,
        mode: Provision,
        request: &KeysRequest,
    ) -> ServiceResult<(Checked, KeyMapping, Ask)> {
        let this = self.clone();
        let (actor, target, form) = (request.actor.clone(), request.target, request.form.clone());
        db::run(&self.pool, move |conn| {
            db::write(conn, |conn| {
                let checked = this.check(conn, &actor, target.application_id, &form.key_manager)?;
                checked.allow(mode.action())?;
                let ask = mode.ask(&form, &checked, &actor.name, target.key_type)?;
                let reservation = reserve(conn, &checked, target.key_type, mode.create_mode())?;
                Ok((checked, reservation, ask))
            })
        })
        .await
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
}

fn keys_exist(key_type: KeyType, key_manager: &KeyManagerRow) -> ServiceError {
    ServiceError::Conflict(format!(
        "This application already has {} keys at {}. Remove them first to get new ones.",
        key_type.label().to_lowercase(),
        key_manager.display_name
    ))
}

/// Reserves the key mapping of a generation or mapping: 409 when keys exist or are being made.
/// A reservation left by a stopped process is taken over.
fn reserve(
    conn: &mut crate::db::DbConnection,
    checked: &Checked,
    key_type: KeyType,
    mode: CreateMode,
) -> ServiceResult<KeyMapping> {
    let (application_id, key_manager) = (checked.application.id, &checked.key_manager);
    // One reservation at a time per application, across every instance of a shared database.
    conn.lock_key(&format!("application:{}", application_id.get()))?;
    if let Some(existing) = KeyMapping::find(conn, application_id, key_type, key_manager.id)? {
        if existing.is_stale() {
            tracing::warn!(
                mapping_id = existing.id,
                "a stale key reservation was taken over"
            );
            KeyMapping::release(conn, existing.id)?;
            if key_manager.kind == KeyManagerKind::Resident {
                tidy_interrupted(conn, &existing)?;
            }
        } else if existing.is_active() {
            return Err(keys_exist(key_type, key_manager));
        } else {
            return Err(in_progress());
        }
    }
    KeyMapping::reserve(conn, application_id, key_type, key_manager.id, mode).map_err(|e| {
        if is_unique_violation(&e) {
            keys_exist(key_type, key_manager)
        } else {
            e.into()
        }
    })
}

/// A process stopped between making (or linking) a resident client and activating the keys
/// left the client behind: one made for the reservation, whose secret nobody ever saw, is
/// deleted; one that was provided out-of-band is unlinked, so that it can be provided again.
fn tidy_interrupted(
    conn: &mut crate::db::DbConnection,
    reservation: &KeyMapping,
) -> ServiceResult<()> {
    let since = reservation.created_at;
    let left = OAuthClient::unmapped_since(
        conn,
        reservation.application_id.get(),
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
