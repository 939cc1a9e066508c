//! The logs of a real `portico` process never contain a password, a cookie or a token.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use reqwest::StatusCode;

use crate::helpers::*;

#[actix_web::test]
async fn logs_carry_no_passwords_cookies_or_tokens() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_portico"))
        .env("PORTICO_LISTEN", "127.0.0.1:0")
        .env("PORTICO_DATABASE_URL", dir.path().join("logs.db"))
        .env("PORTICO_ADMIN_USERNAME", ADMIN)
        .env("PORTICO_ADMIN_PASSWORD", ADMIN_PASSWORD)
        .env("RUST_LOG", "debug")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (lines_tx, lines_rx) = std::sync::mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if lines_tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut logs = Vec::new();
    let address = loop {
        let line = lines_rx
            .recv_timeout(std::time::Duration::from_secs(60))
            .expect("Portico starts");
        logs.push(line.clone());
        if let Some(rest) = line.split("address=").nth(1) {
            break rest.split_whitespace().next().unwrap().to_string();
        }
    };
    let browser = Browser {
        address: format!("http://{address}"),
        client: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .cookie_store(true)
            .build()
            .unwrap(),
    };
    assert_eq!(
        browser.sign_up("logged-user").await.status(),
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        browser.sign_in("logged-user", PASSWORD).await.status(),
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        browser
            .sign_in("logged-user", "a wrong password typed")
            .await
            .status(),
        StatusCode::UNPROCESSABLE_ENTITY
    );
    let token = browser.csrf_token().await;
    let response = browser
        .get("/login?next=%2Fapplications%3Fsecret%3Dquery-value")
        .await;
    let cookie = response
        .headers()
        .get("set-cookie")
        .map(|v| v.to_str().unwrap().to_string());
    browser.post("/logout", &[]).await;
    std::thread::sleep(std::time::Duration::from_millis(300));
    child.kill().unwrap();
    child.wait().unwrap();
    logs.extend(lines_rx.try_iter());
    let all = logs.join("\n");
    assert!(all.contains("path=/login"), "the request log is there");
    for secret in [
        PASSWORD,
        ADMIN_PASSWORD,
        "a wrong password typed",
        token.as_str(),
        "query-value",
    ] {
        assert!(!all.contains(secret), "the logs contain {secret:?}");
    }
    if let Some(cookie) = cookie {
        let value = cookie.split(';').next().unwrap().split('=').nth(1).unwrap();
        assert!(!all.contains(value), "the logs contain the session cookie");
    }
}
