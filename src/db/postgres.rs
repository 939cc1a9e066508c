//! What only the PostgreSQL backend has: its migrations (run by one instance at a time), the
//! settings every connection gets, and the channel instances tell each other changes on.

use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::{Connection, PgConnection};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

use super::DbSetupError;

pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

/// The advisory lock two instances starting at once take turns on around the migrations.
const MIGRATION_LOCK: i64 = 0x706f_7274_6963_6f01;

/// Opens a connection with the statement timeout set.
pub fn open(url: &str, statement_timeout: Duration) -> Result<PgConnection, diesel::r2d2::Error> {
    let mut conn = PgConnection::establish(url).map_err(diesel::r2d2::Error::ConnectionError)?;
    conn.batch_execute(&format!(
        "SET statement_timeout = {}; SET lock_timeout = {}",
        statement_timeout.as_millis(),
        statement_timeout.as_millis()
    ))
    .map_err(diesel::r2d2::Error::QueryError)?;
    Ok(conn)
}

/// Applies pending migrations, holding an advisory lock so that instances starting together
/// migrate one after the other (the second finds nothing left to do).
pub fn migrate(url: &str) -> Result<(), DbSetupError> {
    let mut conn = PgConnection::establish(url)
        .map_err(|e| DbSetupError::Migrate(format!("cannot connect to PostgreSQL: {e}")))?;
    let step = |e: &dyn std::fmt::Display| DbSetupError::Migrate(e.to_string());
    conn.batch_execute(&format!("SELECT pg_advisory_lock({MIGRATION_LOCK})"))
        .map_err(|e| step(&e))?;
    let migrated = conn.run_pending_migrations(MIGRATIONS).map(|_| ());
    conn.batch_execute(&format!("SELECT pg_advisory_unlock({MIGRATION_LOCK})"))
        .map_err(|e| step(&e))?;
    migrated.map_err(|e| step(&e))
}
