//! The gateway tests' harness: the upstream API the gateways stand in front of (a loopback
//! actix server that answers 200 with what it saw), and HAProxy and nginx started from the
//! files under `deploy/` as the test user, on free loopback ports, stopped when dropped.

use std::io::Read;
use std::net::TcpStream;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::{HttpRequest, HttpResponse, web};
use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::*;
use crate::interop::{Stopped, repository_path};
use crate::oauth::http;

/// The upstream API: answers every request with 200 and what it saw, and remembers it.
pub struct Upstream {
    pub address: String,
    seen: Arc<Mutex<Vec<String>>>,
}

impl Upstream {
    pub fn start() -> Upstream {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let url = stand_in(web::Data::from(seen.clone()), answer);
        Upstream {
            address: url.trim_start_matches("http://").to_string(),
            seen,
        }
    }

    /// Every request that reached the API, as `METHOD /path for CLIENT`.
    pub fn seen(&self) -> Vec<String> {
        self.seen.lock().expect("the upstream's log").clone()
    }
}

async fn answer(request: HttpRequest, seen: web::Data<Mutex<Vec<String>>>) -> HttpResponse {
    let client = request
        .headers()
        .get("x-client-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("nobody");
    let line = format!("{} {} for {client}", request.method(), request.path());
    seen.lock().expect("the upstream's log").push(line.clone());
    HttpResponse::Ok().body(format!("inventory: {line}"))
}

/// A running gateway and where it listens.
pub struct Gateway {
    pub url: String,
    log: std::path::PathBuf,
    _process: Stopped,
}

/// A free loopback port (bound, then released for the gateway).
fn free_port() -> u16 {
    let (listener, _) = loopback();
    listener.local_addr().expect("an address").port()
}

impl Gateway {
    /// Starts `command` (its output to `log`), listening on `port`; waits until it accepts.
    fn start(mut command: Command, port: u16, log: &Path) -> Gateway {
        let out = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .expect("a log file");
        let child = command
            .stdin(Stdio::null())
            .stdout(out.try_clone().expect("the log"))
            .stderr(out)
            .spawn()
            .expect("the gateway starts");
        let mut process = Stopped(child);
        for _ in 0..100 {
            if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Gateway {
                    url: format!("http://127.0.0.1:{port}"),
                    log: log.to_path_buf(),
                    _process: process,
                };
            }
            if let Some(status) = process.0.try_wait().expect("the gateway's status") {
                panic!("the gateway exited with {status}: {}", read(log));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("the gateway does not listen: {}", read(log));
    }

    /// HAProxy with `deploy/haproxy/portico-jwt.cfg`, its settings in the environment.
    pub fn haproxy(dir: &Path, settings: &[(&str, &str)]) -> Gateway {
        let port = free_port();
        let mut command = Command::new("haproxy");
        command
            .arg("-db")
            .arg("-f")
            .arg(repository_path("deploy/haproxy/portico-jwt.cfg"))
            .env("GATEWAY_BIND", format!("127.0.0.1:{port}"))
            .envs(settings.iter().copied());
        Gateway::start(command, port, &dir.join("haproxy.log"))
    }

    /// nginx with `deploy/nginx/nginx.conf.template` filled in, and portico.js beside it.
    pub fn nginx(dir: &Path, placeholders: &[(&str, &str)], env: &[(&str, &str)]) -> Gateway {
        let port = free_port();
        let listen = format!("127.0.0.1:{port}");
        let njs = repository_path("deploy/nginx");
        let njs = njs.to_str().expect("a path");
        let mut values = vec![("GATEWAY_LISTEN", listen.as_str()), ("NJS_DIR", njs)];
        values.extend_from_slice(placeholders);
        let template = read(&repository_path("deploy/nginx/nginx.conf.template"));
        let conf = dir.join("nginx.conf");
        std::fs::write(&conf, fill(&template, &values)).expect("the configuration is written");
        // Workers run as an unprivileged user when the test runs as root: they cross the folder.
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        let mut command = Command::new("nginx");
        command
            .arg("-p")
            .arg(dir)
            .arg("-c")
            .arg(&conf)
            .arg("-e")
            .arg(dir.join("error.log"))
            .args(["-g", "daemon off;"])
            .envs(env.iter().copied());
        Gateway::start(command, port, &dir.join("error.log"))
    }

    /// A request through the gateway: the status, the WWW-Authenticate challenge and the body.
    pub async fn call(&self, method: &str, token: Option<&str>) -> (StatusCode, String, String) {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("a method");
        let mut request = http().request(method, format!("{}/items", self.url));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.expect("the gateway answers");
        let status = response.status();
        let challenge = response
            .headers()
            .get("www-authenticate")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        (status, challenge, response.text().await.unwrap_or_default())
    }

    /// What the gateway logged so far.
    pub fn log(&self) -> String {
        read(&self.log)
    }
}

fn read(path: &Path) -> String {
    let mut text = String::new();
    if let Ok(mut file) = std::fs::File::open(path) {
        let _ = file.read_to_string(&mut text);
    }
    text
}

/// A template with each `${NAME}` replaced; none may be left outside the comments.
fn fill(template: &str, values: &[(&str, &str)]) -> String {
    let filled = values
        .iter()
        .fold(template.to_string(), |text, (name, value)| {
            text.replace(&format!("${{{name}}}"), value)
        });
    let left: Vec<&str> = filled
        .lines()
        .filter(|line| !line.trim_start().starts_with('#') && line.contains("${"))
        .collect();
    assert!(left.is_empty(), "placeholders left: {left:?}");
    filled
}

/// Portico's active public key as PEM, written by `deploy/haproxy/jwks-to-pem.mjs`; its `alg`.
pub fn public_key_pem(issuer: &str, pem: &Path) -> String {
    let output = Command::new("node")
        .arg(repository_path("deploy/haproxy/jwks-to-pem.mjs"))
        .arg(issuer)
        .arg(pem)
        .output()
        .expect("node runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let key: Value = serde_json::from_slice(&output.stdout).expect("the key's kid and alg");
    key["alg"].as_str().expect("an alg").to_string()
}
