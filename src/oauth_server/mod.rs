//! The resident authorization server ("resident key manager"): Portico's own OAuth2 / OpenID
//! Connect provider. Token, introspection, revocation, JWKS, userinfo and discovery are outside
//! the session and CSRF layers (they authenticate clients, not cookies); the authorization
//! endpoint and its consent page are HTML routes like any other.

pub mod authorize;
pub mod client_auth;
pub mod client_cache;
pub mod clients;
pub mod codes;
pub mod cors;
pub mod end_session;
pub mod error;
pub mod grants;
pub mod introspect;
pub mod keys;
pub mod metadata;
pub mod params;
pub mod prompt;
pub mod revoke;
pub mod token;
pub mod tokens;
pub mod userinfo;

use crate::db::DbConnection;
use crate::domain::ids::UserId;
use std::sync::Arc;
use std::time::Duration;

use actix_web::web;

use diesel::QueryResult;

use crate::db::changes::Change;

use crate::config::SigningAlgorithm;
use crate::db::{self, DbError, DbPool};
use crate::security::secret_box::SecretBox;
use client_auth::Credentials;
use client_cache::ClientCache;
use clients::{ClientWithApplication, OAuthClient};
use error::OAuthError;
use keys::{KeyError, SigningKeys};
use tokens::RevocationList;

/// No JWT Portico signs lives longer than this; a rotated key stays published this long.
pub const MAX_TOKEN_LIFETIME: i64 = 86_400;

/// The authorization server's state: keys in memory, the deny-list, the client cache, the
/// issuer.
pub struct AuthorizationServer {
    pub pool: DbPool,
    pub issuer: String,
    pub keys: SigningKeys,
    pub revocations: RevocationList,
    pub clients: ClientCache,
    secret_box: Arc<SecretBox>,
    /// True on PostgreSQL, where other instances may share the database and are told changes.
    shared: bool,
    /// Woken when another instance rotated the signing keys.
    key_changes: tokio::sync::Notify,
}

impl AuthorizationServer {
    pub async fn start(
        pool: DbPool,
        issuer: String,
        secret_box: Arc<SecretBox>,
        algorithm: SigningAlgorithm,
    ) -> Result<Self, KeyError> {
        let boxed = secret_box.clone();
        let (keys, shared) = db::run(&pool, move |conn| {
            let keys = SigningKeys::load_or_create(conn, &boxed, algorithm, MAX_TOKEN_LIFETIME)?;
            Ok::<_, KeyError>((keys, conn.is_postgres()))
        })
        .await?;
        Ok(Self {
            pool,
            issuer,
            keys,
            revocations: RevocationList::default(),
            clients: ClientCache::default(),
            secret_box,
            shared,
            key_changes: tokio::sync::Notify::new(),
        })
    }

    /// Something may have changed through this instance: its client cache is emptied and, on a
    /// shared database, every other instance is told to empty its own.
    pub async fn changed(&self) {
        self.clients.forget();
        if self.shared {
            let told = db::run(&self.pool, |conn| {
                conn.announce(Change::Clients).map_err(DbError::from)
            })
            .await;
            if let Err(error) = told {
                tracing::warn!(%error, "could not tell the other instances about a change");
            }
        }
    }

    /// What another instance announced (`None`: anything may have changed, after the listener
    /// (re)connected).
    pub fn heard(&self, change: Option<Change>) {
        match change {
            Some(Change::Clients) => self.clients.forget(),
            Some(Change::Revocations) => self.revocations.forget(),
            Some(Change::Keys) => self.key_changes.notify_one(),
            None => {
                self.clients.forget();
                self.revocations.forget();
                self.key_changes.notify_one();
            }
        }
    }

    /// Confirms the credentials against the client cache, else the registry (keeping what it
    /// read). Unknown client and wrong secret look alike.
    pub fn authenticate(
        &self,
        conn: &mut DbConnection,
        credentials: &Credentials,
    ) -> Result<Arc<ClientWithApplication>, OAuthError> {
        match self.clients.get(credentials.client_id()) {
            Some(client) => credentials.confirm(client),
            None => self.read_client(conn, credentials),
        }
    }

    /// The authenticated client when that takes no wait: from the client cache, or read on an
    /// idle pooled connection (an indexed read, tens of microseconds). `None` when the pool is
    /// busy: the caller goes to the blocking pool.
    pub fn client_at_hand(
        &self,
        credentials: &Credentials,
    ) -> Result<Option<Arc<ClientWithApplication>>, OAuthError> {
        if let Some(client) = self.clients.get(credentials.client_id()) {
            return credentials.confirm(client).map(Some);
        }
        match self.pool.try_get() {
            Some(mut conn) => self.read_client(&mut conn, credentials).map(Some),
            None => Ok(None),
        }
    }

    /// Reads the client from the registry, keeps it in the client cache, confirms it.
    fn read_client(
        &self,
        conn: &mut DbConnection,
        credentials: &Credentials,
    ) -> Result<Arc<ClientWithApplication>, OAuthError> {
        let client = self
            .read_and_keep(conn, credentials.client_id())?
            .ok_or_else(OAuthError::invalid_client)?;
        credentials.confirm(client)
    }

    /// The client a token names (no credentials involved), from the client cache or the
    /// registry: introspection asks it whether the client still exists and whether its owner
    /// is active, without a read of its own while the client is cached.
    pub fn client(
        &self,
        conn: &mut DbConnection,
        client_id: &str,
    ) -> QueryResult<Option<Arc<ClientWithApplication>>> {
        match self.clients.get(client_id) {
            Some(client) => Ok(Some(client)),
            None => self.read_and_keep(conn, client_id),
        }
    }

    fn read_and_keep(
        &self,
        conn: &mut DbConnection,
        client_id: &str,
    ) -> QueryResult<Option<Arc<ClientWithApplication>>> {
        let generation = self.clients.generation();
        let client = OAuthClient::find_with_application(conn, client_id)?.map(Arc::new);
        if let Some(client) = &client {
            self.clients.keep(generation, client.clone());
        }
        Ok(client)
    }

    /// The box secrets at rest are sealed with (external connectors seal what they keep).
    pub fn secret_box(&self) -> Arc<SecretBox> {
        self.secret_box.clone()
    }

    /// Reloads the signing keys from the database every minute (a rotation by the CLI), and at
    /// once when another instance announces a rotation. On a shared database the deny-list is
    /// read whole again as well, in case a notification was missed.
    pub fn spawn_key_reload(server: web::Data<AuthorizationServer>) {
        actix_web::rt::spawn(async move {
            let mut interval = actix_web::rt::time::interval(Duration::from_secs(60));
            interval.tick().await;
            loop {
                tokio::select! {
                    _ = interval.tick() => {
                        if server.shared {
                            server.revocations.forget();
                        }
                    }
                    () = server.key_changes.notified() => {}
                }
                let server = server.clone();
                let result = db::run(&server.pool.clone(), move |conn| {
                    server.keys.reload(conn, &server.secret_box).map_err(|e| {
                        DbError::Query(match e {
                            KeyError::Database(e) => e,
                            KeyError::Unreadable(m) => {
                                diesel::result::Error::QueryBuilderError(m.into())
                            }
                        })
                    })
                })
                .await;
                if let Err(e) = result {
                    tracing::warn!(error = %e, "could not reload the signing keys");
                }
            }
        });
    }
}

/// Ends every grant of a person whose account is locked or rejected, for good: their refresh
/// tokens, the access tokens issued to them and their codes not yet exchanged. (The tokens of
/// the applications they own are refused while the account is not active, and come back with
/// an unlock: see `ClientWithApplication::owner_active`.)
pub fn end_grants_of_user(conn: &mut DbConnection, user_id: UserId) -> QueryResult<()> {
    tokens::Family::revoke_all_of_user(conn, user_id)?;
    codes::AuthorizationCode::expire_all_of_user(conn, user_id)?;
    Ok(())
}

impl From<DbError> for KeyError {
    fn from(error: DbError) -> Self {
        match error {
            DbError::Query(e) => KeyError::Database(e),
            other => KeyError::Unreadable(other.to_string()),
        }
    }
}

/// The client-authenticated endpoints and the public metadata, each with its CORS policy.
pub fn routes(cfg: &mut web::ServiceConfig) {
    use actix_web::middleware::from_fn;
    macro_rules! endpoint {
        ($paths:expr, $cors:path, $($method:ident => $handler:path),+) => {
            cfg.service(
                web::resource($paths)
                    .wrap(from_fn($cors))
                    $(.route(web::$method().to($handler)))+,
            )
        };
    }
    endpoint!("/oauth2/token", cors::clients, post => token::token);
    endpoint!("/oauth2/introspect", cors::clients, post => introspect::introspect);
    endpoint!("/oauth2/revoke", cors::clients, post => revoke::revoke);
    endpoint!("/oauth2/userinfo", cors::clients, get => userinfo::userinfo, post => userinfo::userinfo);
    endpoint!("/oauth2/jwks", cors::public, get => metadata::jwks);
    endpoint!(
        [
            "/.well-known/openid-configuration",
            "/.well-known/oauth-authorization-server",
        ],
        cors::public,
        get => metadata::discovery
    );
}
