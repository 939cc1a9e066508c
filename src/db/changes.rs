//! How instances sharing a PostgreSQL database tell each other what changed, so that what each
//! keeps in memory (clients, signing keys, the revocation deny-list) is dropped at once:
//! `announce` sends a `NOTIFY` on [`CHANNEL`] (delivered when the transaction commits), and
//! every instance `listen`s on a connection of its own. A notification missed while that
//! connection was down is covered by reloading everything once it is back; the caches' own
//! bounded staleness stays the last resort. On SQLite there is one process: nothing to send.

use std::time::Duration;

use diesel::{Connection, PgConnection, QueryResult, RunQueryDsl};
use secrecy::{ExposeSecret, SecretString};

use super::DbConnection;

/// The channel Portico's notifications travel on.
pub const CHANNEL: &str = "portico_changes";

/// How often the listener looks for notifications (reading the socket, no round trip).
const POLL: Duration = Duration::from_millis(5);

crate::text_enum! {
    /// What changed: clients (or their applications, owners, subscriptions, key managers: what
    /// the client cache holds), the signing keys (a rotation), or the revoked tokens.
    pub enum Change { Clients = "clients", Keys = "keys", Revocations = "revocations" }
}

impl DbConnection {
    /// Tells every instance on this database that `change` happened (when the current
    /// transaction, if any, commits). Nothing to do on SQLite.
    pub fn announce(&mut self, change: Change) -> QueryResult<()> {
        if let DbConnection::Postgres(conn) = self {
            diesel::sql_query("SELECT pg_notify($1, $2)")
                .bind::<diesel::sql_types::Text, _>(CHANNEL)
                .bind::<diesel::sql_types::Text, _>(change.as_str())
                .execute(conn)?;
        }
        Ok(())
    }
}

/// Listens on [`CHANNEL`] on a thread of its own for as long as the process runs: `on_change`
/// gets each change, and `None` (everything may have changed) whenever listening (re)starts.
pub fn listen(url: SecretString, on_change: impl Fn(Option<Change>) + Send + 'static) {
    std::thread::Builder::new()
        .name("portico-changes".into())
        .spawn(move || {
            let mut failing = false;
            loop {
                match subscribe(url.expose_secret()) {
                    Ok(mut conn) => {
                        if failing {
                            tracing::info!("listening for changes of other instances again");
                        }
                        failing = false;
                        on_change(None);
                        let error = relay(&mut conn, &on_change);
                        tracing::warn!(%error, "stopped listening for changes of other instances; reconnecting");
                    }
                    Err(error) if !failing => {
                        failing = true;
                        tracing::warn!(%error, "cannot listen for changes of other instances; retrying");
                    }
                    Err(_) => {}
                }
                std::thread::sleep(Duration::from_secs(1));
            }
        })
        .expect("a thread for the change listener");
}

fn subscribe(url: &str) -> Result<PgConnection, String> {
    let mut conn = PgConnection::establish(url).map_err(|e| e.to_string())?;
    diesel::sql_query(format!("LISTEN {CHANNEL}"))
        .execute(&mut conn)
        .map_err(|e| e.to_string())?;
    Ok(conn)
}

/// Hands every notification to `on_change` until the connection fails.
fn relay(conn: &mut PgConnection, on_change: &impl Fn(Option<Change>)) -> String {
    let mut idle = Duration::ZERO;
    loop {
        for notification in conn.notifications_iter() {
            match notification {
                Ok(n) => match n.payload.parse() {
                    Ok(change) => on_change(Some(change)),
                    Err(_) => on_change(None),
                },
                Err(e) => return e.to_string(),
            }
            idle = Duration::ZERO;
        }
        std::thread::sleep(POLL);
        idle += POLL;
        // A quiet connection may be a dead one: ask the server now and then.
        if idle >= Duration::from_secs(10) {
            if let Err(e) = diesel::sql_query("SELECT 1").execute(conn) {
                return e.to_string();
            }
            idle = Duration::ZERO;
        }
    }
}
