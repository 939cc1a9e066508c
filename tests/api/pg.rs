//! The PostgreSQL side of the harness. With `PORTICO_TEST_DATABASE=postgres` every test's
//! Portico runs on a database of its own, created on the server `PORTICO_TEST_POSTGRES` names
//! (the local one on 127.0.0.1:5432 by default) and dropped when the test ends.

use std::sync::atomic::{AtomicU64, Ordering};

use diesel::{Connection, PgConnection, RunQueryDsl};

/// The secret key every PostgreSQL test's instances share (PostgreSQL needs one set).
pub const SECRET_KEY: &str = "5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a";

/// True when this run tests PostgreSQL.
pub fn on_postgres() -> bool {
    std::env::var("PORTICO_TEST_DATABASE").is_ok_and(|v| v == "postgres")
}

/// The server the tests create their databases on (a URL naming its `postgres` database).
/// Without TLS unless the URL asks for it: libpq's OpenSSL, cleaned up at exit while a pool's
/// thread still connects, can crash the test process as it ends (diesel issue 3441).
pub fn server_url() -> String {
    let url = std::env::var("PORTICO_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let mut url = url::Url::parse(&url).expect("PORTICO_TEST_POSTGRES is a URL");
    if !url.query_pairs().any(|(k, _)| k == "sslmode") {
        url.query_pairs_mut().append_pair("sslmode", "disable");
    }
    url.to_string()
}

/// The URL of database `name` on the test server.
pub fn url_of(name: &str) -> String {
    let mut url = url::Url::parse(&server_url()).expect("a URL");
    url.set_path(&format!("/{name}"));
    url.to_string()
}

/// One test's database, dropped (with whatever still holds a connection) at the end.
pub struct TestDatabase {
    pub name: String,
    pub url: String,
}

impl TestDatabase {
    pub fn create() -> TestDatabase {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let name = format!(
            "portico_test_{}_{}_{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed),
            portico::security::random::token(6)
                .to_lowercase()
                .replace(['-', '_'], "x")
        );
        let mut admin = PgConnection::establish(&server_url()).expect("the test server answers");
        diesel::sql_query(format!("CREATE DATABASE {name}"))
            .execute(&mut admin)
            .expect("a test database");
        TestDatabase {
            url: url_of(&name),
            name,
        }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if let Ok(mut admin) = PgConnection::establish(&server_url()) {
            let _ = diesel::sql_query(format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ))
            .execute(&mut admin);
        }
    }
}
