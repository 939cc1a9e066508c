//! The external authorization server of the integration tests: the real `oidc-provider` (npm),
//! started on a free loopback port per test, killed when the handle drops.

use crate::helpers::FetchJson;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use reqwest::StatusCode;
use serde_json::{Value, json};

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

    /// Registers a client_credentials client directly (RFC 7591), as its owner would outside
    /// Portico, with the initial access token when the server wants one: (id, secret).
    pub async fn register_client(&self, initial_access_token: Option<&str>) -> (String, String) {
        let mut request = reqwest::Client::new().post(self.url("/reg")).json(&json!({
            "client_name": "made elsewhere",
            "grant_types": ["client_credentials"],
            "response_types": [],
            "token_endpoint_auth_method": "client_secret_basic",
        }));
        if let Some(token) = initial_access_token {
            request = request.bearer_auth(token);
        }
        let client: Value = request.send().await.unwrap().json().await.unwrap();
        (
            client["client_id"].as_str().unwrap().to_string(),
            client["client_secret"].as_str().unwrap().to_string(),
        )
    }

    /// client_credentials at the server's token endpoint: (status, JSON).
    pub async fn token(&self, key: &str, secret: &str) -> (StatusCode, Value) {
        let response = reqwest::Client::new()
            .post(self.url("/token"))
            .basic_auth(key, Some(secret))
            .form(&[("grant_type", "client_credentials"), ("scope", "read")])
            .send()
            .await
            .unwrap();
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// RFC 7662 at the server, as the client.
    pub async fn introspect(&self, key: &str, secret: &str, token: &str) -> Value {
        reqwest::Client::new()
            .post(self.url("/token/introspection"))
            .basic_auth(key, Some(secret))
            .form(&[("token", token)])
            .fetch_json()
            .await
    }
}

impl Drop for ExternalServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[actix_web::test]
async fn the_external_server_registers_clients_and_issues_tokens() {
    let server = ExternalServer::start(&[]);
    let discovery: Value = reqwest::get(server.url("/.well-known/openid-configuration"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(discovery["issuer"], server.issuer.as_str());
    let (id, secret) = server.register_client(None).await;
    let (_, token) = server.token(&id, &secret).await;
    let access_token = token["access_token"].as_str().expect("an access token");
    let introspection = server.introspect(&id, &secret, access_token).await;
    assert_eq!(introspection["active"], true, "{introspection}");
    assert_eq!(introspection["client_id"], id.as_str());

    // With --jwt the access tokens are JWTs (what the benchmarks compare against).
    let server = ExternalServer::start(&["--jwt"]);
    let (id, secret) = server.register_client(None).await;
    let (_, token) = server.token(&id, &secret).await;
    let access_token = token["access_token"].as_str().expect("an access token");
    assert_eq!(access_token.split('.').count(), 3, "a JWT access token");
}
