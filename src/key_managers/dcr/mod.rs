//! The `dcr` and `fs` connectors: the KeyManager contract over any RFC 7591/7592 dynamic client
//! registration server, and its open-banking profile.
//!
//! A client is registered at the registration endpoint (authenticated by the key manager's
//! initial access token as a Bearer token, or its user name and password as HTTP Basic) and
//! named `<owner>_<application>_<KEYTYPE>`. Its configuration endpoint, registration access token
//! and consumer secret are kept in `client_registrations` (sealed there with `SecretBox`);
//! reading, updating and deleting go through RFC 7592 with that token, which is replaced
//! whenever the server rotates it. Updates replay the consumer secret so that the server keeps
//! it; regenerating the secret is an RFC 7592 update without it, which servers that rotate
//! secrets answer with a new one (a server that does not is told so). Tokens, introspection and
//! revocation go through the `oauth2` crate over `remote::OAuthHttp`.
//!
//! Out-of-band clients are proven by a real client authentication at the token endpoint
//! (client_credentials, by the rules of `client_auth`: a token, or an error that only a
//! successful authentication can lead to), after their client ID passed the RFC 7591 rules
//! (`check_client_id`) so that a malformed one reaches no server. Portico holds no registration
//! access token for them, so it cannot change them: update and regenerate are refused with a
//! message saying so, and removal only unlinks.
//!
//! The `fs` profile adds what open-banking key managers take as client metadata: the regulatory
//! flag, the application certificate (its public key as `jwks`, and its subject as
//! `tls_client_auth_subject_dn` when the server's discovery document offers `tls_client_auth`),
//! the PKCE flags and four token lifetimes configured on the key manager.
//!
//! By job: `spec` (what the connectors declare, the client ID rule), `registration` (the RFC
//! 7591/7592 calls and the stored registration), `fs` (the open-banking metadata and the
//! certificate-to-JWKS conversion), `tokens` (tokens, introspection, revocation, proof).

mod fs;
mod registration;
mod spec;
mod tokens;

use crate::domain::ids::KeyManagerId;
use std::collections::BTreeMap;

use secrecy::{ExposeSecret, SecretString};

use super::remote::{Auth, Remote};
use super::{ConnectorSpec, External, KeyManagerError, KmResult};
use crate::db::models::key_managers::KeyManagerRow;
use crate::domain::keys::KeyManagerKind;

pub use fs::certificate_jwks;
pub use spec::{DCR_SPEC, FS_SPEC, check_client_id};

/// How Portico authenticates to the registration endpoint.
enum RegistrationAuth {
    Open,
    Bearer(SecretString),
    Basic {
        username: String,
        password: SecretString,
    },
}

impl RegistrationAuth {
    /// The initial access token when one is set, else the user name and password when both
    /// are, else nothing.
    fn from_fields(plain: &BTreeMap<String, String>, secrets: &BTreeMap<String, String>) -> Self {
        let secret = |name: &str| {
            secrets
                .get(name)
                .filter(|v| !v.is_empty())
                .map(|v| SecretString::from(v.clone()))
        };
        match (
            secret("initial_access_token"),
            plain.get("username").filter(|u| !u.is_empty()),
            secret("password"),
        ) {
            (Some(token), _, _) => RegistrationAuth::Bearer(token),
            (None, Some(username), Some(password)) => RegistrationAuth::Basic {
                username: username.clone(),
                password,
            },
            _ => RegistrationAuth::Open,
        }
    }

    fn auth(&self) -> Auth<'_> {
        match self {
            RegistrationAuth::Open => Auth::None,
            RegistrationAuth::Bearer(token) => Auth::Bearer(token.expose_secret()),
            RegistrationAuth::Basic { username, password } => Auth::Basic {
                username,
                password: password.expose_secret(),
            },
        }
    }
}

/// A `dcr` or `fs` key manager.
pub struct DcrKeyManager {
    spec: &'static ConnectorSpec,
    key_manager_id: KeyManagerId,
    registration_endpoint: String,
    token_endpoint: String,
    introspection_endpoint: Option<String>,
    revocation_endpoint: Option<String>,
    well_known_url: Option<String>,
    registration: RegistrationAuth,
    /// `fs`: the token lifetimes sent as client metadata, by metadata name.
    lifetimes: Vec<(&'static str, i64)>,
    remote: Remote,
    context: External,
}

fn unusable(what: &str) -> KeyManagerError {
    KeyManagerError::Unavailable(format!(
        "the key manager's configuration cannot be used: {what}"
    ))
}

impl DcrKeyManager {
    /// The connector of a `dcr` or `fs` row: its configuration, its connector fields (the
    /// masked ones unsealed) and Portico's outbound setting.
    pub fn from_row(row: &KeyManagerRow, context: &External) -> KmResult<Self> {
        let spec = match row.kind {
            KeyManagerKind::Dcr => &DCR_SPEC,
            KeyManagerKind::Fs => &FS_SPEC,
            other => return Err(unusable(&format!("{other} is not a dcr key manager"))),
        };
        let config = row.config().map_err(|_| unusable("unreadable JSON"))?;
        let plain = row.connector_plain();
        let secrets = row
            .connector_secrets(&context.secret_box)
            .ok_or_else(|| unusable("its stored credentials cannot be decrypted"))?;
        let lifetimes = match row.kind {
            KeyManagerKind::Fs => fs::lifetimes(&plain),
            _ => Vec::new(),
        };
        let set = |v: Option<String>| v.filter(|s| !s.trim().is_empty());
        Ok(Self {
            spec,
            key_manager_id: row.id,
            registration_endpoint: set(config.client_registration_endpoint)
                .ok_or_else(|| unusable("no client registration endpoint"))?,
            token_endpoint: set(config.token_endpoint)
                .ok_or_else(|| unusable("no token endpoint"))?,
            introspection_endpoint: set(config.introspection_endpoint),
            revocation_endpoint: set(config.revoke_endpoint),
            well_known_url: set(config.well_known_url),
            registration: RegistrationAuth::from_fields(&plain, &secrets),
            lifetimes,
            remote: Remote::new(context.allow_private),
            context: context.clone(),
        })
    }

    fn declaration(&self) -> &'static ConnectorSpec {
        self.spec
    }

    fn is_fs(&self) -> bool {
        self.spec.kind == KeyManagerKind::Fs
    }
}

key_manager_by_methods!(DcrKeyManager);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_rfc_7591_error_names_the_form_field() {
        let error = super::super::remote::registration_error(
            "invalid_client_metadata",
            "redirect_uris must only contain web uris",
        );
        assert!(
            matches!(
                error,
                KeyManagerError::Invalid {
                    field: "callback_url",
                    ..
                }
            ),
            "{error:?}"
        );
    }
}
