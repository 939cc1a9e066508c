//! What the `auth0` connector does with applications' clients through the Management API:
//! create one (`non_interactive`, with a client grant toward the audience, or nothing is left
//! behind), update, read and delete it, rotate its secret, and prove an out-of-band client and
//! get tokens by the client's own client_credentials, read in Auth0's dialect.

use reqwest::Method;
use secrecy::SecretString;
use serde_json::{Value, json};

use super::super::client_auth::{self, ClientAuth, Granted, Proof, Refused};
use super::super::{
    AccessToken, ClientRequest, KeyManagerError, KmResult, MapRequest, OAuthApplicationInfo,
    TokenRequest,
};
use super::super::{ConnectorSpec, TokenMetadata};
use super::management::shown;
use super::{Auth0KeyManager, SPEC, check_client_id, client_name, client_path};
use crate::domain::keys::KeySettings;
use crate::domain::oauth::RedirectUri;

/// Redirect URIs as Auth0 holds them for a client.
fn registered(uris: Vec<String>) -> Vec<RedirectUri> {
    uris.into_iter().map(RedirectUri::registered).collect()
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
    pub(super) async fn client(&self, consumer_key: &str) -> KmResult<Value> {
        let path = client_path(consumer_key, "").ok_or(KeyManagerError::NotFound)?;
        self.management(Method::GET, &path, None).await
    }

    /// Deletes a client this request made, before answering `error`.
    async fn undo(&self, consumer_key: &str, error: KeyManagerError) -> KeyManagerError {
        if let Err(cause) = self.delete(consumer_key).await {
            tracing::error!(consumer_key, %cause, "an Auth0 client made for keys that could not be finished could not be deleted: delete it in Auth0");
        }
        error
    }

    pub(super) async fn delete(&self, consumer_key: &str) -> KmResult<()> {
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

impl Auth0KeyManager {
    /// A new client for an application's keys, with its client grant toward the audience.
    pub(super) async fn create(&self, request: &ClientRequest) -> KmResult<OAuthApplicationInfo> {
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
            let error = KeyManagerError::Unavailable("Auth0 made a client without a secret".into());
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
    }

    /// Changes a client to what the request asks; a confidential client keeps its method.
    pub(super) async fn update(
        &self,
        consumer_key: &str,
        request: &ClientRequest,
    ) -> KmResult<OAuthApplicationInfo> {
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
    }

    /// A client as Auth0 holds it.
    pub(super) async fn retrieve(&self, consumer_key: &str) -> KmResult<OAuthApplicationInfo> {
        let client = self.client(consumer_key).await?;
        Ok(OAuthApplicationInfo {
            consumer_key: consumer_key.to_string(),
            consumer_secret: None,
            settings: settings_of(&client),
        })
    }

    /// Proves an out-of-band client: Auth0 knows it, and it authenticates with this secret.
    pub(super) async fn map(&self, request: &MapRequest) -> KmResult<OAuthApplicationInfo> {
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
    }

    /// Auth0's secret rotation.
    pub(super) async fn new_secret(&self, consumer_key: &str) -> KmResult<SecretString> {
        let path = client_path(consumer_key, "/rotate-secret").ok_or(KeyManagerError::NotFound)?;
        let rotated = self.management(Method::POST, &path, None).await?;
        rotated["client_secret"]
            .as_str()
            .map(SecretString::from)
            .ok_or_else(|| {
                KeyManagerError::Unavailable("Auth0 rotated a secret without returning it".into())
            })
    }

    /// An access token for the portal, by the client's own client_credentials (Auth0 sets the
    /// lifetime on its API; the answer says what it is).
    pub(super) async fn token(&self, request: &TokenRequest) -> KmResult<AccessToken> {
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
                request.scopes.as_slice(),
            )
            .await?;
        Ok(granted.into_access_token(String::new()))
    }
}

impl Auth0KeyManager {
    pub(super) fn declaration(&self) -> &'static ConnectorSpec {
        &SPEC
    }

    pub(super) async fn introspect(&self, _token: &str) -> KmResult<TokenMetadata> {
        Err(KeyManagerError::Unsupported(
            "Auth0 offers no token introspection".into(),
        ))
    }

    pub(super) async fn revoke(&self, _consumer_key: &str, _token: &str) -> KmResult<()> {
        Err(KeyManagerError::Unsupported(
            "Auth0 revokes refresh tokens only, not access tokens".into(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
