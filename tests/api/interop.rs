//! The interop suite: the standard client libraries drive Portico's authorization server as an
//! integrator's application would. `tests/interop/client.js` runs openid-client 6 and jose (npm,
//! installed by `.ci/run` from the lockfile) through every flow and reports each step as a JSON
//! line; this test starts Portico, seeds the application and its clients, answers the
//! script's browser steps with a signed-in person's session and checks what each step reports. The Rust `openidconnect` crate has its own test in `interop_rust.rs`.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};

use crate::gateways::{INVENTORY, World};
use crate::helpers::*;
use crate::oauth::{CALLBACK, authorize};

/// How long one line of the script may take (a code exchange, a browser step).
const STEP_TIMEOUT: Duration = Duration::from_secs(60);

/// Every step the script reports, in order.
const STEPS: &[&str] = &[
    "discovery",
    "client_credentials_basic",
    "discovery_post",
    "client_credentials_post",
    "access_token_check_refuses_another_audience",
    "code_pkce_confidential",
    "userinfo",
    "refresh",
    "introspection",
    "revocation",
    "code_pkce_public",
];

/// A child process that is stopped when the handle drops (a failed assertion included):
/// SIGTERM first, so that a master process takes its workers with it, then SIGKILL.
pub struct Stopped(pub Child);

impl Drop for Stopped {
    fn drop(&mut self) {
        if let Ok(pid) = i32::try_from(self.0.id()) {
            // SAFETY: a signal to our own child, which has not been reaped yet.
            unsafe { libc::kill(pid, libc::SIGTERM) };
        }
        for _ in 0..50 {
            if let Ok(Some(_)) = self.0.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A folder of the repository's test tools (`tests/interop`, `deploy`, ...).
pub fn repository_path(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

/// What `client.js` reported: each step's data, or its error.
struct Report(Vec<(String, Result<Value, String>)>);

impl Report {
    /// The data of a step that must have succeeded.
    fn ok(&self, step: &str) -> &Value {
        let (_, outcome) = self
            .0
            .iter()
            .find(|(name, _)| name == step)
            .unwrap_or_else(|| panic!("the script reported no step {step}"));
        outcome
            .as_ref()
            .unwrap_or_else(|error| panic!("{step} failed: {error}"))
    }
}

/// The script's standard output, read one line at a time off the test's runtime.
struct Lines(Option<BufReader<ChildStdout>>);

impl Lines {
    async fn next(&mut self) -> Option<Value> {
        let mut reader = self.0.take().expect("one read at a time");
        let read = actix_web::rt::task::spawn_blocking(move || {
            let mut line = String::new();
            let read = reader.read_line(&mut line).expect("the script's output");
            (reader, line, read)
        });
        let (reader, line, read) = actix_web::rt::time::timeout(STEP_TIMEOUT, read)
            .await
            .expect("the script answers in time")
            .expect("the reader thread");
        self.0 = Some(reader);
        (read > 0).then(|| {
            serde_json::from_str(&line).unwrap_or_else(|_| panic!("not a JSON line: {line:?}"))
        })
    }
}

/// Runs `client.js` with `input`; the person's browser answers its authorization requests.
async fn run_client(app: &TestApp, person: &Browser, input: &Value) -> Report {
    let dir = repository_path("tests/interop");
    assert!(
        dir.join("node_modules/openid-client").exists(),
        "run `npm ci --prefix tests/interop` first (.ci/run does)"
    );
    let mut child = Stopped(
        Command::new("node")
            .arg("client.js")
            .arg(input.to_string())
            .current_dir(&dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("node starts"),
    );
    let mut stdin = child.0.stdin.take().expect("a stdin");
    let mut lines = Lines(Some(BufReader::new(
        child.0.stdout.take().expect("a stdout"),
    )));
    let mut steps = Vec::new();
    while let Some(line) = lines.next().await {
        if let Some(url) = line["authorize"].as_str() {
            consent(app, person, url, &mut stdin).await;
        } else if line["done"] == true {
            break;
        } else {
            let name = line["step"].as_str().expect("a step's name").to_string();
            let outcome = if line["ok"] == true {
                Ok(line["data"].clone())
            } else {
                Err(line["error"].to_string())
            };
            steps.push((name, outcome));
        }
    }
    let status = child.0.wait().expect("the script ends");
    assert!(status.success(), "client.js exited with {status}");
    Report(steps)
}

/// The person signs in and consents to the authorization request at `url` (as the script built
/// it); the URL the browser is sent back to goes to the script.
async fn consent(app: &TestApp, person: &Browser, url: &str, stdin: &mut ChildStdin) {
    let url = url::Url::parse(url).expect("an authorization URL");
    assert_eq!(
        url.as_str().split('?').next(),
        Some(app.url("/oauth2/authorize").as_str()),
        "the URL comes from discovery"
    );
    let query: Vec<(String, String)> = url.query_pairs().into_owned().collect();
    let query: Vec<(&str, &str)> = query
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let callback = authorize(person, &query).await;
    let callback = url::Url::parse_with_params(CALLBACK, &callback).expect("a callback URL");
    writeln!(stdin, "{callback}").expect("the script reads the callback");
}

/// The gateway tests' Portico (`gateways::World`: the Shop application subscribed to the
/// Inventory API, whose scopes are `inventory:read` and `inventory:write`) with a confidential
/// and a public client of Shop.
pub(crate) async fn shop_with_clients() -> (World, TestClient, TestClient) {
    let world = World::build().await;
    let application = Some(world.app.application("Shop"));
    let confidential = world.app.register_client(ClientSpec {
        application_id: application,
        ..Default::default()
    });
    let public = world.app.register_client(ClientSpec {
        application_id: application,
        grants: &["authorization_code", "refresh_token"],
        public: true,
        ..Default::default()
    });
    (world, confidential, public)
}

#[actix_web::test]
async fn openid_client_and_jose_run_every_flow_against_portico() {
    let (world, confidential, public) = shop_with_clients().await;
    let app = &world.app;
    let person = app.tpp("person").await;
    let input = json!({
        "issuer": app.address,
        "redirect_uri": CALLBACK,
        "api_scope": "inventory:read",
        "confidential": {
            "client_id": confidential.client_id,
            "client_secret": confidential.secret,
            "audience": INVENTORY,
        },
        "public": { "client_id": public.client_id, "audience": INVENTORY },
    });
    let report = run_client(app, &person, &input).await;
    let names: Vec<&str> = report.0.iter().map(|(name, _)| name.as_str()).collect();
    assert_eq!(names, STEPS, "every step ran, once");

    for step in ["discovery", "discovery_post"] {
        let metadata = report.ok(step);
        assert_eq!(metadata["issuer"], app.address, "{step}");
        assert_eq!(metadata["token_endpoint"], app.url("/oauth2/token"));
        assert_eq!(metadata["jwks_uri"], app.url("/oauth2/jwks"));
        assert_eq!(metadata["supports_pkce"], true);
    }
    for step in ["client_credentials_basic", "client_credentials_post"] {
        let token = report.ok(step);
        assert_eq!(token["token_type"], "bearer", "{step}");
        assert_eq!(token["header"]["typ"], "at+jwt", "{step}");
        let claims = &token["claims"];
        assert_eq!(claims["iss"], app.address, "{step}");
        assert_eq!(claims["client_id"], confidential.client_id, "{step}");
        assert_eq!(claims["sub"], confidential.client_id, "{step}");
        assert_eq!(claims["application"]["name"], "Shop", "{step}");
        assert_eq!(token["scope"], "inventory:read", "{step}: what was granted");
        assert_eq!(claims["scope"], "inventory:read", "{step}");
    }
    assert_eq!(
        report.ok("access_token_check_refuses_another_audience")["refused"],
        "ERR_JWT_CLAIM_VALIDATION_FAILED"
    );

    // The confidential client's code flow: an ID token openid-client validated, for the person.
    let code = report.ok("code_pkce_confidential");
    let id_token = &code["id_token"];
    assert_eq!(id_token["iss"], app.address);
    assert_eq!(id_token["aud"], confidential.client_id);
    assert_eq!(id_token["nonce"], code["nonce"]);
    let subject = id_token["sub"].as_str().expect("a subject");
    assert_eq!(
        code["access_token"]["sub"], subject,
        "one subject for the person"
    );
    assert_eq!(code["access_token"]["client_id"], confidential.client_id);
    assert_eq!(code["access_token_header"]["typ"], "at+jwt");
    let granted = code["scope"].as_str().expect("the granted scope");
    assert!(granted.split(' ').any(|s| s == "openid"), "{granted}");
    assert_eq!(code["has_refresh_token"], true);

    let info = report.ok("userinfo");
    assert_eq!(info["sub"], subject);
    assert_eq!(info["preferred_username"], "person");
    assert_eq!(info["email"], "dev@example.com");
    let refreshed = report.ok("refresh");
    assert_eq!(refreshed["rotated"], true);
    assert_eq!(refreshed["same_subject"], true);
    let introspection = report.ok("introspection");
    assert_eq!(introspection["active"], true);
    assert_eq!(introspection["client_id"], confidential.client_id);
    assert_eq!(introspection["sub"], subject);
    assert_eq!(report.ok("revocation")["active_after"], false);

    // The public client: PKCE alone, no secret; the same person.
    let public_code = report.ok("code_pkce_public");
    assert_eq!(public_code["id_token"]["aud"], public.client_id);
    assert_eq!(public_code["id_token"]["sub"], subject);
    assert_eq!(public_code["access_token"]["client_id"], public.client_id);
}
