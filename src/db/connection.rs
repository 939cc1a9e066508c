//! The one connection type the models use: a SQLite or a PostgreSQL connection, chosen when
//! Portico starts (`PORTICO_DATABASE_URL`). diesel's `MultiConnection` runs the same query
//! builder on either; what only one backend has (an upsert, a row lock) goes through `on_each!`.

/// A connection to the configured database, whichever backend it is.
#[derive(diesel::MultiConnection)]
pub enum DbConnection {
    Sqlite(diesel::SqliteConnection),
    Postgres(diesel::PgConnection),
}

/// Runs the same expression with the inner, backend-specific connection bound to `$c`: for a
/// query the multi-backend cannot build (`ON CONFLICT`, `FOR UPDATE`), written once.
#[macro_export]
macro_rules! on_each {
    ($conn:expr, |$c:ident| $body:expr) => {
        match $conn {
            $crate::db::DbConnection::Sqlite($c) => $body,
            $crate::db::DbConnection::Postgres($c) => $body,
        }
    };
}

impl DbConnection {
    /// True on PostgreSQL: row locks and notifications exist there, SQLite's write lane here.
    pub fn is_postgres(&self) -> bool {
        matches!(self, DbConnection::Postgres(_))
    }

    /// Makes the rest of this write transaction the only one working on `key` (a name such as
    /// `application:42`), across every instance: a transaction-scoped advisory lock on
    /// PostgreSQL. On SQLite every write transaction is already the only one (`BEGIN
    /// IMMEDIATE`), so nothing is needed. Take several keys in one sorted order.
    pub fn lock_key(&mut self, key: &str) -> diesel::QueryResult<()> {
        use diesel::RunQueryDsl;
        if let DbConnection::Postgres(conn) = self {
            diesel::sql_query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))")
                .bind::<diesel::sql_types::Text, _>(key)
                .execute(conn)?;
        }
        Ok(())
    }
}
