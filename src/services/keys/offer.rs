//! What a key manager can do for an application's keys: the one rule the keys tab draws its
//! forms from and every keys POST checks, so that the page never offers an action its POST would
//! refuse. It depends on the key manager's flags, on the operations its connector declares, and
//! on the keys themselves: how they were made (generated, or provided out-of-band) and their
//! settings (a public client has no secret; portal tokens need the client_credentials grant).

use crate::db::models::key_managers::{KeyManagerConfig, KeyManagerRow};
use crate::domain::keys::{CLIENT_CREDENTIALS, CreateMode, KeyManagerKind, KeySettings};
use crate::key_managers::{ConnectorSpec, Operation};
use crate::services::ServiceError;

/// The actions of the keys tab, each with its form and its POST route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeysAction {
    Generate,
    Map,
    Update,
    Regenerate,
    Token,
    Remove,
}

impl KeysAction {
    /// The last segment of the action's POST route (`…/keys/{key_type}/<path>`).
    pub fn path(self) -> &'static str {
        match self {
            KeysAction::Generate => "generate",
            KeysAction::Map => "map",
            KeysAction::Update => "update",
            KeysAction::Regenerate => "regenerate-secret",
            KeysAction::Token => "token",
            KeysAction::Remove => "remove",
        }
    }

    /// The actions on keys that exist, in the order the tab shows them.
    pub const ON_KEYS: [KeysAction; 4] = [
        KeysAction::Token,
        KeysAction::Update,
        KeysAction::Regenerate,
        KeysAction::Remove,
    ];

    /// The actions that get keys, in the order the tab shows them.
    pub const TO_GET_KEYS: [KeysAction; 2] = [KeysAction::Generate, KeysAction::Map];
}

/// The keys an action is about: how they were made and what they are registered with.
#[derive(Debug, Clone, Copy)]
pub struct ExistingKeys<'a> {
    pub mode: CreateMode,
    pub settings: &'a KeySettings,
}

/// One key manager, as the rule needs it.
pub struct Offer<'a> {
    pub key_manager: &'a KeyManagerRow,
    pub config: &'a KeyManagerConfig,
    pub spec: Option<&'static ConnectorSpec>,
    /// `settings.key_provisioning`: out-of-band provisioning is on for the whole portal.
    pub portal_provisioning: bool,
}

/// Whether a connector can change clients it did not make. An RFC 7591/7592 server lets only
/// the holder of a client's registration access token read, change or re-secret it, and Portico
/// holds one only for the clients it registered; Auth0's Management API and the resident
/// registry manage every client of their tenant.
fn manages_provided_clients(kind: KeyManagerKind) -> bool {
    match kind {
        KeyManagerKind::Resident | KeyManagerKind::Auth0 => true,
        KeyManagerKind::Dcr | KeyManagerKind::Fs => false,
    }
}

fn forbidden(message: String) -> Option<ServiceError> {
    Some(ServiceError::Forbidden(message))
}

fn conflict(message: String) -> Option<ServiceError> {
    Some(ServiceError::Conflict(message))
}

impl Offer<'_> {
    fn supports(&self, operation: Operation) -> bool {
        self.spec.is_some_and(|s| s.supports(operation))
    }

    fn display_name(&self) -> &str {
        &self.key_manager.display_name
    }

    pub fn may_generate(&self) -> bool {
        self.config.enable_oauth_app_creation && self.supports(Operation::CreateApplication)
    }

    pub fn may_map(&self) -> bool {
        self.portal_provisioning
            && self.config.enable_oob_provisioning
            && self.supports(Operation::MapOAuthApplication)
    }

    /// Why the key manager does not do `action` at all, whatever the keys; `None` when it does.
    pub fn refuses(&self, action: KeysAction) -> Option<ServiceError> {
        let name = self.display_name();
        match action {
            KeysAction::Generate if !self.may_generate() => {
                let instead = if self.may_map() {
                    " Provide existing OAuth keys instead."
                } else {
                    " Ask an administrator."
                };
                forbidden(format!(
                    "{name} does not create OAuth clients from the portal.{instead}"
                ))
            }
            KeysAction::Map if !self.portal_provisioning => forbidden(format!(
                "Out-of-band provisioning is switched off on this portal: {}",
                if self.may_generate() {
                    "generate keys instead."
                } else {
                    "ask an administrator."
                }
            )),
            KeysAction::Map if !self.may_map() => forbidden(format!(
                "{name} does not accept existing OAuth keys: {}",
                if self.may_generate() {
                    "generate keys instead."
                } else {
                    "ask an administrator."
                }
            )),
            KeysAction::Update if !self.supports(Operation::UpdateApplication) => forbidden(
                format!("{name} does not let the portal change its clients."),
            ),
            KeysAction::Regenerate if !self.supports(Operation::RegenerateSecret) => forbidden(
                format!("{name} does not let the portal regenerate secrets."),
            ),
            KeysAction::Token
                if !self.config.enable_token_generation
                    || !self.supports(Operation::GetNewApplicationAccessToken) =>
            {
                forbidden(format!(
                    "{name} does not issue access tokens from the portal."
                ))
            }
            _ => None,
        }
    }

    /// Why `action` cannot work on these keys; `None` when it can. Includes `refuses`.
    pub fn refuses_for(&self, action: KeysAction, keys: ExistingKeys) -> Option<ServiceError> {
        if let Some(refusal) = self.refuses(action) {
            return Some(refusal);
        }
        let name = self.display_name();
        let provided =
            keys.mode == CreateMode::Mapped && !manages_provided_clients(self.key_manager.kind);
        match action {
            KeysAction::Update if provided => forbidden(format!(
                "These keys were provided out-of-band: Portico holds no registration access token for their client at {name}, so change the client there."
            )),
            KeysAction::Regenerate if keys.settings.public_client => conflict(
                "These keys belong to a public client, which has no consumer secret.".into(),
            ),
            KeysAction::Regenerate if provided => forbidden(format!(
                "These keys were provided out-of-band: Portico holds no registration access token for their client at {name}, so get a new secret there."
            )),
            KeysAction::Token if keys.settings.public_client => conflict(
                "A public client has no consumer secret, so the portal cannot get it a client credentials token.".into(),
            ),
            KeysAction::Token if !keys.settings.allows(CLIENT_CREDENTIALS) => {
                let how = if provided {
                    format!("Allow that grant at {name}, then remove the keys and provide them again.")
                } else {
                    "Update the keys first.".to_string()
                };
                conflict(format!(
                    "The portal generates tokens with the client_credentials grant, which these keys do not allow. {how}"
                ))
            }
            KeysAction::Remove => {
                let operation = match keys.mode {
                    CreateMode::Created => Operation::DeleteApplication,
                    CreateMode::Mapped => Operation::DeleteMappedApplication,
                };
                if self.supports(operation) {
                    None
                } else {
                    forbidden(format!("{name} does not let the portal remove these keys."))
                }
            }
            _ => None,
        }
    }
}
