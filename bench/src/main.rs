//! The benchmark driver behind `bash bench/run`: seeds a small and a large SQLite database
//! with the real schema, starts Portico (release build) and the oidc-provider peer on loopback,
//! prepares clients on both (the peer signs its JWTs with a key of the algorithm Portico uses),
//! drives each scenario with wrk at 16 and 64 connections, alternating
//! the two servers, and prints one table: requests/s, p50/p99, server CPU (from
//! `/proc/<pid>/stat`), peak RSS (VmHWM, reset per run through `/proc/<pid>/clear_refs`) and
//! the Portico/peer ratio.
//!
//! On PostgreSQL (`BENCH_DATABASE=postgres` or `sqlite,postgres`), each seeded SQLite file is
//! copied into a fresh database `portico_bench_<size>` before any run uses it, and Portico runs
//! there as one instance and as two sharing the database (`BENCH_INSTANCES`): two Portico
//! processes, each driven by its own wrk with half the connections, at once. Those rows add the
//! CPU of the PostgreSQL backends serving the database.
//!
//! Environment: `BENCH_DURATION` (seconds per run, default 10), `BENCH_CONNECTIONS` (default
//! `16,64`), `BENCH_LARGE=0` to skip the large database, `BENCH_ONLY=substring` to run only the
//! scenarios whose name contains it, `BENCH_OUT` (a Markdown copy of the table), `BENCH_PORTICO`
//! (another portico binary, e.g. a build from before a change), `BENCH_DATABASE` (`sqlite`, the
//! default; `postgres`; or `sqlite,postgres`, SQLite first), `BENCH_INSTANCES` (Portico
//! instances on PostgreSQL, default `1,2`; SQLite is always one), `BENCH_POSTGRES` (the server,
//! default `postgres://postgres@127.0.0.1:5432`).

mod instance;
mod peer;
mod postgres;
mod seed;
mod wrk;

use std::collections::HashMap;
use std::fmt::Write as _;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use instance::Portico;
use peer::Peer;
use postgres::PgDatabase;
use wrk::Target;

const SECRET_KEY: &str = "6265e3c4d2a1f0b9a8c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f2a1b0c9d8e7f601";
const TPP_USERNAME: &str = "bench";
const TPP_PASSWORD: &str = "bench-password-2026";
const CLIENT_ID: &str = "bench-client";
const CLIENT_SECRET: &str = "bench-client-secret-0123456789abcdef";
const WRK_THREADS: usize = 2;

/// The scenarios of the PostgreSQL rows (issue #17).
const POSTGRES_SCENARIOS: &[&str] = &[
    "client_credentials JWT ES256",
    "introspection of a JWT access token (peer: opaque access token)",
    "refresh-token rotation",
    "page: application list (20 applications)",
    "page: API catalog",
    "page: production keys",
];

struct Config {
    root: PathBuf,
    portico: PathBuf,
    work: PathBuf,
    duration: u64,
    connections: Vec<usize>,
    large: bool,
    only: Option<String>,
    out: Option<PathBuf>,
    /// SQLite rows.
    sqlite: bool,
    /// PostgreSQL rows: the server (without a database).
    postgres: Option<String>,
    /// Portico instances on PostgreSQL, one set of rows each.
    instances: Vec<usize>,
}

fn main() {
    let root = PathBuf::from(std::env::args().nth(1).unwrap_or_else(|| ".".into()));
    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let list = |name: &str, default: &str| -> Vec<String> {
        env(name)
            .unwrap_or_else(|| default.into())
            .split(',')
            .map(|v| v.trim().to_lowercase())
            .filter(|v| !v.is_empty())
            .collect()
    };
    let backends = list("BENCH_DATABASE", "sqlite");
    if let Some(other) = backends
        .iter()
        .find(|b| !["sqlite", "postgres", "postgresql"].contains(&b.as_str()))
    {
        panic!("BENCH_DATABASE: {other:?} is neither sqlite nor postgres");
    }
    let config = Config {
        portico: env("BENCH_PORTICO")
            .map(PathBuf::from)
            .unwrap_or_else(|| root.join("target/release/portico")),
        work: root.join("target/bench"),
        duration: env("BENCH_DURATION")
            .and_then(|d| d.parse().ok())
            .unwrap_or(10),
        connections: list("BENCH_CONNECTIONS", "16,64")
            .iter()
            .filter_map(|c| c.parse().ok())
            .collect(),
        large: env("BENCH_LARGE").as_deref() != Some("0"),
        only: env("BENCH_ONLY"),
        out: env("BENCH_OUT").map(PathBuf::from),
        sqlite: backends.iter().any(|b| b == "sqlite"),
        postgres: backends.iter().any(|b| b.starts_with("postgres")).then(|| {
            env("BENCH_POSTGRES").unwrap_or_else(|| "postgres://postgres@127.0.0.1:5432".into())
        }),
        instances: list("BENCH_INSTANCES", "1,2")
            .iter()
            .filter_map(|n| n.parse().ok().filter(|&n: &usize| n > 0))
            .collect(),
        root,
    };
    let runtime = tokio::runtime::Runtime::new().expect("a tokio runtime");
    let (rows, notes) = runtime.block_on(run(&config));
    let table = render(&config, &rows, &notes);
    println!("\n{table}");
    if let Some(out) = &config.out {
        std::fs::write(out, &table).expect("write BENCH_OUT");
    }
}

/// One line of the table.
struct Row {
    scenario: String,
    /// Size, backend and instances, e.g. `small · PostgreSQL ×2`.
    database: String,
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
    /// The PostgreSQL backends serving the run (PostgreSQL rows only).
    backend_cpu_percent: Option<f64>,
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

/// The peers, shared by every run.
struct Bench<'a> {
    config: &'a Config,
    peers: HashMap<&'static str, Peer>,
    peer_introspect: Load,
}

async fn run(config: &Config) -> (Vec<Row>, Vec<String>) {
    std::fs::create_dir_all(&config.work).expect("create target/bench");
    // Refresh rotation presents each seeded token once: enough for every run (and its warm-up)
    // on one database; on PostgreSQL the instance counts take turns on the same database.
    let passes = if config.postgres.is_some() {
        config.instances.len().max(1)
    } else {
        1
    };
    let rotation_tokens =
        1 + wrk::tokens_per_run(config) * (config.connections.len() as u64 + 1) * passes as u64;

    eprintln!("== starting the oidc-provider peers (ES256 and RS256 JWT, opaque access tokens)");
    let peers: HashMap<&str, Peer> = [
        ("ES256", Peer::start(&config.root, Some("ES256"))),
        ("RS256", Peer::start(&config.root, Some("RS256"))),
        ("opaque", Peer::start(&config.root, None)),
    ]
    .into_iter()
    .collect();
    let peer_introspect = peers["opaque"].introspection_load().await;
    let bench = Bench {
        config,
        peers,
        peer_introspect,
    };

    let (mut rows, mut notes) = (Vec::new(), Vec::new());
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
        let (counts, clients) = seed::seed_sqlite(&db, large, rotation_tokens);
        eprintln!(
            "== seeded the {label} database in {:.1} s: {counts}",
            started.elapsed().as_secs_f64()
        );
        // PostgreSQL gets the fresh seed, before any run has used its refresh tokens.
        let postgres = config
            .postgres
            .as_deref()
            .map(|server| PgDatabase::prepare(config, server, label, &db, large, rotation_tokens));
        if config.sqlite {
            rows.extend(bench.on_sqlite(label, &db, clients).await);
        }
        if let Some((database, how)) = postgres {
            let note = format!("PostgreSQL rows: the database {how}.");
            if !notes.contains(&note) {
                notes.push(note);
            }
            // Token 1 is the one the introspection scenario reads; rotation starts after it.
            let mut rotation_offset = 1u64;
            for &instances in &config.instances {
                let measured = bench.on_postgres(label, &database, instances, &mut rotation_offset);
                rows.extend(measured.await);
            }
        }
    }
    (rows, notes)
}

/// Where one set of rows runs.
struct Servers {
    targets: Vec<Target>,
    /// The PostgreSQL database whose backends are measured.
    backend: Option<String>,
    database: String,
    algorithm: &'static str,
}

impl Bench<'_> {
    async fn scenarios(
        &self,
        portico: &Portico,
        algorithm: &str,
        clients: Varying,
    ) -> Vec<Scenario> {
        let peer_jwt = self.peers[algorithm].client_credentials_load().await;
        portico
            .scenarios(algorithm, clients, &peer_jwt, &self.peer_introspect)
            .await
    }

    /// One Portico on the SQLite file, signing with ES256 and then with RS256.
    async fn on_sqlite(&self, label: &str, db: &Path, clients: Varying) -> Vec<Row> {
        let mut rows = Vec::new();
        // Token 1 is the one the introspection scenario reads; rotation starts after it.
        let mut rotation_offset = 1u64;
        for algorithm in ["ES256", "RS256"] {
            let portico = Portico::start(self.config, &db.to_string_lossy(), algorithm);
            let scenarios = self.scenarios(&portico, algorithm, clients).await;
            let servers = Servers {
                targets: vec![portico.target()],
                backend: None,
                database: format!("{label} · SQLite"),
                algorithm,
            };
            rows.extend(self.drive(&servers, &scenarios, &mut rotation_offset));
        }
        rows
    }

    /// `instances` Porticos on the PostgreSQL database (ES256), each driven by its own wrk.
    async fn on_postgres(
        &self,
        label: &str,
        database: &PgDatabase,
        instances: usize,
        rotation_offset: &mut u64,
    ) -> Vec<Row> {
        let porticos: Vec<Portico> = (0..instances)
            .map(|_| Portico::start(self.config, &database.url, "ES256"))
            .collect();
        // The token, the cookie and the application come from the first instance: the others
        // must accept them as they are (shared signing keys and sessions).
        let mut scenarios = self
            .scenarios(&porticos[0], "ES256", Varying::Nothing)
            .await;
        scenarios.retain(|s| POSTGRES_SCENARIOS.contains(&s.name));
        for scenario in scenarios.iter().filter(|s| s.portico.body.is_none()) {
            for portico in &porticos {
                portico.check_page(&scenario.portico).await;
            }
        }
        let servers = Servers {
            targets: porticos.iter().map(Portico::target).collect(),
            backend: Some(database.name.clone()),
            database: format!("{label} · PostgreSQL ×{instances}"),
            algorithm: "ES256",
        };
        self.drive(&servers, &scenarios, rotation_offset)
    }

    /// Each scenario after a short warm-up, at each connection count, then the peer's
    /// counterpart at the same count.
    fn drive(
        &self,
        servers: &Servers,
        scenarios: &[Scenario],
        rotation_offset: &mut u64,
    ) -> Vec<Row> {
        let config = self.config;
        let backend = servers.backend.as_deref();
        let mut rows = Vec::new();
        for scenario in scenarios {
            if let Some(only) = &config.only
                && !scenario.name.contains(only.as_str())
            {
                continue;
            }
            // A short warm-up (not measured): caches, pools and the allocator settle.
            let load = &scenario.portico;
            wrk::wrk(
                config,
                &servers.targets,
                backend,
                load,
                16,
                2,
                rotation_offset,
            );
            for &connections in &config.connections {
                eprintln!(
                    "== {} · {} · {connections} connections",
                    servers.database, scenario.name
                );
                let measure = wrk::wrk(
                    config,
                    &servers.targets,
                    backend,
                    load,
                    connections,
                    config.duration,
                    rotation_offset,
                );
                let peer = scenario.peer.as_ref().map(|(load, which)| {
                    let peer = &self.peers[if *which == "jwt" {
                        servers.algorithm
                    } else {
                        which
                    }];
                    let target = [peer.target()];
                    wrk::wrk(
                        config,
                        &target,
                        None,
                        load,
                        connections,
                        config.duration,
                        &mut 0,
                    )
                });
                rows.push(Row {
                    scenario: scenario.name.to_string(),
                    database: servers.database.clone(),
                    connections,
                    portico: measure,
                    peer,
                });
            }
        }
        rows
    }
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

fn render(config: &Config, rows: &[Row], notes: &[String]) -> String {
    let mut out = String::new();
    writeln!(
        out,
        "wrk {WRK_THREADS} threads, {} s per run; p50/p99 in ms; CPU in % of one core; RSS = peak (VmHWM) during the run",
        config.duration
    )
    .unwrap();
    let postgres = config.postgres.is_some();
    if postgres {
        writeln!(
            out,
            "\n×2: two Portico instances on one PostgreSQL database, each driven by its own wrk \
             (1 thread, half the connections) at once: req/s, CPU and RSS are the sums, p50/p99 \
             the worse of the two. PG CPU % = the PostgreSQL backends serving the database."
        )
        .unwrap();
    }
    for note in notes {
        writeln!(out, "{note}").unwrap();
    }
    writeln!(out).unwrap();
    let (pg_head, pg_rule) = if postgres {
        (" PG CPU % |", "--:|")
    } else {
        ("", "")
    };
    writeln!(out, "| scenario | db | conns | Portico req/s | p50 | p99 | errors | CPU % | RSS MB |{pg_head} peer req/s | p50 | p99 | CPU % | RSS MB | Portico/peer |").unwrap();
    writeln!(
        out,
        "|---|---|--:|--:|--:|--:|--:|--:|--:|{pg_rule}--:|--:|--:|--:|--:|--:|"
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
        if postgres {
            match p.backend_cpu_percent {
                Some(cpu) => write!(out, " {cpu:.0} |").unwrap(),
                None => write!(out, " – |").unwrap(),
            }
        }
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
