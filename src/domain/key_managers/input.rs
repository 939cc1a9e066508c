//! The checked key-manager form: `KeyManagerInput::parse` reads it section by section (who the
//! key manager is, its endpoints, how its tokens are validated, what it offers, the connector's
//! own fields) and reports every problem at once, each on its field.

use std::collections::BTreeMap;

use super::{ENDPOINTS, KeyManagerForm, endpoint_mut, parse_name, parse_roles};
use super::{KeyManagerConfig, PermissionType};
use crate::domain::connector_fields::{ConnectorField, FieldKind, connector_fields};
use crate::domain::keys::KeyManagerKind;
use crate::domain::oauth::GrantType;
use crate::domain::{FieldErrors, text};
use crate::security::outbound;

const PEM_MAX: usize = 64 * 1024;

/// A checked form. No `Debug`: it holds the connector's secrets as typed.
#[derive(Clone)]
pub struct KeyManagerInput {
    pub name: String,
    pub kind: KeyManagerKind,
    pub display_name: String,
    pub description: String,
    pub enabled: bool,
    pub issuer: Option<String>,
    pub config: KeyManagerConfig,
    /// Plain connector fields.
    pub connector_plain: BTreeMap<String, String>,
    /// Masked connector fields that were filled in (an empty one keeps the stored value).
    pub connector_secrets: BTreeMap<String, String>,
}

/// The form being read: its values, the errors found so far, and whether private addresses
/// are allowed for URLs.
struct Reading<'a> {
    form: &'a KeyManagerForm,
    errors: FieldErrors,
    allow_private: bool,
}

impl KeyManagerInput {
    /// Checks the form. `fixed` holds the stored name and kind on an update (they do not
    /// change); `stored_secrets` names the masked fields that already have a value.
    pub fn parse(
        form: &KeyManagerForm,
        fixed: Option<(&str, KeyManagerKind)>,
        stored_secrets: &[String],
        allow_private: bool,
    ) -> Result<Self, FieldErrors> {
        let mut reading = Reading {
            form,
            errors: FieldErrors::new(),
            allow_private,
        };
        let (name, kind) = match fixed {
            Some((name, kind)) => (Some(name.to_string()), Some(kind)),
            None => (
                reading.errors.check("name", parse_name(form.get("name"))),
                reading.kind(),
            ),
        };
        let display_name = reading.errors.check(
            "display_name",
            text::required_line(form.get("display_name"), "Display name", 100),
        );
        let description = reading.errors.check(
            "description",
            text::optional_text(form.get("description"), "Description", 1024),
        );
        let mut config = KeyManagerConfig::default();
        let mut issuer = None;
        if kind != Some(KeyManagerKind::Resident) {
            issuer = reading
                .url("issuer", true)
                .map(|i| i.trim_end_matches('/').to_string());
            reading.endpoints(&mut config, kind);
            reading.certificate(&mut config);
            reading.validation(&mut config);
        }
        reading.offer(&mut config);
        let (connector_plain, connector_secrets) = match kind {
            Some(kind) => reading.connector(connector_fields(kind), stored_secrets),
            None => Default::default(),
        };
        match (name, kind, display_name, description) {
            (Some(name), Some(kind), Some(display_name), Some(description))
                if reading.errors.is_empty() =>
            {
                Ok(Self {
                    name,
                    kind,
                    display_name,
                    description,
                    enabled: form.ticked("enabled"),
                    issuer,
                    config,
                    connector_plain,
                    connector_secrets,
                })
            }
            _ => Err(reading.errors),
        }
    }
}

impl Reading<'_> {
    /// The kind of a new key manager: an external one (there is exactly one resident).
    fn kind(&mut self) -> Option<KeyManagerKind> {
        match self.form.get("type").parse::<KeyManagerKind>() {
            Ok(KeyManagerKind::Resident) => {
                self.errors.add(
                    "type",
                    "There is exactly one resident key manager; choose dcr, fs or auth0.",
                );
                None
            }
            Ok(kind) => Some(kind),
            Err(_) => {
                self.errors.add("type", "Choose a type: dcr, fs or auth0.");
                None
            }
        }
    }

    /// An optional (or, for this kind, required) outbound URL.
    fn url(&mut self, field: &'static str, required: bool) -> Option<String> {
        let value = self.form.get(field).trim();
        if value.is_empty() {
            if required {
                self.errors
                    .add(field, "This URL is required for this type of key manager.");
            }
            return None;
        }
        if value.len() > 2048 {
            self.errors
                .add(field, "A URL must be at most 2048 characters.");
            return None;
        }
        self.errors
            .check(field, outbound::parse_url(value, self.allow_private))
            .map(|url| url.to_string())
    }

    /// The discovery URL and every endpoint of `ENDPOINTS`: the token endpoint always, the
    /// registration endpoint for the kinds that register clients.
    fn endpoints(&mut self, config: &mut KeyManagerConfig, kind: Option<KeyManagerKind>) {
        config.well_known_url = self.url("well_known_url", false);
        let registers = matches!(kind, Some(KeyManagerKind::Dcr | KeyManagerKind::Fs));
        for (name, _) in ENDPOINTS {
            let required = match *name {
                "token_endpoint" => true,
                "client_registration_endpoint" => registers,
                _ => false,
            };
            let value = self.url(name, required);
            if let Some(slot) = endpoint_mut(config, name) {
                *slot = value;
            }
        }
    }

    /// The certificate that verifies the key manager's tokens: a JWKS URL or a PEM certificate.
    fn certificate(&mut self, config: &mut KeyManagerConfig) {
        let value = self.form.get("certificate_value").trim();
        match self.form.get("certificate_type").trim() {
            "" if value.is_empty() => {}
            "JWKS" => {
                config.certificate_type = Some("JWKS".into());
                config.certificate_value = self.url("certificate_value", true);
            }
            "PEM" => {
                config.certificate_type = Some("PEM".into());
                if let Some(()) = self
                    .errors
                    .check("certificate_value", parse_certificate(value))
                {
                    config.certificate_value = Some(value.to_string());
                }
            }
            _ => self.errors.add("certificate_type", "Choose JWKS or PEM."),
        }
    }

    /// The claims Portico reads from the key manager's tokens, and how it validates them.
    fn validation(&mut self, config: &mut KeyManagerConfig) {
        config.consumer_key_claim = self.claim("consumer_key_claim", "Consumer key claim");
        config.scopes_claim = self.claim("scopes_claim", "Scopes claim");
        match self.form.get("token_validation").trim() {
            "" | "self_validate_jwt" => config.token_validation = Some("self_validate_jwt".into()),
            "introspect" => {
                config.token_validation = Some("introspect".into());
                if config.introspection_endpoint.is_none()
                    && self.errors.get("introspection_endpoint").is_none()
                {
                    self.errors.add(
                        "introspection_endpoint",
                        "Token validation by introspection needs the introspection endpoint.",
                    );
                }
            }
            _ => self.errors.add(
                "token_validation",
                "Choose self_validate_jwt or introspect.",
            ),
        }
    }

    fn claim(&mut self, field: &'static str, label: &str) -> Option<String> {
        self.errors
            .check(field, text::optional_line(self.form.get(field), label, 100))
            .filter(|v| !v.is_empty())
    }

    /// What the key manager offers TPPs: grant types, switches, and who may use it.
    fn offer(&mut self, config: &mut KeyManagerConfig) {
        if let Some(grants) = self.grant_types() {
            config.grant_types = grants;
        }
        config.enable_token_generation = self.form.ticked("enable_token_generation");
        config.enable_oob_provisioning = self.form.ticked("enable_oob_provisioning");
        config.enable_oauth_app_creation = self.form.ticked("enable_oauth_app_creation");
        config.permission_type = match self.form.get("permission_type").trim() {
            "" | "PUBLIC" => PermissionType::Public,
            "ALLOW" => PermissionType::Allow,
            "DENY" => PermissionType::Deny,
            _ => {
                self.errors
                    .add("permission_type", "Choose PUBLIC, ALLOW or DENY.");
                PermissionType::Public
            }
        };
        let roles = parse_roles(&self.form.permission_roles);
        if let Some(roles) = self.errors.check("permission_roles", roles) {
            if config.permission_type != PermissionType::Public && roles.is_empty() {
                self.errors.add(
                    "permission_roles",
                    "List at least one role for ALLOW or DENY.",
                );
            }
            config.permission_roles = roles;
        }
    }

    /// The chosen grant types, in `GRANT_TYPES` order.
    fn grant_types(&mut self) -> Option<Vec<String>> {
        let grants: Vec<&str> = self
            .form
            .grant_types
            .iter()
            .map(|g| g.trim())
            .filter(|g| !g.is_empty())
            .collect();
        if grants.is_empty() {
            self.errors
                .add("grant_types", "Choose at least one grant type.");
            return None;
        }
        if let Some(unknown) = grants.iter().find(|g| g.parse::<GrantType>().is_err()) {
            let shown: String = unknown.chars().take(60).collect();
            self.errors.add(
                "grant_types",
                format!("“{shown}” is not a grant type Portico knows."),
            );
            return None;
        }
        Some(
            GrantType::ALL
                .iter()
                .filter(|g| grants.contains(&g.as_str()))
                .map(|g| g.as_str().to_string())
                .collect(),
        )
    }

    /// The connector's own fields, split into plain and masked values.
    fn connector(
        &mut self,
        fields: &[ConnectorField],
        stored_secrets: &[String],
    ) -> (BTreeMap<String, String>, BTreeMap<String, String>) {
        let mut plain = BTreeMap::new();
        let mut secrets = BTreeMap::new();
        for field in fields {
            let stored = field.masked && stored_secrets.iter().any(|s| s == field.name);
            if let Some(value) = self.connector_field(field, stored) {
                let into = if field.masked {
                    &mut secrets
                } else {
                    &mut plain
                };
                into.insert(field.name.to_string(), value);
            }
        }
        (plain, secrets)
    }

    /// One connector field; `None` when it is empty or wrong (the error is recorded).
    fn connector_field(&mut self, field: &ConnectorField, stored: bool) -> Option<String> {
        let key = field.input_name;
        let value = self.form.connector_value(field.name).trim();
        if value.is_empty() {
            if field.required && !stored {
                self.errors
                    .add(key, format!("{} is required.", field.label));
            }
            return None;
        }
        if value.len() > 4096 {
            self.errors.add(
                key,
                format!("{} must be at most 4096 characters.", field.label),
            );
            return None;
        }
        let checked = match field.kind {
            FieldKind::Url => outbound::parse_url(value, self.allow_private).map(|u| u.to_string()),
            FieldKind::Seconds => match value.parse::<i64>() {
                Ok(seconds) if (1..=315_360_000).contains(&seconds) => Ok(seconds.to_string()),
                _ => Err(format!(
                    "{} must be a whole number of seconds, at least 1.",
                    field.label
                )),
            },
            _ => text::optional_line(value, field.label, 4096),
        };
        self.errors.check(key, checked)
    }
}

fn parse_certificate(value: &str) -> Result<(), String> {
    if value.len() > PEM_MAX {
        return Err("The certificate must be at most 64 KiB.".into());
    }
    let blocks =
        pem::parse_many(value).map_err(|_| "The certificate is not valid PEM.".to_string())?;
    let certificate = blocks
        .iter()
        .find(|b| b.tag() == "CERTIFICATE")
        .ok_or("Paste a PEM certificate (-----BEGIN CERTIFICATE-----).")?;
    x509_parser::parse_x509_certificate(certificate.contents())
        .map_err(|_| "The certificate does not parse as X.509.".to_string())?;
    Ok(())
}
