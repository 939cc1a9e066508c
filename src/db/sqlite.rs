//! What only the SQLite backend has: the pragmas of every connection, the file's migrations,
//! the plan-stability check, and the one write lane per process.

use diesel::connection::SimpleConnection;
use diesel::{Connection, SqliteConnection};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

use super::DbSetupError;

pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");

/// How long a connection waits for another writer before SQLite answers "database is locked".
const BUSY_TIMEOUT_MS: u32 = 10_000;

/// busy_timeout first, so that even the switch to WAL waits for other connections. One batch: a
/// multi-statement `sql_query` would run only the first statement.
pub fn set_pragmas(conn: &mut SqliteConnection) -> diesel::QueryResult<()> {
    conn.batch_execute(&format!(
        "PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}; PRAGMA journal_mode = WAL; \
         PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL;"
    ))
}

/// Opens a connection with the pragmas set.
pub fn open(path: &str) -> Result<SqliteConnection, diesel::r2d2::Error> {
    let mut conn =
        SqliteConnection::establish(path).map_err(diesel::r2d2::Error::ConnectionError)?;
    set_pragmas(&mut conn).map_err(diesel::r2d2::Error::QueryError)?;
    Ok(conn)
}

/// Switches the file to WAL and applies pending migrations on one connection, before the pool.
pub fn migrate(path: &str) -> Result<(), DbSetupError> {
    let mut conn = SqliteConnection::establish(path)
        .map_err(|e| DbSetupError::Migrate(format!("cannot open {path}: {e}")))?;
    set_pragmas(&mut conn).map_err(|e| DbSetupError::Migrate(e.to_string()))?;
    conn.run_pending_migrations(MIGRATIONS)
        .map_err(|e| DbSetupError::Migrate(e.to_string()))?;
    if !plans_are_stable(&mut conn).unwrap_or(false) {
        tracing::warn!(
            "SQLite was built without SQLITE_ENABLE_QPSG (see .cargo/config.toml): statements \
             with LIMIT ? are re-prepared at every use, which slows every request"
        );
    }
    Ok(())
}

/// True when the bundled SQLite keeps a prepared statement's plan whatever values are bound
/// (SQLITE_ENABLE_QPSG, set in `.cargo/config.toml`). Without it SQLite expires a cached
/// statement each time a value its plan looked at (a `LIMIT ?`) is rebound, and re-parses it.
pub fn plans_are_stable(conn: &mut SqliteConnection) -> diesel::QueryResult<bool> {
    use diesel::RunQueryDsl;
    #[derive(diesel::QueryableByName)]
    struct Used {
        #[diesel(sql_type = diesel::sql_types::Bool)]
        used: bool,
    }
    diesel::sql_query("SELECT sqlite_compileoption_used('ENABLE_QPSG') AS used")
        .get_result::<Used>(conn)
        .map(|u| u.used)
}

/// Writers of one process queue here instead of meeting in SQLite's busy handler, which sleeps
/// and retries with a growing back-off (up to 100 ms a try): under load an unlucky writer lost
/// round after round (refresh rotation at 64 connections had a p99 near a second). Portico
/// serves one database per process, so one lane per process; writers of other processes still
/// wait through `busy_timeout`.
pub static WRITERS: std::sync::Mutex<()> = std::sync::Mutex::new(());
