//! The administrator's key-manager form: what it sends, and its rules. Errors name the form
//! field (`connector_<name>` for the connector's own fields); masked connector values are never
//! kept in the form that is drawn back.
//!
//! Over 600 lines: the key-manager form and its 222-line parse; issue #15 splits the parse by
//! section.

use std::collections::BTreeMap;

use super::{FieldErrors, text};
use crate::db::models::key_managers::{KeyManagerConfig, PermissionType};
use crate::domain::connector_fields::{ConnectorField, FieldKind, connector_fields};
use crate::domain::keys::KeyManagerKind;
use crate::security::outbound;

/// The grant types a key manager can offer.
pub const GRANT_TYPES: &[&str] = &[
    "client_credentials",
    "authorization_code",
    "refresh_token",
    "password",
    "implicit",
    "urn:ietf:params:oauth:grant-type:jwt-bearer",
    "urn:ietf:params:oauth:grant-type:device_code",
    "urn:ietf:params:oauth:grant-type:token-exchange",
];

/// How a grant type reads on the forms, beside its registered name.
pub fn grant_label(grant: &str) -> &str {
    match grant {
        "client_credentials" => "Client credentials",
        "authorization_code" => "Authorization code",
        "refresh_token" => "Refresh token",
        "password" => "Resource owner password (not recommended)",
        "implicit" => "Implicit (not recommended)",
        "urn:ietf:params:oauth:grant-type:jwt-bearer" => "JWT bearer",
        "urn:ietf:params:oauth:grant-type:device_code" => "Device code",
        "urn:ietf:params:oauth:grant-type:token-exchange" => "Token exchange",
        other => other,
    }
}

/// The most roles a user or a permission lists.
pub const ROLES_MAX: usize = 20;
const PEM_MAX: usize = 64 * 1024;

/// The endpoint fields of the form, in the order it shows them, with their labels.
pub const ENDPOINTS: &[(&str, &str)] = &[
    (
        "client_registration_endpoint",
        "Client registration endpoint",
    ),
    ("introspection_endpoint", "Introspection endpoint"),
    ("token_endpoint", "Token endpoint"),
    (
        "display_token_endpoint",
        "Token endpoint shown to developers",
    ),
    ("revoke_endpoint", "Revoke endpoint"),
    (
        "display_revoke_endpoint",
        "Revoke endpoint shown to developers",
    ),
    ("userinfo_endpoint", "UserInfo endpoint"),
    ("authorize_endpoint", "Authorize endpoint"),
    ("scope_management_endpoint", "Scope management endpoint"),
];

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
        for (name, value) in [
            ("well_known_url", opt(&config.well_known_url)),
            (
                "client_registration_endpoint",
                opt(&config.client_registration_endpoint),
            ),
            (
                "introspection_endpoint",
                opt(&config.introspection_endpoint),
            ),
            ("token_endpoint", opt(&config.token_endpoint)),
            (
                "display_token_endpoint",
                opt(&config.display_token_endpoint),
            ),
            ("revoke_endpoint", opt(&config.revoke_endpoint)),
            (
                "display_revoke_endpoint",
                opt(&config.display_revoke_endpoint),
            ),
            ("userinfo_endpoint", opt(&config.userinfo_endpoint)),
            ("authorize_endpoint", opt(&config.authorize_endpoint)),
            (
                "scope_management_endpoint",
                opt(&config.scope_management_endpoint),
            ),
            ("certificate_type", opt(&config.certificate_type)),
            ("certificate_value", opt(&config.certificate_value)),
            ("consumer_key_claim", opt(&config.consumer_key_claim)),
            ("scopes_claim", opt(&config.scopes_claim)),
            ("token_validation", opt(&config.token_validation)),
        ] {
            form.set(name, &value);
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

/// A checked form.
#[derive(Debug, Clone)]
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

/// A key-manager name: 1–64 of `[A-Za-z0-9._-]` (forms elsewhere refer to it).
pub fn parse_name(value: &str) -> Result<String, String> {
    let value = value.trim();
    if value.is_empty() {
        return Err("Name is required.".into());
    }
    if value.chars().count() > 64 {
        return Err("Name must be at most 64 characters.".into());
    }
    if !value
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
    {
        return Err("Name may contain only letters, digits, dots, hyphens and underscores.".into());
    }
    Ok(value.to_string())
}

/// A role: 1–64 of `[a-z0-9._-]`.
pub fn parse_role(value: &str) -> Result<String, String> {
    let value = value.trim();
    let shown: String = value.chars().take(64).collect();
    if value.is_empty()
        || value.len() > 64
        || !value
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-'))
    {
        return Err(format!(
            "The role “{shown}” must be 1 to 64 lower-case letters, digits, dots, hyphens or underscores."
        ));
    }
    Ok(value.to_string())
}

/// A list of roles: each valid, at most 20, duplicates dropped.
pub fn parse_roles(values: &[String]) -> Result<Vec<String>, String> {
    let mut roles: Vec<String> = Vec::new();
    for value in values.iter().filter(|v| !v.trim().is_empty()) {
        let role = parse_role(value)?;
        if !roles.contains(&role) {
            roles.push(role);
        }
    }
    if roles.len() > ROLES_MAX {
        return Err(format!("At most {ROLES_MAX} roles."));
    }
    roles.sort();
    Ok(roles)
}

fn optional_url(
    errors: &mut FieldErrors,
    form: &KeyManagerForm,
    field: &'static str,
    required: bool,
    allow_private: bool,
) -> Option<String> {
    let value = form.get(field).trim();
    if value.is_empty() {
        if required {
            errors.add(field, "This URL is required for this type of key manager.");
        }
        return None;
    }
    if value.len() > 2048 {
        errors.add(field, "A URL must be at most 2048 characters.");
        return None;
    }
    errors
        .check(field, outbound::parse_url(value, allow_private))
        .map(|url| url.to_string())
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

impl KeyManagerInput {
    /// Checks the form. `kind` and `name` are the stored ones on an update (they do not
    /// change); `stored_secrets` names the masked fields that already have a value;
    /// `resident_issuer` is Portico's own issuer (no other key manager may claim it).
    pub fn parse(
        form: &KeyManagerForm,
        fixed: Option<(&str, KeyManagerKind)>,
        stored_secrets: &[String],
        allow_private: bool,
    ) -> Result<Self, FieldErrors> {
        let mut errors = FieldErrors::new();
        let name = match fixed {
            Some((name, _)) => Some(name.to_string()),
            None => errors.check("name", parse_name(form.get("name"))),
        };
        let kind = match fixed {
            Some((_, kind)) => Some(kind),
            None => match form.get("type").parse::<KeyManagerKind>() {
                Ok(KeyManagerKind::Resident) => {
                    errors.add(
                        "type",
                        "There is exactly one resident key manager; choose dcr, fs or auth0.",
                    );
                    None
                }
                Ok(kind) => Some(kind),
                Err(_) => {
                    errors.add("type", "Choose a type: dcr, fs or auth0.");
                    None
                }
            },
        };
        let display_name = errors.check(
            "display_name",
            text::required_line(form.get("display_name"), "Display name", 100),
        );
        let description = errors.check(
            "description",
            text::optional_text(form.get("description"), "Description", 1024),
        );
        let resident = kind == Some(KeyManagerKind::Resident);
        let external = !resident;

        let mut config = KeyManagerConfig::default();
        let mut issuer = None;
        if external {
            issuer = optional_url(&mut errors, form, "issuer", true, allow_private)
                .map(|i| i.trim_end_matches('/').to_string());
            config.well_known_url =
                optional_url(&mut errors, form, "well_known_url", false, allow_private);
            let needs_registration = matches!(kind, Some(KeyManagerKind::Dcr | KeyManagerKind::Fs));
            config.client_registration_endpoint = optional_url(
                &mut errors,
                form,
                "client_registration_endpoint",
                needs_registration,
                allow_private,
            );
            config.introspection_endpoint = optional_url(
                &mut errors,
                form,
                "introspection_endpoint",
                false,
                allow_private,
            );
            config.token_endpoint =
                optional_url(&mut errors, form, "token_endpoint", true, allow_private);
            config.display_token_endpoint = optional_url(
                &mut errors,
                form,
                "display_token_endpoint",
                false,
                allow_private,
            );
            config.revoke_endpoint =
                optional_url(&mut errors, form, "revoke_endpoint", false, allow_private);
            config.display_revoke_endpoint = optional_url(
                &mut errors,
                form,
                "display_revoke_endpoint",
                false,
                allow_private,
            );
            config.userinfo_endpoint =
                optional_url(&mut errors, form, "userinfo_endpoint", false, allow_private);
            config.authorize_endpoint = optional_url(
                &mut errors,
                form,
                "authorize_endpoint",
                false,
                allow_private,
            );
            config.scope_management_endpoint = optional_url(
                &mut errors,
                form,
                "scope_management_endpoint",
                false,
                allow_private,
            );

            let certificate_value = form.get("certificate_value").trim();
            match form.get("certificate_type").trim() {
                "" if certificate_value.is_empty() => {}
                "JWKS" => {
                    config.certificate_type = Some("JWKS".into());
                    config.certificate_value =
                        optional_url(&mut errors, form, "certificate_value", true, allow_private);
                }
                "PEM" => {
                    config.certificate_type = Some("PEM".into());
                    if let Some(()) =
                        errors.check("certificate_value", parse_certificate(certificate_value))
                    {
                        config.certificate_value = Some(certificate_value.to_string());
                    }
                }
                _ => errors.add("certificate_type", "Choose JWKS or PEM."),
            }
            config.consumer_key_claim = errors
                .check(
                    "consumer_key_claim",
                    text::optional_line(form.get("consumer_key_claim"), "Consumer key claim", 100),
                )
                .filter(|v| !v.is_empty());
            config.scopes_claim = errors
                .check(
                    "scopes_claim",
                    text::optional_line(form.get("scopes_claim"), "Scopes claim", 100),
                )
                .filter(|v| !v.is_empty());
            match form.get("token_validation").trim() {
                "" | "self_validate_jwt" => {
                    config.token_validation = Some("self_validate_jwt".into())
                }
                "introspect" => {
                    config.token_validation = Some("introspect".into());
                    if config.introspection_endpoint.is_none()
                        && errors.get("introspection_endpoint").is_none()
                    {
                        errors.add(
                            "introspection_endpoint",
                            "Token validation by introspection needs the introspection endpoint.",
                        );
                    }
                }
                _ => errors.add(
                    "token_validation",
                    "Choose self_validate_jwt or introspect.",
                ),
            }
        }

        let grants: Vec<String> = form
            .grant_types
            .iter()
            .map(|g| g.trim().to_string())
            .filter(|g| !g.is_empty())
            .collect();
        if grants.is_empty() {
            errors.add("grant_types", "Choose at least one grant type.");
        } else if let Some(unknown) = grants.iter().find(|g| !GRANT_TYPES.contains(&g.as_str())) {
            let shown: String = unknown.chars().take(60).collect();
            errors.add(
                "grant_types",
                format!("“{shown}” is not a grant type Portico knows."),
            );
        } else {
            config.grant_types = GRANT_TYPES
                .iter()
                .filter(|g| grants.iter().any(|c| c == *g))
                .map(|g| g.to_string())
                .collect();
        }
        config.enable_token_generation = form.ticked("enable_token_generation");
        config.enable_oob_provisioning = form.ticked("enable_oob_provisioning");
        config.enable_oauth_app_creation = form.ticked("enable_oauth_app_creation");
        config.permission_type = match form.get("permission_type").trim() {
            "" | "PUBLIC" => PermissionType::Public,
            "ALLOW" => PermissionType::Allow,
            "DENY" => PermissionType::Deny,
            _ => {
                errors.add("permission_type", "Choose PUBLIC, ALLOW or DENY.");
                PermissionType::Public
            }
        };
        if let Some(roles) = errors.check("permission_roles", parse_roles(&form.permission_roles)) {
            if config.permission_type != PermissionType::Public && roles.is_empty() {
                errors.add(
                    "permission_roles",
                    "List at least one role for ALLOW or DENY.",
                );
            }
            config.permission_roles = roles;
        }

        let mut connector_plain = BTreeMap::new();
        let mut connector_secrets = BTreeMap::new();
        if let Some(kind) = kind {
            for field in connector_fields(kind) {
                check_connector_field(
                    &mut errors,
                    form,
                    field,
                    stored_secrets,
                    allow_private,
                    &mut connector_plain,
                    &mut connector_secrets,
                );
            }
        }

        match (name, kind, display_name, description, errors.is_empty()) {
            (Some(name), Some(kind), Some(display_name), Some(description), true) => Ok(Self {
                name,
                kind,
                display_name,
                description,
                enabled: form.ticked("enabled"),
                issuer,
                config,
                connector_plain,
                connector_secrets,
            }),
            _ => Err(errors),
        }
    }
}

fn check_connector_field(
    errors: &mut FieldErrors,
    form: &KeyManagerForm,
    field: &ConnectorField,
    stored_secrets: &[String],
    allow_private: bool,
    plain: &mut BTreeMap<String, String>,
    secrets: &mut BTreeMap<String, String>,
) {
    let key = field.input_name;
    let value = form.connector_value(field.name).trim();
    if value.is_empty() {
        let stored = field.masked && stored_secrets.iter().any(|s| s == field.name);
        if field.required && !stored {
            errors.add(key, format!("{} is required.", field.label));
        }
        return;
    }
    if value.len() > 4096 {
        errors.add(
            key,
            format!("{} must be at most 4096 characters.", field.label),
        );
        return;
    }
    let checked = match field.kind {
        FieldKind::Url => outbound::parse_url(value, allow_private).map(|u| u.to_string()),
        FieldKind::Seconds => match value.parse::<i64>() {
            Ok(seconds) if (1..=315_360_000).contains(&seconds) => Ok(seconds.to_string()),
            _ => Err(format!(
                "{} must be a whole number of seconds, at least 1.",
                field.label
            )),
        },
        _ => text::optional_line(value, field.label, 4096),
    };
    if let Some(value) = errors.check(key, checked) {
        if field.masked {
            secrets.insert(field.name.to_string(), value);
        } else {
            plain.insert(field.name.to_string(), value);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_grant_type_has_a_label_of_its_own() {
        for grant in GRANT_TYPES {
            let label = grant_label(grant);
            assert_ne!(label, *grant, "{grant} has no label");
        }
    }

    fn form(pairs: &[(&str, &str)]) -> KeyManagerForm {
        KeyManagerForm::from_pairs(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    }

    fn dcr() -> Vec<(&'static str, &'static str)> {
        vec![
            ("type", "dcr"),
            ("name", "partner.idp_1-eu"),
            ("display_name", "Partner"),
            ("issuer", "https://idp.example.com/"),
            ("token_endpoint", "https://idp.example.com/token"),
            (
                "client_registration_endpoint",
                "https://idp.example.com/reg",
            ),
            ("grant_types", "refresh_token"),
            ("grant_types", "client_credentials"),
            ("permission_type", "ALLOW"),
            ("permission_roles", "partner, regulated-tpp"),
            ("connector_password", "pw"),
        ]
    }

    #[test]
    fn a_valid_form_parses_into_config_and_connector_fields() {
        let input = KeyManagerInput::parse(&form(&dcr()), None, &[], false).unwrap();
        assert_eq!(input.issuer.as_deref(), Some("https://idp.example.com"));
        assert_eq!(
            input.config.grant_types,
            ["client_credentials", "refresh_token"]
        );
        assert_eq!(input.config.permission_roles, ["partner", "regulated-tpp"]);
        assert_eq!(
            input.connector_secrets.get("password").map(String::as_str),
            Some("pw")
        );
        assert!(input.connector_plain.is_empty());
    }

    #[test]
    fn each_rule_names_its_field() {
        for (field, value) in [
            ("name", "has space"),
            ("name", ""),
            ("type", "resident"),
            ("issuer", "ftp://idp.example.com"),
            ("token_endpoint", "https://10.0.0.1/token"),
            ("client_registration_endpoint", ""),
            ("permission_type", "SOME"),
            ("permission_roles", "Upper"),
            ("token_validation", "guess"),
            ("certificate_type", "X509"),
        ] {
            let mut pairs: Vec<(&str, &str)> =
                dcr().into_iter().filter(|(k, _)| *k != field).collect();
            pairs.push((field, value));
            let errors = KeyManagerInput::parse(&form(&pairs), None, &[], false).unwrap_err();
            assert!(errors.get(field).is_some(), "{field}={value}");
        }
        let mut pairs = dcr();
        pairs.retain(|(k, _)| *k != "permission_roles");
        let errors = KeyManagerInput::parse(&form(&pairs), None, &[], false).unwrap_err();
        assert!(
            errors.get("permission_roles").is_some(),
            "ALLOW needs a role"
        );
        let pairs = vec![
            ("type", "dcr"),
            ("certificate_type", "PEM"),
            ("certificate_value", "not pem"),
        ];
        let errors = KeyManagerInput::parse(&form(&pairs), None, &[], false).unwrap_err();
        assert!(errors.get("certificate_value").is_some());
    }

    #[test]
    fn a_required_masked_field_may_stay_empty_only_when_stored() {
        let pairs = vec![
            ("type", "auth0"),
            ("name", "auth0"),
            ("display_name", "Auth0"),
            ("issuer", "https://t.auth0.com"),
            ("token_endpoint", "https://t.auth0.com/oauth/token"),
            ("grant_types", "client_credentials"),
            ("connector_client_id", "abc"),
            ("connector_audience", "https://t.auth0.com/api/v2/"),
        ];
        let errors = KeyManagerInput::parse(&form(&pairs), None, &[], false).unwrap_err();
        assert!(errors.get("connector_client_secret").is_some());
        let stored = vec!["client_secret".to_string()];
        let fixed = Some(("auth0", KeyManagerKind::Auth0));
        assert!(KeyManagerInput::parse(&form(&pairs), fixed, &stored, false).is_ok());
    }

    #[test]
    fn roles_are_lower_case_at_most_twenty_and_deduplicated() {
        assert_eq!(
            parse_roles(&["partner".into(), "partner".into(), "a.b_c-1".into()]).unwrap(),
            ["a.b_c-1", "partner"]
        );
        assert!(parse_roles(&["Partner".into()]).is_err());
        assert!(parse_roles(&["x".repeat(65)]).is_err());
        let many: Vec<String> = (0..21).map(|i| format!("r{i}")).collect();
        assert!(parse_roles(&many).is_err());
    }
}
