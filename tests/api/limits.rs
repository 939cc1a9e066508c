//! Resource limits (SECURITY.md row 38): each test tries one way of exhausting memory, time or
//! connections, checks that it was refused or cut off, and that `/healthz` still answers within
//! a second afterwards.

use std::time::Duration;

use portico::security::request_limits::{BODY_IDLE_TIMEOUT, HEAD_TIMEOUT};
use reqwest::StatusCode;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::helpers::*;

/// `/healthz` answers 200 within a second, on a fresh connection.
pub async fn assert_healthy_within_a_second(app: &TestApp, after: &str) {
    let client = reqwest::Client::new();
    let answer = tokio::time::timeout(
        Duration::from_secs(1),
        client.get(app.url("/healthz")).send(),
    )
    .await;
    match answer {
        Ok(Ok(response)) => assert_eq!(response.status(), StatusCode::OK, "after {after}"),
        Ok(Err(e)) => panic!("/healthz failed after {after}: {e}"),
        Err(_) => panic!("/healthz took more than a second after {after}"),
    }
}

/// A YAML document of `levels` levels of aliases, each a list of `width` uses of the level
/// below, under an OpenAPI extension key.
fn alias_bomb(width: usize, levels: usize) -> String {
    let items = vec!["\"lol\""; width].join(",");
    let mut text = format!(
        "openapi: 3.0.0\ninfo: {{title: Bomb, version: '1'}}\npaths: {{}}\nx-0: &a0 [{items}]\n"
    );
    for level in 1..=levels {
        let uses = vec![format!("*a{}", level - 1); width].join(",");
        text.push_str(&format!("x-{level}: &a{level} [{uses}]\n"));
    }
    text
}

fn api_form(document: &str) -> Vec<(&str, &str)> {
    vec![
        ("name", "Bombs"),
        ("version", "1.0.0"),
        ("context", "/bombs"),
        ("description", ""),
        ("tiers", "Bronze"),
        ("status", "CREATED"),
        ("openapi_document", document),
    ]
}

#[actix_web::test]
async fn yaml_alias_bombs_and_deep_nesting_are_refused_with_the_field_named() {
    let (app, admin) = spawn_admin().await;
    let three_levels = alias_bomb(1_000, 3);
    let two_levels = alias_bomb(2_000, 2);
    let deep_json = format!(
        "{{\"openapi\":\"3.0.0\",\"paths\":{{}},\"x\":{}{}}}",
        "[".repeat(5_000),
        "]".repeat(5_000)
    );
    let deep_yaml = format!(
        "openapi: 3.0.0\npaths: {{}}\nx: {}1{}\n",
        "[".repeat(5_000),
        "]".repeat(5_000)
    );
    let cases = [
        (
            three_levels.as_str(),
            "too large to read",
            "three levels of aliases",
        ),
        (
            two_levels.as_str(),
            "too large to read",
            "two levels of aliases",
        ),
        (deep_json.as_str(), "nests deeper than", "deep JSON"),
        (deep_yaml.as_str(), "nests deeper than", "deep YAML"),
    ];
    assert!(three_levels.len() < 40 * 1024 && two_levels.len() < 40 * 1024);
    let before = app.snapshot();
    for (document, message, what) in cases {
        let response = admin.post("/admin/apis", &api_form(document)).await;
        let body = refused_on(response, "openapi_document", message, what).await;
        assert_eq!(
            input_value(&body, "name").as_deref(),
            Some("Bombs"),
            "{what}: the other fields are kept"
        );
        assert_healthy_within_a_second(&app, what).await;
    }
    assert_eq!(app.snapshot(), before, "nothing was stored");
}

/// Opens `count` connections, each after sending `prefix`.
async fn open_connections(app: &TestApp, count: usize, prefix: &str) -> Vec<TcpStream> {
    let address = app.address.trim_start_matches("http://").to_string();
    let mut connections = Vec::with_capacity(count);
    for _ in 0..count {
        let mut stream = TcpStream::connect(&address).await.expect("a connection");
        if !prefix.is_empty() {
            stream.write_all(prefix.as_bytes()).await.expect("sent");
        }
        connections.push(stream);
    }
    connections
}

/// Waits up to `limit` for the server to end every connection (end of stream, or a reset);
/// returns how many it ended and the first bytes one of them received.
async fn ended_by_server(connections: Vec<TcpStream>, limit: Duration) -> (usize, String) {
    let deadline = tokio::time::Instant::now() + limit;
    let mut ended = 0;
    let mut first_answer = String::new();
    for mut stream in connections {
        let mut received = Vec::new();
        let mut buffer = [0u8; 4096];
        loop {
            match tokio::time::timeout_at(deadline, stream.read(&mut buffer)).await {
                Ok(Ok(0)) | Ok(Err(_)) => {
                    ended += 1;
                    break;
                }
                Ok(Ok(n)) => received.extend_from_slice(&buffer[..n]),
                Err(_) => break,
            }
        }
        if first_answer.is_empty() {
            first_answer = String::from_utf8_lossy(&received).into_owned();
        }
    }
    (ended, first_answer)
}

#[actix_web::test]
async fn unfinished_request_bodies_are_cut_off_and_health_still_answers() {
    let app = spawn_app().await;
    let host = app.address.trim_start_matches("http://").to_string();
    let head = |path: &str| {
        format!(
            "POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/x-www-form-urlencoded\r\n\
             Content-Length: 1000\r\n\r\nusername=slow"
        )
    };
    // HTML forms (behind the CSRF guard) and the token endpoint (outside it).
    let mut connections = open_connections(&app, 600, &head("/login")).await;
    connections.extend(open_connections(&app, 400, &head("/oauth2/token")).await);
    assert_healthy_within_a_second(&app, "1,000 unfinished request bodies").await;

    let (ended, answer) = ended_by_server(connections, BODY_IDLE_TIMEOUT * 2).await;
    assert_eq!(ended, 1_000, "every stalled connection was closed");
    assert!(
        answer.starts_with("HTTP/1.1 4"),
        "a stalled request is answered with an error before the close: {answer:?}"
    );
    assert_healthy_within_a_second(&app, "the stalled connections were closed").await;
}

#[actix_web::test]
async fn idle_connections_and_unfinished_heads_are_closed() {
    let app = spawn_app().await;
    let mut connections = open_connections(&app, 500, "").await;
    connections.extend(open_connections(&app, 500, "GET /healthz HTTP/1.1\r\nHost: x\r\n").await);
    assert_healthy_within_a_second(&app, "1,000 idle connections").await;
    let (ended, _) = ended_by_server(connections, HEAD_TIMEOUT * 3).await;
    assert_eq!(ended, 1_000, "every idle connection was closed");
    assert_healthy_within_a_second(&app, "the idle connections were closed").await;
}
