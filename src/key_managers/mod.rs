//! The KeyManager contract: what Portico asks of any authorization server that issues its
//! applications' OAuth2 clients — create, update, retrieve and delete a client, map an existing
//! client (out-of-band provisioning) and unmap it, regenerate its secret, get an access token
//! for it, introspect and revoke tokens. One connector per kind of key manager implements it:
//! `resident` (Portico's own authorization server, in-process), `dcr` and `fs` (any RFC
//! 7591/7592 server, and its open-banking profile) and `auth0` (the Auth0 Management API); the
//! external ones reach their servers through `remote` only. Each connector declares the
//! operations it supports and its configuration fields in a static `ConnectorSpec`, from which
//! the admin form is drawn. Services never hold a database transaction across these calls.

pub mod auth0;
pub mod client_auth;
pub mod dcr;
pub mod discovery;
pub mod remote;
pub mod resident;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use secrecy::SecretString;

use crate::db::models::key_managers::{KeyManagerRow, PermissionType};
use crate::db::models::users::User;
use crate::db::{DbError, DbPool};
use crate::domain::keys::{KeyManagerKind, KeySettings, KeyType};
use crate::domain::oauth::{ConsumerKey, Scopes};
use crate::security::secret_box::SecretBox;

pub use crate::domain::connector_fields::{ConnectorField, FieldKind, connector_fields};

/// Why a key manager did not do what was asked. The web layer turns each into a page: field
/// errors and credentials into 422, conflicts into 409, an unreachable key manager into 502, a
/// slow one into 504.
#[derive(Debug, thiserror::Error)]
pub enum KeyManagerError {
    /// The key manager refused a value; `field` names the form field it belongs to.
    #[error("invalid {field}: {message}")]
    Invalid {
        field: &'static str,
        message: String,
    },
    /// A wrong secret or an unknown client: the two are never told apart.
    #[error("the consumer key and secret do not match a client")]
    InvalidCredentials,
    /// The client exists but cannot be used so (already mapped to an application, a gateway...).
    #[error("conflict: {0}")]
    Conflict(String),
    /// The client is not (or no longer) known to the key manager.
    #[error("the client is not known to the key manager")]
    NotFound,
    /// The key manager could not be reached, or answered with an error or nonsense.
    #[error("the key manager is unavailable: {0}")]
    Unavailable(String),
    /// The key manager did not answer in time.
    #[error("the key manager did not answer in time")]
    Timeout,
    /// The connector does not offer this operation.
    #[error("not supported: {0}")]
    Unsupported(String),
    /// Something broke on Portico's side.
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<DbError> for KeyManagerError {
    fn from(error: DbError) -> Self {
        KeyManagerError::Internal(error.to_string())
    }
}

impl From<diesel::result::Error> for KeyManagerError {
    fn from(error: diesel::result::Error) -> Self {
        KeyManagerError::Internal(error.to_string())
    }
}

/// The operations of the contract, as connectors declare them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    CreateApplication,
    UpdateApplication,
    RetrieveApplication,
    DeleteApplication,
    MapOAuthApplication,
    DeleteMappedApplication,
    RegenerateSecret,
    GetNewApplicationAccessToken,
    GetTokenMetadata,
    RevokeToken,
}

impl Operation {
    pub const ALL: &'static [Operation] = &[
        Operation::CreateApplication,
        Operation::UpdateApplication,
        Operation::RetrieveApplication,
        Operation::DeleteApplication,
        Operation::MapOAuthApplication,
        Operation::DeleteMappedApplication,
        Operation::RegenerateSecret,
        Operation::GetNewApplicationAccessToken,
        Operation::GetTokenMetadata,
        Operation::RevokeToken,
    ];

    /// Every operation but introspection and revocation, the two a key manager may offer the
    /// portal no endpoint for.
    pub const WITHOUT_TOKEN_INSPECTION: &'static [Operation] =
        match Operation::ALL.split_last_chunk::<2>() {
            Some((rest, [Operation::GetTokenMetadata, Operation::RevokeToken])) => rest,
            _ => panic!("introspection and revocation are the last operations of ALL"),
        };

    pub fn label(self) -> &'static str {
        match self {
            Operation::CreateApplication => "generate keys",
            Operation::UpdateApplication => "update keys",
            Operation::RetrieveApplication => "read keys",
            Operation::DeleteApplication => "delete keys",
            Operation::MapOAuthApplication => "provide existing OAuth keys",
            Operation::DeleteMappedApplication => "unlink provided keys",
            Operation::RegenerateSecret => "regenerate the consumer secret",
            Operation::GetNewApplicationAccessToken => "generate access tokens",
            Operation::GetTokenMetadata => "introspect tokens",
            Operation::RevokeToken => "revoke tokens",
        }
    }
}

/// What a kind of connector is and offers.
#[derive(Debug)]
pub struct ConnectorSpec {
    pub kind: KeyManagerKind,
    pub label: &'static str,
    pub operations: &'static [Operation],
    /// The connector's configuration fields (admin form).
    pub fields: &'static [ConnectorField],
    /// Extra application fields the connector takes on the generate form.
    pub application_fields: &'static [ConnectorField],
    /// The longest access token validity, in seconds, the portal may ask for.
    pub max_token_validity: i64,
}

impl ConnectorSpec {
    pub fn supports(&self, operation: Operation) -> bool {
        self.operations.contains(&operation)
    }
}

/// The declaration of each kind that has a connector in this version.
pub fn spec(kind: KeyManagerKind) -> Option<&'static ConnectorSpec> {
    match kind {
        KeyManagerKind::Resident => Some(&resident::SPEC),
        KeyManagerKind::Dcr => Some(&dcr::DCR_SPEC),
        KeyManagerKind::Fs => Some(&dcr::FS_SPEC),
        KeyManagerKind::Auth0 => Some(&auth0::SPEC),
    }
}

/// The client an application asks for (create) or changes to (update).
#[derive(Debug, Clone)]
pub struct ClientRequest {
    pub client_name: String,
    pub application_id: i64,
    /// The application's name and its owner's user name (external connectors name their
    /// clients `<owner>_<application>_<KEYTYPE>`, as the reference product does).
    pub application_name: String,
    pub owner: String,
    pub key_type: KeyType,
    pub settings: KeySettings,
}

impl ClientRequest {
    /// `<owner>_<application>_<KEYTYPE>`: the client name external key managers register.
    pub fn registration_name(&self) -> String {
        format!(
            "{}_{}_{}",
            self.owner,
            self.application_name,
            self.key_type.as_str()
        )
    }
}

/// A client as the key manager holds it. The secret is there only in the answer that made it.
#[derive(Debug)]
pub struct OAuthApplicationInfo {
    pub consumer_key: String,
    pub consumer_secret: Option<SecretString>,
    pub settings: KeySettings,
}

/// An existing client to map onto an application (out-of-band provisioning).
#[derive(Debug)]
pub struct MapRequest {
    pub consumer_key: ConsumerKey,
    pub consumer_secret: SecretString,
    pub application_id: i64,
    pub key_type: KeyType,
}

/// An access token asked for from the portal (client_credentials).
#[derive(Debug)]
pub struct TokenRequest {
    pub consumer_key: String,
    pub consumer_secret: SecretString,
    pub scopes: Scopes,
    pub validity_period: i64,
}

#[derive(Debug)]
pub struct AccessToken {
    pub access_token: SecretString,
    pub token_type: String,
    pub scope: String,
    pub expires_in: i64,
    /// Unix seconds.
    pub expires_at: i64,
}

/// What introspection tells about a token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenMetadata {
    pub active: bool,
    pub client_id: Option<String>,
    pub scope: Option<String>,
    pub expires_at: Option<i64>,
    pub application_id: Option<i64>,
    pub key_type: Option<String>,
}

impl TokenMetadata {
    pub fn inactive() -> Self {
        Self {
            active: false,
            client_id: None,
            scope: None,
            expires_at: None,
            application_id: None,
            key_type: None,
        }
    }
}

pub type KmResult<T> = Result<T, KeyManagerError>;
/// The future every operation returns (boxed, so that `dyn KeyManager` works).
pub type KmFuture<'a, T> = Pin<Box<dyn Future<Output = KmResult<T>> + Send + 'a>>;

/// The contract. `create_application` either returns the client it made or leaves nothing
/// behind: a connector whose registration succeeded but whose later step failed deletes what it
/// made before answering the error. `delete_application` of a client that is already gone
/// succeeds.
pub trait KeyManager: Send + Sync {
    fn spec(&self) -> &'static ConnectorSpec;

    fn supports(&self, operation: Operation) -> bool {
        self.spec().supports(operation)
    }

    fn create_application<'a>(
        &'a self,
        request: &'a ClientRequest,
    ) -> KmFuture<'a, OAuthApplicationInfo>;

    fn update_application<'a>(
        &'a self,
        consumer_key: &'a str,
        request: &'a ClientRequest,
    ) -> KmFuture<'a, OAuthApplicationInfo>;

    fn retrieve_application<'a>(
        &'a self,
        consumer_key: &'a str,
    ) -> KmFuture<'a, OAuthApplicationInfo>;

    fn delete_application<'a>(&'a self, consumer_key: &'a str) -> KmFuture<'a, ()>;

    /// Verifies that the client exists and the secret is right, then links it to the
    /// application. Wrong secret and unknown client both answer `InvalidCredentials`.
    fn map_oauth_application<'a>(
        &'a self,
        request: &'a MapRequest,
    ) -> KmFuture<'a, OAuthApplicationInfo>;

    /// Unlinks a mapped client locally: it stays at the key manager and can be mapped again.
    fn delete_mapped_application<'a>(&'a self, consumer_key: &'a str) -> KmFuture<'a, ()>;

    /// A new secret; the old one stops working.
    fn regenerate_secret<'a>(&'a self, consumer_key: &'a str) -> KmFuture<'a, SecretString>;

    fn get_new_application_access_token<'a>(
        &'a self,
        request: &'a TokenRequest,
    ) -> KmFuture<'a, AccessToken>;

    fn get_token_metadata<'a>(&'a self, token: &'a str) -> KmFuture<'a, TokenMetadata>;

    /// Revokes one of the client's tokens (another client's token is left alone).
    fn revoke_token<'a>(&'a self, consumer_key: &'a str, token: &'a str) -> KmFuture<'a, ()>;
}

/// Makes the connector of a key manager row.
#[derive(Clone)]
pub struct Connectors {
    resident: Arc<dyn KeyManager>,
    /// What external connectors are built with; `None` leaves only the resident one.
    external: Option<External>,
}

/// What an external connector needs besides its row: Portico's database (registrations), the
/// box its connector secrets are sealed in, and whether key-manager URLs may be loopback or
/// private (`allow_private_km_urls`).
#[derive(Clone)]
pub struct External {
    pub pool: DbPool,
    pub secret_box: Arc<SecretBox>,
    pub allow_private: bool,
}

impl Connectors {
    /// Connectors whose resident key manager is `resident` (tests hand in a stub).
    pub fn new(resident: Arc<dyn KeyManager>) -> Self {
        Self {
            resident,
            external: None,
        }
    }

    /// Lets the connectors build external key managers with Portico's database, secret box and
    /// outbound setting.
    pub fn with_external(mut self, context: External) -> Self {
        self.external = Some(context);
        self
    }

    /// The connector of a row. The resident one is shared; an external one is built from the
    /// row's configuration (cheap: no I/O) for the request at hand.
    pub fn connector(&self, key_manager: &KeyManagerRow) -> KmResult<Arc<dyn KeyManager>> {
        match (key_manager.kind, &self.external) {
            (KeyManagerKind::Resident, _) => Ok(self.resident.clone()),
            (KeyManagerKind::Auth0, Some(external)) => Ok(Arc::new(
                auth0::Auth0KeyManager::from_row(key_manager, external)?,
            )),
            (KeyManagerKind::Dcr | KeyManagerKind::Fs, Some(external)) => Ok(Arc::new(
                dcr::DcrKeyManager::from_row(key_manager, external)?,
            )),
            (other, _) => Err(KeyManagerError::Unsupported(format!(
                "this version of Portico has no {other} connector"
            ))),
        }
    }
}

impl Connectors {
    /// The connectors of a running Portico: the resident one talks to its authorization server.
    pub fn of(server: actix_web::web::Data<crate::oauth_server::AuthorizationServer>) -> Self {
        Self::new(Arc::new(resident::ResidentKeyManager::new(server)))
    }
}

impl actix_web::FromRequest for Connectors {
    type Error = actix_web::Error;
    type Future = std::future::Ready<Result<Self, Self::Error>>;

    fn from_request(req: &actix_web::HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        use actix_web::web::Data;
        let server = req.app_data::<Data<crate::oauth_server::AuthorizationServer>>();
        let settings = req.app_data::<Data<crate::config::Settings>>();
        std::future::ready(match (server, settings) {
            (Some(server), Some(settings)) => {
                let context = External {
                    pool: server.pool.clone(),
                    secret_box: server.secret_box(),
                    allow_private: settings.allow_private_km_urls,
                };
                Ok(Connectors::of(server.clone()).with_external(context))
            }
            _ => Err(actix_web::error::ErrorInternalServerError(
                "the authorization server and settings are app data",
            )),
        })
    }
}

/// Whether a user may use a key manager: it is enabled, its configuration reads, and its
/// permissions let the user in through the roles administrators gave them (PUBLIC: everyone;
/// ALLOW: only users with one of the listed roles; DENY: everyone but them). Administrators
/// always may use an enabled key manager. Every keys route asks this.
pub fn may_use(user: &User, roles: &[String], key_manager: &KeyManagerRow) -> bool {
    if !key_manager.enabled {
        return false;
    }
    let Ok(config) = key_manager.config() else {
        tracing::warn!(key_manager = %key_manager.name, "the key manager's configuration cannot be read");
        return false;
    };
    if user.is_admin() {
        return true;
    }
    let listed = config.permission_roles.iter().any(|r| roles.contains(r));
    match config.permission_type {
        PermissionType::Public => true,
        PermissionType::Allow => listed,
        PermissionType::Deny => !listed,
    }
}
