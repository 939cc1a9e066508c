//! The database: SQLite (a file, the default) or PostgreSQL (`postgres://…`), chosen at start.
//! The connection pool, each backend's embedded migrations, `run`, which moves blocking diesel
//! work off the async executor, and `write`, the write transaction both backends keep.

pub mod changes;
mod connection;
pub mod copy;
pub mod models;
pub mod postgres;
pub mod rows;
pub mod schema;
pub mod sqlite;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use diesel::r2d2::{ManageConnection, Pool, PooledConnection, R2D2Connection};
use secrecy::{ExposeSecret, SecretString};

pub use connection::{DbConnection, MultiBackend};

/// The database Portico runs on, and how it connects.
#[derive(Clone)]
pub enum Database {
    /// A SQLite file (created when missing).
    Sqlite(PathBuf),
    /// A PostgreSQL server: the URL (its password, if any, stays secret) and the session limits.
    Postgres {
        url: SecretString,
        statement_timeout: Duration,
    },
}

impl std::fmt::Debug for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Database::Sqlite(path) => write!(f, "SQLite {}", path.display()),
            Database::Postgres { .. } => write!(f, "PostgreSQL"),
        }
    }
}

impl From<&Path> for Database {
    fn from(path: &Path) -> Self {
        Database::Sqlite(path.to_path_buf())
    }
}

impl From<&PathBuf> for Database {
    fn from(path: &PathBuf) -> Self {
        Database::Sqlite(path.clone())
    }
}

/// How long a statement (or a lock it waits for) may take on PostgreSQL by default.
pub const STATEMENT_TIMEOUT: Duration = Duration::from_secs(10);

/// A pooled connection and whether its last use failed (then it is checked on its way back).
pub struct Pooled {
    conn: DbConnection,
    suspect: bool,
}

impl std::ops::Deref for Pooled {
    type Target = DbConnection;
    fn deref(&self) -> &DbConnection {
        &self.conn
    }
}

impl std::ops::DerefMut for Pooled {
    fn deref_mut(&mut self) -> &mut DbConnection {
        &mut self.conn
    }
}

/// Opens connections to the configured backend. A connection whose last use failed is pinged
/// when it comes back and dropped if the server is gone, so that a restarted PostgreSQL is
/// served again by fresh connections without a check on every checkout.
pub struct Manager(Database);

impl ManageConnection for Manager {
    type Connection = Pooled;
    type Error = diesel::r2d2::Error;

    fn connect(&self) -> Result<Pooled, Self::Error> {
        let conn = match &self.0 {
            Database::Sqlite(path) => DbConnection::Sqlite(sqlite::open(&path.to_string_lossy())?),
            Database::Postgres {
                url,
                statement_timeout,
            } => DbConnection::Postgres(postgres::open(url.expose_secret(), *statement_timeout)?),
        };
        Ok(Pooled {
            conn,
            suspect: false,
        })
    }

    fn is_valid(&self, conn: &mut Pooled) -> Result<(), Self::Error> {
        conn.conn.ping().map_err(diesel::r2d2::Error::QueryError)
    }

    fn has_broken(&self, conn: &mut Pooled) -> bool {
        if std::mem::take(&mut conn.suspect) {
            return conn.conn.ping().is_err() || conn.conn.is_broken();
        }
        conn.conn.is_broken()
    }
}

pub type DbPool = Pool<Manager>;
pub type DbConn = PooledConnection<Manager>;

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

/// How many connections the pool holds (and how many blocking threads serve them) by default.
pub const POOL_SIZE: u32 = 16;

/// Opens the database (creating a SQLite file when needed), applies pending migrations, and
/// returns a pool of `POOL_SIZE` connections.
pub fn connect(database: impl Into<Database>) -> Result<DbPool, DbSetupError> {
    connect_with(database.into(), POOL_SIZE)
}

/// `connect` with a pool of `size` connections. A SQLite file and the files SQLite keeps beside
/// it are readable by their owner only; every SQLite connection has WAL, busy_timeout, foreign
/// keys and synchronous=NORMAL; every PostgreSQL connection has the statement timeout.
pub fn connect_with(database: Database, size: u32) -> Result<DbPool, DbSetupError> {
    let name = match &database {
        Database::Sqlite(path) => {
            crate::security::files::protect_database(path).map_err(|source| {
                DbSetupError::Files {
                    path: path.display().to_string(),
                    source,
                }
            })?;
            sqlite::migrate(&path.to_string_lossy())?;
            path.display().to_string()
        }
        Database::Postgres { url, .. } => {
            postgres::migrate(url.expose_secret())?;
            "on PostgreSQL".to_string()
        }
    };
    let wait = match database {
        Database::Sqlite(_) => Duration::from_secs(30),
        Database::Postgres { .. } => Duration::from_secs(5),
    };
    Pool::builder()
        .max_size(size)
        .min_idle(Some(2.min(size)))
        // No `SELECT 1` before every checkout: a connection whose use failed is checked instead.
        .test_on_check_out(false)
        .connection_timeout(wait)
        .build(Manager(database))
        .map_err(|source| DbSetupError::Open { path: name, source })
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

impl DbError {
    /// True when the database could not be reached (down, restarting, refusing connections,
    /// or too slow): a 503 to answer, not a defect.
    pub fn is_unavailable(&self) -> bool {
        use diesel::result::{DatabaseErrorKind, Error};
        match self {
            DbError::Pool(_) => true,
            DbError::Query(Error::DatabaseError(kind, info)) => {
                matches!(
                    kind,
                    DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::UnableToSendCommand
                ) || UNAVAILABLE_STATES.contains(&info.message())
                    || info
                        .message()
                        .contains("canceling statement due to statement timeout")
                    || info.message().contains("terminating connection")
            }
            _ => false,
        }
    }
}

impl DbError {
    /// True when the query carried text with a NUL character, which PostgreSQL text cannot
    /// hold (SQLite stores it): bad input to refuse, not a defect. No stored value holds one,
    /// so a lookup by such a value could find nothing anyway.
    pub fn is_nul_in_text(&self) -> bool {
        use diesel::result::Error;
        matches!(self, DbError::Query(Error::DatabaseError(_, info))
            if info.message().starts_with("invalid byte sequence for encoding")
                && info.message().ends_with("0x00"))
    }
}

/// What a person is told of text with a NUL character (see `DbError::is_nul_in_text`).
pub const NUL_IN_TEXT: &str = "The request holds a NUL character (U+0000), which no field takes.";

/// Messages PostgreSQL gives when it is going away or cannot take the work now.
const UNAVAILABLE_STATES: &[&str] = &[
    "the database system is shutting down",
    "the database system is starting up",
];

/// Whether the database is known to be unreachable: logged once when an episode starts and once
/// when it ends, not at every request.
static UNREACHABLE: AtomicBool = AtomicBool::new(false);

/// Records the outcome of one use of the database for the once-per-episode log.
pub fn note_reachability(error: Option<&DbError>) {
    match error {
        Some(e) if e.is_unavailable() => {
            if !UNREACHABLE.swap(true, Ordering::Relaxed) {
                tracing::error!(error = %e, "the database is unavailable; answering 503 until it is back");
            }
        }
        Some(_) => {}
        None => {
            if UNREACHABLE.load(Ordering::Relaxed) && UNREACHABLE.swap(false, Ordering::Relaxed) {
                tracing::info!("the database answers again");
            }
        }
    }
}

/// Runs `work` in a write transaction. On SQLite: `BEGIN IMMEDIATE`, after this process's other
/// writers (`sqlite::WRITERS`). On PostgreSQL: a transaction at READ COMMITTED; what must not
/// run twice at once locks its rows (`lock_for_update`) or relies on a unique constraint. A
/// write nested in a transaction is refused as `AlreadyInTransaction`, as it always was.
pub fn write<T, E, F>(conn: &mut DbConnection, work: F) -> Result<T, E>
where
    F: FnOnce(&mut DbConnection) -> Result<T, E>,
    E: From<diesel::result::Error>,
{
    use diesel::Connection;
    use diesel::connection::{AnsiTransactionManager, TransactionManager};
    let DbConnection::Sqlite(inner) = conn else {
        if in_transaction(conn) {
            return Err(diesel::result::Error::AlreadyInTransaction.into());
        }
        return conn.transaction(work);
    };
    if in_transaction_sqlite(inner) {
        return Err(diesel::result::Error::AlreadyInTransaction.into());
    }
    let _turn = sqlite::WRITERS.lock().unwrap_or_else(|e| e.into_inner());
    AnsiTransactionManager::begin_transaction_sql(inner, "BEGIN IMMEDIATE")?;
    match work(conn) {
        Ok(value) => {
            let DbConnection::Sqlite(inner) = conn else {
                unreachable!("the backend of a connection does not change")
            };
            AnsiTransactionManager::commit_transaction(inner)?;
            Ok(value)
        }
        Err(e) => {
            if let DbConnection::Sqlite(inner) = conn {
                AnsiTransactionManager::rollback_transaction(inner)?;
            }
            Err(e)
        }
    }
}

fn in_transaction(conn: &mut DbConnection) -> bool {
    use diesel::Connection;
    use diesel::connection::TransactionManager;
    !matches!(
        <DbConnection as Connection>::TransactionManager::transaction_manager_status_mut(conn)
            .transaction_depth(),
        Ok(None)
    )
}

fn in_transaction_sqlite(conn: &mut diesel::SqliteConnection) -> bool {
    use diesel::connection::{AnsiTransactionManager, TransactionManager};
    !matches!(
        AnsiTransactionManager::transaction_manager_status_mut(conn).transaction_depth(),
        Ok(None)
    )
}

/// Runs `work` with a pooled connection on the blocking thread pool. A failed use marks the
/// connection to be checked on its way back to the pool.
pub async fn run<T, E, F>(pool: &DbPool, work: F) -> Result<T, E>
where
    F: FnOnce(&mut DbConnection) -> Result<T, E> + Send + 'static,
    T: Send + 'static,
    E: From<DbError> + Send + 'static,
{
    let pool = pool.clone();
    actix_web::web::block(move || {
        let mut conn = match pool.get() {
            Ok(conn) => conn,
            Err(e) => {
                let e = DbError::from(e);
                note_reachability(Some(&e));
                return Err(e.into());
            }
        };
        let result = work(&mut conn);
        conn.suspect = result.is_err();
        if !conn.suspect {
            note_reachability(None);
        }
        result
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
                    let mut conn =
                        super::DbConnection::Sqlite(SqliteConnection::establish(&url).unwrap());
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
            super::sqlite::plans_are_stable(&mut conn).unwrap(),
            "build with LIBSQLITE3_FLAGS=-DSQLITE_ENABLE_QPSG (.cargo/config.toml)"
        );
    }
}
