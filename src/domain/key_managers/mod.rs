//! The administrator's key-manager form: what it sends (`form`), and its rules (`input`). Errors
//! name the form field (`connector_<name>` for the connector's own fields); masked connector
//! values are never kept in the form that is drawn back.

mod config;
mod form;
mod input;
#[cfg(test)]
mod tests;

pub use config::{KeyManagerConfig, PermissionType};
pub use form::KeyManagerForm;
pub use input::KeyManagerInput;

use crate::domain::oauth::GrantType;
use crate::domain::text;

/// How a grant type reads on the forms, beside its registered name (the name itself for one
/// Portico does not know).
pub fn grant_label(grant: &str) -> &str {
    grant.parse::<GrantType>().map_or(grant, |g| g.label())
}

/// The most roles a user or a permission lists.
pub const ROLES_MAX: usize = 20;

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

/// A key-manager name: 1–64 of `[A-Za-z0-9._-]` (forms elsewhere refer to it).
pub fn parse_name(value: &str) -> Result<String, String> {
    text::identifier(value, "Name", 64, text::DOTS_HYPHENS_UNDERSCORES)
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

/// The stored value of one endpoint field of `ENDPOINTS` (`None` for a name that is not one).
pub fn endpoint<'a>(config: &'a KeyManagerConfig, name: &str) -> Option<&'a Option<String>> {
    Some(match name {
        "client_registration_endpoint" => &config.client_registration_endpoint,
        "introspection_endpoint" => &config.introspection_endpoint,
        "token_endpoint" => &config.token_endpoint,
        "display_token_endpoint" => &config.display_token_endpoint,
        "revoke_endpoint" => &config.revoke_endpoint,
        "display_revoke_endpoint" => &config.display_revoke_endpoint,
        "userinfo_endpoint" => &config.userinfo_endpoint,
        "authorize_endpoint" => &config.authorize_endpoint,
        "scope_management_endpoint" => &config.scope_management_endpoint,
        _ => return None,
    })
}

/// The same field, to be set.
fn endpoint_mut<'a>(
    config: &'a mut KeyManagerConfig,
    name: &str,
) -> Option<&'a mut Option<String>> {
    Some(match name {
        "client_registration_endpoint" => &mut config.client_registration_endpoint,
        "introspection_endpoint" => &mut config.introspection_endpoint,
        "token_endpoint" => &mut config.token_endpoint,
        "display_token_endpoint" => &mut config.display_token_endpoint,
        "revoke_endpoint" => &mut config.revoke_endpoint,
        "display_revoke_endpoint" => &mut config.display_revoke_endpoint,
        "userinfo_endpoint" => &mut config.userinfo_endpoint,
        "authorize_endpoint" => &mut config.authorize_endpoint,
        "scope_management_endpoint" => &mut config.scope_management_endpoint,
        _ => return None,
    })
}
