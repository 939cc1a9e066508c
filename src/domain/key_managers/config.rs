//! What a key manager offers and where its endpoints are: the typed `config` column of a key
//! manager (`KeyManagerConfig`), and who may use it (`PermissionType`). Stored as JSON; the
//! database model re-exports these.

use serde::{Deserialize, Serialize};

/// Who may use a key manager: everyone, only the listed roles, or everyone but them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum PermissionType {
    #[default]
    Public,
    Allow,
    Deny,
}

fn yes() -> bool {
    true
}

/// The `config` column. Fields the admin form adds later (endpoints, claims, certificates) are
/// read by their connectors; unknown fields are kept out of the way, not refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyManagerConfig {
    /// The grant types TPPs may choose for their clients.
    #[serde(default)]
    pub grant_types: Vec<String>,
    /// TPPs may generate access tokens from the portal.
    #[serde(default = "yes")]
    pub enable_token_generation: bool,
    /// TPPs may provide existing OAuth clients (out-of-band provisioning).
    #[serde(default = "yes")]
    pub enable_oob_provisioning: bool,
    /// TPPs may have Portico create OAuth clients here.
    #[serde(default = "yes")]
    pub enable_oauth_app_creation: bool,
    #[serde(default)]
    pub permission_type: PermissionType,
    #[serde(default)]
    pub permission_roles: Vec<String>,
    /// Where clients get tokens, and the address shown to TPPs when it differs.
    #[serde(default)]
    pub token_endpoint: Option<String>,
    #[serde(default)]
    pub display_token_endpoint: Option<String>,
    #[serde(default)]
    pub well_known_url: Option<String>,
    #[serde(default)]
    pub client_registration_endpoint: Option<String>,
    #[serde(default)]
    pub introspection_endpoint: Option<String>,
    #[serde(default)]
    pub revoke_endpoint: Option<String>,
    #[serde(default)]
    pub display_revoke_endpoint: Option<String>,
    #[serde(default)]
    pub userinfo_endpoint: Option<String>,
    #[serde(default)]
    pub authorize_endpoint: Option<String>,
    #[serde(default)]
    pub scope_management_endpoint: Option<String>,
    /// `JWKS` (certificate_value is the JWKS URL) or `PEM` (certificate_value is the certificate).
    #[serde(default)]
    pub certificate_type: Option<String>,
    #[serde(default)]
    pub certificate_value: Option<String>,
    #[serde(default)]
    pub consumer_key_claim: Option<String>,
    #[serde(default)]
    pub scopes_claim: Option<String>,
    /// `self_validate_jwt` or `introspect`.
    #[serde(default)]
    pub token_validation: Option<String>,
}

impl Default for KeyManagerConfig {
    fn default() -> Self {
        serde_json::from_str("{}").expect("every field has a default")
    }
}
