//! The SQLite database: the connection pool, the pragmas every connection gets, the embedded
//! migrations, and `run`, which moves blocking diesel work off the async executor.

pub mod models;
pub mod rows;
pub mod schema;

use std::path::Path;
use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::r2d2::{ConnectionManager, CustomizeConnection, Pool, PooledConnection};
use diesel::sqlite::SqliteConnection;
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations");

pub type DbPool = Pool<ConnectionManager<SqliteConnection>>;
pub type DbConn = PooledConnection<ConnectionManager<SqliteConnection>>;

/// How long a connection waits for another writer before SQLite answers "database is locked".
const BUSY_TIMEOUT_MS: u32 = 10_000;

#[derive(Debug)]
struct Pragmas;

impl CustomizeConnection<SqliteConnection, diesel::r2d2::Error> for Pragmas {
    fn on_acquire(&self, conn: &mut SqliteConnection) -> Result<(), diesel::r2d2::Error> {
        // One batch: a multi-statement `sql_query` would run only the first statement.
        set_pragmas(conn).map_err(diesel::r2d2::Error::QueryError)
    }
}

/// busy_timeout first, so that even the switch to WAL waits for other connections.
fn set_pragmas(conn: &mut SqliteConnection) -> diesel::QueryResult<()> {
    conn.batch_execute(&format!(
        "PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}; PRAGMA journal_mode = WAL; \
         PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL;"
    ))
}

#[derive(Debug, thiserror::Error)]
pub enum DbSetupError {
    #[error("cannot open the database {path}: {source}")]
    Open {
        path: String,
        source: diesel::r2d2::PoolError,
    },
    #[error("cannot migrate the database: {0}")]
    Migrate(String),
    #[error("cannot make the database files {path} private: {source}")]
    Files {
        path: String,
        source: std::io::Error,
    },
}

/// Opens (creating when needed) the database file, applies pending migrations, and returns a
/// pool whose every connection has WAL, busy_timeout, foreign keys and synchronous=NORMAL.
/// The database and the files SQLite keeps beside it are readable by their owner only.
pub fn connect(path: &Path) -> Result<DbPool, DbSetupError> {
    crate::security::files::protect_database(path).map_err(|source| DbSetupError::Files {
        path: path.display().to_string(),
        source,
    })?;
    migrate(path)?;
    let manager = ConnectionManager::<SqliteConnection>::new(path.to_string_lossy());
    let pool = Pool::builder()
        .max_size(POOL_SIZE)
        .min_idle(Some(2))
        // A local SQLite file does not drop connections: no `SELECT 1` before every checkout.
        .test_on_check_out(false)
        .connection_timeout(Duration::from_secs(30))
        .connection_customizer(Box::new(Pragmas))
        .build(manager)
        .map_err(|source| DbSetupError::Open {
            path: path.display().to_string(),
            source,
        })?;
    Ok(pool)
}

/// Switches the file to WAL and applies pending migrations on one connection, before the pool.
fn migrate(path: &Path) -> Result<(), DbSetupError> {
    use diesel::Connection;
    let mut conn = SqliteConnection::establish(&path.to_string_lossy())
        .map_err(|e| DbSetupError::Migrate(format!("cannot open {}: {e}", path.display())))?;
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

/// Why a database call failed, as the web layer needs to know it.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("no connection available: {0}")]
    Pool(#[from] diesel::r2d2::PoolError),
    #[error(transparent)]
    Query(#[from] diesel::result::Error),
    #[error("the blocking task failed")]
    Blocking,
}

/// How many connections the pool holds (and how many blocking threads serve them).
pub const POOL_SIZE: u32 = 16;

/// Runs `work` in a write transaction (`BEGIN IMMEDIATE`), after this process's other writers.
///
/// Writers of one process queue on a mutex instead of meeting in SQLite's busy handler, which
/// sleeps and retries with a growing back-off (up to 100 ms a try): under load an unlucky writer
/// lost round after round (refresh rotation at 64 connections had a p99 near a second). Portico
/// serves one database per process, so one lane per process; writers of other processes still
/// wait through `busy_timeout`. A write nested in a transaction does not queue (it would wait
/// for itself): diesel refuses it as `AlreadyInTransaction`, as it always did.
pub fn write<T, E, F>(conn: &mut SqliteConnection, work: F) -> Result<T, E>
where
    F: FnOnce(&mut SqliteConnection) -> Result<T, E>,
    E: From<diesel::result::Error>,
{
    use diesel::connection::{AnsiTransactionManager, TransactionManager};
    static WRITERS: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let outermost = matches!(
        AnsiTransactionManager::transaction_manager_status_mut(conn).transaction_depth(),
        Ok(None)
    );
    let _turn = outermost.then(|| WRITERS.lock().unwrap_or_else(|e| e.into_inner()));
    conn.immediate_transaction(work)
}

/// Runs `work` with a pooled connection on the blocking thread pool.
pub async fn run<T, E, F>(pool: &DbPool, work: F) -> Result<T, E>
where
    F: FnOnce(&mut SqliteConnection) -> Result<T, E> + Send + 'static,
    T: Send + 'static,
    E: From<DbError> + Send + 'static,
{
    let pool = pool.clone();
    actix_web::web::block(move || {
        let mut conn = pool.get().map_err(DbError::from)?;
        work(&mut conn)
    })
    .await
    .map_err(|_| DbError::Blocking)?
}

/// True when the error is a UNIQUE constraint violation (a conflict to report as 409).
pub fn is_unique_violation(error: &diesel::result::Error) -> bool {
    matches!(
        error,
        diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, _)
    )
}

/// The current time in Unix seconds, as stored in every `*_at` column.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use diesel::connection::SimpleConnection;
    use diesel::{Connection, RunQueryDsl, SqliteConnection};

    /// Four threads, four connections, no busy_timeout: two writers meeting in SQLite would get
    /// "database is locked" at once. Through `write` they take turns; a write nested in another
    /// is refused, not left waiting for itself.
    #[test]
    fn writers_of_one_process_take_turns() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("lane.db");
        let url = path.to_string_lossy().to_string();
        let mut setup = SqliteConnection::establish(&url).unwrap();
        setup
            .batch_execute("PRAGMA journal_mode = WAL; CREATE TABLE n (v INTEGER NOT NULL);")
            .unwrap();
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let url = url.clone();
                std::thread::spawn(move || {
                    let mut conn = SqliteConnection::establish(&url).unwrap();
                    conn.batch_execute("PRAGMA busy_timeout = 0;").unwrap();
                    for _ in 0..100 {
                        super::write(&mut conn, |conn| {
                            diesel::sql_query("INSERT INTO n (v) VALUES (1)").execute(conn)?;
                            let nested = super::write(conn, |conn| {
                                diesel::sql_query("INSERT INTO n (v) VALUES (2)").execute(conn)
                            });
                            assert!(matches!(
                                nested,
                                Err(diesel::result::Error::AlreadyInTransaction)
                            ));
                            diesel::sql_query("INSERT INTO n (v) VALUES (2)").execute(conn)
                        })
                        .expect("no writer meets another");
                    }
                })
            })
            .collect();
        for thread in threads {
            thread.join().unwrap();
        }
        #[derive(diesel::QueryableByName)]
        struct Total {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            total: i64,
        }
        let total = diesel::sql_query("SELECT sum(v) AS total FROM n")
            .get_result::<Total>(&mut setup)
            .unwrap()
            .total;
        assert_eq!(total, 4 * 100 * 3);
    }

    #[test]
    fn the_bundled_sqlite_keeps_plans_stable_across_rebinds() {
        let mut conn = diesel::SqliteConnection::establish(":memory:").unwrap();
        assert!(
            super::plans_are_stable(&mut conn).unwrap(),
            "build with LIBSQLITE3_FLAGS=-DSQLITE_ENABLE_QPSG (.cargo/config.toml)"
        );
    }
}
