//! The oidc-provider peer (`tests/oidc-provider/server.js`): the yardstick Portico's token and
//! introspection rows are compared with.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use crate::wrk::Target;
use crate::{Load, Varying, basic, form_headers, free_port, stop, succeeded};

/// The oidc-provider peer (`tests/oidc-provider/server.js`).
pub struct Peer {
    child: Child,
    base: String,
    http: reqwest::Client,
}

impl Peer {
    /// `jwt`: JWT access tokens signed with a key of this algorithm; `None`: opaque tokens.
    pub fn start(root: &Path, jwt: Option<&str>) -> Peer {
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

    /// What wrk drives and measures.
    pub fn target(&self) -> Target {
        Target {
            pid: self.child.id(),
            base: self.base.clone(),
        }
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

    pub async fn client_credentials_load(&self) -> Load {
        let (id, secret) = self.register().await;
        Load {
            path: "/token".into(),
            body: Some("grant_type=client_credentials&scope=read".into()),
            headers: form_headers(&id, &secret),
            varying: Varying::Nothing,
        }
    }

    pub async fn introspection_load(&self) -> Load {
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
