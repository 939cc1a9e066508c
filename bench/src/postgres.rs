//! The PostgreSQL side of the benchmark: a fresh database per size (`portico_bench_<label>`),
//! filled from the seeded SQLite file, and the CPU of the PostgreSQL processes serving it.

use std::collections::HashMap;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

use diesel::connection::SimpleConnection;
use diesel::{Connection, PgConnection};

use crate::{Config, SECRET_KEY, seed};

/// A benchmark database on the PostgreSQL server, dropped when this goes.
pub struct PgDatabase {
    pub name: String,
    pub url: String,
    server: String,
}

impl PgDatabase {
    /// Drops and creates `portico_bench_<label>`, then fills it from the seeded SQLite file `db`:
    /// with `portico migrate-database` when the binary has it, else by running the seed script
    /// translated to PostgreSQL. Answers the database and how it was filled.
    pub fn prepare(
        config: &Config,
        server: &str,
        label: &str,
        db: &Path,
        large: bool,
        rotation_tokens: u64,
    ) -> (PgDatabase, &'static str) {
        let name = format!("portico_bench_{label}");
        let server = server.trim_end_matches('/').to_string();
        admin(
            &server,
            &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
        );
        admin(&server, &format!("CREATE DATABASE {name}"));
        let database = PgDatabase {
            url: format!("{server}/{name}"),
            name,
            server,
        };
        let started = Instant::now();
        let how = if has_migrate_database(&config.portico) {
            database.copy_from(config, db);
            "copied from the seeded SQLite file by `portico migrate-database`"
        } else {
            seed::seed_postgres(&database.url, large, rotation_tokens);
            "seeded by the seed script translated to PostgreSQL (no `portico migrate-database`)"
        };
        // A bulk load leaves the planner without statistics until autovacuum comes by.
        PgConnection::establish(&database.url)
            .expect("open the PostgreSQL benchmark database")
            .batch_execute("ANALYZE")
            .expect("ANALYZE the PostgreSQL benchmark database");
        eprintln!(
            "== PostgreSQL {}: {how}, in {:.1} s",
            database.name,
            started.elapsed().as_secs_f64()
        );
        (database, how)
    }

    /// `portico migrate-database --to <url>` from the SQLite file, under the secret key every
    /// Portico of the benchmark gets: the copied secrets stay readable.
    fn copy_from(&self, config: &Config, db: &Path) {
        let output = Command::new(&config.portico)
            .args(["migrate-database", "--to", &self.url])
            .env("PORTICO_DATABASE_URL", db)
            .env("PORTICO_SECRET_KEY", SECRET_KEY)
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .output()
            .expect("run portico migrate-database");
        assert!(
            output.status.success(),
            "portico migrate-database failed: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        admin(
            &self.server,
            &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name),
        );
    }
}

/// Runs a statement on the server's `postgres` database (CREATE/DROP DATABASE).
fn admin(server: &str, sql: &str) {
    let mut conn = PgConnection::establish(&format!("{server}/postgres"))
        .unwrap_or_else(|e| panic!("connect to PostgreSQL at {server}: {e}"));
    conn.batch_execute(sql)
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

fn has_migrate_database(portico: &Path) -> bool {
    Command::new(portico)
        .args(["migrate-database", "--help"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// CPU seconds so far of every PostgreSQL backend serving `database`, by process id: a backend
/// names its database in its process title (`postgres: user database host(port) state`).
pub fn backend_cpu(database: &str) -> HashMap<u32, f64> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return HashMap::new();
    };
    let needle = format!(" {database} ");
    entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline"))
                .is_ok_and(|c| String::from_utf8_lossy(&c).contains(&needle))
        })
        .map(|pid| (pid, crate::wrk::cpu_seconds(pid)))
        .collect()
}

/// CPU seconds the backends of `database` used since `before` (a backend that started meanwhile
/// counts whole; one that ended meanwhile is lost, but Portico's pooled connections stay).
pub fn cpu_since(before: &HashMap<u32, f64>, database: &str) -> f64 {
    backend_cpu(database)
        .into_iter()
        .map(|(pid, now)| now - before.get(&pid).copied().unwrap_or(0.0))
        .sum()
}
