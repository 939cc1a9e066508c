//! Two real `portico` processes on one PostgreSQL database (PostgreSQL only: a SQLite file
//! serves one process), requests alternating between them as a load balancer sends them.
//! What one instance changes holds at the other on the very next request: a regenerated
//! secret, a revoked token, a disabled key manager, rotated signing keys, sign-in counts and
//! sessions; a generation killed mid-way at one is recovered at the other.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::Value;

use crate::builder::{Keys, client_credentials};
use crate::helpers::*;
use crate::oauth::{post_json, post_token};
use crate::process::Portico;

/// Instance A on a database of its own, and instance B on the same database, both with the
/// public URL of the load balancer in front of them (a loopback port held for the test: the
/// test itself picks the instance of each request).
fn two_instances() -> (Portico, Portico, std::net::TcpListener) {
    let (balancer, public_url) = loopback();
    let a = Portico::start(&[("PORTICO_PUBLIC_URL", public_url.as_str())]);
    let mut env = a.app.db_env();
    env.push(("PORTICO_PUBLIC_URL", public_url.clone()));
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let mut b = Portico::start(&env);
    b.app.db_url = a.app.db_url.clone();
    (a, b, balancer)
}

/// The same person (the same cookies) reaching the other instance.
fn at(browser: &Browser, instance: &Portico) -> Browser {
    Browser {
        address: instance.app.address.clone(),
        client: browser.client.clone(),
    }
}

fn basic_of(keys: &Keys) -> String {
    use base64::Engine;
    let pair = format!("{}:{}", keys.consumer_key, keys.consumer_secret);
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(pair)
    )
}

async fn token_at(instance: &Portico, keys: &Keys) -> (StatusCode, Value) {
    let (status, body, _) = post_token(
        &instance.app,
        Some(&basic_of(keys)),
        &[("grant_type", "client_credentials")],
    )
    .await;
    (status, body)
}

#[actix_web::test]
async fn what_one_instance_changes_holds_at_the_other_on_the_next_request() {
    if !crate::pg::on_postgres() {
        return; // A SQLite file serves one process.
    }
    let (a, b, _balancer) = two_instances();
    let tpp_a = a.app.tpp("tina").await;
    let tpp_b = at(&tpp_a, &b);
    // A session made at A works at B.
    let id = tpp_a.create_application("Ledger").await;
    let (status, page) = tpp_b.page("/applications").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Ledger"), "B shows what A made");

    let keys = tpp_a
        .generate_keys(id, "production", &client_credentials())
        .await;
    // B reads the client and keeps it in its cache.
    let (status, issued) = token_at(&b, &keys).await;
    assert_eq!(status, StatusCode::OK, "{issued}");
    let token = issued["access_token"].as_str().unwrap().to_string();

    // A token revoked at A is inactive at B.
    let form = [("token", token.as_str())];
    let revoked = post_json(&a.app, "/oauth2/revoke", Some(&basic_of(&keys)), &form).await;
    assert_eq!(revoked.0, StatusCode::OK);
    let introspected = post_json(&b.app, "/oauth2/introspect", Some(&basic_of(&keys)), &form).await;
    assert_eq!(introspected.1["active"], false, "{}", introspected.1);

    // A secret regenerated through A is refused by B at once.
    let response = tpp_a
        .post_ok(
            &format!("/applications/{id}/keys/production/regenerate-secret"),
            &[("key_manager", "resident")],
        )
        .await;
    let (_, shown) = tpp_a.page(&location(&response)).await;
    let renewed = Keys {
        consumer_key: keys.consumer_key.clone(),
        consumer_secret: data_field(&shown, "consumer_secret").expect("the new secret"),
    };
    let (status, body) = token_at(&b, &keys).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(body["error"], "invalid_client");
    assert_eq!(token_at(&b, &renewed).await.0, StatusCode::OK);

    // A key manager disabled at A is disabled at B.
    let admin_a = a.app.admin().await;
    let admin_b = at(&admin_a, &b);
    let resident = a
        .app
        .count("SELECT id AS n FROM key_managers WHERE kind = 'resident'");
    let second = tpp_a.create_application("Treasury").await;
    admin_b
        .post_ok(&format!("/admin/key-managers/{resident}/disable"), &[])
        .await;
    let (_, page) = tpp_a
        .page(&format!("/applications/{second}/keys/production"))
        .await;
    assert!(
        !page.contains("/keys/production/generate\""),
        "A offers no generation after B disabled the key manager"
    );
    admin_a
        .post_ok(&format!("/admin/key-managers/{resident}/enable"), &[])
        .await;
    let (_, page) = tpp_b
        .page(&format!("/applications/{second}/keys/production"))
        .await;
    assert!(page.contains("/keys/production/generate\""));
}

/// The kids of the JWKS an instance publishes.
async fn kids(instance: &Portico) -> Vec<String> {
    let jwks: Value = reqwest::get(instance.app.url("/oauth2/jwks"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap().to_string())
        .collect()
}

#[actix_web::test]
async fn signing_keys_rotated_at_one_instance_sign_at_both() {
    if !crate::pg::on_postgres() {
        return; // A SQLite file serves one process.
    }
    let (a, b, _balancer) = two_instances();
    let tpp = a.app.tpp("rhea").await;
    let id = tpp.create_application("Rotation").await;
    let keys = tpp
        .generate_keys(id, "production", &client_credentials())
        .await;
    let before = kids(&a).await;
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_portico"))
        .arg("rotate-signing-key")
        .envs(a.app.db_env())
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let started = Instant::now();
    loop {
        let (status, body) = token_at(&b, &keys).await;
        assert_eq!(status, StatusCode::OK);
        let header = jsonwebtoken::decode_header(body["access_token"].as_str().unwrap()).unwrap();
        let kid = header.kid.unwrap();
        let (at_a, at_b) = (kids(&a).await, kids(&b).await);
        if !before.contains(&kid) && at_a.contains(&kid) && at_b.contains(&kid) {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "B signs with the new key and both publish it within a minute"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    for kid in before {
        assert!(kids(&b).await.contains(&kid), "the old keys stay published");
    }
}

#[actix_web::test]
async fn sign_in_attempts_are_counted_across_instances() {
    if !crate::pg::on_postgres() {
        return; // A SQLite file serves one process.
    }
    let (a, b, _balancer) = two_instances();
    a.app.browser().sign_up("racer").await;
    let mut attackers = Vec::new();
    for n in 0..40 {
        let instance = if n % 2 == 0 { &a } else { &b };
        let browser = instance.app.browser();
        let token = browser.csrf_token().await;
        attackers.push((browser, token));
    }
    let attempts = attackers.iter().map(|(browser, token)| async move {
        let fields = [
            ("username", "racer"),
            ("password", "a wrong guess at it"),
            ("csrf_token", token.as_str()),
        ];
        browser.post_raw("/login", &fields).await.status()
    });
    let statuses = futures_util::future::join_all(attempts).await;
    let checked = statuses
        .iter()
        .filter(|s| **s == StatusCode::UNPROCESSABLE_ENTITY)
        .count();
    let refused = statuses
        .iter()
        .filter(|s| **s == StatusCode::TOO_MANY_REQUESTS)
        .count();
    assert_eq!(checked + refused, 40, "{statuses:?}");
    assert_eq!(
        checked, 5,
        "five password checks in all, not five per instance"
    );
}

#[actix_web::test]
async fn a_generation_killed_at_one_instance_is_taken_over_at_the_other() {
    if !crate::pg::on_postgres() {
        return; // A SQLite file serves one process.
    }
    let (mut a, b, _balancer) = two_instances();
    let tpp_a = a.app.tpp("ilse").await;
    let id = tpp_a.create_application("Halfway").await;
    // What A leaves when it is killed after its client was made and before the keys were
    // activated (made exactly, as the moment of a kill cannot be chosen): its reservation and
    // client, ten minutes old.
    let left = a.app.register_client(ClientSpec {
        application_id: Some(id),
        grants: &["client_credentials"],
        ..ClientSpec::default()
    });
    let then = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        - 601;
    a.app.execute(&format!(
        "INSERT INTO key_mappings (application_id, key_type, key_manager_id, create_mode, state, created_at, updated_at) \
         SELECT {id}, 'PRODUCTION', id, 'CREATED', 'RESERVED', {then}, {then} \
         FROM key_managers WHERE name = 'resident'"
    ));
    a.app.execute(&format!(
        "UPDATE oauth_clients SET created_at = {then}, updated_at = {then} WHERE client_id = '{}'",
        left.client_id
    ));
    a.kill();

    let tpp_b = at(&tpp_a, &b);
    let keys = tpp_b
        .generate_keys(id, "production", &client_credentials())
        .await;
    assert_eq!(
        b.app.lines("SELECT client_id AS line FROM oauth_clients"),
        vec![keys.consumer_key.clone()],
        "the client A left is gone; B's is there"
    );
    assert_eq!(token_at(&b, &keys).await.0, StatusCode::OK);
    assert!(b.logs().contains("a stale key reservation was taken over"));
}
