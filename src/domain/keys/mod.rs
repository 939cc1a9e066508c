//! Keys: the two environments an application has credentials for, and the rules on what a TPP
//! asks a key manager for — grant types, callback URLs, PKCE, public clients, the application
//! certificate, regulatory applications, and the access tokens generated from the portal.
//! Each rule reports its error on the form field it belongs to.
//!
//! The settings a client is registered with are in `settings`, the application certificate in
//! `certificate`, the out-of-band and token requests in `requests`.

mod certificate;
mod requests;
mod settings;
#[cfg(test)]
mod tests;

pub use certificate::ApplicationCertificate;
pub use requests::{MapInput, TokenInput, parse_consumer_secret, parse_validity_period};
pub use settings::{KeySettings, KeysForm};

use crate::text_enum;

text_enum! {
    /// Production keys serve live traffic; sandbox keys are for testing.
    pub enum KeyType { Production = "PRODUCTION", Sandbox = "SANDBOX" }
}

impl KeyType {
    /// The `{key_type}` of the keys routes: `production` or `sandbox`.
    pub fn from_path(segment: &str) -> Option<KeyType> {
        match segment {
            "production" => Some(KeyType::Production),
            "sandbox" => Some(KeyType::Sandbox),
            _ => None,
        }
    }

    /// The `{key_type}` path segment.
    pub fn path(&self) -> &'static str {
        match self {
            KeyType::Production => "production",
            KeyType::Sandbox => "sandbox",
        }
    }

    pub fn label(&self) -> &'static str {
        match self {
            KeyType::Production => "Production",
            KeyType::Sandbox => "Sandbox",
        }
    }
}

text_enum! {
    /// CREATED: the client was made through Portico and is deleted at the key manager with the
    /// keys. MAPPED: an existing client provisioned out-of-band; removing the keys only unlinks it.
    pub enum CreateMode { Created = "CREATED", Mapped = "MAPPED" }
}

text_enum! {
    /// RESERVED: a generation or mapping is under way (the key manager has not answered yet).
    /// ACTIVE: the keys are usable.
    pub enum MappingState { Reserved = "RESERVED", Active = "ACTIVE" }
}

text_enum! {
    /// The connector a key manager speaks through: the built-in authorization server, any RFC
    /// 7591/7592 server, an open-banking financial-services key manager, or Auth0.
    pub enum KeyManagerKind { Resident = "resident", Dcr = "dcr", Fs = "fs", Auth0 = "auth0" }
}

impl KeyManagerKind {
    /// How the type reads in titles and buttons ("New DCR key manager").
    pub fn label(&self) -> &'static str {
        match self {
            KeyManagerKind::Resident => "resident",
            KeyManagerKind::Dcr => "DCR",
            KeyManagerKind::Fs => "financial-services",
            KeyManagerKind::Auth0 => "Auth0",
        }
    }
}

pub const AUTHORIZATION_CODE: &str = "authorization_code";
pub const CLIENT_CREDENTIALS: &str = "client_credentials";

pub const CALLBACK_URLS_MAX: usize = 20;
pub const CERTIFICATE_MAX_BYTES: usize = 32 * 1024;

/// The message for a wrong consumer secret and for an unknown client alike: the two must not be
/// told apart (SECURITY.md row 17).
pub const CREDENTIALS_MESSAGE: &str =
    "The consumer key and consumer secret do not match a client of this key manager.";

/// The grant types asked for: a non-empty subset of what the key manager offers, in its order.
pub fn parse_grant_types(values: &[String], offered: &[String]) -> Result<Vec<String>, String> {
    let asked: Vec<&str> = values
        .iter()
        .map(|v| v.trim())
        .filter(|v| !v.is_empty())
        .collect();
    if asked.is_empty() {
        return Err("Choose at least one grant type.".into());
    }
    if let Some(unknown) = asked.iter().find(|g| !offered.iter().any(|o| o == *g)) {
        let shown: String = unknown.chars().take(60).collect();
        return Err(format!(
            "This key manager does not offer the grant type “{shown}”. Choose from: {}.",
            offered.join(", ")
        ));
    }
    Ok(offered
        .iter()
        .filter(|o| asked.contains(&o.as_str()))
        .cloned()
        .collect())
}
