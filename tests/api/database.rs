//! The SQLite database: pragmas on every pooled connection, migrations, seeded defaults.

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};
use diesel_migrations::MigrationHarness;

#[derive(QueryableByName)]
struct Mode {
    #[diesel(sql_type = Text)]
    journal_mode: String,
}

#[derive(QueryableByName)]
struct Number {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

fn pragma(conn: &mut SqliteConnection, name: &str) -> i64 {
    let column = if name == "busy_timeout" {
        "timeout"
    } else {
        name
    };
    diesel::sql_query(format!("SELECT {column} AS n FROM pragma_{name}"))
        .get_result::<Number>(conn)
        .unwrap()
        .n
}

#[test]
fn every_pooled_connection_has_wal_busy_timeout_foreign_keys_and_normal_sync() {
    let dir = tempfile::tempdir().unwrap();
    let pool = portico::db::connect(&dir.path().join("p.db")).unwrap();
    let connections: Vec<_> = (0..3).map(|_| pool.get().unwrap()).collect();
    for mut conn in connections {
        let mode = diesel::sql_query("PRAGMA journal_mode")
            .get_result::<Mode>(&mut *conn)
            .unwrap();
        assert_eq!(mode.journal_mode, "wal");
        assert_eq!(pragma(&mut conn, "foreign_keys"), 1);
        assert_eq!(pragma(&mut conn, "synchronous"), 1, "NORMAL");
        assert!(pragma(&mut conn, "busy_timeout") >= 5000);
    }
}

#[test]
fn migrations_bring_an_older_file_up_to_date_and_seed_the_defaults_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.db");
    let pool = portico::db::connect(&path).unwrap();
    // Make it an "older" file: revert every migration, leaving an empty schema.
    {
        let mut conn = pool.get().unwrap();
        while conn.revert_last_migration(portico::db::MIGRATIONS).is_ok() {}
        assert!(conn.has_pending_migration(portico::db::MIGRATIONS).unwrap());
    }
    drop(pool);
    let pool = portico::db::connect(&path).unwrap();
    let mut conn = pool.get().unwrap();
    assert!(!conn.has_pending_migration(portico::db::MIGRATIONS).unwrap());
    drop(conn);
    drop(pool);
    // Starting again adds nothing twice.
    let pool = portico::db::connect(&path).unwrap();
    let mut conn = pool.get().unwrap();
    let count = |conn: &mut SqliteConnection, sql: &str| {
        diesel::sql_query(sql).get_result::<Number>(conn).unwrap().n
    };
    assert_eq!(
        count(
            &mut conn,
            "SELECT COUNT(*) AS n FROM throttling_policies WHERE level = 'application' AND name IN ('10PerMin','20PerMin','50PerMin','Unlimited')"
        ),
        4
    );
    assert_eq!(
        count(
            &mut conn,
            "SELECT COUNT(*) AS n FROM throttling_policies WHERE level = 'subscription' AND name IN ('Bronze','Silver','Gold','Unlimited')"
        ),
        4
    );
    assert_eq!(
        count(&mut conn, "SELECT COUNT(*) AS n FROM throttling_policies"),
        8
    );
    assert_eq!(
        count(
            &mut conn,
            "SELECT COUNT(*) AS n FROM key_managers WHERE name = 'resident' AND display_name = 'Resident Key Manager' AND kind = 'resident'"
        ),
        1
    );
}

#[test]
fn there_can_be_only_one_resident_key_manager() {
    let dir = tempfile::tempdir().unwrap();
    let pool = portico::db::connect(&dir.path().join("r.db")).unwrap();
    let mut conn = pool.get().unwrap();
    let second = diesel::sql_query(
        "INSERT INTO key_managers (name, display_name, kind, created_at, updated_at) VALUES ('resident2', 'Second', 'resident', 0, 0)",
    )
    .execute(&mut *conn);
    assert!(second.is_err());
}
