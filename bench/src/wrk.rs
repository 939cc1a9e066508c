//! Driving a scenario with wrk (one wrk per Portico instance, all at once) and measuring the
//! servers meanwhile: CPU from `/proc/<pid>/stat`, peak RSS from VmHWM.

use std::fmt::Write as _;
use std::process::{Command, Output, Stdio};
use std::time::Instant;

use crate::{Config, Load, Measure, Varying, WRK_THREADS, postgres};

/// A server under load: its process (measured) and where its wrk sends the requests.
pub struct Target {
    pub pid: u32,
    pub base: String,
}

/// Refresh rotation presents each seeded token once: enough for one run (and the warm-up) at up
/// to 6,000 rotations per second per wrk thread.
fn tokens_per_thread(config: &Config) -> u64 {
    (config.duration + 2) * 6_000
}

/// Seeded refresh tokens one run consumes, whatever the number of instances: the wrk threads
/// are shared among the wrk processes.
pub fn tokens_per_run(config: &Config) -> u64 {
    tokens_per_thread(config) * WRK_THREADS as u64
}

/// Runs one wrk per target at once, each with its share of the connections and of the
/// `WRK_THREADS` threads (so two instances get the same load generator as one), and measures the
/// targets meanwhile. With several targets, requests/s, CPU and RSS are sums and p50/p99 the
/// worst of the wrks. `backend`: the PostgreSQL database whose server processes are measured too.
pub fn wrk(
    config: &Config,
    targets: &[Target],
    backend: Option<&str>,
    load: &Load,
    connections: usize,
    seconds: u64,
    rotation_offset: &mut u64,
) -> Measure {
    let per_thread = tokens_per_thread(config);
    let share = (connections / targets.len()).max(1);
    let threads = (WRK_THREADS / targets.len()).clamp(1, share);
    for target in targets {
        // Resets VmHWM, so the peak is this run's (Linux ≥ 4.0).
        let _ = std::fs::write(format!("/proc/{}/clear_refs", target.pid), "5");
    }
    let cpu = || targets.iter().map(|t| cpu_seconds(t.pid)).sum::<f64>();
    let cpu_before = cpu();
    let backend_before = backend.map(postgres::backend_cpu);
    let started = Instant::now();
    let children: Vec<_> = targets
        .iter()
        .enumerate()
        .map(|(i, target)| {
            let script = config.work.join(format!("scenario-{i}.lua"));
            let threads_of = Threads {
                first: i * threads,
                total: threads * targets.len(),
            };
            let text = lua(load, *rotation_offset, per_thread, threads_of);
            std::fs::write(&script, text).expect("write the wrk script");
            Command::new("wrk")
                .args(["-t", &threads.to_string()])
                .args(["-c", &share.to_string()])
                .args(["-d", &format!("{seconds}s")])
                .args(["--timeout", "5s"])
                .arg("-s")
                .arg(&script)
                .arg(format!("{}{}", target.base, load.path))
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("run wrk")
        })
        .collect();
    let answers: Vec<Answer> = children
        .into_iter()
        .map(|child| Answer::parse(&child.wait_with_output().expect("wait for wrk")))
        .collect();
    let wall = started.elapsed().as_secs_f64();
    let cpu = cpu() - cpu_before;
    if load.varying == Varying::RefreshTokens {
        *rotation_offset += per_thread * (threads * targets.len()) as u64;
    }
    let worst = |f: fn(&Answer) -> f64| answers.iter().map(f).fold(0.0, f64::max);
    Measure {
        rps: answers
            .iter()
            .map(|a| a.requests / (a.duration_us / 1e6))
            .sum(),
        p50_ms: worst(|a| a.p50_us) / 1000.0,
        p99_ms: worst(|a| a.p99_us) / 1000.0,
        errors: answers.iter().map(|a| a.errors).sum(),
        cpu_percent: cpu / wall * 100.0,
        peak_rss_mb: targets.iter().map(|t| peak_rss_mb(t.pid)).sum(),
        backend_cpu_percent: backend
            .zip(backend_before)
            .map(|(name, before)| postgres::cpu_since(&before, name) / wall * 100.0),
    }
}

/// What one wrk printed (the `done` function of its script).
struct Answer {
    requests: f64,
    duration_us: f64,
    p50_us: f64,
    p99_us: f64,
    errors: u64,
}

impl Answer {
    fn parse(output: &Output) -> Answer {
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
        Answer {
            requests: n[0],
            duration_us: n[1],
            p50_us: n[2],
            p99_us: n[3],
            errors: n[4] as u64,
        }
    }
}

/// utime + stime of a process, in seconds.
pub fn cpu_seconds(pid: u32) -> f64 {
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

fn lua_string(value: &str) -> String {
    format!("{value:?}")
}

/// The wrk threads of one wrk process among all the wrks of a run: thread numbers
/// `first..first + threads` of `total`.
#[derive(Clone, Copy)]
struct Threads {
    first: usize,
    total: usize,
}

fn lua(load: &Load, rotation_offset: u64, per_thread: u64, threads: Threads) -> String {
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
        // Each thread (of all the wrks) walks its own share of the clients.
        write!(
            script,
            r#"
local threads = 0
function setup(thread)
  thread:set("offset", ({first_thread} + threads) * {share})
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
            first_thread = threads.first,
            share = count / threads.total as i64,
        )
        .unwrap();
    }
    if load.varying == Varying::RefreshTokens {
        // Each thread (of all the wrks) walks its own range of seeded refresh tokens, each
        // presented once.
        write!(
            script,
            r#"
local threads = 0
function setup(thread)
  thread:set("first", {rotation_offset} + ({first_thread} + threads) * {per_thread} + 1)
  threads = threads + 1
end
local n = 0
function request()
  local body = "grant_type=refresh_token&refresh_token=bench-rt-" .. (first + n)
  n = n + 1
  return wrk.format(nil, nil, nil, body)
end
"#,
            first_thread = threads.first,
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
