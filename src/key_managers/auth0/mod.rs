//! The `auth0` connector: the KeyManager contract over the Auth0 Management API. Portico holds a
//! machine-to-machine client of the tenant (connector fields `client_id`, `client_secret`,
//! `audience` = the Management API, `https://TENANT.auth0.com/api/v2/`) and gets a management
//! token for it by client_credentials at the key manager's token endpoint; that token is cached
//! process-wide per key manager and configuration until shortly before it expires, so requests
//! share it. Applications' clients are created as `non_interactive` clients named
//! `<owner>_<application>_<KEYTYPE>`, each with a client grant toward the audience (a client
//! whose grant cannot be made is deleted again); out-of-band clients are proven by reading them
//! through the Management API and by a real client_credentials authentication with their own
//! credentials. Every request goes through `remote` (SECURITY.md row 13: checked URL and
//! addresses, no redirects, timeouts, 1 MiB cap), tokens through the `oauth2` crate over
//! `remote::OAuthHttp`; what stays here is Auth0's own error shape.
//! Auth0 offers the portal no introspection or access-token revocation: those operations are
//! not declared.
//!
//! By job: `management` (the management token and Auth0's error shape), `clients` (what is done
//! with applications' clients); here the declaration, the configuration and the client ID rule.

mod clients;
mod management;

use secrecy::SecretString;

use super::client_auth::{ClientAuth, Credentials};
use super::remote::Remote;
use super::{ClientRequest, ConnectorSpec, External, KeyManagerError, KmResult, Operation};
use crate::db::models::key_managers::KeyManagerRow;
use crate::domain::connector_fields::AUTH0_FIELDS;
use crate::domain::ids::KeyManagerId;
use crate::domain::keys::KeyManagerKind;

pub static SPEC: ConnectorSpec = ConnectorSpec {
    kind: KeyManagerKind::Auth0,
    label: "Auth0 (Management API)",
    // Auth0 offers the portal no introspection or access-token revocation.
    operations: Operation::WITHOUT_TOKEN_INSPECTION,
    fields: AUTH0_FIELDS,
    application_fields: &[],
    // Auth0 sets the lifetime on its API; the portal cannot ask for more than a day.
    max_token_validity: 86_400,
};

/// One Auth0 tenant, as a key manager row configures it.
pub struct Auth0KeyManager {
    key_manager_id: KeyManagerId,
    token_endpoint: String,
    /// The Management API audience, which is also its base URL.
    audience: String,
    client_id: String,
    client_secret: SecretString,
    remote: Remote,
}

impl Auth0KeyManager {
    /// The connector of a row: its token endpoint, connector fields and sealed client secret.
    /// A row that cannot be read makes the key manager unavailable, not a 500.
    pub fn from_row(row: &KeyManagerRow, external: &External) -> KmResult<Self> {
        let unreadable = |what: &str| {
            KeyManagerError::Unavailable(format!("the auth0 key manager {}: {what}", row.name))
        };
        let config = row
            .config()
            .map_err(|_| unreadable("its configuration cannot be read"))?;
        let plain = row.connector_plain();
        let secrets = row
            .connector_secrets(&external.secret_box)
            .ok_or_else(|| unreadable("its connector secrets cannot be decrypted"))?;
        let set = |value: Option<&String>| {
            value
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        Ok(Self {
            key_manager_id: row.id,
            token_endpoint: set(config.token_endpoint.as_ref())
                .ok_or_else(|| unreadable("no token endpoint"))?,
            audience: set(plain.get("audience"))
                .ok_or_else(|| unreadable("no Management API audience"))?,
            client_id: set(plain.get("client_id"))
                .ok_or_else(|| unreadable("no Management API client ID"))?,
            client_secret: set(secrets.get("client_secret"))
                .map(SecretString::from)
                .ok_or_else(|| unreadable("no Management API client secret"))?,
            remote: Remote::new(external.allow_private),
        })
    }
}

impl Auth0KeyManager {
    /// A client_credentials request toward the Management API audience.
    fn credentials<'a>(
        &'a self,
        client_id: &'a str,
        secret: &'a SecretString,
        auth: ClientAuth,
        scopes: &'a [String],
        audience: &'a [(&'a str, &'a str); 1],
    ) -> Credentials<'a> {
        Credentials {
            token_endpoint: &self.token_endpoint,
            client_id,
            secret,
            auth,
            scopes,
            extra: audience,
        }
    }
}

/// The Auth0 client name of an application's keys: the name every external key manager
/// registers (`ClientRequest::registration_name`), except that Auth0 refuses `<` and `>` in
/// names, so they become `_`.
fn client_name(request: &ClientRequest) -> String {
    request.registration_name().replace(['<', '>'], "_")
}

/// The longest Auth0 client ID accepted (Auth0 makes them 32 characters long).
const CLIENT_ID_MAX: usize = 64;

/// Whether a consumer key can be an Auth0 client ID: Auth0 makes them of letters and digits
/// (`-` and `_` are let through as URL-safe); anything else (`.`, `..`, a path) is refused
/// before any request carries it.
pub fn check_client_id(consumer_key: &str) -> KmResult<()> {
    super::check_client_id(
        consumer_key,
        CLIENT_ID_MAX,
        |c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_'),
        format!(
            "An Auth0 client ID is made of letters and digits (and “-” or “_”), at most {CLIENT_ID_MAX} of them."
        ),
    )
}

/// A client's Management API path: its ID checked, and percent-encoded as a path segment all
/// the same.
fn client_path(consumer_key: &str, suffix: &str) -> Option<String> {
    check_client_id(consumer_key).ok()?;
    let segment: String = url::form_urlencoded::byte_serialize(consumer_key.as_bytes()).collect();
    Some(format!("clients/{segment}{suffix}"))
}

key_manager_by_methods!(Auth0KeyManager);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::keys::{KeySettings, KeyType};

    #[test]
    fn clients_are_named_owner_application_key_type_without_angle_brackets() {
        let request = |owner: &str, application: &str, key_type| ClientRequest {
            client_name: String::new(),
            application_id: crate::domain::ids::ApplicationId(1),
            application_name: application.into(),
            owner: owner.into(),
            key_type,
            settings: KeySettings::default(),
        };
        assert_eq!(
            client_name(&request("alice", "Wallet", KeyType::Production)),
            "alice_Wallet_PRODUCTION"
        );
        let angled = request("bob", "<b>Pay</b>", KeyType::Sandbox);
        assert_eq!(angled.registration_name(), "bob_<b>Pay</b>_SANDBOX");
        assert_eq!(client_name(&angled), "bob__b_Pay_/b__SANDBOX");
    }

    #[test]
    fn only_plain_client_ids_become_paths() {
        assert_eq!(
            client_path("AbC-12_x", "/rotate-secret").as_deref(),
            Some("clients/AbC-12_x/rotate-secret")
        );
        for bad in [
            "",
            ".",
            "..",
            "../users",
            "a/b",
            "a\\b",
            "a?b",
            "a#b",
            "a b",
            "a%2F",
            "a.b",
            "a~b",
            "a\u{0}",
            "é",
            &"a".repeat(65),
        ] {
            assert!(client_path(bad, "").is_none(), "{bad}");
            assert!(
                matches!(
                    check_client_id(bad),
                    Err(KeyManagerError::Invalid {
                        field: "consumer_key",
                        ..
                    })
                ),
                "{bad}"
            );
        }
    }
}
