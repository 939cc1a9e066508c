//! Moving an installation: `portico migrate-database` copies a SQLite installation into an
//! empty PostgreSQL database, and `portico backup` copies a SQLite file while Portico serves.
//! These run on SQLite installations whichever backend the suite tests; the migration's target
//! is a PostgreSQL database of the test's own on the local server.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Output};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};

use diesel::prelude::*;
use diesel::sql_types::Text;
use portico::Application;
use reqwest::StatusCode;

use crate::builder::{Keys, client_credentials};
use crate::helpers::*;
use crate::oauth::{active, jwks_field, post_token, revoke};
use crate::pg::TestDatabase;
use crate::process::Portico;

/// A Portico not yet started on a SQLite file of its own, whatever the suite's backend.
fn sqlite_app() -> TestApp {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let db_path = dir.path().join("portico.db");
    TestApp {
        address: String::new(),
        db_url: db_path.to_string_lossy().into_owned(),
        db_path,
        pg: None,
        dir,
        seeder: OnceLock::new(),
    }
}

/// Runs `portico ARGS` on a database, in the test's directory (so no settings file is read).
fn portico(cwd: &Path, database_url: &str, env: &[(&str, &str)], args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_portico"))
        .args(args)
        .current_dir(cwd)
        .env_remove("PORTICO_SECRET_KEY")
        .env_remove("PORTICO_CONFIG")
        .env("PORTICO_DATABASE_URL", database_url)
        .envs(env.iter().copied())
        .output()
        .expect("portico runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The secret key a SQLite installation keeps beside its database.
fn key_of(app: &TestApp) -> String {
    let mut path = app.db_path.clone().into_os_string();
    path.push(".key");
    std::fs::read_to_string(path)
        .expect("the key file")
        .trim()
        .to_string()
}

/// What the seeding made, to look for after the move.
struct Seeded {
    application: i64,
    keys: Keys,
    revoked: String,
    kids: Vec<String>,
    api: i64,
}

/// Seeds through the pages: an API, a TPP with an application subscribed to it and its
/// production keys (a resident client, signing keys), a revoked token, and an application
/// deleted again (its id stays handed out).
async fn seed(app: &TestApp) -> Seeded {
    let api = app
        .publish_api("Payments", "/payments", "PUBLISHED", &["Gold"])
        .await;
    let alice = app.tpp("alice").await;
    let application = alice.create_application("Wallet").await;
    alice.subscribe(api, application, "Gold").await;
    let keys = alice
        .generate_keys(application, "production", &client_credentials())
        .await;
    let client = client_of(&keys);
    let form = [("grant_type", "client_credentials")];
    let (status, body, _) = post_token(app, Some(&crate::oauth::basic(&client)), &form).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let revoked = body["access_token"].as_str().unwrap().to_string();
    let (status, _) = revoke(app, Some(&client), &[("token", &revoked)]).await;
    assert_eq!(status, StatusCode::OK);
    let doomed = alice.create_application("Doomed").await;
    alice
        .post_ok(&format!("/applications/{doomed}/delete"), &[])
        .await;
    Seeded {
        application,
        keys,
        revoked,
        kids: jwks_field(app, "kid").await,
        api,
    }
}

fn client_of(keys: &Keys) -> TestClient {
    TestClient {
        client_id: keys.consumer_key.clone(),
        secret: Some(keys.consumer_secret.clone()),
    }
}

/// The tables of a SQLite installation (diesel's bookkeeping aside) and their rows.
fn sqlite_counts(app: &TestApp) -> BTreeMap<String, i64> {
    app.lines(
        "SELECT name AS line FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%' \
         AND name <> '__diesel_schema_migrations'",
    )
    .into_iter()
    .map(|table| {
        let n = app.count(&format!("SELECT COUNT(*) FROM {table}"));
        (table, n)
    })
    .collect()
}

/// The counts table `migrate-database` printed: table → (SQLite, PostgreSQL).
fn printed_counts(stdout: &str) -> BTreeMap<String, (i64, i64)> {
    stdout
        .lines()
        .filter_map(|line| {
            let cells: Vec<&str> = line.split_whitespace().collect();
            match cells[..] {
                [table, source, target] if table != "total" => Some((
                    table.to_string(),
                    (source.parse().ok()?, target.parse().ok()?),
                )),
                _ => None,
            }
        })
        .collect()
}

/// A Portico started in-process on the PostgreSQL database with the installation's key.
async fn serve_postgres(database: TestDatabase, key: &str) -> TestApp {
    let settings = settings_for(&database.url, &[("PORTICO_SECRET_KEY", key)]);
    let server = Application::build(settings)
        .await
        .expect("Portico starts on the copy");
    let port = server.port();
    actix_web::rt::spawn(server.run_until_stopped());
    let dir = tempfile::tempdir().expect("a temporary directory");
    TestApp {
        address: format!("http://127.0.0.1:{port}"),
        db_path: dir.path().join("unused.db"),
        db_url: database.url.clone(),
        pg: Some(Arc::new(database)),
        dir,
        seeder: OnceLock::new(),
    }
}

#[derive(QueryableByName)]
struct Hex {
    #[diesel(sql_type = Text)]
    line: String,
}

/// The encrypted signing keys, byte for byte (hex), by kid.
fn private_keys(app: &TestApp, hex: &str) -> Vec<String> {
    diesel::sql_query(format!(
        "SELECT kid || ':' || {hex} AS line FROM signing_keys ORDER BY id"
    ))
    .load::<Hex>(&mut app.db())
    .expect("the signing keys")
    .into_iter()
    .map(|h| h.line)
    .collect()
}

#[actix_web::test]
async fn a_sqlite_installation_moves_to_an_empty_postgresql_database() {
    let mut source = Portico::start_on(sqlite_app(), &[]);
    let seeded = seed(&source.app).await;
    source.kill();
    let sqlite = &source.app;
    let counts = sqlite_counts(sqlite);
    assert!(counts["revoked_tokens"] >= 1 && counts["signing_keys"] >= 1);
    let highest_application = sqlite.count("SELECT MAX(id) AS n FROM applications");
    let handed_out =
        sqlite.count("SELECT seq AS n FROM sqlite_sequence WHERE name = 'applications'");
    assert!(
        handed_out > highest_application,
        "the deleted application's id"
    );
    let highest_subscription = sqlite.count("SELECT MAX(id) AS n FROM subscriptions");

    let target = TestDatabase::create();
    let url = target.url.clone();
    let dir = sqlite.dir.path();
    // The URL from PORTICO_MIGRATE_TO (its password stays out of the process list).
    let run = portico(
        dir,
        &sqlite.db_url,
        &[("PORTICO_MIGRATE_TO", &url)],
        &["migrate-database"],
    );
    let stdout = text(&run.stdout);
    assert!(run.status.success(), "{stdout}\n{}", text(&run.stderr));
    let printed = printed_counts(&stdout);
    let expected: BTreeMap<String, (i64, i64)> =
        counts.iter().map(|(t, n)| (t.clone(), (*n, *n))).collect();
    assert_eq!(
        printed, expected,
        "every table, with its rows on both sides"
    );

    let key = key_of(sqlite);
    let moved = serve_postgres(target, &key).await;
    assert_eq!(
        private_keys(&moved, "upper(encode(private_key, 'hex'))"),
        private_keys(sqlite, "hex(private_key)"),
        "encrypted values byte for byte"
    );
    sees_what_it_saw(&moved, &seeded).await;
    new_ids_follow_every_copied_one(&moved, &seeded, handed_out, highest_subscription).await;

    // A second run into the now non-empty database is refused and changes nothing.
    let before = postgres_state(&moved);
    let again = portico(
        dir,
        &sqlite.db_url,
        &[],
        &["migrate-database", "--to", &url],
    );
    assert!(!again.status.success());
    let stderr = text(&again.stderr);
    assert!(
        stderr.contains("already holds Portico data") && stderr.contains("empty database"),
        "{stderr}"
    );
    assert_eq!(postgres_state(&moved), before);
}

/// Every table's rows (counted) and the seeded rows the copy replaced, on PostgreSQL.
fn postgres_state(app: &TestApp) -> Vec<String> {
    let mut state = app.lines(
        "SELECT table_name::text AS line FROM information_schema.tables \
         WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY 1",
    );
    for table in state.clone() {
        let n = app.count(&format!("SELECT COUNT(*) FROM {table}"));
        state.push(format!("{table}: {n}"));
    }
    state.extend(app.lines(
        "SELECT name || '|' || created_at AS line FROM throttling_policies \
         UNION ALL SELECT name || '|' || created_at FROM key_managers ORDER BY 1",
    ));
    state
}

/// The TPP signs in with the same password and finds the application, its keys and their
/// tokens as they were; the JWKS publishes the same keys; the revoked token stays revoked.
async fn sees_what_it_saw(moved: &TestApp, seeded: &Seeded) {
    let alice = moved.browser();
    let response = alice.sign_in("alice", PASSWORD).await;
    assert_eq!(
        response.status(),
        StatusCode::SEE_OTHER,
        "the same password"
    );
    let (_, list) = alice.page("/applications").await;
    assert!(list.contains("Wallet"));
    let (status, keys) = alice
        .page(&keys_path(seeded.application, "production"))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(keys.contains(&seeded.keys.consumer_key));

    let client = client_of(&seeded.keys);
    let form = [("grant_type", "client_credentials")];
    let (status, body, _) = post_token(moved, Some(&crate::oauth::basic(&client)), &form).await;
    assert_eq!(status, StatusCode::OK, "the copied key and secret: {body}");
    let token = body["access_token"].as_str().unwrap();
    assert_eq!(active(moved, &client, token).await, true);
    assert_eq!(active(moved, &client, &seeded.revoked).await, false);
    assert_eq!(jwks_field(moved, "kid").await, seeded.kids);
}

/// A new application and subscription get ids above every id SQLite handed out.
async fn new_ids_follow_every_copied_one(
    moved: &TestApp,
    seeded: &Seeded,
    handed_out: i64,
    highest_subscription: i64,
) {
    let alice = moved.browser();
    alice.sign_in("alice", PASSWORD).await;
    let ledger = alice.create_application("Ledger").await;
    assert!(ledger > handed_out, "{ledger} after {handed_out}");
    alice.subscribe(seeded.api, ledger, "Gold").await;
    let subscription = moved.count(&format!(
        "SELECT id AS n FROM subscriptions WHERE application_id = {ledger}"
    ));
    assert!(subscription > highest_subscription);
}

#[actix_web::test]
async fn a_backup_taken_while_portico_serves_is_whole_and_serves() {
    let live = Portico::start_on(sqlite_app(), &[]);
    let app = &live.app;
    let alice = app.tpp("alice").await;
    for i in 0..5 {
        alice.create_application(&format!("Before {i}")).await;
    }
    let before = app.lines("SELECT CAST(id AS TEXT) AS line FROM applications ORDER BY id");

    // A writer keeps creating applications while the backup runs.
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let stop = Arc::clone(&stop);
        actix_web::rt::spawn(async move {
            let mut made = 0;
            while !stop.load(Ordering::Relaxed) {
                alice.create_application(&format!("During {made}")).await;
                made += 1;
            }
            made
        })
    };
    while app.count("SELECT COUNT(*) FROM applications") <= 5 {
        actix_web::rt::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    let copy = app.dir.path().join("copy of portico.db");
    let run = {
        let (dir, url, copy) = (app.dir.path().to_owned(), app.db_url.clone(), copy.clone());
        let copy = copy.to_string_lossy().into_owned();
        actix_web::rt::task::spawn_blocking(move || {
            portico(&dir, &url, &[], &["backup", "--to", &copy])
        })
        .await
        .unwrap()
    };
    stop.store(true, Ordering::Relaxed);
    let made = writer.await.unwrap();
    assert!(run.status.success(), "{}", text(&run.stderr));
    assert!(made >= 1);

    let mut conn = SqliteConnection::establish(&copy.to_string_lossy()).unwrap();
    let check = diesel::sql_query("SELECT integrity_check AS line FROM pragma_integrity_check")
        .load::<Hex>(&mut conn)
        .unwrap();
    assert_eq!(check[0].line, "ok");
    drop(conn);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&copy).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let copied_key = std::fs::read_to_string(dir_key(&copy)).expect("the key file copied");
    assert_eq!(copied_key.trim(), key_of(app));
    backup_serves(&copy, &before).await;

    // An existing file is refused and left as it was.
    let bytes = std::fs::read(&copy).unwrap();
    let copy_text = copy.to_string_lossy().into_owned();
    let again = portico(
        app.dir.path(),
        &app.db_url,
        &[],
        &["backup", "--to", &copy_text],
    );
    assert!(!again.status.success());
    assert!(
        text(&again.stderr).contains("exists"),
        "{}",
        text(&again.stderr)
    );
    assert_eq!(std::fs::read(&copy).unwrap(), bytes);
}

/// `FILE` → `FILE.key`.
fn dir_key(file: &Path) -> std::path::PathBuf {
    let mut path = file.to_owned().into_os_string();
    path.push(".key");
    path.into()
}

/// The copy holds every application made before the backup began, and a Portico on it (with
/// the key file the backup wrote beside it, restored with it) serves them to their owner.
async fn backup_serves(copy: &Path, before: &[String]) {
    let dir = tempfile::tempdir().unwrap();
    let restored = dir.path().join("restored.db");
    std::fs::copy(copy, &restored).unwrap();
    std::fs::copy(dir_key(copy), dir_key(&restored)).unwrap();
    let app = TestApp {
        db_url: restored.to_string_lossy().into_owned(),
        ..sqlite_app()
    };
    let ids = app.lines("SELECT CAST(id AS TEXT) AS line FROM applications ORDER BY id");
    assert!(
        before.iter().all(|id| ids.contains(id)),
        "{before:?} in {ids:?}"
    );
    let settings = settings_for(&app.db_url, &[]);
    let server = Application::build(settings)
        .await
        .expect("Portico starts on the copy");
    let address = format!("http://127.0.0.1:{}", server.port());
    actix_web::rt::spawn(server.run_until_stopped());
    let app = TestApp { address, ..app };
    let alice = app.browser();
    let response = alice.sign_in("alice", PASSWORD).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let (_, list) = alice.page("/applications").await;
    assert!(list.contains("Before 4"), "{list}");
}

#[test]
fn the_commands_refuse_the_wrong_database() {
    let dir = tempfile::tempdir().unwrap();
    let postgres = "postgres://postgres@127.0.0.1:5432/nowhere";
    let key = [("PORTICO_SECRET_KEY", crate::pg::SECRET_KEY)];
    let out = dir.path().join("out.db").to_string_lossy().into_owned();
    let backup = portico(dir.path(), postgres, &key, &["backup", "--to", &out]);
    assert!(!backup.status.success());
    assert!(text(&backup.stderr).contains("pg_dump"));
    assert!(!dir.path().join("out.db").exists());

    let from_postgres = portico(
        dir.path(),
        postgres,
        &key,
        &["migrate-database", "--to", postgres],
    );
    assert!(!from_postgres.status.success());
    assert!(text(&from_postgres.stderr).contains("copies a SQLite installation"));

    let db = dir.path().join("portico.db").to_string_lossy().into_owned();
    let missing = portico(
        dir.path(),
        &db,
        &[],
        &["migrate-database", "--to", postgres],
    );
    assert!(!missing.status.success());
    assert!(
        text(&missing.stderr).contains("does not exist"),
        "{}",
        text(&missing.stderr)
    );
    let not_postgres = portico(dir.path(), &db, &[], &["migrate-database", "--to", &out]);
    assert!(text(&not_postgres.stderr).contains("must be a PostgreSQL URL"));
}

/// A database file made by the release before organisations (`fixtures/before_organisations.db`,
/// under `pg::SECRET_KEY`): alice of "Acme Ltd" with application Wallet and its production
/// keys, bob of "ACME LTD" with his own Wallet, carol of no organisation with Ledger.
const BEFORE_ORGANISATIONS: &[u8] = include_bytes!("fixtures/before_organisations.db");
const BEFORE_KEY: &str = "lvjZgTbhVqDls0ZW0GnzKA";
const BEFORE_SECRET: &str = "iWGX6uGxNSVW23_Zz5ptXJ2bLEe6dKp-7EUBiw8PrZ4";

/// Item 7 of the organisations issue, on the suite's backend: on SQLite Portico starts on the
/// old file; on PostgreSQL the file is first copied by `migrate-database`. Each TPP becomes the
/// Owner of an organisation named from its `organization` (told apart when taken, its username
/// when empty) with its applications; the keys made before keep working and their tokens now
/// name the organisation.
#[actix_web::test]
async fn a_database_from_before_organisations_makes_each_tpp_the_owner_of_one() {
    let old = sqlite_app();
    std::fs::write(&old.db_path, BEFORE_ORGANISATIONS).unwrap();
    let key = [("PORTICO_SECRET_KEY", crate::pg::SECRET_KEY)];
    let app = if crate::pg::on_postgres() {
        // As the README says: the old file is migrated first (here without starting Portico,
        // so that the adoption runs on PostgreSQL), then copied.
        drop(portico::db::connect(&old.db_path).expect("the old file migrates"));
        let target = TestDatabase::create();
        let run = portico(
            old.dir.path(),
            &old.db_url,
            &key,
            &["migrate-database", "--to", &target.url],
        );
        assert!(run.status.success(), "{}", text(&run.stderr));
        serve_postgres(target, crate::pg::SECRET_KEY).await
    } else {
        let settings = settings_for(&old.db_url, &key);
        let server = Application::build(settings).await.expect("Portico starts");
        let address = format!("http://127.0.0.1:{}", server.port());
        actix_web::rt::spawn(server.run_until_stopped());
        TestApp { address, ..old }
    };
    let organisations = app.lines(
        "SELECT u.username || ' ' || m.role || ' ' || o.name || ' ' || o.status AS line \
         FROM memberships m JOIN users u ON u.id = m.user_id \
         JOIN organisations o ON o.id = m.organisation_id ORDER BY u.username",
    );
    assert_eq!(
        organisations,
        [
            "alice owner Acme Ltd active",
            "bob owner ACME LTD (bob) active",
            "carol owner carol active",
        ]
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM applications WHERE organisation_id IS NULL"),
        0,
        "every application joined its creator's organisation"
    );
    for (person, sees, not) in [("alice", "Wallet", "Ledger"), ("carol", "Ledger", "Wallet")] {
        let browser = app.browser();
        browser.sign_in(person, "correct horse battery").await;
        let (_, list) = browser.page("/applications").await;
        assert!(
            list.contains(sees) && !list.contains(not),
            "{person}: {list}"
        );
    }
    let (status, body, _) = post_token(
        &app,
        Some(&crate::keys::basic(BEFORE_KEY, BEFORE_SECRET)),
        &[("grant_type", "client_credentials")],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let claims = crate::keys::claims(body["access_token"].as_str().unwrap());
    assert_eq!(claims["org"]["name"], "Acme Ltd");
    assert_eq!(claims["application"]["name"], "Wallet");
}
