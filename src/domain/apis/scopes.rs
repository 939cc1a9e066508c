//! API scopes and resource identifiers: the rules for a scope's name (RFC 6749 §3.3), the scope
//! form an administrator fills, the OpenID scopes every token may carry, and an API's resource
//! identifier (its tokens' audience, RFC 8707).

use crate::domain::key_managers::parse_roles;
use crate::domain::{FieldErrors, text};

/// The OpenID Connect scopes Portico grants where they apply (user flows).
pub const OPENID_SCOPES: &[&str] = &["openid", "profile", "email", "offline_access"];

/// The longest scope name.
pub const MAX_SCOPE_NAME: usize = 100;

/// The longest resource identifier.
pub const MAX_RESOURCE: usize = 500;

/// Whether `c` may appear in a scope token: `%x21 / %x23-5B / %x5D-7E` (RFC 6749 §3.3).
pub fn is_scope_char(c: char) -> bool {
    c == '!' || ('#'..='[').contains(&c) || (']'..='~').contains(&c)
}

/// A scope name an API may declare: 1–100 RFC 6749 scope-token characters, not one of the
/// OpenID scopes.
pub fn parse_scope_name(value: &str) -> Result<String, String> {
    let value = value.trim();
    let shown: String = value.chars().take(MAX_SCOPE_NAME).collect();
    if value.is_empty() {
        return Err("Scope name is required.".into());
    }
    if value.chars().count() > MAX_SCOPE_NAME {
        return Err(format!(
            "The scope name “{shown}…” is longer than {MAX_SCOPE_NAME} characters."
        ));
    }
    if !value.chars().all(is_scope_char) {
        return Err(format!(
            "The scope name “{}” may contain only printable ASCII characters other than space, \" and \\ (RFC 6749 scope tokens).",
            shown.escape_debug()
        ));
    }
    if OPENID_SCOPES.contains(&value) {
        return Err(format!(
            "“{value}” is an OpenID Connect scope; Portico grants it itself. Choose another name."
        ));
    }
    Ok(value.to_string())
}

/// What the scope form sends; `roles` comma- or space-separated.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct ScopeForm {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub roles: String,
}

/// A checked scope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScopeInput {
    pub name: String,
    pub description: String,
    /// Who may get the scope in a user token; empty: anyone.
    pub roles: Vec<String>,
}

impl ScopeInput {
    pub fn parse(form: &ScopeForm) -> Result<Self, FieldErrors> {
        let mut errors = FieldErrors::new();
        let name = errors.check("name", parse_scope_name(&form.name));
        let description = errors.check(
            "description",
            text::optional_line(&form.description, "Description", 500),
        );
        let split: Vec<String> = form.roles.split([',', ' ']).map(str::to_string).collect();
        let roles = errors.check("roles", parse_roles(&split));
        let (Some(name), Some(description), Some(roles)) = (name, description, roles) else {
            return Err(errors);
        };
        Ok(Self {
            name,
            description,
            roles,
        })
    }
}

/// An API's resource identifier: the one an administrator set, else the public URL (without a
/// trailing slash) followed by the context.
pub fn resource_identifier(base: &str, context: &str, custom: Option<&str>) -> String {
    match custom {
        Some(custom) => custom.to_string(),
        None => format!("{}{context}", base.trim_end_matches('/')),
    }
}

/// A resource identifier an administrator sets (RFC 8707 §2): an absolute URI without a
/// fragment, at most 500 characters. Empty means "the default".
pub fn parse_resource_identifier(value: &str) -> Result<Option<String>, String> {
    let value = value.trim();
    if value.is_empty() {
        return Ok(None);
    }
    check_resource(value)
        .map(|()| Some(value.to_string()))
        .map_err(|why| format!("The resource identifier {why}"))
}

/// Why `value` is not a resource indicator RFC 8707 accepts, if it is not one.
pub fn check_resource(value: &str) -> Result<(), String> {
    if value.chars().count() > MAX_RESOURCE {
        return Err(format!("is longer than {MAX_RESOURCE} characters."));
    }
    if value.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("must not contain spaces or control characters.".into());
    }
    match url::Url::parse(value) {
        Ok(url) if url.fragment().is_some() || value.contains('#') => {
            Err("must not contain a fragment (#…).".into())
        }
        Ok(url) if url.cannot_be_a_base() && url.scheme() != "urn" => {
            Err("must be an absolute URI such as https://api.example.com/payments/v1.".into())
        }
        Ok(_) => Ok(()),
        Err(_) => {
            Err("must be an absolute URI such as https://api.example.com/payments/v1.".into())
        }
    }
}
