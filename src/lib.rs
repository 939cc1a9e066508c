//! Portico: a self-hosted API developer portal with its own OAuth2 authorization server.
//!
//! `Application::build` opens the database (migrating it), creates the first administrator when
//! the settings name one, binds the listener and returns the server ready to run.

pub mod config;
pub mod db;
pub mod domain;
pub mod error;
pub mod key_managers;
pub mod oauth_server;
pub mod security;
pub mod services;
pub mod startup;
pub mod telemetry;
pub mod web;

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::Server;
use actix_web::{HttpServer, web as aw};

use crate::config::Settings;
use crate::oauth_server::AuthorizationServer;
use crate::security::secret_box::SecretBox;
use crate::security::session_store::DbSessionStore;
use crate::startup::AppState;

pub struct Application {
    port: u16,
    server: Server,
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Database(#[from] db::DbSetupError),
    #[error("first administrator: {0}")]
    FirstAdmin(#[from] services::accounts::AdminSetupError),
    #[error("organisations: {0}")]
    Organisations(db::DbError),
    #[error("signing keys: {0}")]
    SigningKeys(#[from] oauth_server::keys::KeyError),
    #[error("cannot listen on {address}: {source}")]
    Listen {
        address: String,
        source: std::io::Error,
    },
}

impl Application {
    pub async fn build(mut settings: Settings) -> Result<Self, StartError> {
        let pool = db::connect_with(settings.database.clone(), settings.database_pool_size)?;
        services::accounts::ensure_first_admin(&pool, settings.first_admin.as_ref()).await?;
        let adopted = db::run(&pool, |conn| {
            services::organisations::adopt_accounts(conn).map_err(db::DbError::from)
        })
        .await
        .map_err(StartError::Organisations)?;
        if adopted > 0 {
            tracing::info!(
                accounts = adopted,
                "accounts from before organisations each became the Owner of one"
            );
        }
        aw::block(security::password::warm_up).await.ok();

        let listener = TcpListener::bind(settings.listen).map_err(|source| StartError::Listen {
            address: settings.listen.to_string(),
            source,
        })?;
        let port = listener.local_addr().map(|a| a.port()).unwrap_or(0);
        if settings.public_url_from_listen
            && let Ok(address) = listener.local_addr()
        {
            settings.public_url = config::listen_url(address);
        }
        tracing::info!(address = %listener.local_addr().map(|a| a.to_string()).unwrap_or_default(), "Portico is listening");

        spawn_session_cleanup(DbSessionStore::new(pool.clone()));
        let secret_box = Arc::new(SecretBox::new(&settings.secret_key));
        let authorization_server = aw::Data::new(
            AuthorizationServer::start(
                pool.clone(),
                settings.base_url(),
                secret_box,
                settings.signing_algorithm,
            )
            .await?,
        );
        AuthorizationServer::spawn_key_reload(authorization_server.clone());
        if let db::Database::Postgres { url, .. } = &settings.database {
            let server = authorization_server.clone();
            db::changes::listen(url.clone(), move |change| server.heard(change));
        }
        let workers = std::thread::available_parallelism().map_or(2, usize::from);
        let pool_size = pool.max_size() as usize;
        let state = AppState::new(pool, settings, authorization_server);
        // Database work runs on the blocking pool: as many threads as pooled connections, so a
        // burst queues on the pool's channel instead of parking dozens of threads on its lock.
        let blocking_threads = (pool_size / workers).max(2);
        let max_connections = security::request_limits::connection_limit(workers);
        let server = HttpServer::new(move || startup::app(state.clone()))
            .workers(workers)
            .max_connections(max_connections)
            .client_request_timeout(security::request_limits::HEAD_TIMEOUT)
            .keep_alive(security::request_limits::KEEP_ALIVE)
            .worker_max_blocking_threads(blocking_threads)
            .listen(listener)
            .map_err(|source| StartError::Listen {
                address: "listener".into(),
                source,
            })?
            .run();
        Ok(Self { port, server })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.await
    }
}

/// Deletes expired sessions every ten minutes.
fn spawn_session_cleanup(store: DbSessionStore) {
    actix_web::rt::spawn(async move {
        let mut interval = actix_web::rt::time::interval(Duration::from_secs(600));
        loop {
            interval.tick().await;
            if let Err(e) = store.purge_expired().await {
                tracing::warn!(error = %e, "could not purge expired sessions");
            }
        }
    });
}
