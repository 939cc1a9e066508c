//! A Portico process under test (release build) on a loopback port, and what the scenarios need
//! from it: an access token, a signed-in TPP's cookie, the path of an application.

use std::collections::HashMap;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::{
    CLIENT_ID, CLIENT_SECRET, Config, Load, SECRET_KEY, Scenario, TPP_PASSWORD, TPP_USERNAME,
    Varying, basic, form_headers, free_port, stop, succeeded, wrk::Target,
};

pub struct Portico {
    child: Child,
    pub base: String,
    http: reqwest::Client,
}

impl Portico {
    /// `database`: the SQLite file or the PostgreSQL URL.
    pub fn start(config: &Config, database: &str, algorithm: &str) -> Portico {
        let port = free_port();
        let child = Command::new(&config.portico)
            .env("PORTICO_LISTEN", format!("127.0.0.1:{port}"))
            .env("PORTICO_DATABASE_URL", database)
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

    pub async fn scenarios(
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

impl Portico {
    /// What wrk drives and measures.
    pub fn target(&self) -> Target {
        Target {
            pid: self.child.id(),
            base: self.base.clone(),
        }
    }

    /// Stops the bench unless a page load answers 200 here: wrk counts a redirect to the login
    /// page (a cookie this instance does not accept) as a success.
    pub async fn check_page(&self, load: &Load) {
        let mut request = self.http.get(format!("{}{}", self.base, load.path));
        for (name, value) in &load.headers {
            request = request.header(name, value);
        }
        let status = request.send().await.expect(&load.path).status();
        assert_eq!(status.as_u16(), 200, "GET {} at {}", load.path, self.base);
    }
}
