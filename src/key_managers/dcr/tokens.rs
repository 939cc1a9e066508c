//! The token side of the `dcr` and `fs` connectors: access tokens for the portal
//! (client_credentials with the client's own secret), the proof of an out-of-band client, RFC
//! 7662 introspection and RFC 7009 revocation (through the `oauth2` crate over
//! `remote::OAuthHttp`).

use oauth2::basic::BasicClient;
use oauth2::{
    AccessToken as OAuthToken, ClientId, ClientSecret, RevocationUrl, StandardRevocableToken,
    TokenUrl,
};
use reqwest::Method;
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;

use super::super::client_auth::{self, ClientAuth, Credentials, Proof};
use super::super::remote::{Auth, Body, oauth_failure};
use super::super::{
    AccessToken, KeyManagerError, KmResult, MapRequest, OAuthApplicationInfo, TokenMetadata,
    TokenRequest,
};
use super::{DcrKeyManager, RegistrationAuth, check_client_id, unusable};
use crate::domain::keys::{CLIENT_CREDENTIALS, KeySettings};

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

impl DcrKeyManager {
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

    /// Proves an out-of-band client by a real client authentication at the token endpoint.
    pub(super) async fn map(&self, request: &MapRequest) -> KmResult<OAuthApplicationInfo> {
        check_client_id(&request.consumer_key)?;
        let credentials = self.credentials(&request.consumer_key, &request.consumer_secret, &[]);
        let grant_types = match client_auth::prove(&self.remote, &credentials).await? {
            Proof::Granted(_) => vec![CLIENT_CREDENTIALS.to_string()],
            // The client authenticated; it is only not allowed this grant (or scope).
            Proof::Authenticated(_) => Vec::new(),
        };
        Ok(OAuthApplicationInfo {
            consumer_key: request.consumer_key.to_string(),
            consumer_secret: None,
            settings: KeySettings {
                grant_types,
                ..KeySettings::default()
            },
        })
    }

    /// An access token for the portal, by the client's own client_credentials.
    pub(super) async fn token(&self, request: &TokenRequest) -> KmResult<AccessToken> {
        let credentials = self.credentials(
            &request.consumer_key,
            &request.consumer_secret,
            request.scopes.as_slice(),
        );
        let granted = client_auth::client_credentials(&self.remote, &credentials)
            .await?
            .map_err(token_refusal)?;
        Ok(granted.into_access_token(request.scopes.to_param()))
    }

    /// RFC 7662 introspection at the key manager's introspection endpoint.
    pub(super) async fn introspect(&self, token: &str) -> KmResult<TokenMetadata> {
        let endpoint = self.introspection_endpoint.as_deref().ok_or_else(|| {
            KeyManagerError::Unsupported("this key manager has no introspection endpoint".into())
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
    }

    /// RFC 7009 revocation of one of a client's tokens, with the client's own secret.
    pub(super) async fn revoke(&self, consumer_key: &str, token: &str) -> KmResult<()> {
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
    use serde_json::json;

    use super::*;

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
