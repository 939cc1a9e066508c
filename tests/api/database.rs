//! The SQLite database (these run on SQLite files whichever backend the suite tests): pragmas on every pooled connection, migrations, seeded defaults.

use diesel::connection::SimpleConnection;
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

/// The SQLite connection inside a pooled one (this suite runs on SQLite files).
fn sqlite(conn: &mut portico::db::DbConnection) -> &mut SqliteConnection {
    match conn {
        portico::db::DbConnection::Sqlite(conn) => conn,
        portico::db::DbConnection::Postgres(_) => unreachable!("a SQLite file was opened"),
    }
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
            .get_result::<Mode>(sqlite(&mut conn))
            .unwrap();
        assert_eq!(mode.journal_mode, "wal");
        assert_eq!(pragma(sqlite(&mut conn), "foreign_keys"), 1);
        assert_eq!(pragma(sqlite(&mut conn), "synchronous"), 1, "NORMAL");
        assert!(pragma(sqlite(&mut conn), "busy_timeout") >= 5000);
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
        while sqlite(&mut conn)
            .revert_last_migration(portico::db::sqlite::MIGRATIONS)
            .is_ok()
        {}
        assert!(
            sqlite(&mut conn)
                .has_pending_migration(portico::db::sqlite::MIGRATIONS)
                .unwrap()
        );
    }
    drop(pool);
    let pool = portico::db::connect(&path).unwrap();
    let mut conn = pool.get().unwrap();
    assert!(
        !sqlite(&mut conn)
            .has_pending_migration(portico::db::sqlite::MIGRATIONS)
            .unwrap()
    );
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
            sqlite(&mut conn),
            "SELECT COUNT(*) AS n FROM throttling_policies WHERE level = 'application' AND name IN ('10PerMin','20PerMin','50PerMin','Unlimited')"
        ),
        4
    );
    assert_eq!(
        count(
            sqlite(&mut conn),
            "SELECT COUNT(*) AS n FROM throttling_policies WHERE level = 'subscription' AND name IN ('Bronze','Silver','Gold','Unlimited')"
        ),
        4
    );
    assert_eq!(
        count(
            sqlite(&mut conn),
            "SELECT COUNT(*) AS n FROM throttling_policies"
        ),
        8
    );
    assert_eq!(
        count(
            sqlite(&mut conn),
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
    .execute(sqlite(&mut conn));
    assert!(second.is_err());
}

#[derive(QueryableByName)]
struct Line {
    #[diesel(sql_type = Text)]
    line: String,
}

fn lines(conn: &mut SqliteConnection, sql: &str) -> Vec<String> {
    diesel::sql_query(sql)
        .load::<Line>(conn)
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .into_iter()
        .map(|l| l.line)
        .collect()
}

/// Rows in every table; the last statements delete objects the audit trail still names.
const EVERY_TABLE: &str = include_str!("fixtures/every_table.sql");
/// Rows of the tables made after `ids_never_reused`, for a database already migrated.
const LATER_TABLES: &str = include_str!("fixtures/later_tables.sql");
const IDS_NEVER_REUSED: &str = "ids_never_reused";

/// A database made by the migrations before `ids_never_reused`, filled with `EVERY_TABLE`.
/// The embedded ids migration.
fn ids_migration() -> Box<dyn diesel::migration::Migration<diesel::sqlite::Sqlite>> {
    use diesel::migration::MigrationSource;
    MigrationSource::<diesel::sqlite::Sqlite>::migrations(&portico::db::sqlite::MIGRATIONS)
        .unwrap()
        .into_iter()
        .find(|m| m.name().to_string().ends_with(IDS_NEVER_REUSED))
        .expect("the migration is embedded")
}

fn database_before_ids_never_reused(path: &std::path::Path) {
    use diesel::migration::MigrationSource;
    let mut conn = SqliteConnection::establish(&path.to_string_lossy()).unwrap();
    conn.batch_execute("PRAGMA foreign_keys = ON;").unwrap();
    let mut migrations =
        MigrationSource::<diesel::sqlite::Sqlite>::migrations(&portico::db::sqlite::MIGRATIONS)
            .unwrap();
    migrations.sort_by_key(|m| m.name().version().to_string());
    let mine = migrations
        .iter()
        .position(|m| m.name().to_string().ends_with(IDS_NEVER_REUSED))
        .expect("the migration is embedded");
    conn.applied_migrations().unwrap(); // creates diesel's table of applied migrations
    for migration in &migrations[..mine] {
        conn.run_migration(&**migration).unwrap();
    }
    conn.batch_execute(EVERY_TABLE).unwrap();
}

/// A table's CREATE statement without comments, blanks, quotes and AUTOINCREMENT.
fn normalised(sql: &str) -> String {
    sql.lines()
        .map(|line| line.split("--").next().unwrap_or_default())
        .collect::<String>()
        .replace("AUTOINCREMENT", "")
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '"')
        .collect()
}

/// Everything SQLite knows of every table: definition, columns, foreign keys, indexes, triggers
/// and rows (every value `quote`d, so blobs and NULLs compare exactly).
fn described(conn: &mut SqliteConnection) -> Vec<String> {
    let mut out = Vec::new();
    let tables = lines(
        conn,
        "SELECT name AS line FROM sqlite_master WHERE type = 'table' \
         AND name NOT LIKE 'sqlite_%' AND name != '__diesel_schema_migrations' ORDER BY name",
    );
    for table in tables {
        let sql = lines(
            conn,
            &format!("SELECT sql AS line FROM sqlite_master WHERE name = '{table}'"),
        );
        out.push(format!("{table}: {}", normalised(&sql[0])));
        let queries = [
            format!(
                "SELECT name || ' ' || type || ' ' || \"notnull\" || ' ' || ifnull(dflt_value, '-') \
                 || ' ' || pk AS line FROM pragma_table_info('{table}') ORDER BY cid"
            ),
            format!(
                "SELECT \"table\" || ' ' || \"from\" || ' ' || ifnull(\"to\", '-') || ' ' || on_update \
                 || ' ' || on_delete AS line FROM pragma_foreign_key_list('{table}') ORDER BY id, seq"
            ),
            format!(
                "SELECT il.name || ' ' || il.\"unique\" || ' ' || il.origin || ' ' || il.partial \
                 || ' ' || (SELECT group_concat(ifnull(ii.name, '(expr)')) FROM pragma_index_info(il.name) ii) \
                 || ' ' || ifnull((SELECT sql FROM sqlite_master WHERE name = il.name), '') AS line \
                 FROM pragma_index_list('{table}') il ORDER BY il.name"
            ),
            format!(
                "SELECT name || ' ' || sql AS line FROM sqlite_master WHERE type = 'trigger' \
                 AND tbl_name = '{table}' ORDER BY name"
            ),
        ];
        for query in queries {
            out.extend(
                lines(conn, &query)
                    .into_iter()
                    .map(|l| format!("{table} {l}")),
            );
        }
        let columns = lines(
            conn,
            &format!("SELECT name AS line FROM pragma_table_info('{table}') ORDER BY cid"),
        );
        let values = columns
            .iter()
            .map(|c| format!("quote(\"{c}\")"))
            .collect::<Vec<_>>()
            .join(" || '|' || ");
        let mut rows = lines(conn, &format!("SELECT {values} AS line FROM \"{table}\""));
        rows.sort();
        out.extend(rows.into_iter().map(|r| format!("{table} row {r}")));
    }
    out
}

/// The tables whose id is an INTEGER PRIMARY KEY (a rowid), as `table column`.
fn tables_with_integer_ids(conn: &mut SqliteConnection) -> Vec<(String, String)> {
    lines(
        conn,
        "SELECT m.name || ' ' || p.name AS line FROM sqlite_master m, pragma_table_info(m.name) p \
         WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' AND p.pk = 1 \
         AND upper(p.type) = 'INTEGER' \
         AND (SELECT count(*) FROM pragma_table_info(m.name) WHERE pk > 0) = 1 ORDER BY m.name",
    )
    .into_iter()
    .map(|l| {
        let (table, column) = l.split_once(' ').unwrap();
        (table.to_string(), column.to_string())
    })
    .collect()
}

/// For every table with an integer id: delete its newest row and insert it again without an
/// id; the row must get a new id, never the one just freed. Returns how many tables it checked.
fn assert_no_id_is_handed_out_twice(path: &std::path::Path) -> usize {
    let mut conn = SqliteConnection::establish(&path.to_string_lossy()).unwrap();
    // Off: the newest row may have children; it comes back at once.
    conn.batch_execute("PRAGMA foreign_keys = OFF;").unwrap();
    let tables = tables_with_integer_ids(&mut conn);
    for (table, id) in &tables {
        let newest = diesel::sql_query(format!("SELECT max({id}) AS n FROM {table}"))
            .get_result::<Number>(&mut conn)
            .unwrap_or_else(|_| {
                panic!("{table} has no row: add rows to tests/api/fixtures/every_table.sql")
            })
            .n;
        conn.batch_execute(&format!(
            "CREATE TEMP TABLE again AS SELECT * FROM {table} WHERE {id} = {newest}; \
             DELETE FROM {table} WHERE {id} = {newest}; UPDATE temp.again SET {id} = NULL; \
             INSERT INTO {table} SELECT * FROM temp.again; DROP TABLE temp.again;"
        ))
        .unwrap();
        let next = diesel::sql_query(format!("SELECT max({id}) AS n FROM {table}"))
            .get_result::<Number>(&mut conn)
            .unwrap()
            .n;
        assert!(
            next > newest,
            "{table} handed out id {newest} again: it needs AUTOINCREMENT"
        );
    }
    tables.len()
}

/// The next id a table hands out.
fn next_id(conn: &mut SqliteConnection, table: &str) -> i64 {
    diesel::sql_query(format!(
        "SELECT ifnull((SELECT seq FROM sqlite_sequence WHERE name = '{table}'), 0) + 1 AS n"
    ))
    .get_result::<Number>(conn)
    .unwrap()
    .n
}

#[test]
fn the_ids_migration_keeps_every_table_index_key_and_row_of_an_older_database() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("older.db");
    database_before_ids_never_reused(&path);
    let before = described(&mut SqliteConnection::establish(&path.to_string_lossy()).unwrap());

    // The ids migration alone (later migrations change the schema on purpose)...
    let mut plain = SqliteConnection::establish(&path.to_string_lossy()).unwrap();
    plain.batch_execute("PRAGMA foreign_keys = ON;").unwrap();
    plain.run_migration(&*ids_migration()).unwrap();
    let after = described(&mut plain);
    assert!(before.len() > 200, "the description covers the fixture");
    assert_eq!(before, after);
    assert_eq!(
        pragma(&mut plain, "foreign_keys"),
        1,
        "foreign keys are on again"
    );
    drop(plain);

    // ... then the rest, as Portico opens its database.
    let pool = portico::db::connect(&path).unwrap();
    let mut conn = pool.get().unwrap();
    assert_eq!(
        lines(
            sqlite(&mut conn),
            "SELECT integrity_check AS line FROM pragma_integrity_check"
        ),
        ["ok"]
    );
    assert!(
        lines(
            sqlite(&mut conn),
            "SELECT \"table\" AS line FROM pragma_foreign_key_check"
        )
        .is_empty()
    );
    // The objects deleted before the migration keep their ids: the audit trail names them.
    for (table, deleted) in [
        ("applications", 4),
        ("subscriptions", 4),
        ("key_mappings", 4),
        ("key_managers", 21),
        ("throttling_policies", 21),
    ] {
        assert!(
            next_id(sqlite(&mut conn), table) > deleted,
            "{table} would hand out {deleted} again"
        );
    }
    let id = insert_application(sqlite(&mut conn), "Newcomer", 300);
    assert_eq!(id, 5, "not the deleted application's 4");
}

#[test]
fn no_table_ever_hands_out_an_id_twice() {
    // An older database brought up to date ...
    let dir = tempfile::tempdir().unwrap();
    let older = dir.path().join("older.db");
    database_before_ids_never_reused(&older);
    drop(portico::db::connect(&older).unwrap());
    let mut conn = SqliteConnection::establish(&older.to_string_lossy()).unwrap();
    conn.batch_execute(LATER_TABLES).unwrap();
    drop(conn);
    let checked = assert_no_id_is_handed_out_twice(&older);
    // ... and a new one.
    let new = dir.path().join("new.db");
    drop(portico::db::connect(&new).unwrap());
    let mut conn = SqliteConnection::establish(&new.to_string_lossy()).unwrap();
    conn.batch_execute(&format!(
        "PRAGMA foreign_keys = ON; {EVERY_TABLE} {LATER_TABLES}"
    ))
    .unwrap();
    drop(conn);
    assert_eq!(assert_no_id_is_handed_out_twice(&new), checked);
    assert!(
        checked >= 13,
        "users, applications, subscriptions, ... are all checked"
    );
    println!("ids: {checked} tables × 2 databases never hand out an id twice");
}

#[test]
fn an_application_that_got_a_deleted_applications_id_before_the_upgrade_has_only_its_own_history() {
    use portico::db::models::applications::Application;
    use portico::db::models::audit_events::AuditEvent;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("older.db");
    database_before_ids_never_reused(&path);
    // What the older schema did: the deleted application's id 4 goes to the next application,
    // made in the very second the other was deleted.
    let mut conn = SqliteConnection::establish(&path.to_string_lossy()).unwrap();
    let id = insert_application(&mut conn, "Fresh Start", 200);
    assert_eq!(id, 4, "the older schema reuses the id");
    conn.batch_execute(
        "INSERT INTO audit_events (actor_id, actor_name, action, object_type, object_id, \
         application_id, summary, created_at) VALUES \
         (2, 'First', 'create', 'application', 4, 4, 'Created application “Fresh Start”', 200), \
         (2, 'First', 'update', 'application', 4, 4, 'Updated description', 201);",
    )
    .unwrap();
    drop(conn);

    let pool = portico::db::connect(&path).unwrap();
    let mut conn = pool.get().unwrap();
    portico::services::organisations::adopt_accounts(&mut conn).unwrap();
    let (application, _) = Application::find_for_member(
        &mut conn,
        portico::domain::ids::ApplicationId(4),
        portico::domain::ids::UserId(2),
    )
    .unwrap()
    .expect("its creator is the Owner of its organisation");
    let history: Vec<_> = AuditEvent::for_application(&mut conn, &application, 50)
        .unwrap()
        .into_iter()
        .map(|e| format!("{} {}", e.actor_name, e.summary))
        .collect();
    assert_eq!(
        history,
        [
            "First Updated description",
            "First Created application “Fresh Start”"
        ],
        "nothing of “Departed”, its owner or its consumer key"
    );
}

/// The files that hold password hashes, e-mail addresses and the secret key, with their modes.
#[cfg(unix)]
fn modes(db_path: &std::path::Path) -> Vec<(String, String)> {
    use std::os::unix::fs::PermissionsExt;
    ["", "-wal", "-shm", ".key"]
        .iter()
        .map(|suffix| {
            let mut name = db_path.as_os_str().to_owned();
            name.push(suffix);
            let mode = std::fs::metadata(&name)
                .unwrap_or_else(|e| panic!("{}: {e}", name.to_string_lossy()))
                .permissions()
                .mode();
            (format!("portico.db{suffix}"), format!("{:o}", mode & 0o777))
        })
        .collect()
}

/// SECURITY.md row 42: with the usual umask 022 the database, its WAL, its shared-memory file
/// and the secret key file are made 0600, and files a looser umask left behind are tightened
/// at the next start.
#[cfg(unix)]
#[actix_web::test]
async fn the_database_its_wal_and_the_key_file_are_readable_by_their_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    // SQLite only: on PostgreSQL the server keeps the data and the key comes from the settings.
    if crate::pg::on_postgres() {
        return;
    }
    // SAFETY: umask(2) only sets the process's file-creation mask; 022 is the usual default.
    unsafe { libc::umask(0o022) };
    let app = crate::helpers::spawn_app().await;
    let tpp = app.tpp("private").await;
    tpp.create_application("Written to the WAL").await;
    let private: Vec<_> = [
        "portico.db",
        "portico.db-wal",
        "portico.db-shm",
        "portico.db.key",
    ]
    .iter()
    .map(|f| (f.to_string(), "600".to_string()))
    .collect();
    assert_eq!(modes(&app.db_path), private, "made private");

    for (file, _) in &private {
        let path = app.dir.path().join(file);
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    }
    let app = crate::helpers::restart(app, &[]).await;
    assert_eq!(modes(&app.db_path), private, "tightened at start");
}

/// An application of user 2 on policy 1, made at `at`, written as the database's own tests
/// write rows (no page serves an older schema): its id.
fn insert_application(conn: &mut SqliteConnection, name: &str, at: i64) -> i64 {
    diesel::sql_query(format!(
        "INSERT INTO applications (owner_id, name, name_key, policy_id, created_at, updated_at) \
         VALUES (2, '{name}', '{}', 1, {at}, {at}) RETURNING id AS n",
        name.to_lowercase()
    ))
    .get_result::<Number>(conn)
    .unwrap()
    .n
}
