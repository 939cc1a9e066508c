//! The benchmark driver behind `bash bench/run`: seeds a small and a large SQLite database
//! with the real schema, starts Portico (release build) and the oidc-provider peer on loopback,
//! prepares clients on both (the peer signs its JWTs with a key of the algorithm Portico uses),
//! drives each scenario with wrk at 16 and 64 connections, alternating
//! the two servers, and prints one table: requests/s, p50/p99, server CPU (from
//! `/proc/<pid>/stat`), peak RSS (VmHWM, reset per run through `/proc/<pid>/clear_refs`) and
//! the Portico/peer ratio.
//!
//! Environment: `BENCH_DURATION` (seconds per run, default 10), `BENCH_CONNECTIONS` (default
//! `16,64`), `BENCH_LARGE=0` to skip the large database, `BENCH_ONLY=substring` to run only the
//! scenarios whose name contains it, `BENCH_OUT` (a Markdown copy of the table), `BENCH_PORTICO`
//! (another portico binary, e.g. a build from before a change).

use std::collections::HashMap;
use std::fmt::Write as _;
use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::sql_types::Text;

const SECRET_KEY: &str = "6265e3c4d2a1f0b9a8c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f2a1b0c9d8e7f601";
const TPP_USERNAME: &str = "bench";
const TPP_PASSWORD: &str = "bench-password-2026";
const CLIENT_ID: &str = "bench-client";
const CLIENT_SECRET: &str = "bench-client-secret-0123456789abcdef";
const WRK_THREADS: usize = 2;

diesel::define_sql_function! {
    /// SHA-256 (hex) as Portico stores secrets and refresh tokens; registered by the seeder.
    fn bench_sha256(value: Text) -> Text;
}

struct Config {
    root: PathBuf,
    portico: PathBuf,
    work: PathBuf,
    duration: u64,
    connections: Vec<usize>,
    large: bool,
    only: Option<String>,
    out: Option<PathBuf>,
}

fn main() {
    let root = PathBuf::from(std::env::args().nth(1).unwrap_or_else(|| ".".into()));
    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let config = Config {
        portico: env("BENCH_PORTICO")
            .map(PathBuf::from)
            .unwrap_or_else(|| root.join("target/release/portico")),
        work: root.join("target/bench"),
        duration: env("BENCH_DURATION")
            .and_then(|d| d.parse().ok())
            .unwrap_or(10),
        connections: env("BENCH_CONNECTIONS")
            .unwrap_or_else(|| "16,64".into())
            .split(',')
            .filter_map(|c| c.trim().parse().ok())
            .collect(),
        large: env("BENCH_LARGE").as_deref() != Some("0"),
        only: env("BENCH_ONLY"),
        out: env("BENCH_OUT").map(PathBuf::from),
        root,
    };
    let runtime = tokio::runtime::Runtime::new().expect("a tokio runtime");
    let rows = runtime.block_on(run(&config));
    let table = render(&config, &rows);
    println!("\n{table}");
    if let Some(out) = &config.out {
        std::fs::write(out, &table).expect("write BENCH_OUT");
    }
}

/// One line of the table.
struct Row {
    scenario: String,
    database: &'static str,
    connections: usize,
    portico: Measure,
    peer: Option<Measure>,
}

#[derive(Clone)]
struct Measure {
    rps: f64,
    p50_ms: f64,
    p99_ms: f64,
    errors: u64,
    cpu_percent: f64,
    peak_rss_mb: f64,
}

/// What wrk sends in one scenario.
#[derive(Clone)]
struct Load {
    path: String,
    /// `None`: GET.
    body: Option<String>,
    headers: Vec<(String, String)>,
    /// What changes from one request to the next.
    varying: Varying,
}

#[derive(Clone, Copy, PartialEq)]
enum Varying {
    /// The same request every time.
    Nothing,
    /// Refresh rotation: every request presents a fresh seeded refresh token.
    RefreshTokens,
    /// client_credentials from seeded clients `client-<n>` / `secret-<n>`, `first..first+count`,
    /// in turn (client_secret_post): each client asks once, so none is in the client cache.
    Clients { first: i64, count: i64 },
}

struct Scenario {
    name: &'static str,
    portico: Load,
    peer: Option<(Load, &'static str)>,
}

async fn run(config: &Config) -> Vec<Row> {
    std::fs::create_dir_all(&config.work).expect("create target/bench");
    // Refresh rotation presents each seeded token once: enough for every run (and its warm-up)
    // at up to 6,000 rotations per second per wrk thread.
    let rotation_tokens =
        1 + tokens_per_thread(config) * WRK_THREADS as u64 * (config.connections.len() as u64 + 1);

    eprintln!("== starting the oidc-provider peers (ES256 and RS256 JWT, opaque access tokens)");
    let peers: HashMap<&str, Peer> = [
        ("ES256", Peer::start(&config.root, Some("ES256"))),
        ("RS256", Peer::start(&config.root, Some("RS256"))),
        ("opaque", Peer::start(&config.root, None)),
    ]
    .into_iter()
    .collect();
    let peer_introspect_load = peers["opaque"].introspection_load().await;

    let mut rows = Vec::new();
    let mut databases = vec![("small", false)];
    if config.large {
        databases.push(("large", true));
    }
    for (label, large) in databases {
        let db = config.work.join(format!("{label}.db"));
        for suffix in ["", "-wal", "-shm", ".key"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
        }
        let started = Instant::now();
        let (counts, clients) = seed(&db, large, rotation_tokens);
        eprintln!(
            "== seeded the {label} database in {:.1} s: {counts}",
            started.elapsed().as_secs_f64()
        );
        // Token 1 is the one the introspection scenario reads; rotation starts after it.
        let mut rotation_offset = 1u64;
        for algorithm in ["ES256", "RS256"] {
            let portico = Portico::start(config, &db, algorithm);
            let peer_jwt_load = peers[algorithm].client_credentials_load().await;
            let scenarios = portico
                .scenarios(algorithm, clients, &peer_jwt_load, &peer_introspect_load)
                .await;
            for scenario in scenarios {
                if let Some(only) = &config.only
                    && !scenario.name.contains(only.as_str())
                {
                    continue;
                }
                // A short warm-up (not measured): caches, pools and the allocator settle.
                wrk(
                    config,
                    portico.pid(),
                    &portico.base,
                    &scenario.portico,
                    16,
                    2,
                    &mut rotation_offset,
                );
                for &connections in &config.connections {
                    eprintln!("== {label} · {} · {connections} connections", scenario.name);
                    let measure = wrk(
                        config,
                        portico.pid(),
                        &portico.base,
                        &scenario.portico,
                        connections,
                        config.duration,
                        &mut rotation_offset,
                    );
                    let peer = scenario.peer.as_ref().map(|(load, which)| {
                        let peer = &peers[if *which == "jwt" { algorithm } else { which }];
                        wrk(
                            config,
                            peer.pid(),
                            &peer.base,
                            load,
                            connections,
                            config.duration,
                            &mut 0,
                        )
                    });
                    rows.push(Row {
                        scenario: scenario.name.to_string(),
                        database: label,
                        connections,
                        portico: measure,
                        peer,
                    });
                }
            }
            drop(portico);
        }
    }
    rows
}

/// Seeds the database: migrations by Portico's own code, then every row in one transaction.
/// Seeds the database; answers what it holds and the seeded clients `client-<n>` (first, count).
fn seed(db: &Path, large: bool, rotation_tokens: u64) -> (String, Varying) {
    drop(portico::db::connect(db).expect("migrate the benchmark database"));
    let mut conn =
        SqliteConnection::establish(&db.to_string_lossy()).expect("open the benchmark database");
    bench_sha256_utils::register_impl(&mut conn, |value: String| {
        portico::security::sha256_hex(value.as_bytes())
    })
    .expect("register sha256");
    let now = portico::db::now();
    let password_hash = portico::security::password::hash_blocking(TPP_PASSWORD);
    let mut sql = format!(
        "PRAGMA foreign_keys = ON; BEGIN IMMEDIATE;
        INSERT INTO users (username, username_key, email, first_name, last_name, organization,
            password_hash, role, status, terms_accepted_at, created_at, updated_at)
        VALUES ('{TPP_USERNAME}', '{TPP_USERNAME}', 'bench@example.test', 'Bench', 'User',
            'Bench Ltd', '{password_hash}', 'tpp', 'active', {now}, {now}, {now});
        CREATE TEMP TABLE seq AS WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s
            WHERE n < 1000000) SELECT n FROM s;
        INSERT INTO apis (name, version, context, description, status, operations, created_at,
            updated_at)
        SELECT 'Payments API ' || n, 'v1', '/payments' || n, 'Benchmark API number ' || n,
            'PUBLISHED', '[{{\"method\":\"GET\",\"path\":\"/accounts\",\"summary\":\"List accounts\"}}]',
            {now}, {now}
        FROM seq WHERE n <= 20;
        INSERT INTO api_tiers (api_id, policy_id)
        SELECT apis.id, p.id FROM apis, throttling_policies p
        WHERE p.level = 'subscription' AND p.name IN ('Bronze', 'Gold', 'Unlimited');
        -- Every API declares two scopes; the first also `read` and `write` (what the token
        -- requests ask for), so a token and its introspection carry real scope and audience data.
        INSERT INTO api_scopes (api_id, name, description, roles, from_document, created_at,
            updated_at)
        SELECT apis.id, 'payments' || apis.id || ':' || v.verb, 'Benchmark scope', '', 0, {now}, {now}
        FROM apis, (SELECT 'read' AS verb UNION ALL SELECT 'write') v;
        INSERT INTO api_scopes (api_id, name, description, roles, from_document, created_at,
            updated_at)
        SELECT 1, v.verb, 'Benchmark scope', '', 0, {now}, {now}
        FROM (SELECT 'read' AS verb UNION ALL SELECT 'write') v;
        INSERT INTO applications (owner_id, name, name_key, description, policy_id, created_at,
            updated_at)
        SELECT u.id, 'Bench application ' || n, 'bench application ' || n, 'Seeded', p.id, {now}, {now}
        FROM seq, users u, throttling_policies p
        WHERE n <= 20 AND u.username_key = '{TPP_USERNAME}' AND p.level = 'application'
            AND p.name = 'Unlimited';
        INSERT INTO subscriptions (application_id, api_id, policy_id, status, created_at, updated_at)
        SELECT a.id, apis.id, p.id, 'ACTIVE', {now}, {now}
        FROM applications a, apis, throttling_policies p
        WHERE a.owner_id = (SELECT id FROM users WHERE username_key = '{TPP_USERNAME}')
            AND apis.id % 4 = a.id % 4 AND p.level = 'subscription' AND p.name = 'Gold';
        INSERT INTO oauth_clients (client_id, secret_hash, client_name, application_id, key_type,
            grant_types, redirect_uris, created_at, updated_at)
        SELECT '{CLIENT_ID}', bench_sha256('{CLIENT_SECRET}'), a.name, a.id, 'PRODUCTION',
            'client_credentials authorization_code refresh_token', '[\"https://client.example/cb\"]',
            {now}, {now}
        FROM applications a WHERE a.name_key = 'bench application 1';
        INSERT INTO key_mappings (application_id, key_type, key_manager_id, consumer_key,
            create_mode, state, app_info, created_at, updated_at)
        SELECT c.application_id, 'PRODUCTION', km.id, c.client_id, 'CREATED', 'ACTIVE',
            '{{\"grant_types\":[\"client_credentials\",\"authorization_code\",\"refresh_token\"],\"callback_url\":\"https://client.example/cb\"}}',
            {now}, {now}
        FROM oauth_clients c, key_managers km WHERE c.client_id = '{CLIENT_ID}' AND km.kind = 'resident';
        INSERT INTO refresh_token_families (id, client_id, user_id, scope, auth_time, expires_at,
            created_at)
        SELECT 'bench-family-' || n, '{CLIENT_ID}', u.id, 'read', {now}, {now} + 2592000, {now}
        FROM seq, users u WHERE n <= {families} AND u.username_key = '{TPP_USERNAME}';
        INSERT INTO refresh_tokens (token_hash, family_id, scope, issued_at, expires_at)
        SELECT bench_sha256('bench-rt-' || n), 'bench-family-' || n, 'read', {now},
            {now} + 2592000
        FROM seq WHERE n <= {families};
        ",
        families = rotation_tokens + 1,
    );
    if large {
        write!(
            sql,
            "
            INSERT INTO users (username, username_key, email, first_name, last_name, organization,
                password_hash, role, status, terms_accepted_at, created_at, updated_at)
            SELECT 'tpp' || n, 'tpp' || n, 'tpp' || n || '@example.test', 'First', 'Last',
                'Organisation ' || (n % 5000), '{password_hash}', 'tpp', 'active', {now}, {now}, {now}
            FROM seq WHERE n <= 100000;
            INSERT INTO applications (owner_id, name, name_key, description, policy_id,
                created_at, updated_at)
            SELECT u.id, 'Application ' || k.n, 'application ' || k.n, 'Seeded', p.id, {now}, {now}
            FROM users u, seq k, throttling_policies p
            WHERE u.username_key LIKE 'tpp%' AND k.n <= 2 AND p.level = 'application'
                AND p.name = '50PerMin';
            INSERT INTO subscriptions (application_id, api_id, policy_id, status, created_at,
                updated_at)
            SELECT a.id, apis.id, p.id, 'ACTIVE', {now}, {now}
            FROM applications a, apis, throttling_policies p
            WHERE a.name_key LIKE 'application %' AND (apis.id + a.id) % 4 = 0
                AND p.level = 'subscription' AND p.name = 'Bronze';
            INSERT INTO oauth_clients (client_id, secret_hash, client_name, application_id,
                key_type, grant_types, created_at, updated_at)
            SELECT 'client-' || a.id, bench_sha256('secret-' || a.id), a.name, a.id, 'PRODUCTION',
                'client_credentials', {now}, {now}
            FROM applications a WHERE a.name_key LIKE 'application %';
            INSERT INTO key_mappings (application_id, key_type, key_manager_id, consumer_key,
                create_mode, state, created_at, updated_at)
            SELECT c.application_id, 'PRODUCTION', km.id, c.client_id, 'CREATED', 'ACTIVE', {now}, {now}
            FROM oauth_clients c, key_managers km
            WHERE c.client_id LIKE 'client-%' AND km.kind = 'resident';
            "
        )
        .unwrap();
    }
    sql.push_str("DROP TABLE seq; COMMIT; PRAGMA wal_checkpoint(TRUNCATE);");
    conn.batch_execute(&sql)
        .expect("seed the benchmark database");
    let mut number = |sql: &str| -> i64 {
        #[derive(QueryableByName)]
        struct Number {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
        }
        diesel::sql_query(sql)
            .get_result::<Number>(&mut conn)
            .map(|c| c.n)
            .unwrap_or(-1)
    };
    let mut count = |table: &str| number(&format!("SELECT count(*) AS n FROM {table}"));
    let counts = format!(
        "{} users, {} applications, {} subscriptions, {} OAuth clients, {} refresh tokens",
        count("users"),
        count("applications"),
        count("subscriptions"),
        count("oauth_clients"),
        count("refresh_tokens")
    );
    let seeded = "FROM oauth_clients WHERE client_id LIKE 'client-%'";
    let clients = Varying::Clients {
        first: number(&format!(
            "SELECT coalesce(min(application_id), 0) AS n {seeded}"
        )),
        count: number(&format!("SELECT count(*) AS n {seeded}")),
    };
    (counts, clients)
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

fn basic(id: &str, secret: &str) -> String {
    use base64::Engine;
    let raw = format!("{id}:{secret}");
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(raw)
    )
}

fn form_headers(id: &str, secret: &str) -> Vec<(String, String)> {
    vec![
        (
            "Content-Type".into(),
            "application/x-www-form-urlencoded".into(),
        ),
        ("Authorization".into(), basic(id, secret)),
    ]
}

struct Portico {
    child: Child,
    base: String,
    http: reqwest::Client,
}

impl Portico {
    fn start(config: &Config, db: &Path, algorithm: &str) -> Portico {
        let port = free_port();
        let child = Command::new(&config.portico)
            .env("PORTICO_LISTEN", format!("127.0.0.1:{port}"))
            .env("PORTICO_DATABASE_URL", db)
            .env("PORTICO_SECRET_KEY", SECRET_KEY)
            .env("PORTICO_SIGNING_ALGORITHM", algorithm)
            .env("PORTICO_ADMIN_USERNAME", "admin")
            .env("PORTICO_ADMIN_PASSWORD", "Quiet-Harbour-7492-lantern")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .spawn()
            .expect("start portico (is target/release/portico built?)");
        let base = format!("http://127.0.0.1:{port}");
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("an HTTP client");
        let mut portico = Portico { child, base, http };
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            std::thread::sleep(Duration::from_millis(100));
            if let Ok(Some(status)) = portico.child.try_wait() {
                panic!("portico exited at start: {status}");
            }
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                break;
            }
            assert!(Instant::now() < deadline, "portico did not start");
        }
        portico
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    async fn scenarios(
        &self,
        algorithm: &str,
        clients: Varying,
        peer_jwt: &Load,
        peer_introspect: &Load,
    ) -> Vec<Scenario> {
        let client_credentials = Load {
            path: "/oauth2/token".into(),
            body: Some("grant_type=client_credentials&scope=read".into()),
            headers: form_headers(CLIENT_ID, CLIENT_SECRET),
            varying: Varying::Nothing,
        };
        let cc_name = if algorithm == "ES256" {
            "client_credentials JWT ES256"
        } else {
            "client_credentials JWT RS256"
        };
        let mut scenarios = vec![Scenario {
            name: cc_name,
            portico: client_credentials.clone(),
            peer: Some((peer_jwt.clone(), "jwt")),
        }];
        if algorithm == "ES256" && matches!(clients, Varying::Clients { count, .. } if count > 0) {
            scenarios.push(Scenario {
                name: "client_credentials JWT ES256, every request another client",
                portico: Load {
                    headers: vec![(
                        "Content-Type".into(),
                        "application/x-www-form-urlencoded".into(),
                    )],
                    varying: clients,
                    ..client_credentials.clone()
                },
                peer: Some((peer_jwt.clone(), "jwt")),
            });
        }
        if algorithm != "ES256" {
            return scenarios;
        }
        let token = self.access_token().await;
        scenarios.push(Scenario {
            // The gateway's hot path (issue #16 item 7), with the scopes and audiences of five
            // subscribed APIs; the peer cannot introspect JWTs, so its opaque-token
            // introspection is the yardstick.
            name: "introspection of a JWT access token (peer: opaque access token)",
            portico: Load {
                path: "/oauth2/introspect".into(),
                body: Some(format!("token={token}")),
                headers: form_headers(CLIENT_ID, CLIENT_SECRET),
                varying: Varying::Nothing,
            },
            peer: Some((peer_introspect.clone(), "opaque")),
        });
        scenarios.push(Scenario {
            name: "introspection of a refresh token (peer: opaque access token)",
            portico: Load {
                path: "/oauth2/introspect".into(),
                body: Some("token=bench-rt-1".into()),
                headers: form_headers(CLIENT_ID, CLIENT_SECRET),
                varying: Varying::Nothing,
            },
            peer: Some((peer_introspect.clone(), "opaque")),
        });
        scenarios.push(Scenario {
            name: "refresh-token rotation",
            portico: Load {
                path: "/oauth2/token".into(),
                body: Some(String::new()),
                headers: form_headers(CLIENT_ID, CLIENT_SECRET),
                varying: Varying::RefreshTokens,
            },
            peer: None,
        });
        let cookie = self.sign_in().await;
        let application = self.first_application(&cookie).await;
        for (name, path) in [
            (
                "page: application list (20 applications)",
                "/applications".to_string(),
            ),
            ("page: API catalog", "/apis".to_string()),
            (
                "page: production keys",
                format!("{application}/keys/production"),
            ),
        ] {
            scenarios.push(Scenario {
                name,
                portico: Load {
                    path,
                    body: None,
                    headers: vec![("Cookie".into(), cookie.clone())],
                    varying: Varying::Nothing,
                },
                peer: None,
            });
        }
        scenarios
    }

    async fn access_token(&self) -> String {
        let request = self
            .http
            .post(format!("{}/oauth2/token", self.base))
            .header("Authorization", basic(CLIENT_ID, CLIENT_SECRET))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body("grant_type=client_credentials&scope=read");
        let answer: serde_json::Value = succeeded(request, "a Portico access token")
            .await
            .json()
            .await
            .expect("a token answer");
        answer["access_token"]
            .as_str()
            .expect("access_token")
            .to_string()
    }

    /// Signs the TPP in through the login form; returns the `Cookie` header value.
    async fn sign_in(&self) -> String {
        let page = self
            .http
            .get(format!("{}/login", self.base))
            .send()
            .await
            .expect("GET /login");
        let mut jar = HashMap::new();
        remember_cookies(&mut jar, page.headers());
        let html = page.text().await.expect("the login page");
        let csrf = extract_value(&html, "name=\"csrf_token\" value=\"").expect("csrf_token");
        let answer = self
            .http
            .post(format!("{}/login", self.base))
            .header("Cookie", cookie_header(&jar))
            .form(&[
                ("username", TPP_USERNAME),
                ("password", TPP_PASSWORD),
                ("next", "/applications"),
                ("csrf_token", csrf.as_str()),
            ])
            .send()
            .await
            .expect("POST /login");
        assert_eq!(answer.status().as_u16(), 303, "the benchmark TPP signs in");
        remember_cookies(&mut jar, answer.headers());
        cookie_header(&jar)
    }

    /// The path of the first application on the list page (`/applications/{id}`).
    async fn first_application(&self, cookie: &str) -> String {
        let request = self
            .http
            .get(format!("{}/applications", self.base))
            .header("Cookie", cookie);
        let html = succeeded(request, "GET /applications")
            .await
            .text()
            .await
            .expect("the application list");
        let id = html
            .split("href=\"/applications/")
            .skip(1)
            .map(|rest| {
                rest.chars()
                    .take_while(char::is_ascii_digit)
                    .collect::<String>()
            })
            .find(|id| !id.is_empty())
            .expect("a link to an application");
        format!("/applications/{id}")
    }
}

impl Drop for Portico {
    fn drop(&mut self) {
        stop(&mut self.child);
    }
}

/// Sends `request` and answers its response when the status is a success; the bench stops,
/// saying `what` failed, on any other outcome.
async fn succeeded(request: reqwest::RequestBuilder, what: &str) -> reqwest::Response {
    request
        .send()
        .await
        .and_then(|r| r.error_for_status())
        .expect(what)
}

fn stop(child: &mut Child) {
    let _ = Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status();
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
}

fn remember_cookies(jar: &mut HashMap<String, String>, headers: &reqwest::header::HeaderMap) {
    for value in headers.get_all(reqwest::header::SET_COOKIE) {
        let Ok(value) = value.to_str() else { continue };
        let pair = value.split(';').next().unwrap_or_default();
        if let Some((name, value)) = pair.split_once('=') {
            jar.insert(name.trim().to_string(), value.trim().to_string());
        }
    }
}

fn cookie_header(jar: &HashMap<String, String>) -> String {
    jar.iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("; ")
}

fn extract_value(html: &str, prefix: &str) -> Option<String> {
    let start = html.find(prefix)? + prefix.len();
    let rest = &html[start..];
    Some(rest[..rest.find('"')?].to_string())
}

/// The oidc-provider peer (`tests/oidc-provider/server.js`).
struct Peer {
    child: Child,
    base: String,
    http: reqwest::Client,
}

impl Peer {
    /// `jwt`: JWT access tokens signed with a key of this algorithm; `None`: opaque tokens.
    fn start(root: &Path, jwt: Option<&str>) -> Peer {
        let mut command = Command::new("node");
        command
            .arg(root.join("tests/oidc-provider/server.js"))
            .args(["--port", &free_port().to_string()])
            .env("NODE_ENV", "production")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        if let Some(algorithm) = jwt {
            command.args(["--jwt", "--signing-alg", algorithm]);
        }
        let mut child = command
            .spawn()
            .expect("start node tests/oidc-provider/server.js");
        let mut line = String::new();
        let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
        stdout.read_line(&mut line).expect("the peer's first line");
        // Keep draining: a closed pipe would kill the peer at its next log line.
        std::thread::spawn(move || std::io::copy(&mut stdout, &mut std::io::sink()));
        let base = line
            .trim()
            .strip_prefix("listening ")
            .expect("`listening <issuer>`")
            .to_string();
        Peer {
            child,
            base,
            http: reqwest::Client::new(),
        }
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Registers a client_credentials client (RFC 7591): (client_id, client_secret).
    async fn register(&self) -> (String, String) {
        let request = self
            .http
            .post(format!("{}/reg", self.base))
            .json(&serde_json::json!({
                "client_name": "Portico benchmark",
                "grant_types": ["client_credentials"],
                "response_types": [],
                "redirect_uris": [],
                "token_endpoint_auth_method": "client_secret_basic",
                "scope": "read write",
            }));
        let answer: serde_json::Value = succeeded(request, "RFC 7591 registration at the peer")
            .await
            .json()
            .await
            .expect("a registration answer");
        (
            answer["client_id"].as_str().expect("client_id").to_string(),
            answer["client_secret"]
                .as_str()
                .expect("client_secret")
                .to_string(),
        )
    }

    async fn client_credentials_load(&self) -> Load {
        let (id, secret) = self.register().await;
        Load {
            path: "/token".into(),
            body: Some("grant_type=client_credentials&scope=read".into()),
            headers: form_headers(&id, &secret),
            varying: Varying::Nothing,
        }
    }

    async fn introspection_load(&self) -> Load {
        let (id, secret) = self.register().await;
        let answer: serde_json::Value = self
            .http
            .post(format!("{}/token", self.base))
            .header("Authorization", basic(&id, &secret))
            .form(&[("grant_type", "client_credentials"), ("scope", "read")])
            .send()
            .await
            .expect("a peer token")
            .json()
            .await
            .expect("a token answer");
        let token = answer["access_token"]
            .as_str()
            .unwrap_or_else(|| panic!("peer access token: {answer}"));
        let check: serde_json::Value = self
            .http
            .post(format!("{}/token/introspection", self.base))
            .header("Authorization", basic(&id, &secret))
            .form(&[("token", token)])
            .send()
            .await
            .expect("peer introspection")
            .json()
            .await
            .expect("an introspection answer");
        if check["active"] != serde_json::Value::Bool(true) {
            eprintln!("warning: the peer answers its own token inactive: {check}");
        }
        Load {
            path: "/token/introspection".into(),
            body: Some(format!("token={token}")),
            headers: form_headers(&id, &secret),
            varying: Varying::Nothing,
        }
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        stop(&mut self.child);
    }
}

fn tokens_per_thread(config: &Config) -> u64 {
    (config.duration + 2) * 6_000
}

/// utime + stime of a process, in seconds.
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // The command name may hold spaces: fields count from the closing parenthesis.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // Fields 14 and 15 of stat(5); the slice starts at field 3.
    (ticks(11) + ticks(12)) / clock_ticks()
}

fn clock_ticks() -> f64 {
    static TICKS: std::sync::OnceLock<f64> = std::sync::OnceLock::new();
    *TICKS.get_or_init(|| {
        Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(100.0)
    })
}

/// VmHWM in MB.
fn peak_rss_mb(pid: u32) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map(|kb| kb / 1024.0)
        .unwrap_or(0.0)
}

/// Runs wrk once against `base` and measures the server process `pid` meanwhile.
fn wrk(
    config: &Config,
    pid: u32,
    base: &str,
    load: &Load,
    connections: usize,
    seconds: u64,
    rotation_offset: &mut u64,
) -> Measure {
    let script = config.work.join("scenario.lua");
    let per_thread = tokens_per_thread(config);
    std::fs::write(&script, lua(load, *rotation_offset, per_thread)).expect("write the wrk script");
    if load.varying == Varying::RefreshTokens {
        *rotation_offset += per_thread * WRK_THREADS as u64;
    }
    // Resets VmHWM, so the peak is this run's (Linux ≥ 4.0).
    let _ = std::fs::write(format!("/proc/{pid}/clear_refs"), "5");
    let cpu_before = cpu_seconds(pid);
    let started = Instant::now();
    let output = Command::new("wrk")
        .args(["-t", &WRK_THREADS.min(connections).to_string()])
        .args(["-c", &connections.to_string()])
        .args(["-d", &format!("{seconds}s")])
        .args(["--timeout", "5s"])
        .arg("-s")
        .arg(&script)
        .arg(format!("{base}{}", load.path))
        .output()
        .expect("run wrk");
    let wall = started.elapsed().as_secs_f64();
    let cpu = cpu_seconds(pid) - cpu_before;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let line = stdout
        .lines()
        .find_map(|l| l.strip_prefix("BENCH "))
        .unwrap_or_else(|| {
            panic!(
                "wrk printed no result: {stdout} {}",
                String::from_utf8_lossy(&output.stderr)
            )
        });
    let n: Vec<f64> = line
        .split_whitespace()
        .filter_map(|v| v.parse().ok())
        .collect();
    let (requests, duration_us, p50, p99, errors) = (n[0], n[1], n[2], n[3], n[4]);
    Measure {
        rps: requests / (duration_us / 1e6),
        p50_ms: p50 / 1000.0,
        p99_ms: p99 / 1000.0,
        errors: errors as u64,
        cpu_percent: cpu / wall * 100.0,
        peak_rss_mb: peak_rss_mb(pid),
    }
}

fn lua_string(value: &str) -> String {
    format!("{value:?}")
}

fn lua(load: &Load, rotation_offset: u64, per_thread: u64) -> String {
    let mut script = String::new();
    writeln!(
        script,
        "wrk.method = {}",
        lua_string(if load.body.is_some() { "POST" } else { "GET" })
    )
    .unwrap();
    if let Some(body) = &load.body {
        writeln!(script, "wrk.body = {}", lua_string(body)).unwrap();
    }
    for (name, value) in &load.headers {
        writeln!(
            script,
            "wrk.headers[{}] = {}",
            lua_string(name),
            lua_string(value)
        )
        .unwrap();
    }
    if let Varying::Clients { first, count } = load.varying {
        // Each thread walks its own half of the clients.
        write!(
            script,
            r#"
local threads = 0
function setup(thread)
  thread:set("offset", threads * {half})
  threads = threads + 1
end
local n = 0
function request()
  local id = {first} + (offset + n) % {count}
  n = n + 1
  return wrk.format(nil, nil, nil,
    "grant_type=client_credentials&scope=read&client_id=client-" .. id .. "&client_secret=secret-" .. id)
end
"#,
            half = count / 2,
        )
        .unwrap();
    }
    if load.varying == Varying::RefreshTokens {
        // Each thread walks its own range of seeded refresh tokens, each presented once.
        write!(
            script,
            r#"
local threads = 0
function setup(thread)
  thread:set("first", {rotation_offset} + threads * {per_thread} + 1)
  threads = threads + 1
end
local n = 0
function request()
  local body = "grant_type=refresh_token&refresh_token=bench-rt-" .. (first + n)
  n = n + 1
  return wrk.format(nil, nil, nil, body)
end
"#
        )
        .unwrap();
    }
    script.push_str(
        r#"
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("BENCH %d %d %d %d %d\n", summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(99),
    e.status + e.connect + e.read + e.write + e.timeout))
end
"#,
    );
    script
}

fn render(config: &Config, rows: &[Row]) -> String {
    let mut out = String::new();
    writeln!(
        out,
        "wrk {WRK_THREADS} threads, {} s per run; p50/p99 in ms; CPU in % of one core; RSS = peak (VmHWM) during the run",
        config.duration
    )
    .unwrap();
    writeln!(out).unwrap();
    writeln!(out, "| scenario | db | conns | Portico req/s | p50 | p99 | errors | CPU % | RSS MB | peer req/s | p50 | p99 | CPU % | RSS MB | Portico/peer |").unwrap();
    writeln!(
        out,
        "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|"
    )
    .unwrap();
    for row in rows {
        let p = &row.portico;
        write!(
            out,
            "| {} | {} | {} | {:.0} | {:.2} | {:.2} | {} | {:.0} | {:.1} |",
            row.scenario,
            row.database,
            row.connections,
            p.rps,
            p.p50_ms,
            p.p99_ms,
            p.errors,
            p.cpu_percent,
            p.peak_rss_mb
        )
        .unwrap();
        match &row.peer {
            Some(q) => writeln!(
                out,
                " {:.0} | {:.2} | {:.2} | {:.0} | {:.1} | {:.2}× |",
                q.rps,
                q.p50_ms,
                q.p99_ms,
                q.cpu_percent,
                q.peak_rss_mb,
                p.rps / q.rps
            )
            .unwrap(),
            None => writeln!(out, " – | – | – | – | – | – |").unwrap(),
        }
    }
    out
}
