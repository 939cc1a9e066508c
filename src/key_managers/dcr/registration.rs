//! The RFC 7591 and 7592 calls of the `dcr` and `fs` connectors, and the stored registration
//! they keep current: a client is registered at the registration endpoint (authenticated by the
//! key manager's initial access token, or its user name and password), then read, updated and
//! deleted at its configuration endpoint with its registration access token, which is saved
//! again whenever the server rotates it. Updates replay the consumer secret so that the server
//! keeps it; regenerating the secret is an update without it.

use reqwest::Method;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::super::remote::{Auth, Body};
use super::super::{ClientRequest, KeyManagerError, KmResult, OAuthApplicationInfo};
use super::DcrKeyManager;
use crate::db;
use crate::db::models::client_registrations::{ClientRegistration, Registration};
use crate::domain::keys::{AUTHORIZATION_CODE, KeySettings};
use crate::domain::oauth::RedirectUri;

/// The parts of an RFC 7591 / 7592 answer Portico reads (no `Debug`: it holds secrets).
#[derive(Deserialize)]
pub(super) struct Registered {
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

    /// The client as the contract answers it.
    fn info(
        self,
        asked: Option<&KeySettings>,
        secret: Option<SecretString>,
    ) -> OAuthApplicationInfo {
        OAuthApplicationInfo {
            settings: self.settings(asked),
            consumer_key: self.client_id,
            consumer_secret: secret,
        }
    }

    /// What Portico holds after this answer: `before`, with whatever the server rotated.
    fn rotated(&self, before: &Registration) -> Registration {
        let fresh = |value: &Option<String>| value.clone().map(SecretString::from);
        Registration {
            uri: self
                .registration_client_uri
                .clone()
                .unwrap_or_else(|| before.uri.clone()),
            token: fresh(&self.registration_access_token).unwrap_or_else(|| before.token.clone()),
            secret: fresh(&self.client_secret).or_else(|| before.secret.clone()),
        }
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

impl DcrKeyManager {
    /// The client metadata of a registration or an RFC 7592 update.
    async fn metadata(&self, request: &ClientRequest) -> KmResult<Map<String, Value>> {
        let settings = &request.settings;
        let mut metadata = Map::new();
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
            self.fs_metadata(settings, &mut metadata).await?;
        }
        Ok(metadata)
    }

    /// The registration of a client Portico made, opened; `None` for clients it did not make.
    pub(super) async fn registration_of(
        &self,
        consumer_key: &str,
    ) -> KmResult<Option<Registration>> {
        let (id, key) = (self.key_manager_id, consumer_key.to_string());
        let row = db::run(&self.context.pool, move |conn| {
            ClientRegistration::find(conn, id, &key).map_err(KeyManagerError::from)
        })
        .await?;
        row.map(|row| {
            row.open(&self.context.secret_box).map_err(|_| {
                KeyManagerError::Internal("a registration access token cannot be decrypted".into())
            })
        })
        .transpose()
    }

    /// The registration of a client Portico made, or the refusal for out-of-band clients.
    pub(super) async fn managed(&self, consumer_key: &str, what: &str) -> KmResult<Registration> {
        self.registration_of(consumer_key).await?.ok_or_else(|| {
            KeyManagerError::Unsupported(format!(
                "these keys were provided out-of-band, so Portico holds no registration access token to {what} them; do it at the key manager"
            ))
        })
    }

    async fn save(&self, consumer_key: &str, registration: &Registration) -> KmResult<()> {
        let (id, key, registration) = (
            self.key_manager_id,
            consumer_key.to_string(),
            registration.clone(),
        );
        let secret_box = self.context.secret_box.clone();
        db::run(&self.context.pool, move |conn| {
            ClientRegistration::save(conn, &secret_box, id, &key, &registration)
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

    /// RFC 7591 registration of a new client, kept as a registration Portico manages; a client
    /// that cannot be finished (no management, no secret, not saved) is deleted again.
    pub(super) async fn create(&self, request: &ClientRequest) -> KmResult<OAuthApplicationInfo> {
        let metadata = self.metadata(request).await?;
        let registered: Registered = self
            .remote
            .send(
                Method::POST,
                &self.registration_endpoint,
                self.registration.auth(),
                Body::Json(&Value::Object(metadata)),
            )
            .await?
            .json()?;
        let (Some(uri), Some(token)) = (
            registered.registration_client_uri.clone(),
            registered.registration_access_token.clone(),
        ) else {
            tracing::error!(
                consumer_key = %registered.client_id,
                "a key manager registered a client without RFC 7592 management; delete it there by hand"
            );
            return Err(KeyManagerError::Unavailable(format!(
                "the key manager registered client {} without a registration access token, so Portico cannot manage it",
                registered.client_id
            )));
        };
        let registration = Registration {
            uri,
            token: SecretString::from(token),
            secret: registered.client_secret.clone().map(SecretString::from),
        };
        // From here on the client exists: any failure deletes it again.
        let finished = async {
            if !request.settings.public_client && registration.secret.is_none() {
                return Err(KeyManagerError::Unavailable(
                    "the key manager registered a confidential client without a secret".into(),
                ));
            }
            self.save(&registered.client_id, &registration).await
        }
        .await;
        if let Err(error) = finished {
            if let Err(cause) = self.delete_at_server(&registration).await {
                tracing::error!(consumer_key = %registered.client_id, %cause, "a client whose registration failed could not be deleted");
            }
            let _ = self.forget(&registered.client_id).await;
            return Err(error);
        }
        Ok(registered.info(Some(&request.settings), registration.secret))
    }

    /// RFC 7592 update of a client Portico registered, to what the request asks.
    pub(super) async fn update(
        &self,
        consumer_key: &str,
        request: &ClientRequest,
    ) -> KmResult<OAuthApplicationInfo> {
        let managed = self.managed(consumer_key, "change").await?;
        let metadata = self.metadata(request).await?;
        let registered = self.put(consumer_key, &managed, metadata, true).await?;
        let mut info = registered.info(Some(&request.settings), None);
        info.consumer_key = consumer_key.to_string();
        Ok(info)
    }

    /// RFC 7592 read of a client Portico registered.
    pub(super) async fn retrieve(&self, consumer_key: &str) -> KmResult<OAuthApplicationInfo> {
        let managed = self.managed(consumer_key, "read").await?;
        let registered: Registered = self.read(&managed).await?;
        Ok(registered.info(None, None))
    }

    /// RFC 7592 delete of a client Portico registered; one it holds no registration for is
    /// gone already (or was never made).
    pub(super) async fn delete(&self, consumer_key: &str) -> KmResult<()> {
        let Some(managed) = self.registration_of(consumer_key).await? else {
            return Ok(());
        };
        self.delete_at_server(&managed).await?;
        self.forget(consumer_key).await
    }

    /// A new secret: an RFC 7592 update that does not replay the secret, which servers that
    /// rotate secrets answer with a new one (a server that does not is told so).
    pub(super) async fn new_secret(&self, consumer_key: &str) -> KmResult<SecretString> {
        let managed = self
            .managed(consumer_key, "regenerate the secret of")
            .await?;
        let current: Map<String, Value> = self.read(&managed).await?;
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
    }

    /// RFC 7592 GET of the client.
    async fn read<T: serde::de::DeserializeOwned>(&self, managed: &Registration) -> KmResult<T> {
        self.remote
            .json(Method::GET, &managed.uri, managed.auth(), Body::Empty)
            .await
    }

    /// RFC 7592 DELETE; a client the server no longer knows counts as deleted.
    async fn delete_at_server(&self, managed: &Registration) -> KmResult<()> {
        let reply = self
            .remote
            .send(Method::DELETE, &managed.uri, managed.auth(), Body::Empty)
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
        managed: &Registration,
        mut metadata: Map<String, Value>,
        replay_secret: bool,
    ) -> KmResult<Registered> {
        metadata.insert("client_id".into(), json!(consumer_key));
        if replay_secret && let Some(secret) = &managed.secret {
            metadata.insert("client_secret".into(), json!(secret.expose_secret()));
        }
        let registered: Registered = self
            .remote
            .send(
                Method::PUT,
                &managed.uri,
                managed.auth(),
                Body::Json(&Value::Object(metadata)),
            )
            .await?
            .json()?;
        self.save(consumer_key, &registered.rotated(managed))
            .await?;
        Ok(registered)
    }
}

/// The registration access token as the credential of an RFC 7592 request.
trait Bearer {
    fn auth(&self) -> Auth<'_>;
}

impl Bearer for Registration {
    fn auth(&self) -> Auth<'_> {
        Auth::Bearer(self.token.expose_secret())
    }
}
