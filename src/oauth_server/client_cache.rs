//! Recently authenticated clients, kept in memory for a second so that a client hammering the
//! token endpoint costs one signature per request instead of a database read as well (the read
//! and its locks were a third of the endpoint's CPU).
//!
//! The database stays the truth:
//! - any state-changing portal request (every method but GET and HEAD, whatever handler serves
//!   it) empties the cache when it has been answered (`forget_after_changes`), so a change made
//!   through this process is seen by the next request;
//! - an entry read before such a change and stored after it is refused (generations);
//! - a change made by another instance on a shared PostgreSQL database is announced to every
//!   instance (`db::changes`), which empties its cache when told;
//! - a change made by another process is seen within [`TTL`] in any case.
//!
//! Only clients that exist are kept (an unknown id always reaches the database, so no one can
//! fill the cache), the secret is checked on every request against the stored SHA-256, and at
//! most [`CAPACITY`] clients are held.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::Method;
use actix_web::middleware::Next;
use actix_web::web;

use super::AuthorizationServer;
use super::clients::ClientWithApplication;

/// How long a change made by another process may go unseen.
pub const TTL: Duration = Duration::from_secs(1);
/// The most clients held at once; beyond it, expired entries are dropped, then everything.
pub const CAPACITY: usize = 10_000;

#[derive(Default)]
pub struct ClientCache {
    generation: AtomicU64,
    entries: Mutex<HashMap<String, Entry>>,
}

struct Entry {
    client: Arc<ClientWithApplication>,
    generation: u64,
    loaded_at: Instant,
}

impl ClientCache {
    /// The generation to pass to [`ClientCache::keep`] for a client read from now on.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// The client, when it was read from the database less than [`TTL`] ago and nothing has
    /// changed through this process since.
    pub fn get(&self, client_id: &str) -> Option<Arc<ClientWithApplication>> {
        let generation = self.generation();
        let entries = self.entries.lock().expect("the client cache lock");
        entries
            .get(client_id)
            .filter(|e| e.generation == generation && e.loaded_at.elapsed() < TTL)
            .map(|e| e.client.clone())
    }

    /// Keeps a client read at `generation` (from [`ClientCache::generation`], taken before the
    /// read); nothing is kept when a change came in between.
    pub fn keep(&self, generation: u64, client: Arc<ClientWithApplication>) {
        let mut entries = self.entries.lock().expect("the client cache lock");
        if generation != self.generation() {
            return;
        }
        if entries.len() >= CAPACITY {
            entries.retain(|_, e| e.generation == generation && e.loaded_at.elapsed() < TTL);
            if entries.len() >= CAPACITY {
                entries.clear();
            }
        }
        entries.insert(
            client.client.client_id.clone(),
            Entry {
                client,
                generation,
                loaded_at: Instant::now(),
            },
        );
    }

    /// Forgets every client (something may have changed).
    pub fn forget(&self) {
        let mut entries = self.entries.lock().expect("the client cache lock");
        self.generation.fetch_add(1, Ordering::AcqRel);
        entries.clear();
    }
}

/// The portal's POST routes that never change a client, its application or its owner's
/// standing: signing in, out and up (a new account waits, and owns no application yet). They
/// are the busiest POSTs, and on a shared database each emptying is announced to every
/// instance.
const NEVER_CHANGE_CLIENTS: &[&str] = &["/login", "/logout", "/signup"];

/// Middleware around the portal: once a state-changing request has been answered, the client
/// cache is emptied, so the next token request reads what that request wrote. A request
/// refused with a 4xx changed nothing (every refusal rolls back), so it empties nothing.
pub async fn forget_after_changes(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let changes = !matches!(*req.method(), Method::GET | Method::HEAD)
        && !NEVER_CHANGE_CLIENTS.contains(&req.path());
    let server = req.app_data::<web::Data<AuthorizationServer>>().cloned();
    let response = next.call(req).await;
    let refused = response
        .as_ref()
        .is_ok_and(|r| r.status().is_client_error());
    if changes
        && !refused
        && let Some(server) = server
    {
        server.changed().await;
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oauth_server::clients::OAuthClient;

    fn held(cache: &ClientCache) -> usize {
        cache.entries.lock().unwrap().len()
    }

    fn client(id: &str) -> Arc<ClientWithApplication> {
        Arc::new(ClientWithApplication {
            client: OAuthClient {
                id: 1,
                client_id: id.into(),
                secret_hash: None,
                client_name: String::new(),
                application_id: None,
                key_type: None,
                grant_types: String::new(),
                redirect_uris: "[]".into(),
                pkce_mandatory: false,
                pkce_plain_allowed: false,
                public_client: false,
                resource_server: false,
                application_token_ttl: 3600,
                user_token_ttl: 3600,
                refresh_token_ttl: 86_400,
                id_token_ttl: 3600,
                created_at: 0,
                updated_at: 0,
                id_token_signed_response_alg: None,
            },
            application: None,
            organisation: None,
            owner_active: true,
            entitlement: Default::default(),
        })
    }

    #[test]
    fn a_kept_client_is_found_until_a_change() {
        let cache = ClientCache::default();
        cache.keep(cache.generation(), client("a"));
        assert!(cache.get("a").is_some());
        assert!(cache.get("b").is_none());
        cache.forget();
        assert!(cache.get("a").is_none());
        assert_eq!(held(&cache), 0);
    }

    #[test]
    fn a_client_read_before_a_change_is_not_kept() {
        let cache = ClientCache::default();
        let before = cache.generation();
        cache.forget();
        cache.keep(before, client("a"));
        assert!(cache.get("a").is_none());
        assert_eq!(held(&cache), 0);
    }

    #[test]
    fn an_entry_expires_after_the_ttl() {
        let cache = ClientCache::default();
        cache.keep(cache.generation(), client("a"));
        let long_ago = Instant::now().checked_sub(TTL).unwrap();
        cache
            .entries
            .lock()
            .unwrap()
            .get_mut("a")
            .unwrap()
            .loaded_at = long_ago;
        assert!(cache.get("a").is_none());
    }

    #[test]
    fn the_cache_never_holds_more_than_its_capacity() {
        let cache = ClientCache::default();
        for i in 0..CAPACITY + 5 {
            cache.keep(cache.generation(), client(&i.to_string()));
        }
        assert!(held(&cache) <= CAPACITY);
        assert!(cache.get(&(CAPACITY + 4).to_string()).is_some());
    }
}
