//! The keys tab of one environment, as the page draws it: the key managers the user may use,
//! the chosen one with its keys (when they exist) and what it offers.

use crate::db;
use crate::db::models::applications::Application;
use crate::db::models::key_managers::{KeyManagerConfig, KeyManagerRow};
use crate::db::models::key_mappings::KeyMapping;
use crate::domain::ids::ApplicationId;
use crate::domain::ids::UserId;
use crate::domain::keys::{KeySettings, KeyType};
use crate::key_managers::{ConnectorSpec, may_use, spec};

use super::offer::{ExistingKeys, KeysAction, Offer};
use super::{Keys, ServiceError, ServiceResult, config_of, owned};

/// The keys tab of one environment: the key managers the user may use, and the chosen one.
pub struct KeysView {
    pub application: Application,
    /// False for a Viewer (and in a suspended organisation): the page offers no change.
    pub may_change: bool,
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
        refusal.as_ref().map(ToString::to_string)
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

impl Keys {
    /// The keys tab: the key managers the user may use, and `key_manager` (or the first).
    pub async fn view(
        &self,
        user_id: UserId,
        application_id: ApplicationId,
        key_type: KeyType,
        key_manager: Option<String>,
    ) -> ServiceResult<KeysView> {
        let (provisioning, issuer) = (self.provisioning, self.issuer.clone());
        db::run(&self.pool, move |conn| {
            let (application, access, user, roles) = owned(conn, user_id, application_id)?;
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
                    let config = config_of(&key_manager)?;
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
                may_change: super::super::organisations::may_change(access).is_ok(),
                key_type,
                tabs,
                selected,
            })
        })
        .await
    }
}
