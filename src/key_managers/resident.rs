//! The resident connector: the KeyManager contract over Portico's own authorization server,
//! in-process. Clients live in the registry of `oauth_server::clients`; tokens are signed with
//! the server's keys exactly as its token endpoint signs them. The registry has no columns for
//! application certificates or the regulatory flag: the key mapping keeps those.

use crate::db::DbConnection;
use actix_web::web;
use secrecy::{ExposeSecret, SecretString};

use super::{
    AccessToken, ClientRequest, ConnectorSpec, KeyManager, KeyManagerError, KmFuture, KmResult,
    MapRequest, OAuthApplicationInfo, Operation, TokenMetadata, TokenRequest,
};
use crate::db;
use crate::domain::ids::ApplicationId;
use crate::domain::keys::{CLIENT_CREDENTIALS, KeyManagerKind, KeySettings};
use crate::domain::oauth::RedirectUri;
use crate::oauth_server::clients::{ClientSettings, Lifetimes, OAuthClient};
use crate::oauth_server::grants::{self, Ask};
use crate::oauth_server::tokens::{access_claims, deny};
use crate::oauth_server::{AuthorizationServer, MAX_TOKEN_LIFETIME};

pub static SPEC: ConnectorSpec = ConnectorSpec {
    kind: KeyManagerKind::Resident,
    label: "Resident Key Manager (built in)",
    operations: Operation::ALL,
    fields: &[],
    application_fields: &[],
    max_token_validity: MAX_TOKEN_LIFETIME,
};

/// The resident authorization server as a key manager.
pub struct ResidentKeyManager {
    server: web::Data<AuthorizationServer>,
}

impl ResidentKeyManager {
    pub fn new(server: web::Data<AuthorizationServer>) -> Self {
        Self { server }
    }

    /// A call of the contract answered by `work` on the server's database (blocking pool).
    fn on_db<'a, T: Send + 'static>(
        &'a self,
        work: impl FnOnce(&mut DbConnection) -> KmResult<T> + Send + 'static,
    ) -> KmFuture<'a, T> {
        Box::pin(db::run(&self.server.pool, work))
    }
}

/// A client as the contract answers it when it was not just made (no secret).
fn info_of(client: OAuthClient) -> OAuthApplicationInfo {
    OAuthApplicationInfo {
        settings: settings_of(&client),
        consumer_key: client.client_id,
        consumer_secret: None,
    }
}

/// The settings a registry client has, as the keys page shows them.
fn settings_of(client: &OAuthClient) -> KeySettings {
    KeySettings {
        grant_types: client
            .grant_types
            .split(' ')
            .filter(|g| !g.is_empty())
            .map(str::to_string)
            .collect(),
        callback_urls: client
            .redirect_uris()
            .into_iter()
            .map(RedirectUri::registered)
            .collect(),
        pkce_mandatory: client.pkce_mandatory,
        pkce_support_plain: client.pkce_plain_allowed,
        public_client: client.public_client,
        regulatory: false,
        certificate: None,
    }
}

fn client_settings(request: &ClientRequest, lifetimes: Lifetimes) -> ClientSettings {
    let settings = &request.settings;
    ClientSettings {
        client_name: request.client_name.clone(),
        application_id: Some(request.application_id.get()),
        key_type: Some(request.key_type),
        grant_types: settings.grant_types.clone(),
        redirect_uris: settings
            .callback_urls
            .iter()
            .map(|u| u.to_string())
            .collect(),
        pkce_mandatory: settings.pkce_mandatory,
        pkce_plain_allowed: settings.pkce_support_plain,
        public_client: settings.public_client,
        resource_server: false,
        lifetimes,
        // Today's default: the server's configured algorithm (kept as it is on an update).
        id_token_algorithm: None,
    }
}

fn lifetimes_of(client: &OAuthClient) -> Lifetimes {
    Lifetimes {
        application_token: client.application_token_ttl,
        user_token: client.user_token_ttl,
        refresh_token: client.refresh_token_ttl,
        id_token: client.id_token_ttl,
    }
}

impl KeyManager for ResidentKeyManager {
    fn spec(&self) -> &'static ConnectorSpec {
        &SPEC
    }

    fn create_application<'a>(
        &'a self,
        request: &'a ClientRequest,
    ) -> KmFuture<'a, OAuthApplicationInfo> {
        let settings = client_settings(request, Lifetimes::default());
        let wanted = request.settings.clone();
        Box::pin(async move {
            let (client, secret) = db::run(&self.server.pool, move |conn| {
                db::write(conn, |conn| OAuthClient::register(conn, &settings))
                    .map_err(KeyManagerError::from)
            })
            .await?;
            Ok(OAuthApplicationInfo {
                consumer_key: client.client_id,
                consumer_secret: secret.map(SecretString::from),
                settings: wanted,
            })
        })
    }

    fn update_application<'a>(
        &'a self,
        consumer_key: &'a str,
        request: &'a ClientRequest,
    ) -> KmFuture<'a, OAuthApplicationInfo> {
        let consumer_key = consumer_key.to_string();
        let request = request.clone();
        self.on_db(move |conn| {
            db::write(conn, |conn| {
                let client =
                    OAuthClient::find(conn, &consumer_key)?.ok_or(KeyManagerError::NotFound)?;
                let mut settings = client_settings(&request, lifetimes_of(&client));
                // The link stays as it is: a mapped client keeps its application.
                settings.application_id = client.application_id;
                settings.key_type = client.key_type;
                settings.id_token_algorithm = client.id_token_signed_response_alg;
                OAuthClient::update(conn, &consumer_key, &settings)?;
                Ok(OAuthApplicationInfo {
                    consumer_key: consumer_key.clone(),
                    consumer_secret: None,
                    settings: request.settings.clone(),
                })
            })
        })
    }

    fn retrieve_application<'a>(
        &'a self,
        consumer_key: &'a str,
    ) -> KmFuture<'a, OAuthApplicationInfo> {
        let consumer_key = consumer_key.to_string();
        self.on_db(move |conn| {
            let client =
                OAuthClient::find(conn, &consumer_key)?.ok_or(KeyManagerError::NotFound)?;
            Ok(info_of(client))
        })
    }

    fn delete_application<'a>(&'a self, consumer_key: &'a str) -> KmFuture<'a, ()> {
        let consumer_key = consumer_key.to_string();
        self.on_db(move |conn| {
            OAuthClient::delete(conn, &consumer_key)?;
            Ok(())
        })
    }

    fn map_oauth_application<'a>(
        &'a self,
        request: &'a MapRequest,
    ) -> KmFuture<'a, OAuthApplicationInfo> {
        let consumer_key = request.consumer_key.clone();
        let secret = request.consumer_secret.clone();
        let (application_id, key_type) = (request.application_id, request.key_type);
        self.on_db(move |conn| {
            db::write(conn, |conn| {
                let client = OAuthClient::find(conn, &consumer_key)?
                    .ok_or(KeyManagerError::InvalidCredentials)?;
                if client.public_client || !client.secret_matches(secret.expose_secret()) {
                    return Err(KeyManagerError::InvalidCredentials);
                }
                // Only once the secret is proven may the caller learn anything more.
                if client.resource_server {
                    return Err(KeyManagerError::Conflict(
                        "This OAuth client is a gateway's and cannot be mapped to an application."
                            .into(),
                    ));
                }
                if client.application_id.is_some() {
                    return Err(KeyManagerError::Conflict(
                        "These OAuth keys are already mapped to an application.".into(),
                    ));
                }
                OAuthClient::link(
                    conn,
                    &consumer_key,
                    Some(application_id.get()),
                    Some(key_type),
                )?;
                Ok(info_of(client))
            })
        })
    }

    fn delete_mapped_application<'a>(&'a self, consumer_key: &'a str) -> KmFuture<'a, ()> {
        let consumer_key = consumer_key.to_string();
        self.on_db(move |conn| {
            OAuthClient::link(conn, &consumer_key, None, None)?;
            Ok(())
        })
    }

    fn regenerate_secret<'a>(&'a self, consumer_key: &'a str) -> KmFuture<'a, SecretString> {
        let consumer_key = consumer_key.to_string();
        self.on_db(move |conn| {
            OAuthClient::regenerate_secret(conn, &consumer_key)?
                .map(SecretString::from)
                .ok_or(KeyManagerError::NotFound)
        })
    }

    fn get_new_application_access_token<'a>(
        &'a self,
        request: &'a TokenRequest,
    ) -> KmFuture<'a, AccessToken> {
        let consumer_key = request.consumer_key.clone();
        let secret = request.consumer_secret.clone();
        let scopes = request.scopes.clone();
        let ttl = request.validity_period;
        Box::pin(async move {
            if !(1..=MAX_TOKEN_LIFETIME).contains(&ttl) {
                return Err(KeyManagerError::Invalid {
                    field: "validity_period",
                    message: format!(
                        "The validity period must be between 1 and {MAX_TOKEN_LIFETIME} seconds."
                    ),
                });
            }
            let server = self.server.clone();
            db::run(&self.server.pool, move |conn| {
                let client = OAuthClient::find_with_application(conn, &consumer_key)?
                    .ok_or(KeyManagerError::InvalidCredentials)?;
                if client.client.public_client
                    || !client.client.secret_matches(secret.expose_secret())
                {
                    return Err(KeyManagerError::InvalidCredentials);
                }
                if !client.client.allows_grant(CLIENT_CREDENTIALS) {
                    return Err(KeyManagerError::Conflict(
                        "These keys do not allow the client_credentials grant.".into(),
                    ));
                }
                // The same grant as the token endpoint's (no scopes: the documented default).
                let ask = Ask {
                    scopes: (!scopes.is_empty()).then_some(scopes.as_slice()),
                    resource: None,
                    roles: None,
                    fresh: true,
                };
                let client_id = &client.client.client_id;
                let grant =
                    grants::decide(&client.entitlement, &server.issuer, client_id, &ask, |n| {
                        grants::declared(conn, n)
                    })
                    .map_err(|e| KeyManagerError::Invalid {
                        field: "scopes",
                        message: e.description,
                    })?;
                let claims = access_claims(&server.issuer, &client, client_id, &grant, ttl);
                let token = server.keys.sign("at+jwt", &claims);
                Ok(AccessToken {
                    access_token: SecretString::from(token),
                    token_type: "Bearer".into(),
                    scope: claims.scope,
                    expires_in: ttl,
                    expires_at: claims.exp,
                })
            })
            .await
        })
    }

    fn get_token_metadata<'a>(&'a self, token: &'a str) -> KmFuture<'a, TokenMetadata> {
        let token = token.to_string();
        let server = self.server.clone();
        self.on_db(move |conn| {
            Ok(match server.verify_access_token(conn, &token)? {
                Some(claims) => TokenMetadata {
                    active: true,
                    client_id: Some(claims.client_id),
                    scope: Some(claims.scope),
                    expires_at: Some(claims.exp),
                    application_id: claims.application.map(|a| ApplicationId(a.id)),
                    key_type: claims.key_type,
                },
                None => TokenMetadata::inactive(),
            })
        })
    }

    fn revoke_token<'a>(&'a self, consumer_key: &'a str, token: &'a str) -> KmFuture<'a, ()> {
        let consumer_key = consumer_key.to_string();
        let token = token.to_string();
        let server = self.server.clone();
        self.on_db(move |conn| {
            if let Some(claims) = server.verify_access_token(conn, &token)?
                && claims.client_id == consumer_key
            {
                deny(conn, &claims.jti, claims.exp)?;
            }
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::config::SigningAlgorithm;
    use crate::domain::keys::KeyType;
    use crate::security::secret_box::SecretBox;

    async fn resident() -> (tempfile::TempDir, ResidentKeyManager) {
        let dir = tempfile::tempdir().unwrap();
        let pool = db::connect(&dir.path().join("resident.db")).unwrap();
        let secret_box = Arc::new(SecretBox::new(&[3u8; 32]));
        let server = AuthorizationServer::start(
            pool,
            "https://portal.example".into(),
            secret_box,
            SigningAlgorithm::Es256,
        )
        .await
        .unwrap();
        (dir, ResidentKeyManager::new(web::Data::new(server)))
    }

    fn request() -> ClientRequest {
        ClientRequest {
            client_name: "Wallet (Production)".into(),
            owner: "tpp".into(),
            application_name: "Wallet".into(),
            // No application row: the registry's link is checked by the integration tests.
            application_id: ApplicationId(0),
            key_type: KeyType::Production,
            settings: KeySettings {
                grant_types: vec![CLIENT_CREDENTIALS.into()],
                ..Default::default()
            },
        }
    }

    #[actix_web::test]
    async fn the_resident_connector_keeps_the_contract() {
        let (_dir, resident) = resident().await;
        // Foreign keys are on: an unknown application cannot own a client.
        assert!(matches!(
            resident.create_application(&request()).await,
            Err(KeyManagerError::Internal(_))
        ));
        let conn = &mut resident.server.pool.get().unwrap();
        let (client, secret) = OAuthClient::register(
            conn,
            &ClientSettings {
                application_id: None,
                key_type: None,
                ..client_settings(&request(), Lifetimes::default())
            },
        )
        .unwrap();
        let key = client.client_id;
        let secret = SecretString::from(secret.unwrap());

        let token = |secret: &SecretString| TokenRequest {
            consumer_key: key.clone(),
            consumer_secret: secret.clone(),
            // A known scope an application token does not carry (no person): left out.
            scopes: crate::domain::oauth::Scopes::parse("openid").unwrap(),
            validity_period: 120,
        };
        assert!(matches!(
            resident
                .get_new_application_access_token(&token(&SecretString::from("wrong")))
                .await,
            Err(KeyManagerError::InvalidCredentials)
        ));
        let issued = resident
            .get_new_application_access_token(&token(&secret))
            .await
            .unwrap();
        assert_eq!((issued.expires_in, issued.scope.as_str()), (120, ""));
        let jwt = issued.access_token.expose_secret().to_string();
        let metadata = resident.get_token_metadata(&jwt).await.unwrap();
        assert!(metadata.active);
        assert_eq!(metadata.client_id.as_deref(), Some(key.as_str()));
        assert_eq!(
            resident.get_token_metadata("garbage").await.unwrap(),
            TokenMetadata::inactive()
        );

        // Another client's revocation leaves the token alone; its own revokes it.
        resident.revoke_token("someone-else", &jwt).await.unwrap();
        assert!(resident.get_token_metadata(&jwt).await.unwrap().active);
        resident.revoke_token(&key, &jwt).await.unwrap();
        assert!(!resident.get_token_metadata(&jwt).await.unwrap().active);

        let retrieved = resident.retrieve_application(&key).await.unwrap();
        assert_eq!(retrieved.settings.grant_types, vec![CLIENT_CREDENTIALS]);
        let fresh = resident.regenerate_secret(&key).await.unwrap();
        assert!(matches!(
            resident
                .get_new_application_access_token(&token(&secret))
                .await,
            Err(KeyManagerError::InvalidCredentials)
        ));
        assert!(
            resident
                .get_new_application_access_token(&token(&fresh))
                .await
                .is_ok()
        );

        resident.delete_application(&key).await.unwrap();
        resident
            .delete_application(&key)
            .await
            .expect("deleting a deleted client succeeds");
        assert!(matches!(
            resident.retrieve_application(&key).await,
            Err(KeyManagerError::NotFound)
        ));
        assert!(matches!(
            resident.regenerate_secret(&key).await,
            Err(KeyManagerError::NotFound)
        ));
    }
}
