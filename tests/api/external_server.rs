//! The external authorization server of the integration tests: the real `oidc-provider` (npm),
//! started on a free loopback port per test, killed when the handle drops.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

pub struct ExternalServer {
    pub issuer: String,
    child: Child,
}

impl ExternalServer {
    /// Starts `tests/oidc-provider/server.js` with extra arguments (`--initial-access-token T`,
    /// `--jwt`). Its npm packages are installed by `.ci/run`.
    pub fn start(args: &[&str]) -> ExternalServer {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/oidc-provider");
        assert!(
            dir.join("node_modules/oidc-provider").exists(),
            "run `npm ci --prefix tests/oidc-provider` first (.ci/run does)"
        );
        let mut child = Command::new("node")
            .arg("server.js")
            .args(["--port", "0"])
            .args(args)
            .current_dir(&dir)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("node starts");
        let stdout = child.stdout.take().expect("a stdout");
        let mut line = String::new();
        let mut reader = BufReader::new(stdout);
        reader
            .read_line(&mut line)
            .expect("the server reports its address");
        // oidc-provider prints notices later (the first RFC 7592 update): a closed pipe would
        // kill it with EPIPE, so the rest of its output is drained.
        std::thread::spawn(move || std::io::copy(&mut reader, &mut std::io::sink()));
        let issuer = line
            .trim()
            .strip_prefix("listening ")
            .unwrap_or_else(|| panic!("unexpected first line: {line:?}"))
            .to_string();
        assert!(
            issuer.starts_with("http://127.0.0.1:"),
            "loopback only: {issuer}"
        );
        ExternalServer { issuer, child }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.issuer, path)
    }
}

impl Drop for ExternalServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Registers a client_credentials client by RFC 7591 and gets a token; returns the token and
/// the client's credentials.
async fn client_credentials(server: &ExternalServer) -> (String, String, String) {
    use serde_json::{Value, json};
    let http = reqwest::Client::new();
    let discovery: Value = http
        .get(server.url("/.well-known/openid-configuration"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(discovery["issuer"], server.issuer.as_str());
    let client: Value = http
        .post(server.url("/reg"))
        .json(&json!({ "client_name": "smoke", "grant_types": ["client_credentials"], "response_types": [], "token_endpoint_auth_method": "client_secret_basic" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let (id, secret) = (
        client["client_id"].as_str().unwrap(),
        client["client_secret"].as_str().unwrap(),
    );
    let token: Value = http
        .post(server.url("/token"))
        .basic_auth(id, Some(secret))
        .form(&[("grant_type", "client_credentials"), ("scope", "read")])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let access_token = token["access_token"].as_str().expect("an access token");
    (access_token.to_string(), id.to_string(), secret.to_string())
}

#[actix_web::test]
async fn the_external_server_registers_clients_and_issues_tokens() {
    let server = ExternalServer::start(&[]);
    let (access_token, id, secret) = client_credentials(&server).await;
    let introspection: serde_json::Value = reqwest::Client::new()
        .post(server.url("/token/introspection"))
        .basic_auth(&id, Some(&secret))
        .form(&[("token", access_token.as_str())])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(introspection["active"], true, "{introspection}");
    assert_eq!(introspection["client_id"], id.as_str());

    // With --jwt the access tokens are JWTs (what the benchmarks compare against).
    let server = ExternalServer::start(&["--jwt"]);
    let (access_token, _, _) = client_credentials(&server).await;
    assert_eq!(access_token.split('.').count(), 3, "a JWT access token");
}
