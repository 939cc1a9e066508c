//! What the key-manager form sends, as text, and the form drawn from a stored key manager.

use std::collections::BTreeMap;

use super::{ENDPOINTS, endpoint};
use super::{KeyManagerConfig, PermissionType};
use crate::domain::connector_fields::connector_fields;
use crate::domain::keys::KeyManagerKind;

/// What the form sends, as text (multi-valued fields repeat).
#[derive(Debug, Clone, Default)]
pub struct KeyManagerForm {
    pub fields: BTreeMap<String, String>,
    pub grant_types: Vec<String>,
    pub permission_roles: Vec<String>,
    /// `connector_<name>` values, by name (without the prefix).
    pub connector: BTreeMap<String, String>,
}

impl KeyManagerForm {
    pub fn from_pairs(pairs: Vec<(String, String)>) -> Self {
        let mut form = Self::default();
        for (key, value) in pairs {
            match key.as_str() {
                "grant_types" => form.grant_types.push(value),
                "permission_roles" => form.permission_roles.extend(
                    value
                        .split([',', ' ', '\n'])
                        .map(str::trim)
                        .filter(|r| !r.is_empty())
                        .map(str::to_string),
                ),
                "csrf_token" => {}
                other => match other.strip_prefix("connector_") {
                    Some(name) => {
                        form.connector.insert(name.to_string(), value);
                    }
                    None => {
                        form.fields.insert(key, value);
                    }
                },
            }
        }
        form
    }

    /// The blank form of a new key manager of a kind.
    pub fn blank(kind: KeyManagerKind) -> Self {
        let mut form = Self::default();
        form.set("type", kind.as_str());
        for flag in [
            "enable_token_generation",
            "enable_oob_provisioning",
            "enable_oauth_app_creation",
            "enabled",
        ] {
            form.set(flag, "true");
        }
        form.set("token_validation", "self_validate_jwt");
        form.set("permission_type", "PUBLIC");
        form.set("certificate_type", "JWKS");
        form.grant_types = vec!["client_credentials".into(), "authorization_code".into()];
        form
    }

    pub fn get(&self, name: &str) -> &str {
        self.fields.get(name).map(String::as_str).unwrap_or("")
    }

    pub fn set(&mut self, name: &str, value: &str) {
        self.fields.insert(name.to_string(), value.to_string());
    }

    pub fn is(&self, name: &str, value: &str) -> bool {
        self.get(name) == value
    }

    pub fn ticked(&self, name: &str) -> bool {
        self.get(name) == "true"
    }

    pub fn connector_value(&self, name: &str) -> &str {
        self.connector.get(name).map(String::as_str).unwrap_or("")
    }

    pub fn grant_chosen(&self, grant: &str) -> bool {
        self.grant_types.iter().any(|g| g == grant)
    }

    pub fn roles_text(&self) -> String {
        self.permission_roles.join(", ")
    }

    /// The kind the form names (`dcr` when it names none or nonsense: the form must draw).
    pub fn kind(&self) -> KeyManagerKind {
        self.get("type").parse().unwrap_or(KeyManagerKind::Dcr)
    }

    /// Drops the masked connector values: they are never drawn back into a page.
    pub fn without_secrets(mut self, kind: KeyManagerKind) -> Self {
        for field in connector_fields(kind).iter().filter(|f| f.masked) {
            self.connector.remove(field.name);
        }
        self
    }

    /// The form as a stored key manager fills it (masked values left out).
    pub fn of_config(
        kind: KeyManagerKind,
        display_name: &str,
        description: &str,
        enabled: bool,
        issuer: Option<&str>,
        config: &KeyManagerConfig,
        connector: &BTreeMap<String, String>,
    ) -> Self {
        let mut form = Self::default();
        form.set("type", kind.as_str());
        form.set("display_name", display_name);
        form.set("description", description);
        form.set("issuer", issuer.unwrap_or(""));
        let opt = |v: &Option<String>| v.clone().unwrap_or_default();
        for (name, _) in ENDPOINTS {
            form.set(name, &endpoint(config, name).map(opt).unwrap_or_default());
        }
        for (name, value) in [
            ("well_known_url", &config.well_known_url),
            ("certificate_type", &config.certificate_type),
            ("certificate_value", &config.certificate_value),
            ("consumer_key_claim", &config.consumer_key_claim),
            ("scopes_claim", &config.scopes_claim),
            ("token_validation", &config.token_validation),
        ] {
            form.set(name, &opt(value));
        }
        let tick = |b: bool| if b { "true" } else { "" };
        form.set(
            "enable_token_generation",
            tick(config.enable_token_generation),
        );
        form.set(
            "enable_oob_provisioning",
            tick(config.enable_oob_provisioning),
        );
        form.set(
            "enable_oauth_app_creation",
            tick(config.enable_oauth_app_creation),
        );
        form.set("enabled", tick(enabled));
        form.set(
            "permission_type",
            match config.permission_type {
                PermissionType::Public => "PUBLIC",
                PermissionType::Allow => "ALLOW",
                PermissionType::Deny => "DENY",
            },
        );
        form.grant_types = config.grant_types.clone();
        form.permission_roles = config.permission_roles.clone();
        for field in connector_fields(kind).iter().filter(|f| !f.masked) {
            if let Some(v) = connector.get(field.name) {
                form.connector.insert(field.name.to_string(), v.clone());
            }
        }
        form
    }
}
