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
//! Over 600 lines: the Management API client and the connector live together until issue #15
//! moves the HTTP shapes beside the shared remote layer.

use std::collections::HashMap;
use std::sync::{LazyLock, Mutex};
use std::time::{Duration, Instant};

use reqwest::Method;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};

use super::client_auth::{self, ClientAuth, Credentials, Granted, Proof, Refused};
use super::remote::{Auth, Body, Remote, Reply};
use super::{
    AUTH0_FIELDS, AccessToken, ClientRequest, ConnectorSpec, External, KeyManager, KeyManagerError,
    KmFuture, KmResult, MapRequest, OAuthApplicationInfo, Operation, TokenMetadata, TokenRequest,
};
use crate::db::models::key_managers::KeyManagerRow;
use crate::domain::keys::{KeyManagerKind, KeySettings};
use crate::domain::oauth::RedirectUri;

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

/// A management token is renewed this long before it expires (at most a tenth of its life).
const RENEW_BEFORE: Duration = Duration::from_secs(60);

/// One Auth0 tenant, as a key manager row configures it.
pub struct Auth0KeyManager {
    key_manager_id: i64,
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

// ---------------------------------------------------------------------------------------------
// The management token, shared by every request to one key manager.

struct CachedToken {
    token: SecretString,
    fresh_until: Instant,
}

/// Management tokens by key manager and configuration fingerprint (a changed secret, audience
/// or endpoint is a new entry; the secret appears only hashed in the key).
static MANAGEMENT_TOKENS: LazyLock<Mutex<HashMap<String, CachedToken>>> =
    LazyLock::new(|| Mutex::new(HashMap::new()));

fn tokens() -> std::sync::MutexGuard<'static, HashMap<String, CachedToken>> {
    // A panic while holding the lock leaves a map that is still valid.
    MANAGEMENT_TOKENS
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// How long a management token is used: its life less a margin (a tenth, at most a minute).
fn fresh_for(expires_in: u64) -> Duration {
    let life = Duration::from_secs(expires_in);
    life - (life / 10).min(RENEW_BEFORE)
}

impl Auth0KeyManager {
    fn cache_key(&self) -> String {
        let fingerprint = [
            self.key_manager_id.to_string().as_str(),
            &self.token_endpoint,
            &self.audience,
            &self.client_id,
            self.client_secret.expose_secret(),
        ]
        .join("\n");
        hex::encode(aws_lc_rs::digest::digest(
            &aws_lc_rs::digest::SHA256,
            fingerprint.as_bytes(),
        ))
    }

    /// The cached management token, or a new one.
    async fn management_token(&self) -> KmResult<SecretString> {
        let key = self.cache_key();
        if let Some(cached) = tokens().get(&key)
            && cached.fresh_until > Instant::now()
        {
            return Ok(cached.token.clone());
        }
        let audience = [("audience", self.audience.as_str())];
        let request = self.credentials(
            &self.client_id,
            &self.client_secret,
            ClientAuth::Post,
            &[],
            &audience,
        );
        let granted = client_auth::client_credentials(&self.remote, &request)
            .await?
            .map_err(
                |Refused {
                     error, description, ..
                 }| {
                    KeyManagerError::Unavailable(format!(
                        "Auth0 refused Portico's Management API client: {error} {}",
                        shown(&description)
                    ))
                },
            )?;
        // Auth0 always says; a day is its default.
        let fresh_until = Instant::now() + fresh_for(granted.expires_in.unwrap_or(86_400));
        let mut cache = tokens();
        let now = Instant::now();
        cache.retain(|_, cached| cached.fresh_until > now);
        cache.insert(
            key,
            CachedToken {
                token: granted.access_token.clone(),
                fresh_until,
            },
        );
        Ok(granted.access_token)
    }

    fn forget_management_token(&self) {
        tokens().remove(&self.cache_key());
    }

    /// A Management API call (`path` below the audience) with the management token; a token
    /// Auth0 no longer accepts is replaced once. 2xx answers their JSON (`Null` when empty).
    async fn management(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> KmResult<Value> {
        let url = format!("{}/{path}", self.audience.trim_end_matches('/'));
        let mut retried = false;
        loop {
            let token = self.management_token().await?;
            let reply = self
                .remote
                .send(
                    method.clone(),
                    &url,
                    Auth::Bearer(token.expose_secret()),
                    body.map_or(Body::Empty, Body::Json),
                )
                .await?;
            if reply.status == 401 && !retried {
                self.forget_management_token();
                retried = true;
                continue;
            }
            return judge(&reply);
        }
    }
}

/// The Management API's answer as a result. Auth0's error shape is
/// `{statusCode, error, message, errorCode}`: its `message` names the field of a refused value
/// (400, 422) and says what a conflict is (409); every other answer means what it means from any
/// key manager (`Reply::error_with`).
fn judge(reply: &Reply) -> KmResult<Value> {
    if reply.is_success() {
        if reply.body.iter().all(u8::is_ascii_whitespace) {
            return Ok(Value::Null);
        }
        return reply.json();
    }
    Err(reply.error_with(|reply| {
        let message = serde_json::from_slice::<Value>(&reply.body)
            .ok()
            .and_then(|v| v.get("message").and_then(Value::as_str).map(shown))
            .unwrap_or_default();
        match reply.status {
            400 | 422 if !message.is_empty() => Some(KeyManagerError::Invalid {
                field: field_of(&message),
                message: format!("Auth0 refused this: {message}"),
            }),
            409 => Some(KeyManagerError::Conflict(format!(
                "Auth0 refused this: {message}"
            ))),
            _ => None,
        }
    }))
}

/// At most 200 characters of a message from the key manager.
fn shown(message: &str) -> String {
    message.chars().take(200).collect()
}

/// The keys form field an Auth0 validation message is about (`keys` when none fits).
fn field_of(message: &str) -> &'static str {
    let message = message.to_ascii_lowercase();
    if message.contains("callbacks") {
        "callback_url"
    } else if message.contains("grant_types") {
        "grant_types"
    } else if message.contains("token_endpoint_auth_method") {
        "public_client"
    } else {
        "keys"
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
    let valid = !consumer_key.is_empty()
        && consumer_key.len() <= CLIENT_ID_MAX
        && consumer_key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_'));
    if valid {
        Ok(())
    } else {
        Err(KeyManagerError::Invalid {
            field: "consumer_key",
            message: format!(
                "An Auth0 client ID is made of letters and digits (and “-” or “_”), at most {CLIENT_ID_MAX} of them."
            ),
        })
    }
}

/// A client's Management API path: its ID checked, and percent-encoded as a path segment all
/// the same.
fn client_path(consumer_key: &str, suffix: &str) -> Option<String> {
    check_client_id(consumer_key).ok()?;
    let segment: String = url::form_urlencoded::byte_serialize(consumer_key.as_bytes()).collect();
    Some(format!("clients/{segment}{suffix}"))
}

fn strings(value: &Value) -> Vec<String> {
    value
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

fn registered(uris: Vec<String>) -> Vec<RedirectUri> {
    uris.into_iter().map(RedirectUri::registered).collect()
}

/// The settings an Auth0 client has, as the keys page shows them.
fn settings_of(client: &Value) -> KeySettings {
    KeySettings {
        grant_types: strings(&client["grant_types"]),
        callback_urls: registered(strings(&client["callbacks"])),
        public_client: client["token_endpoint_auth_method"] == "none",
        ..KeySettings::default()
    }
}

/// How a client authenticates at the token endpoint; `None` for a public client.
fn auth_of(client: &Value) -> Option<ClientAuth> {
    match client["token_endpoint_auth_method"].as_str() {
        Some("none") => None,
        Some("client_secret_basic") => Some(ClientAuth::Basic),
        _ => Some(ClientAuth::Post),
    }
}

fn not_found_as(error: KeyManagerError, instead: KeyManagerError) -> KeyManagerError {
    match error {
        KeyManagerError::NotFound => instead,
        other => other,
    }
}

impl Auth0KeyManager {
    /// Reads a client; `NotFound` when Auth0 does not know it.
    async fn client(&self, consumer_key: &str) -> KmResult<Value> {
        let path = client_path(consumer_key, "").ok_or(KeyManagerError::NotFound)?;
        self.management(Method::GET, &path, None).await
    }

    /// Deletes a client this request made, before answering `error`.
    async fn undo(&self, consumer_key: &str, error: KeyManagerError) -> KeyManagerError {
        if let Err(cause) = self.delete_client(consumer_key).await {
            tracing::error!(consumer_key, %cause, "an Auth0 client made for keys that could not be finished could not be deleted: delete it in Auth0");
        }
        error
    }

    async fn delete_client(&self, consumer_key: &str) -> KmResult<()> {
        let Some(path) = client_path(consumer_key, "") else {
            return Ok(());
        };
        match self.management(Method::DELETE, &path, None).await {
            Ok(_) | Err(KeyManagerError::NotFound) => Ok(()),
            Err(error) => Err(error),
        }
    }

    /// A token for a client with its own credentials, mapped onto the contract's errors:
    /// a wrong secret and an unknown client are both `InvalidCredentials`.
    async fn client_token(
        &self,
        consumer_key: &str,
        secret: &SecretString,
        auth: ClientAuth,
        scopes: &[String],
    ) -> KmResult<Granted> {
        let audience = [("audience", self.audience.as_str())];
        let request = self.credentials(consumer_key, secret, auth, scopes, &audience);
        client_auth::client_credentials(&self.remote, &request)
            .await?
            .map_err(|refused| self.refusal(refused))
    }

    /// Proves an out-of-band client by its own authentication (`client_auth::prove`); a client
    /// Auth0 authenticated but gives no token toward the audience is refused with the reason.
    async fn prove(
        &self,
        consumer_key: &str,
        secret: &SecretString,
        auth: ClientAuth,
    ) -> KmResult<()> {
        let audience = [("audience", self.audience.as_str())];
        let request = self.credentials(consumer_key, secret, auth, &[], &audience);
        match client_auth::prove(&self.remote, &request).await? {
            Proof::Granted(_) => Ok(()),
            Proof::Authenticated(refused) => Err(self.refusal(refused)),
        }
    }

    /// What Auth0's refusal of a client's token means for the portal. A failed authentication
    /// comes first: only after one succeeded may the answer say more about the client.
    fn refusal(&self, refused: Refused) -> KeyManagerError {
        if refused.is_authentication_failure() {
            return KeyManagerError::InvalidCredentials;
        }
        let description = refused.description.to_ascii_lowercase();
        match refused.error.as_str() {
            // Said only once the client has authenticated: it has no grant here.
            "access_denied"
                if description.contains("client-grant")
                    || description.contains("not authorized to access") =>
            {
                KeyManagerError::Invalid {
                    field: "consumer_key",
                    message: format!(
                        "This Auth0 client has no client grant for {}: ask the Auth0 administrator to grant it.",
                        self.audience
                    ),
                }
            }
            "unauthorized_client" => KeyManagerError::Invalid {
                field: "consumer_key",
                message: "This Auth0 client does not allow the client_credentials grant.".into(),
            },
            "access_denied" => KeyManagerError::InvalidCredentials,
            other => KeyManagerError::Unavailable(format!(
                "the token endpoint refused a client: {other} {}",
                shown(&description)
            )),
        }
    }

    /// The body of a create or update: what the portal's key settings say.
    fn client_fields(settings: &KeySettings, auth_method: &str) -> serde_json::Map<String, Value> {
        let mut fields = serde_json::Map::new();
        fields.insert("grant_types".into(), json!(settings.grant_types));
        fields.insert("callbacks".into(), json!(settings.callback_urls));
        fields.insert("token_endpoint_auth_method".into(), json!(auth_method));
        fields
    }
}

impl KeyManager for Auth0KeyManager {
    fn spec(&self) -> &'static ConnectorSpec {
        &SPEC
    }

    fn create_application<'a>(
        &'a self,
        request: &'a ClientRequest,
    ) -> KmFuture<'a, OAuthApplicationInfo> {
        Box::pin(async move {
            let public = request.settings.public_client;
            let mut body = Self::client_fields(
                &request.settings,
                if public { "none" } else { "client_secret_post" },
            );
            body.insert("name".into(), json!(client_name(request)));
            body.insert("app_type".into(), json!("non_interactive"));
            let created = self
                .management(Method::POST, "clients", Some(&Value::Object(body)))
                .await
                .map_err(|e| {
                    not_found_as(
                        e,
                        KeyManagerError::Unavailable("Auth0 answered 404 to a new client".into()),
                    )
                })?;
            let consumer_key = created["client_id"]
                .as_str()
                .filter(|id| client_path(id, "").is_some())
                .ok_or_else(|| {
                    KeyManagerError::Unavailable(
                        "Auth0 made a client without a usable client_id".into(),
                    )
                })?
                .to_string();
            let secret = created["client_secret"].as_str().map(SecretString::from);
            if secret.is_none() && !public {
                let error =
                    KeyManagerError::Unavailable("Auth0 made a client without a secret".into());
                return Err(self.undo(&consumer_key, error).await);
            }
            let grant = json!({
                "client_id": consumer_key,
                "audience": self.audience,
                "scope": [],
            });
            if let Err(error) = self
                .management(Method::POST, "client-grants", Some(&grant))
                .await
            {
                let error = not_found_as(
                    error,
                    KeyManagerError::Unavailable("Auth0 answered 404 to the client grant".into()),
                );
                return Err(self.undo(&consumer_key, error).await);
            }
            Ok(OAuthApplicationInfo {
                consumer_key,
                consumer_secret: secret,
                settings: request.settings.clone(),
            })
        })
    }

    fn update_application<'a>(
        &'a self,
        consumer_key: &'a str,
        request: &'a ClientRequest,
    ) -> KmFuture<'a, OAuthApplicationInfo> {
        Box::pin(async move {
            let current = self.client(consumer_key).await?;
            // A confidential client keeps its method (a mapped one may use Basic).
            let method = match (request.settings.public_client, auth_of(&current)) {
                (true, _) => "none",
                (false, None | Some(ClientAuth::Post)) => "client_secret_post",
                (false, Some(ClientAuth::Basic)) => "client_secret_basic",
            };
            let body = Value::Object(Self::client_fields(&request.settings, method));
            let path = client_path(consumer_key, "").ok_or(KeyManagerError::NotFound)?;
            let updated = self.management(Method::PATCH, &path, Some(&body)).await?;
            Ok(OAuthApplicationInfo {
                consumer_key: consumer_key.to_string(),
                consumer_secret: None,
                settings: KeySettings {
                    grant_types: strings(&updated["grant_types"]),
                    callback_urls: registered(strings(&updated["callbacks"])),
                    ..request.settings.clone()
                },
            })
        })
    }

    fn retrieve_application<'a>(
        &'a self,
        consumer_key: &'a str,
    ) -> KmFuture<'a, OAuthApplicationInfo> {
        Box::pin(async move {
            let client = self.client(consumer_key).await?;
            Ok(OAuthApplicationInfo {
                consumer_key: consumer_key.to_string(),
                consumer_secret: None,
                settings: settings_of(&client),
            })
        })
    }

    fn delete_application<'a>(&'a self, consumer_key: &'a str) -> KmFuture<'a, ()> {
        Box::pin(self.delete_client(consumer_key))
    }

    fn map_oauth_application<'a>(
        &'a self,
        request: &'a MapRequest,
    ) -> KmFuture<'a, OAuthApplicationInfo> {
        Box::pin(async move {
            let consumer_key = request.consumer_key.trim();
            check_client_id(consumer_key)?;
            let client = self
                .client(consumer_key)
                .await
                .map_err(|e| not_found_as(e, KeyManagerError::InvalidCredentials))?;
            // A public client has no secret to prove.
            let auth = auth_of(&client).ok_or(KeyManagerError::InvalidCredentials)?;
            // The proof: the client authenticates with this secret, as it would itself.
            self.prove(consumer_key, &request.consumer_secret, auth)
                .await?;
            Ok(OAuthApplicationInfo {
                consumer_key: consumer_key.to_string(),
                consumer_secret: None,
                settings: settings_of(&client),
            })
        })
    }

    fn delete_mapped_application<'a>(&'a self, _consumer_key: &'a str) -> KmFuture<'a, ()> {
        // The link is Portico's alone: the client stays in Auth0 as it was.
        Box::pin(async { Ok(()) })
    }

    fn regenerate_secret<'a>(&'a self, consumer_key: &'a str) -> KmFuture<'a, SecretString> {
        Box::pin(async move {
            let path =
                client_path(consumer_key, "/rotate-secret").ok_or(KeyManagerError::NotFound)?;
            let rotated = self.management(Method::POST, &path, None).await?;
            rotated["client_secret"]
                .as_str()
                .map(SecretString::from)
                .ok_or_else(|| {
                    KeyManagerError::Unavailable(
                        "Auth0 rotated a secret without returning it".into(),
                    )
                })
        })
    }

    fn get_new_application_access_token<'a>(
        &'a self,
        request: &'a TokenRequest,
    ) -> KmFuture<'a, AccessToken> {
        Box::pin(async move {
            let client = self
                .client(&request.consumer_key)
                .await
                .map_err(|e| not_found_as(e, KeyManagerError::InvalidCredentials))?;
            let auth = auth_of(&client).ok_or(KeyManagerError::InvalidCredentials)?;
            let granted = self
                .client_token(
                    &request.consumer_key,
                    &request.consumer_secret,
                    auth,
                    &request.scopes,
                )
                .await?;
            // Auth0 sets the lifetime on its API; the answer says what it is.
            let expires_in = granted.expires_in.unwrap_or(0).min(i64::MAX as u64) as i64;
            Ok(AccessToken {
                access_token: granted.access_token,
                token_type: "Bearer".into(),
                scope: granted.scope.unwrap_or_default(),
                expires_in,
                expires_at: crate::db::now() + expires_in,
            })
        })
    }

    fn get_token_metadata<'a>(&'a self, _token: &'a str) -> KmFuture<'a, TokenMetadata> {
        Box::pin(async {
            Err(KeyManagerError::Unsupported(
                "Auth0 offers no token introspection".into(),
            ))
        })
    }

    fn revoke_token<'a>(&'a self, _consumer_key: &'a str, _token: &'a str) -> KmFuture<'a, ()> {
        Box::pin(async {
            Err(KeyManagerError::Unsupported(
                "Auth0 revokes refresh tokens only, not access tokens".into(),
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::keys::KeyType;

    #[test]
    fn clients_are_named_owner_application_key_type_without_angle_brackets() {
        let request = |owner: &str, application: &str, key_type| ClientRequest {
            client_name: String::new(),
            application_id: 1,
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

    #[test]
    fn auth0_messages_name_the_keys_field_they_are_about() {
        assert_eq!(
            field_of(
                "Payload validation error: 'Object didn't pass validation for format absolute-uri-or-empty: x' on property callbacks[0]"
            ),
            "callback_url"
        );
        assert_eq!(field_of("... on property grant_types[1]"), "grant_types");
        assert_eq!(field_of("Something else"), "keys");
    }

    #[test]
    fn a_management_token_is_renewed_before_it_expires() {
        assert_eq!(fresh_for(86_400), Duration::from_secs(86_340));
        assert_eq!(fresh_for(10), Duration::from_secs(9));
        assert_eq!(fresh_for(0), Duration::ZERO);
    }

    #[test]
    fn management_answers_are_judged_by_auth0s_error_shape_then_the_generic_rules() {
        let reply = |status: u16, body: &str| Reply {
            url: "https://tenant.example/api/v2/clients".into(),
            status,
            content_type: "application/json".into(),
            body: body.as_bytes().to_vec(),
        };
        let auth0 = |status: u16, message: &str| {
            reply(
                status,
                &json!({"statusCode": status, "error": "Bad Request", "message": message})
                    .to_string(),
            )
        };
        assert_eq!(judge(&reply(204, " ")).unwrap(), Value::Null);
        assert!(matches!(
            judge(&auth0(400, "... on property callbacks[0]")),
            Err(KeyManagerError::Invalid {
                field: "callback_url",
                ..
            })
        ));
        assert!(matches!(
            judge(&auth0(409, "exists")),
            Err(KeyManagerError::Conflict(_))
        ));
        // Auth0's `error` is a status text, not an RFC 7591 code: never a field error.
        for status in [400, 429] {
            assert!(matches!(
                judge(&auth0(status, "")),
                Err(KeyManagerError::Unavailable(_))
            ));
        }
        assert!(matches!(
            judge(&auth0(404, "Not found")),
            Err(KeyManagerError::NotFound)
        ));
        assert!(matches!(
            judge(&auth0(403, "Insufficient scope")),
            Err(KeyManagerError::Unavailable(_))
        ));
        assert!(matches!(
            judge(&reply(200, "<html>")),
            Err(KeyManagerError::Unavailable(_))
        ));
    }

    #[test]
    fn settings_are_read_from_an_auth0_client() {
        let client = json!({
            "client_id": "abc",
            "grant_types": ["client_credentials", "authorization_code"],
            "callbacks": ["https://app.example/cb"],
            "token_endpoint_auth_method": "client_secret_basic",
        });
        let settings = settings_of(&client);
        assert_eq!(settings.grant_types.len(), 2);
        assert_eq!(settings.callback_urls, vec!["https://app.example/cb"]);
        assert!(!settings.public_client);
        assert_eq!(auth_of(&client), Some(ClientAuth::Basic));
        assert_eq!(
            auth_of(&json!({"token_endpoint_auth_method": "none"})),
            None
        );
    }
}
