//! A REAL `portico` process for the reliability suites: started from the built binary on a
//! loopback port with its own SQLite file, its standard error captured line by line, killed
//! with SIGKILL and started again on the same database.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::helpers::*;

pub struct Portico {
    /// Address, database file and temporary directory, with the helpers of `TestApp`.
    pub app: TestApp,
    child: Option<Child>,
    logs: Arc<Mutex<Vec<String>>>,
    env: Vec<(String, String)>,
}

impl Portico {
    /// Starts `portico` on a fresh database with extra environment.
    pub fn start(env: &[(&str, &str)]) -> Portico {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let db_path = dir.path().join("portico.db");
        Portico::start_on(TestApp::unstarted(dir, db_path), env)
    }

    /// Starts `portico` on the database of an unstarted `TestApp` (a SQLite one whatever the
    /// suite's backend, for instance).
    pub fn start_on(app: TestApp, env: &[(&str, &str)]) -> Portico {
        let mut portico = Portico {
            app,
            child: None,
            logs: Arc::new(Mutex::new(Vec::new())),
            env: env
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        };
        portico.spawn();
        portico
    }

    fn spawn(&mut self) {
        let mut command = Command::new(env!("CARGO_BIN_EXE_portico"));
        command
            .env("PORTICO_LISTEN", "127.0.0.1:0")
            .envs(self.app.db_env())
            .env("PORTICO_ADMIN_USERNAME", ADMIN)
            .env("PORTICO_ADMIN_PASSWORD", ADMIN_PASSWORD)
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        for (k, v) in &self.env {
            command.env(k, v);
        }
        let mut child = command.spawn().expect("portico starts");
        let stderr = child.stderr.take().expect("standard error");
        let first = self.logs.lock().unwrap().len();
        let logs = Arc::clone(&self.logs);
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                logs.lock().unwrap().push(line);
            }
        });
        let started = Instant::now();
        let address = loop {
            let found = self.logs.lock().unwrap()[first..]
                .iter()
                .find_map(|line| line.split("address=").nth(1).map(str::to_string));
            if let Some(rest) = found {
                break rest.split_whitespace().next().unwrap().to_string();
            }
            if let Ok(Some(status)) = child.try_wait() {
                panic!("portico exited at start ({status}):\n{}", self.logs());
            }
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "portico did not report its address"
            );
            std::thread::sleep(Duration::from_millis(10));
        };
        self.app.address = format!("http://{address}");
        self.child = Some(child);
    }

    /// SIGKILL: no shutdown hook, no flush, no checkpoint.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().expect("SIGKILL is delivered");
            child.wait().expect("the process is reaped");
        }
    }

    /// Kills the process (when it runs) and starts another on the same database.
    pub fn restart(&mut self) {
        self.kill();
        self.spawn();
    }

    /// Everything the process (and those before it on this database) wrote to standard error.
    pub fn logs(&self) -> String {
        self.logs.lock().unwrap().join("\n")
    }

    pub fn browser(&self) -> Browser {
        self.app.browser()
    }
}

impl Drop for Portico {
    fn drop(&mut self) {
        self.kill();
    }
}
