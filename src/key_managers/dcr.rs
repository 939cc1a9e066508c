//! The `dcr` and `fs` connectors: the KeyManager contract over any RFC 7591/7592 dynamic client
//! registration server, and its open-banking profile.
//!
//! A client is registered at the registration endpoint (authenticated by the key manager's
//! initial access token as a Bearer token, or its user name and password as HTTP Basic) and
//! named `<owner>_<application>_<KEYTYPE>`. Its configuration endpoint, registration access token
//! and consumer secret are kept in `client_registrations`, the last two sealed with `SecretBox`;
//! reading, updating and deleting go through RFC 7592 with that token, which is replaced
//! whenever the server rotates it. Updates replay the consumer secret so that the server keeps
//! it; regenerating the secret is an RFC 7592 update without it, which servers that rotate
//! secrets answer with a new one (a server that does not is told so). Tokens, introspection and
//! revocation go through the `oauth2` crate over `remote::OAuthHttp`.
//!
//! Out-of-band clients are proven by a real client authentication at the token endpoint
//! (client_credentials, by the rules of `client_auth`: a token, or an error that only a
//! successful authentication can lead to), after their client ID passed the RFC 7591 rules
//! (`check_client_id`) so that a malformed one reaches no server. Portico holds no registration access token for
//! them, so it cannot change them: update and regenerate are refused with a message saying so,
//! and removal only unlinks.
//!
//! The `fs` profile adds what open-banking key managers take as client metadata: the regulatory
//! flag, the application certificate (its public key as `jwks`, and its subject as
//! `tls_client_auth_subject_dn` when the server's discovery document offers `tls_client_auth`),
//! the PKCE flags and four token lifetimes configured on the key manager.
//!
//! Over 600 lines: RFC 7591/7592 calls, the fs extensions and the registration store; issue #15
//! splits them by job.

use base64::Engine;
use oauth2::basic::BasicClient;
use oauth2::{
    AccessToken as OAuthToken, ClientId, ClientSecret, RevocationUrl, StandardRevocableToken,
    TokenUrl,
};
use reqwest::Method;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::{Value, json};

use super::client_auth::{self, ClientAuth, Credentials, Proof};
use super::remote::{Auth, Body, Remote, oauth_failure};
use super::{
    AccessToken, ClientRequest, ConnectorField, ConnectorSpec, External, FieldKind, KeyManager,
    KeyManagerError, KmFuture, KmResult, MapRequest, OAuthApplicationInfo, Operation,
    TokenMetadata, TokenRequest,
};
use crate::db;
use crate::db::models::client_registrations::ClientRegistration;
use crate::db::models::key_managers::KeyManagerRow;
use crate::domain::keys::{
    AUTHORIZATION_CODE, ApplicationCertificate, CLIENT_CREDENTIALS, KeyManagerKind, KeySettings,
};
use crate::domain::oauth::RedirectUri;

/// The `SecretBox` purposes of the sealed columns of `client_registrations`.
const TOKEN_PURPOSE: &str = "registration access token";
const SECRET_PURPOSE: &str = "registered client secret";

/// The longest token validity the portal offers. RFC 6749 has no parameter for it: the key
/// manager decides, and the page shows what it answered.
const MAX_TOKEN_VALIDITY: i64 = 86_400;

const INITIAL_ACCESS_TOKEN: ConnectorField = ConnectorField {
    name: "initial_access_token",
    input_name: "connector_initial_access_token",
    label: "Initial access token",
    kind: FieldKind::Secret,
    required: false,
    masked: true,
    help: "Sent as a Bearer token with each registration (RFC 7591 §3). Leave empty to authenticate with a user name and password instead.",
};

const USERNAME: ConnectorField = ConnectorField {
    name: "username",
    input_name: "connector_username",
    label: "Registration user name",
    kind: FieldKind::Text,
    required: false,
    masked: false,
    help: "HTTP Basic user for the registration endpoint, when no initial access token is set.",
};

const PASSWORD: ConnectorField = ConnectorField {
    name: "password",
    input_name: "connector_password",
    label: "Registration password",
    kind: FieldKind::Secret,
    required: false,
    masked: true,
    help: "HTTP Basic password for the registration endpoint.",
};

const fn lifetime(
    name: &'static str,
    input_name: &'static str,
    label: &'static str,
) -> ConnectorField {
    ConnectorField {
        name,
        input_name,
        label,
        kind: FieldKind::Seconds,
        required: false,
        masked: false,
        help: "In seconds; sent with each client registration. Leave empty for the key manager's default.",
    }
}

/// The `fs` token lifetimes: (connector field, client metadata name).
const LIFETIMES: [(ConnectorField, &str); 4] = [
    (
        lifetime(
            "application_access_token_expiry_time",
            "connector_application_access_token_expiry_time",
            "Application access token expiry time",
        ),
        "ext_application_token_lifetime",
    ),
    (
        lifetime(
            "user_access_token_expiry_time",
            "connector_user_access_token_expiry_time",
            "User access token expiry time",
        ),
        "ext_user_token_lifetime",
    ),
    (
        lifetime(
            "refresh_token_expiry_time",
            "connector_refresh_token_expiry_time",
            "Refresh token expiry time",
        ),
        "ext_refresh_token_lifetime",
    ),
    (
        lifetime(
            "id_token_expiry_time",
            "connector_id_token_expiry_time",
            "ID token expiry time",
        ),
        "ext_id_token_lifetime",
    ),
];

pub const DCR_FIELDS: &[ConnectorField] = &[INITIAL_ACCESS_TOKEN, USERNAME, PASSWORD];
pub const FS_FIELDS: &[ConnectorField] = &[
    INITIAL_ACCESS_TOKEN,
    USERNAME,
    PASSWORD,
    LIFETIMES[0].0,
    LIFETIMES[1].0,
    LIFETIMES[2].0,
    LIFETIMES[3].0,
];

pub static DCR_SPEC: ConnectorSpec = ConnectorSpec {
    kind: KeyManagerKind::Dcr,
    label: "Dynamic client registration (RFC 7591/7592)",
    operations: Operation::ALL,
    fields: DCR_FIELDS,
    application_fields: &[],
    max_token_validity: MAX_TOKEN_VALIDITY,
};

pub static FS_SPEC: ConnectorSpec = ConnectorSpec {
    kind: KeyManagerKind::Fs,
    label: "Financial-services key manager (open banking)",
    operations: Operation::ALL,
    fields: FS_FIELDS,
    application_fields: &[],
    max_token_validity: MAX_TOKEN_VALIDITY,
};

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
    key_manager_id: i64,
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
        let secret = |name: &str| {
            secrets
                .get(name)
                .filter(|v| !v.is_empty())
                .map(|v| SecretString::from(v.clone()))
        };
        let registration = match (
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
        };
        let lifetimes = match row.kind {
            KeyManagerKind::Fs => LIFETIMES
                .iter()
                .filter_map(|(field, metadata)| {
                    let value = plain.get(field.name)?.trim().parse::<i64>().ok()?;
                    Some((*metadata, value))
                })
                .collect(),
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
            registration,
            lifetimes,
            remote: Remote::new(context.allow_private),
            context: context.clone(),
        })
    }

    fn is_fs(&self) -> bool {
        self.spec.kind == KeyManagerKind::Fs
    }

    /// The client metadata of a registration or an RFC 7592 update.
    async fn metadata(&self, request: &ClientRequest) -> KmResult<serde_json::Map<String, Value>> {
        let settings = &request.settings;
        let mut metadata = serde_json::Map::new();
        metadata.insert("client_name".into(), json!(request.registration_name()));
        metadata.insert("grant_types".into(), json!(settings.grant_types));
        metadata.insert("redirect_uris".into(), json!(settings.callback_urls));
        // A client without the code grant asks for no response types (oidc-provider defaults
        // to `code` otherwise, and then refuses a client_credentials-only client).
        let response_types: &[&str] = if settings.allows(AUTHORIZATION_CODE) {
            &["code"]
        } else {
            &[]
        };
        metadata.insert("response_types".into(), json!(response_types));
        let method = if settings.public_client {
            "none"
        } else {
            "client_secret_basic"
        };
        metadata.insert("token_endpoint_auth_method".into(), json!(method));
        if self.is_fs() {
            metadata.insert("regulatory".into(), json!(settings.regulatory));
            metadata.insert("ext_pkce_mandatory".into(), json!(settings.pkce_mandatory));
            metadata.insert(
                "ext_pkce_support_plain".into(),
                json!(settings.pkce_support_plain),
            );
            for (name, seconds) in &self.lifetimes {
                metadata.insert((*name).into(), json!(seconds));
            }
            if let Some(certificate) = &settings.certificate {
                metadata.insert("jwks".into(), certificate_jwks(certificate)?);
                if self.offers_tls_client_auth().await? {
                    metadata.insert(
                        "tls_client_auth_subject_dn".into(),
                        json!(certificate.subject),
                    );
                }
            }
        }
        Ok(metadata)
    }

    /// Whether the server's discovery document lists `tls_client_auth` (RFC 8705) among its
    /// token endpoint authentication methods.
    async fn offers_tls_client_auth(&self) -> KmResult<bool> {
        let Some(url) = &self.well_known_url else {
            return Ok(false);
        };
        #[derive(Deserialize)]
        struct Discovery {
            #[serde(default)]
            token_endpoint_auth_methods_supported: Vec<String>,
        }
        let discovery: Discovery = self
            .remote
            .json(Method::GET, url, Auth::None, Body::Empty)
            .await?;
        Ok(discovery
            .token_endpoint_auth_methods_supported
            .iter()
            .any(|m| m == "tls_client_auth"))
    }

    /// The registration of a client Portico made, unsealed; `None` for clients it did not make.
    async fn registration_of(&self, consumer_key: &str) -> KmResult<Option<Managed>> {
        let (id, key) = (self.key_manager_id, consumer_key.to_string());
        let row = db::run(&self.context.pool, move |conn| {
            ClientRegistration::find(conn, id, &key).map_err(KeyManagerError::from)
        })
        .await?;
        let Some(row) = row else { return Ok(None) };
        let secret_box = &self.context.secret_box;
        let open = |purpose: &str, sealed: &[u8]| {
            secret_box
                .open(purpose, sealed)
                .ok()
                .and_then(|plain| String::from_utf8(plain).ok())
                .map(SecretString::from)
                .ok_or_else(|| {
                    KeyManagerError::Internal(
                        "a registration access token cannot be decrypted".into(),
                    )
                })
        };
        Ok(Some(Managed {
            uri: row.registration_client_uri.clone(),
            token: open(TOKEN_PURPOSE, &row.registration_access_token)?,
            secret: row
                .client_secret
                .as_deref()
                .map(|s| open(SECRET_PURPOSE, s))
                .transpose()?,
        }))
    }

    /// The registration of a client Portico made, or the refusal for out-of-band clients.
    async fn managed(&self, consumer_key: &str, what: &str) -> KmResult<Managed> {
        self.registration_of(consumer_key).await?.ok_or_else(|| {
            KeyManagerError::Unsupported(format!(
                "these keys were provided out-of-band, so Portico holds no registration access token to {what} them; do it at the key manager"
            ))
        })
    }

    async fn save(&self, consumer_key: &str, managed: &Managed) -> KmResult<()> {
        let secret_box = &self.context.secret_box;
        let token = secret_box.seal(TOKEN_PURPOSE, managed.token.expose_secret().as_bytes());
        let secret = managed
            .secret
            .as_ref()
            .map(|s| secret_box.seal(SECRET_PURPOSE, s.expose_secret().as_bytes()));
        let (id, key, uri) = (
            self.key_manager_id,
            consumer_key.to_string(),
            managed.uri.clone(),
        );
        db::run(&self.context.pool, move |conn| {
            ClientRegistration::save(conn, id, &key, &uri, &token, secret.as_deref())
                .map_err(KeyManagerError::from)
        })
        .await?;
        Ok(())
    }

    async fn forget(&self, consumer_key: &str) -> KmResult<()> {
        let (id, key) = (self.key_manager_id, consumer_key.to_string());
        db::run(&self.context.pool, move |conn| {
            ClientRegistration::delete(conn, id, &key).map_err(KeyManagerError::from)
        })
        .await?;
        Ok(())
    }

    /// RFC 7592 GET of the client.
    async fn read<T: serde::de::DeserializeOwned>(&self, managed: &Managed) -> KmResult<T> {
        self.remote
            .json(
                Method::GET,
                &managed.uri,
                Auth::Bearer(managed.token.expose_secret()),
                Body::Empty,
            )
            .await
    }

    /// RFC 7592 DELETE; a client the server no longer knows counts as deleted.
    async fn delete_at_server(&self, managed: &Managed) -> KmResult<()> {
        let reply = self
            .remote
            .send(
                Method::DELETE,
                &managed.uri,
                Auth::Bearer(managed.token.expose_secret()),
                Body::Empty,
            )
            .await?;
        match reply.status {
            200..=299 | 404 | 410 => Ok(()),
            _ => Err(reply.error()),
        }
    }

    /// RFC 7592 PUT of the whole client; keeps the rotated registration access token and the
    /// secret the server answers with.
    async fn put(
        &self,
        consumer_key: &str,
        managed: &Managed,
        mut metadata: serde_json::Map<String, Value>,
        replay_secret: bool,
    ) -> KmResult<Registered> {
        metadata.insert("client_id".into(), json!(consumer_key));
        if replay_secret && let Some(secret) = &managed.secret {
            metadata.insert("client_secret".into(), json!(secret.expose_secret()));
        }
        let reply = self
            .remote
            .send(
                Method::PUT,
                &managed.uri,
                Auth::Bearer(managed.token.expose_secret()),
                Body::Json(&Value::Object(metadata)),
            )
            .await?;
        let registered: Registered = reply.json()?;
        let rotated = Managed {
            uri: registered
                .registration_client_uri
                .clone()
                .unwrap_or_else(|| managed.uri.clone()),
            token: registered
                .registration_access_token
                .clone()
                .map(SecretString::from)
                .unwrap_or_else(|| managed.token.clone()),
            secret: registered
                .client_secret
                .clone()
                .map(SecretString::from)
                .or_else(|| managed.secret.clone()),
        };
        self.save(consumer_key, &rotated).await?;
        Ok(registered)
    }

    fn oauth_client(&self, consumer_key: &str, secret: &SecretString) -> KmResult<TokenClient> {
        let token_url = TokenUrl::new(self.token_endpoint.clone())
            .map_err(|_| unusable("the token endpoint is not a URL"))?;
        Ok(BasicClient::new(ClientId::new(consumer_key.to_string()))
            .set_client_secret(ClientSecret::new(secret.expose_secret().to_string()))
            .set_token_uri(token_url))
    }

    /// The client_credentials request of a client with its secret (HTTP Basic).
    fn credentials<'a>(
        &'a self,
        consumer_key: &'a str,
        secret: &'a SecretString,
        scopes: &'a [String],
    ) -> Credentials<'a> {
        Credentials {
            token_endpoint: &self.token_endpoint,
            client_id: consumer_key,
            secret,
            auth: ClientAuth::Basic,
            scopes,
            extra: &[],
        }
    }
}

/// The longest client ID accepted for out-of-band provisioning.
const CLIENT_ID_MAX: usize = 255;

/// A client ID as RFC 6749 (Appendix A.1: visible ASCII) and RFC 7591 servers make them, with
/// no path separators and not only dots — nothing that could steer a request elsewhere —
/// checked before any request carries it.
pub fn check_client_id(consumer_key: &str) -> KmResult<()> {
    let valid = !consumer_key.is_empty()
        && consumer_key.len() <= CLIENT_ID_MAX
        && consumer_key
            .chars()
            .all(|c| c.is_ascii_graphic() && !matches!(c, '/' | '\\'))
        && !consumer_key.chars().all(|c| c == '.');
    if valid {
        Ok(())
    } else {
        Err(KeyManagerError::Invalid {
            field: "consumer_key",
            message: format!(
                "A client ID of this key manager is 1 to {CLIENT_ID_MAX} visible ASCII characters, without “/” or “\\” and not only dots."
            ),
        })
    }
}

/// An `oauth2` client with its token endpoint set.
type TokenClient = oauth2::Client<
    oauth2::basic::BasicErrorResponse,
    oauth2::basic::BasicTokenResponse,
    oauth2::basic::BasicTokenIntrospectionResponse,
    StandardRevocableToken,
    oauth2::basic::BasicRevocationErrorResponse,
    oauth2::EndpointNotSet,
    oauth2::EndpointNotSet,
    oauth2::EndpointNotSet,
    oauth2::EndpointNotSet,
    oauth2::EndpointSet,
>;

/// What Portico holds to manage a client it registered.
struct Managed {
    uri: String,
    token: SecretString,
    secret: Option<SecretString>,
}

/// The parts of an RFC 7591 / 7592 answer Portico reads (no `Debug`: it holds secrets).
#[derive(Deserialize)]
struct Registered {
    client_id: String,
    #[serde(default)]
    client_secret: Option<String>,
    #[serde(default)]
    registration_access_token: Option<String>,
    #[serde(default)]
    registration_client_uri: Option<String>,
    #[serde(default)]
    grant_types: Option<Vec<String>>,
    #[serde(default)]
    redirect_uris: Option<Vec<String>>,
    #[serde(default)]
    token_endpoint_auth_method: Option<String>,
}

impl Registered {
    /// What the server holds, as the keys page shows it (the fs-only fields are Portico's).
    fn settings(&self, asked: Option<&KeySettings>) -> KeySettings {
        let mut settings = asked.cloned().unwrap_or_default();
        if let Some(grants) = &self.grant_types {
            settings.grant_types = grants.clone();
        }
        if let Some(uris) = &self.redirect_uris {
            settings.callback_urls = uris.iter().cloned().map(RedirectUri::registered).collect();
        }
        if let Some(method) = &self.token_endpoint_auth_method {
            settings.public_client = method == "none";
        }
        settings
    }
}

/// The metadata an RFC 7592 answer carries that a PUT must not send back.
const SERVER_MANAGED: &[&str] = &[
    "client_secret",
    "client_secret_expires_at",
    "client_id_issued_at",
    "registration_access_token",
    "registration_client_uri",
];

/// The application certificate's public key as a JWK set (RFC 7517), with the certificate
/// itself in `x5c` and its thumbprint as `kid` and `x5t#S256`.
pub fn certificate_jwks(certificate: &ApplicationCertificate) -> KmResult<Value> {
    use x509_parser::public_key::PublicKey;
    let invalid = |message: &str| KeyManagerError::Invalid {
        field: "application_certificate",
        message: message.to_string(),
    };
    let block = pem::parse_many(&certificate.pem)
        .ok()
        .and_then(|blocks| blocks.into_iter().find(|b| b.tag() == "CERTIFICATE"))
        .ok_or_else(|| invalid("The application certificate cannot be read."))?;
    let der = block.contents();
    let (_, parsed) = x509_parser::parse_x509_certificate(der)
        .map_err(|_| invalid("The application certificate cannot be read."))?;
    let b64 = |bytes: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    let unsigned = |bytes: &[u8]| {
        let start = bytes.iter().position(|b| *b != 0).unwrap_or(bytes.len());
        b64(&bytes[start..])
    };
    let spki = parsed.public_key();
    let mut jwk = match spki.parsed() {
        Ok(PublicKey::RSA(rsa)) => json!({
            "kty": "RSA",
            "n": unsigned(rsa.modulus),
            "e": unsigned(rsa.exponent),
        }),
        Ok(PublicKey::EC(point)) => {
            let curve = spki
                .algorithm
                .parameters
                .as_ref()
                .and_then(|p| p.as_oid().ok())
                .map(|oid| oid.to_id_string());
            let (crv, size) = match curve.as_deref() {
                Some("1.2.840.10045.3.1.7") => ("P-256", 32),
                Some("1.3.132.0.34") => ("P-384", 48),
                Some("1.3.132.0.35") => ("P-521", 66),
                _ => {
                    return Err(invalid(
                        "The application certificate's key is on a curve key managers do not take (use P-256, P-384, P-521 or RSA).",
                    ));
                }
            };
            let data = point.data();
            if data.len() != 1 + 2 * size || data[0] != 4 {
                return Err(invalid(
                    "The application certificate's EC key is not an uncompressed point.",
                ));
            }
            json!({
                "kty": "EC",
                "crv": crv,
                "x": b64(&data[1..=size]),
                "y": b64(&data[1 + size..]),
            })
        }
        _ => {
            return Err(invalid(
                "The application certificate's key is neither RSA nor EC.",
            ));
        }
    };
    let object = jwk.as_object_mut().expect("a JWK is an object");
    object.insert("use".into(), json!("sig"));
    object.insert("kid".into(), json!(certificate.x5t_s256()));
    object.insert("x5t#S256".into(), json!(certificate.x5t_s256()));
    object.insert(
        "x5c".into(),
        json!([base64::engine::general_purpose::STANDARD.encode(der)]),
    );
    Ok(json!({ "keys": [jwk] }))
}

impl KeyManager for DcrKeyManager {
    fn spec(&self) -> &'static ConnectorSpec {
        self.spec
    }

    fn create_application<'a>(
        &'a self,
        request: &'a ClientRequest,
    ) -> KmFuture<'a, OAuthApplicationInfo> {
        Box::pin(async move {
            let metadata = self.metadata(request).await?;
            let reply = self
                .remote
                .send(
                    Method::POST,
                    &self.registration_endpoint,
                    self.registration.auth(),
                    Body::Json(&Value::Object(metadata)),
                )
                .await?;
            let registered: Registered = reply.json()?;
            let managed = match (
                registered.registration_client_uri.clone(),
                registered.registration_access_token.clone(),
            ) {
                (Some(uri), Some(token)) => Managed {
                    uri,
                    token: SecretString::from(token),
                    secret: registered.client_secret.clone().map(SecretString::from),
                },
                _ => {
                    tracing::error!(
                        consumer_key = %registered.client_id,
                        "a key manager registered a client without RFC 7592 management; delete it there by hand"
                    );
                    return Err(KeyManagerError::Unavailable(format!(
                        "the key manager registered client {} without a registration access token, so Portico cannot manage it",
                        registered.client_id
                    )));
                }
            };
            // From here on the client exists: any failure deletes it again.
            let finished = async {
                if !request.settings.public_client && managed.secret.is_none() {
                    return Err(KeyManagerError::Unavailable(
                        "the key manager registered a confidential client without a secret".into(),
                    ));
                }
                self.save(&registered.client_id, &managed).await
            }
            .await;
            if let Err(error) = finished {
                if let Err(cause) = self.delete_at_server(&managed).await {
                    tracing::error!(consumer_key = %registered.client_id, %cause, "a client whose registration failed could not be deleted");
                }
                let _ = self.forget(&registered.client_id).await;
                return Err(error);
            }
            Ok(OAuthApplicationInfo {
                settings: registered.settings(Some(&request.settings)),
                consumer_key: registered.client_id,
                consumer_secret: managed.secret,
            })
        })
    }

    fn update_application<'a>(
        &'a self,
        consumer_key: &'a str,
        request: &'a ClientRequest,
    ) -> KmFuture<'a, OAuthApplicationInfo> {
        Box::pin(async move {
            let managed = self.managed(consumer_key, "change").await?;
            let metadata = self.metadata(request).await?;
            let registered = self.put(consumer_key, &managed, metadata, true).await?;
            Ok(OAuthApplicationInfo {
                settings: registered.settings(Some(&request.settings)),
                consumer_key: consumer_key.to_string(),
                consumer_secret: None,
            })
        })
    }

    fn retrieve_application<'a>(
        &'a self,
        consumer_key: &'a str,
    ) -> KmFuture<'a, OAuthApplicationInfo> {
        Box::pin(async move {
            let managed = self.managed(consumer_key, "read").await?;
            let registered: Registered = self.read(&managed).await?;
            Ok(OAuthApplicationInfo {
                settings: registered.settings(None),
                consumer_key: registered.client_id,
                consumer_secret: None,
            })
        })
    }

    fn delete_application<'a>(&'a self, consumer_key: &'a str) -> KmFuture<'a, ()> {
        Box::pin(async move {
            // A client Portico holds no registration for is gone already (or was never made).
            let Some(managed) = self.registration_of(consumer_key).await? else {
                return Ok(());
            };
            self.delete_at_server(&managed).await?;
            self.forget(consumer_key).await
        })
    }

    fn map_oauth_application<'a>(
        &'a self,
        request: &'a MapRequest,
    ) -> KmFuture<'a, OAuthApplicationInfo> {
        Box::pin(async move {
            check_client_id(&request.consumer_key)?;
            let credentials =
                self.credentials(&request.consumer_key, &request.consumer_secret, &[]);
            let grant_types = match client_auth::prove(&self.remote, &credentials).await? {
                Proof::Granted(_) => vec![CLIENT_CREDENTIALS.to_string()],
                // The client authenticated; it is only not allowed this grant (or scope).
                Proof::Authenticated(_) => Vec::new(),
            };
            Ok(OAuthApplicationInfo {
                consumer_key: request.consumer_key.clone(),
                consumer_secret: None,
                settings: KeySettings {
                    grant_types,
                    ..KeySettings::default()
                },
            })
        })
    }

    fn delete_mapped_application<'a>(&'a self, _consumer_key: &'a str) -> KmFuture<'a, ()> {
        // The link is the key mapping, which the service drops; the client stays as it is.
        Box::pin(async { Ok(()) })
    }

    fn regenerate_secret<'a>(&'a self, consumer_key: &'a str) -> KmFuture<'a, SecretString> {
        Box::pin(async move {
            let managed = self
                .managed(consumer_key, "regenerate the secret of")
                .await?;
            let current: serde_json::Map<String, Value> = self.read(&managed).await?;
            let metadata = current
                .into_iter()
                .filter(|(name, _)| !SERVER_MANAGED.contains(&name.as_str()))
                .collect();
            let registered = self.put(consumer_key, &managed, metadata, false).await?;
            let new = registered.client_secret.map(SecretString::from);
            match (new, &managed.secret) {
                (Some(new), Some(old)) if new.expose_secret() != old.expose_secret() => Ok(new),
                (Some(new), None) => Ok(new),
                _ => Err(KeyManagerError::Unsupported(
                    "the key manager keeps the client's secret on RFC 7592 updates, so it cannot be regenerated from the portal".into(),
                )),
            }
        })
    }

    fn get_new_application_access_token<'a>(
        &'a self,
        request: &'a TokenRequest,
    ) -> KmFuture<'a, AccessToken> {
        Box::pin(async move {
            let credentials = self.credentials(
                &request.consumer_key,
                &request.consumer_secret,
                &request.scopes,
            );
            let token = match client_auth::client_credentials(&self.remote, &credentials).await? {
                Ok(token) => token,
                Err(refused) => return Err(token_refusal(refused)),
            };
            let expires_in = token
                .expires_in
                .map_or(0, |s| s.min(i64::MAX as u64) as i64);
            let scope = token.scope.unwrap_or_else(|| request.scopes.join(" "));
            Ok(AccessToken {
                access_token: token.access_token,
                token_type: "Bearer".into(),
                scope,
                expires_in,
                expires_at: db::now() + expires_in,
            })
        })
    }

    fn get_token_metadata<'a>(&'a self, token: &'a str) -> KmFuture<'a, TokenMetadata> {
        Box::pin(async move {
            let endpoint = self.introspection_endpoint.as_deref().ok_or_else(|| {
                KeyManagerError::Unsupported(
                    "this key manager has no introspection endpoint".into(),
                )
            })?;
            // RFC 7662 protects the endpoint as the server sees fit, and the contract names no
            // client here: Portico presents its registration user (HTTP Basic) when it has one.
            // An initial access token is for registrations only and is not sent elsewhere.
            let auth = match &self.registration {
                RegistrationAuth::Basic { username, password } => Auth::Basic {
                    username,
                    password: password.expose_secret(),
                },
                RegistrationAuth::Bearer(_) | RegistrationAuth::Open => Auth::None,
            };
            let reply = self
                .remote
                .send(
                    Method::POST,
                    endpoint,
                    auth,
                    Body::Form(&[("token", token)]),
                )
                .await?;
            introspection(reply.json::<Value>()?)
        })
    }

    fn revoke_token<'a>(&'a self, consumer_key: &'a str, token: &'a str) -> KmFuture<'a, ()> {
        Box::pin(async move {
            let endpoint = self.revocation_endpoint.clone().ok_or_else(|| {
                KeyManagerError::Unsupported("this key manager has no revocation endpoint".into())
            })?;
            let managed = self.managed(consumer_key, "revoke the tokens of").await?;
            let secret = managed.secret.ok_or_else(|| {
                KeyManagerError::Unsupported("a public client cannot revoke tokens".into())
            })?;
            let client = self
                .oauth_client(consumer_key, &secret)?
                .set_revocation_url(
                    RevocationUrl::new(endpoint)
                        .map_err(|_| unusable("the revocation endpoint is not a URL"))?,
                );
            let http = self.remote.oauth();
            let revocable = StandardRevocableToken::AccessToken(OAuthToken::new(token.into()));
            let outcome = client
                .revoke_token(revocable)
                .map_err(|e| KeyManagerError::Internal(e.to_string()))?
                .request_async(&http)
                .await;
            match outcome {
                Ok(()) => Ok(()),
                Err(error) => {
                    let answer = oauth_failure(error)?;
                    Err(KeyManagerError::Unavailable(format!(
                        "the revocation endpoint answered {answer}"
                    )))
                }
            }
        })
    }
}

/// What a refused client_credentials request of the portal means.
fn token_refusal(refused: client_auth::Refused) -> KeyManagerError {
    if refused.is_authentication_failure() {
        return KeyManagerError::InvalidCredentials;
    }
    match refused.error.as_str() {
        "invalid_scope" => KeyManagerError::Invalid {
            field: "scopes",
            message: "The key manager does not grant these scopes to these keys.".into(),
        },
        "unauthorized_client" => KeyManagerError::Conflict(
            "The key manager does not allow these keys the client_credentials grant.".into(),
        ),
        other => KeyManagerError::Unavailable(format!("the token endpoint answered {other}")),
    }
}

/// Reads an RFC 7662 answer.
fn introspection(answer: Value) -> KmResult<TokenMetadata> {
    let active = answer
        .get("active")
        .and_then(Value::as_bool)
        .ok_or_else(|| {
            KeyManagerError::Unavailable("the introspection answer has no `active`".into())
        })?;
    if !active {
        return Ok(TokenMetadata::inactive());
    }
    let text = |name: &str| answer.get(name).and_then(Value::as_str).map(str::to_string);
    Ok(TokenMetadata {
        active,
        client_id: text("client_id"),
        scope: text("scope"),
        expires_at: answer.get("exp").and_then(Value::as_i64),
        application_id: None,
        key_type: None,
    })
}

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

    #[test]
    fn client_ids_follow_rfc_6749_and_never_look_like_paths() {
        for good in [
            "s6BhdRkqt3",
            "a.b-c_d~e",
            "urn:client:42",
            "x%2Fy",
            &"a".repeat(255),
        ] {
            assert!(check_client_id(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            ".",
            "..",
            "...",
            "a/b",
            "/",
            "a\\b",
            "a b",
            "a\u{0}",
            "a\u{7f}",
            "a\tb",
            "é",
            &"a".repeat(256),
        ] {
            assert!(
                matches!(
                    check_client_id(bad),
                    Err(KeyManagerError::Invalid {
                        field: "consumer_key",
                        ..
                    })
                ),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn introspection_answers_are_read() {
        assert_eq!(
            introspection(json!({"active": false})).unwrap(),
            TokenMetadata::inactive()
        );
        let active = introspection(json!({"active": true, "client_id": "c", "exp": 5})).unwrap();
        assert_eq!(active.client_id.as_deref(), Some("c"));
        assert!(introspection(json!({"nothing": 1})).is_err());
    }
}
