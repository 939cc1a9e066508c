//! Production and sandbox keys with the resident key manager: generate, provide out-of-band,
//! update, regenerate, portal tokens, remove, application deletion — and SECURITY.md rows 11,
//! 14, 16–21 and 34, asserting what the TPP sees and what the registry and database hold.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;
use crate::helpers::{FetchJson, data_field as field};
use crate::results::shown_after;

const CREDENTIALS: &str =
    "The consumer key and consumer secret do not match a client of this key manager.";

/// A refused form: its fields, the field the error names, and words of the message.
type Case<'a> = (Vec<(&'a str, &'a str)>, &'a str, &'a str);

/// The resident keys form for client credentials and authorization codes with this callback.
fn with_callback(callback: &str) -> Vec<(&str, &str)> {
    vec![
        ("key_manager", "resident"),
        ("grant_types", "client_credentials"),
        ("grant_types", "authorization_code"),
        ("callback_url", callback),
    ]
}

fn client_credentials() -> Vec<(&'static str, &'static str)> {
    vec![
        ("key_manager", "resident"),
        ("grant_types", "client_credentials"),
    ]
}

/// Generates keys through the form; returns (consumer key, consumer secret).
async fn generate(
    browser: &Browser,
    id: i64,
    key_type: &str,
    fields: &[(&str, &str)],
) -> (String, String) {
    let response = browser.try_generate(id, key_type, fields).await;
    let body = shown_after(browser, response).await;
    (
        field(&body, "consumer_key").expect("the consumer key is shown"),
        field(&body, "consumer_secret").expect("the consumer secret is shown once"),
    )
}

/// POSTs an action (`regenerate-secret`, `remove`) on the resident production keys.
async fn resident_keys_action(browser: &Browser, id: i64, action: &str) -> reqwest::Response {
    browser
        .post(
            &format!("{}/{action}", keys_path(id, "production")),
            &[("key_manager", "resident")],
        )
        .await
}

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

pub(crate) fn basic(key: &str, secret: &str) -> String {
    format!("Basic {}", STANDARD.encode(format!("{key}:{secret}")))
}

/// POST /oauth2/token with client_credentials: (status, JSON).
async fn token_for(app: &TestApp, key: &str, secret: &str) -> (StatusCode, Value) {
    let response = http()
        .post(app.url("/oauth2/token"))
        .header("authorization", basic(key, secret))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

pub(crate) fn claims(jwt: &str) -> Value {
    let payload = jwt.split('.').nth(1).expect("a JWT");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

fn sha256_hex(data: &[u8]) -> String {
    hex::encode(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, data))
}

/// A self-signed certificate (PEM) valid between the two dates, and its DER.
fn certificate(not_before: (i32, u8, u8), not_after: (i32, u8, u8)) -> (String, Vec<u8>) {
    let key = rcgen::KeyPair::generate().unwrap();
    let mut params = rcgen::CertificateParams::new(vec!["tpp.example".to_string()]).unwrap();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "Wallet TPP");
    params
        .distinguished_name
        .push(rcgen::DnType::OrganizationName, "Analytical Engines Ltd");
    params.not_before = rcgen::date_time_ymd(not_before.0, not_before.1, not_before.2);
    params.not_after = rcgen::date_time_ymd(not_after.0, not_after.1, not_after.2);
    let cert = params.self_signed(&key).unwrap();
    (cert.pem(), cert.der().to_vec())
}

fn valid_certificate() -> (String, Vec<u8>) {
    certificate((2024, 1, 1), (2090, 1, 1))
}

/// The admin's edit page of the resident key manager.
fn resident_page(app: &TestApp) -> String {
    let id = app.count("SELECT id AS n FROM key_managers WHERE name = 'resident'");
    format!("/admin/key-managers/{id}")
}

/// Counts of what a refused keys request must leave alone.
fn keys_state(app: &TestApp) -> String {
    let mut lines = vec![format!(
        "mappings {}",
        app.count("SELECT COUNT(*) FROM key_mappings")
    )];
    lines.push(format!(
        "clients {}",
        app.count("SELECT COUNT(*) FROM oauth_clients")
    ));
    lines.extend(app.lines(
        "SELECT client_id || ':' || coalesce(CAST(application_id AS TEXT), '-') || ':' \
         || coalesce(key_type, '-') || ':' || grant_types || ':' || coalesce(secret_hash, '-') \
         AS line FROM oauth_clients ORDER BY id",
    ));
    lines.push(format!(
        "tasks {}",
        app.count("SELECT COUNT(*) FROM key_manager_tasks")
    ));
    lines.join("\n") + "\n" + &app.snapshot()
}

#[actix_web::test]
async fn a_tpp_generates_keys_and_sees_the_secret_only_once() {
    let (app, tpp) = spawn_tpp("alice").await;
    let id = tpp.create_application("Wallet").await;

    let (status, page) = tpp.page(&keys_path(id, "production")).await;
    assert_eq!(status, StatusCode::OK);
    let tabs = texts(&page, "nav.tabs a[data-key-manager]");
    assert_eq!(tabs, vec!["Resident Key Manager"], "a tab per key manager");
    assert!(page.contains(&format!(
        "action=\"{}/generate\"",
        keys_path(id, "production")
    )));
    assert!(page.contains("Provide existing OAuth keys"));
    assert!(
        unlabelled_controls(&page).is_empty(),
        "every control has a label"
    );

    let response = tpp
        .try_generate(id, "production", &client_credentials())
        .await;
    assert_eq!(
        response.status(),
        StatusCode::SEE_OTHER,
        "Post/Redirect/Get: a reload does not post again"
    );
    let body = shown_after(&tpp, response).await;
    let key = field(&body, "consumer_key").unwrap();
    let secret = field(&body, "consumer_secret").unwrap();
    assert!(key.len() >= 20 && secret.len() >= 40);
    assert!(body.contains("shown only once"));
    assert!(body.contains("data-copy-target=\"#consumer-key\""));
    assert!(body.contains("data-toggle-secret=\"#consumer-secret\""));
    assert_eq!(field(&body, "grant_types").unwrap(), "client_credentials");
    assert_eq!(
        field(&body, "token_endpoint").unwrap(),
        format!("{}/oauth2/token", app.address)
    );
    let curl = field(&body, "curl").unwrap();
    assert!(curl.contains(&key) && curl.contains("grant_type=client_credentials"));
    assert!(
        !curl.contains(&secret),
        "the curl command carries no secret"
    );

    // The registry holds the client, linked to the application, with the secret hashed.
    assert_eq!(
        app.text(&format!(
            "SELECT application_id || ' ' || key_type || ' ' || grant_types || ' ' || secret_hash AS line \
             FROM oauth_clients WHERE client_id = '{key}'"
        )),
        format!(
            "{id} PRODUCTION client_credentials {}",
            sha256_hex(secret.as_bytes())
        )
    );
    assert_eq!(
        app.text(&format!(
            "SELECT create_mode || ' ' || state || ' ' || key_type || ' ' || CASE WHEN consumer_secret IS NULL THEN 'none' ELSE 'stored' END AS line \
             FROM key_mappings WHERE consumer_key = '{key}' AND application_id = {id}"
        )),
        "CREATED ACTIVE PRODUCTION none"
    );
    let (status, token) = token_for(&app, &key, &secret).await;
    assert_eq!(status, StatusCode::OK, "{token}");
    let claims = claims(token["access_token"].as_str().unwrap());
    assert_eq!(claims["application"]["id"], id);
    assert_eq!(claims["key_type"], "PRODUCTION");

    // Later pages show the key, never the secret.
    for path in [keys_path(id, "production"), format!("/applications/{id}")] {
        let (_, later) = tpp.page(&path).await;
        assert!(!later.contains(&secret), "{path} shows the secret again");
        assert!(field(&later, "consumer_secret").is_none());
    }
    let (_, later) = tpp.page(&keys_path(id, "production")).await;
    assert_eq!(field(&later, "consumer_key").unwrap(), key);
    assert!(later.contains("Update keys") && later.contains("Remove keys"));
    let remove = format!("{}/remove", keys_path(id, "production"));
    assert!(
        confirm_question(&later, &remove).is_some(),
        "removal asks for confirmation"
    );
    assert!(unlabelled_controls(&later).is_empty());
    let (_, sandbox) = tpp.page(&keys_path(id, "sandbox")).await;
    assert!(
        field(&sandbox, "consumer_key").is_none(),
        "sandbox has no keys yet"
    );

    let (_, overview) = tpp.page(&format!("/applications/{id}")).await;
    assert!(overview.contains(&format!(
        "Generated production keys of “Wallet” at Resident Key Manager: consumer key {key}"
    )));
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) FROM audit_events WHERE action = 'generate' AND object_type = 'keys' \
             AND application_id = {id} AND actor_name = 'alice'"
        )),
        1
    );
}

#[actix_web::test]
async fn every_bad_callback_url_is_refused_naming_callback_url() {
    let (app, tpp) = spawn_tpp("bob").await;
    let id = tpp.create_application("Callbacks").await;
    let long = format!("https://app.example/{}", "a".repeat(2040));
    let cases = [
        "javascript:alert(1)",
        "data:text/html,<script>alert(1)</script>",
        "file:///etc/passwd",
        "http://app.example/callback",
        "http://10.0.0.1/callback",
        "https://app.example/callback#fragment",
        "https://*.app.example/callback",
        "https://app.example/*",
        long.as_str(),
        "not a url",
        "/relative/callback",
    ];
    let before = keys_state(&app);
    let path = format!("{}/generate", keys_path(id, "production"));
    for bad in cases {
        let fields = [
            ("key_manager", "resident"),
            ("grant_types", "authorization_code"),
            ("callback_url", bad),
        ];
        let response = tpp.post(&path, &fields).await;
        let shown: String = bad.chars().take(40).collect();
        let body = refused_on(response, "callback_url", "", &shown).await;
        assert_eq!(
            textarea_value(&body, "callback_url").as_deref(),
            Some(bad.trim()),
            "{shown}: the value is kept"
        );
        assert!(
            !body.contains("<script>alert(1)</script>"),
            "the value is escaped"
        );
    }
    // Callback URLs go with the authorization_code grant, and only with it.
    let response = tpp
        .post(
            &path,
            &[
                ("key_manager", "resident"),
                ("grant_types", "client_credentials"),
                ("callback_url", "https://app.example/callback"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(error_on(&response.text().await.unwrap(), "callback_url").is_some());
    let response = tpp
        .post(
            &path,
            &[
                ("key_manager", "resident"),
                ("grant_types", "authorization_code"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        error_on(&response.text().await.unwrap(), "callback_url")
            .unwrap()
            .contains("needs at least one callback URL")
    );
    assert_eq!(keys_state(&app), before, "nothing stored");

    // One URL per line, or the field repeated: both are accepted; loopback http is fine.
    let response = tpp
        .post(
            &path,
            &[
                ("key_manager", "resident"),
                ("grant_types", "authorization_code"),
                ("grant_types", "refresh_token"),
                ("pkce_mandatory", "true"),
                (
                    "callback_url",
                    "https://app.example/callback\r\nhttp://127.0.0.1:8080/cb",
                ),
                ("callback_url", "http://[::1]/cb"),
                ("callback_url", "http://localhost/cb"),
            ],
        )
        .await;
    let body = shown_after(&tpp, response).await;
    assert_eq!(
        texts(&body, "[data-field=\"callback_url\"]"),
        vec![
            "https://app.example/callback",
            "http://127.0.0.1:8080/cb",
            "http://[::1]/cb",
            "http://localhost/cb"
        ]
    );
    assert_eq!(field(&body, "pkce_mandatory").unwrap(), "Yes");
    let key = field(&body, "consumer_key").unwrap();
    assert_eq!(
        app.text(&format!(
            "SELECT redirect_uris || ' ' || grant_types || ' ' || CASE WHEN pkce_mandatory THEN '1' ELSE '0' END AS line FROM oauth_clients WHERE client_id = '{key}'"
        )),
        "[\"https://app.example/callback\",\"http://127.0.0.1:8080/cb\",\"http://[::1]/cb\",\"http://localhost/cb\"] authorization_code refresh_token 1"
    );
}

#[actix_web::test]
async fn grant_type_pkce_public_client_and_regulatory_rules_name_their_field() {
    let (app, tpp) = spawn_tpp("carol").await;
    let id = tpp.create_application("Rules").await;
    let path = format!("{}/generate", keys_path(id, "sandbox"));
    let (pem, _) = valid_certificate();
    let cases: Vec<Case> = vec![
        (
            vec![("key_manager", "resident")],
            "grant_types",
            "at least one",
        ),
        (
            vec![("key_manager", "resident"), ("grant_types", "password")],
            "grant_types",
            "does not offer",
        ),
        (
            vec![
                ("key_manager", "resident"),
                ("grant_types", "client_credentials"),
                ("public_client", "true"),
            ],
            "public_client",
            "PKCE mandatory",
        ),
        (
            vec![
                ("key_manager", "resident"),
                ("grant_types", "authorization_code"),
                ("callback_url", "https://app.example/cb"),
                ("public_client", "true"),
            ],
            "public_client",
            "PKCE mandatory",
        ),
        (
            vec![
                ("key_manager", "resident"),
                ("grant_types", "client_credentials"),
                ("regulatory", "true"),
                ("application_certificate", &pem),
            ],
            "regulatory",
            "authorization_code",
        ),
        (
            vec![
                ("key_manager", "resident"),
                ("grant_types", "authorization_code"),
                ("callback_url", "https://app.example/cb"),
                ("regulatory", "true"),
            ],
            "application_certificate",
            "regulatory application needs",
        ),
        (
            vec![
                ("key_manager", "nonexistent"),
                ("grant_types", "client_credentials"),
            ],
            "key_manager",
            "no key manager named",
        ),
    ];
    let before = keys_state(&app);
    for (fields, name, message) in cases {
        let response = tpp.post(&path, &fields).await;
        let body = unprocessable(response, &format!("{name}: {message}")).await;
        let error = if name == "key_manager" {
            texts(&body, ".form-errors li").join(" ")
        } else {
            error_on(&body, name).unwrap_or_default()
        };
        assert!(
            error.contains(message),
            "{name}: expected {message:?}, got {error:?}"
        );
    }
    assert_eq!(keys_state(&app), before, "nothing stored");

    // A public client with PKCE gets no secret; a regulatory application is stored as such.
    let response = tpp
        .post(
            &path,
            &[
                ("key_manager", "resident"),
                ("grant_types", "authorization_code"),
                ("callback_url", "https://app.example/cb"),
                ("public_client", "true"),
                ("pkce_mandatory", "true"),
            ],
        )
        .await;
    let body = shown_after(&tpp, response).await;
    assert!(field(&body, "consumer_secret").is_none(), "no secret");
    assert_eq!(field(&body, "public_client").unwrap(), "Yes");
    let key = field(&body, "consumer_key").unwrap();
    assert_eq!(
        app.text(&format!(
            "SELECT CASE WHEN public_client THEN 'public ' ELSE 'confidential ' END || coalesce(secret_hash, 'no-secret') AS line FROM oauth_clients WHERE client_id = '{key}'"
        )),
        "public no-secret"
    );
    let response = tpp
        .try_generate(
            id,
            "production",
            &[
                ("key_manager", "resident"),
                ("grant_types", "authorization_code"),
                ("callback_url", "https://app.example/cb"),
                ("regulatory", "true"),
                ("application_certificate", &pem),
            ],
        )
        .await;
    assert_eq!(
        field(&shown_after(&tpp, response).await, "regulatory").unwrap(),
        "Yes"
    );
}

#[actix_web::test]
async fn application_certificates_must_be_unexpired_x509_certificates() {
    let (app, tpp) = spawn_tpp("dave").await;
    let id = tpp.create_application("Certificates").await;
    let path = format!("{}/generate", keys_path(id, "production"));
    let (valid, der) = valid_certificate();
    let (expired, _) = certificate((2019, 1, 1), (2020, 1, 1));
    let private_key = rcgen::KeyPair::generate().unwrap().serialize_pem();
    let body_of = |pem: &str| {
        pem.lines()
            .filter(|l| !l.starts_with("-----"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    let bad_base64 = format!(
        "-----BEGIN CERTIFICATE-----\n{}!!$$\n-----END CERTIFICATE-----",
        &body_of(&valid)[..40]
    );
    let not_a_certificate = format!(
        "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----",
        STANDARD.encode("this is not DER at all")
    );
    let huge = valid.repeat(40_000 / valid.len() + 1);
    let cases: Vec<(&str, &str, &str)> = vec![
        (
            "empty",
            "-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----",
            "could not be read",
        ),
        ("text", "just some text, not a certificate", "PEM"),
        ("private key", &private_key, "private key"),
        ("bad base64", &bad_base64, "not valid PEM"),
        ("not DER", &not_a_certificate, "could not be read"),
        ("expired", &expired, "expired on 2020-01-01"),
        ("huge", &huge, "32 KiB"),
    ];
    let before = keys_state(&app);
    for (case, pem, message) in cases {
        let mut fields = client_credentials();
        fields.push(("application_certificate", pem));
        let response = tpp.post(&path, &fields).await;
        let body = unprocessable(response, case).await;
        let error = error_on(&body, "application_certificate").unwrap_or_default();
        assert!(
            error.contains(message),
            "{case}: expected {message:?}, got {error:?}"
        );
        if case == "private key" {
            assert!(
                body.contains("BEGIN PRIVATE KEY"),
                "the value is kept as typed"
            );
        }
    }
    assert_eq!(keys_state(&app), before, "nothing stored");

    let mut fields = client_credentials();
    fields.push(("application_certificate", &valid));
    let response = tpp.post(&path, &fields).await;
    let body = shown_after(&tpp, response).await;
    let subject = field(&body, "certificate_subject").unwrap();
    assert!(subject.contains("CN=Wallet TPP"), "{subject}");
    assert!(
        field(&body, "certificate_issuer")
            .unwrap()
            .contains("Analytical Engines Ltd")
    );
    assert_eq!(
        field(&body, "certificate_expires").unwrap(),
        "2090-01-01 00:00 UTC"
    );
    assert_eq!(
        field(&body, "certificate_thumbprint").unwrap(),
        sha256_hex(&der)
    );
}

#[actix_web::test]
async fn generating_keys_that_exist_is_a_conflict() {
    let (app, tpp) = spawn_tpp("erin").await;
    let id = tpp.create_application("Twice").await;
    let (key, _) = generate(&tpp, id, "production", &client_credentials()).await;
    let before = keys_state(&app);
    let response = tpp
        .try_generate(id, "production", &client_credentials())
        .await;
    let body = body_with(response, StatusCode::CONFLICT).await;
    assert!(body.contains("already has production keys"));
    assert!(field(&body, "consumer_secret").is_none());
    assert_eq!(field(&body, "consumer_key").unwrap(), key);
    assert_eq!(keys_state(&app), before, "nothing changed");
    // The other environment is separate.
    generate(&tpp, id, "sandbox", &client_credentials()).await;
    assert_eq!(app.count("SELECT COUNT(*) FROM oauth_clients"), 2);
}

#[actix_web::test]
async fn ten_simultaneous_generations_make_exactly_one_client() {
    let (app, tpp) = spawn_tpp("frank").await;
    let id = tpp.create_application("Racer").await;
    let token = tpp.csrf_token().await;
    let path = format!("{}/generate", keys_path(id, "production"));
    let requests = (0..10).map(|_| {
        let mut fields = client_credentials();
        fields.push(("csrf_token", &token));
        let tpp = &tpp;
        let path = &path;
        async move { tpp.post_raw(path, &fields).await.status() }
    });
    let statuses = futures_util::future::join_all(requests).await;
    assert_eq!(
        statuses
            .iter()
            .filter(|s| **s == StatusCode::SEE_OTHER)
            .count(),
        1,
        "{statuses:?}"
    );
    assert!(
        statuses
            .iter()
            .all(|s| *s == StatusCode::SEE_OTHER || *s == StatusCode::CONFLICT),
        "{statuses:?}"
    );
    assert_eq!(app.count("SELECT COUNT(*) FROM oauth_clients"), 1);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM key_mappings WHERE state = 'ACTIVE'"),
        1
    );
    assert_eq!(app.count("SELECT COUNT(*) FROM key_mappings"), 1);
}

#[actix_web::test]
async fn out_of_band_keys_are_verified_then_used_like_generated_ones() {
    let (app, tpp) = spawn_tpp("grace").await;
    let id = tpp.create_application("Provided").await;
    let existing = app.register_client(ClientSpec::default());
    let secret = existing.secret.clone().unwrap();
    let path = format!("{}/map", keys_path(id, "production"));
    let before = keys_state(&app);

    // Wrong secret and unknown client: one message, nothing stored.
    let mut messages = Vec::new();
    for (key, secret) in [
        (existing.client_id.as_str(), "not-the-secret"),
        ("no-such-client", secret.as_str()),
    ] {
        let response = tpp
            .post(
                &path,
                &[
                    ("key_manager", "resident"),
                    ("consumer_key", key),
                    ("consumer_secret", secret),
                ],
            )
            .await;
        let body = unprocessable(response, "").await;
        assert!(!body.contains(secret), "the secret is not sent back");
        assert_eq!(input_value(&body, "consumer_key").as_deref(), Some(key));
        messages.push(error_on(&body, "consumer_secret").unwrap());
    }
    assert_eq!(messages[0], CREDENTIALS);
    assert_eq!(messages[0], messages[1], "one message for both");
    let response = tpp
        .post(&path, &[("key_manager", "resident"), ("consumer_key", "")])
        .await;
    let body = unprocessable(response, "").await;
    assert!(error_on(&body, "consumer_key").is_some());
    assert!(error_on(&body, "consumer_secret").is_some());
    assert_eq!(keys_state(&app), before, "nothing stored");

    let response = tpp
        .post_ok(
            &path,
            &[
                ("key_manager", "resident"),
                ("consumer_key", &existing.client_id),
                ("consumer_secret", &secret),
            ],
        )
        .await;
    assert_eq!(
        location(&response),
        format!("{}?key_manager=resident", keys_path(id, "production"))
    );
    let (_, page) = tpp.page(&location(&response)).await;
    assert!(page.contains("Your existing OAuth keys are now"));
    assert_eq!(field(&page, "consumer_key").unwrap(), existing.client_id);
    assert!(field(&page, "create_mode").unwrap().contains("out-of-band"));
    assert!(!page.contains(&secret));
    assert_eq!(
        app.text(&format!(
            "SELECT application_id || ' ' || key_type AS line FROM oauth_clients WHERE client_id = '{}'",
            existing.client_id
        )),
        format!("{id} PRODUCTION")
    );
    assert_eq!(
        app.text(&format!(
            "SELECT create_mode || ' ' || CASE WHEN consumer_secret IS NULL THEN 'none' ELSE 'stored' END AS line FROM key_mappings WHERE application_id = {id}"
        )),
        "MAPPED none"
    );
    // Its tokens now speak for the application.
    let (status, token) = token_for(&app, &existing.client_id, &secret).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        claims(token["access_token"].as_str().unwrap())["application"]["id"],
        id
    );

    // Already mapped: 409 for the owner's other environment and for another TPP, naming no one.
    let other = app.tpp("intruder").await;
    let other_id = other.create_application("Other").await;
    let before = keys_state(&app);
    for (browser, target, stranger) in [
        (&tpp, keys_path(id, "sandbox"), false),
        (&other, keys_path(other_id, "production"), true),
    ] {
        let response = browser
            .post(
                &format!("{target}/map"),
                &[
                    ("key_manager", "resident"),
                    ("consumer_key", &existing.client_id),
                    ("consumer_secret", &secret),
                ],
            )
            .await;
        assert_eq!(response.status(), StatusCode::CONFLICT, "{target}");
        let body = response.text().await.unwrap();
        assert!(body.contains("already mapped to an application"));
        if stranger {
            assert!(
                !body.contains("grace") && !body.contains("Provided"),
                "no owner named"
            );
        }
    }
    assert_eq!(keys_state(&app), before, "nothing changed");

    // Removing mapped keys only unlinks: the client stays and can be mapped again elsewhere.
    let response = resident_keys_action(&tpp, id, "remove").await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(app.count("SELECT COUNT(*) FROM key_mappings"), 0);
    assert_eq!(
        app.text(&format!(
            "SELECT coalesce(CAST(application_id AS TEXT), 'none') || ' ' || coalesce(key_type, 'none') AS line FROM oauth_clients WHERE client_id = '{}'",
            existing.client_id
        )),
        "none none"
    );
    let response = other
        .provide_keys(
            other_id,
            "sandbox",
            "resident",
            &existing.client_id,
            &secret,
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        app.text(&format!(
            "SELECT application_id || ' ' || key_type AS line FROM oauth_clients WHERE client_id = '{}'",
            existing.client_id
        )),
        format!("{other_id} SANDBOX")
    );
    for action in ["map", "remove"] {
        assert_eq!(
            app.count(&format!(
                "SELECT COUNT(*) FROM audit_events WHERE action = '{action}' AND object_type = 'keys' AND application_id = {id}"
            )),
            1,
            "{action}"
        );
    }
}

#[actix_web::test]
async fn out_of_band_provisioning_is_enforced_on_the_server() {
    let app = spawn_app_with(&[("PORTICO_KEY_PROVISIONING", "false")]).await;
    let tpp = app.tpp("heidi").await;
    let id = tpp.create_application("Before").await;
    let existing = app.register_client(ClientSpec::default());
    let secret = existing.secret.clone().unwrap();
    let map = |browser: &Browser, id: i64| {
        let path = format!("{}/map", keys_path(id, "production"));
        let key = existing.client_id.clone();
        let secret = secret.clone();
        let browser = Browser {
            address: browser.address.clone(),
            client: browser.client.clone(),
        };
        async move {
            browser
                .post(
                    &path,
                    &[
                        ("key_manager", "resident"),
                        ("consumer_key", &key),
                        ("consumer_secret", &secret),
                    ],
                )
                .await
        }
    };
    let (_, page) = tpp.page(&keys_path(id, "production")).await;
    assert!(!page.contains("Provide existing OAuth keys"));
    let before = keys_state(&app);
    let response = map(&tpp, id).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert!(
        body_of(response)
            .await
            .contains("Out-of-band provisioning is switched off")
    );
    assert_eq!(keys_state(&app), before);

    // Switched on: it applies to applications made before.
    let app = restart(app, &[("PORTICO_KEY_PROVISIONING", "true")]).await;
    let tpp = Browser {
        address: app.address.clone(),
        client: tpp.client.clone(),
    };
    let tpp = if tpp.is_signed_in().await {
        tpp
    } else {
        let fresh = app.browser();
        fresh.sign_in("heidi", PASSWORD).await;
        fresh
    };
    let (_, page) = tpp.page(&keys_path(id, "production")).await;
    assert!(page.contains("Provide existing OAuth keys"));

    // The key manager's own flag is checked too.
    let admin = app.admin().await;
    let resident = resident_page(&app);
    let response = admin
        .resubmit_without(&resident, &resident, &[], &["enable_oob_provisioning"])
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let (_, page) = tpp.page(&keys_path(id, "production")).await;
    assert!(!page.contains("Provide existing OAuth keys"));
    let response = map(&tpp, id).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert!(
        body_of(response)
            .await
            .contains("does not accept existing OAuth keys")
    );
    admin
        .resubmit_ok(&resident, &resident, &[("enable_oob_provisioning", "true")])
        .await;
    let response = map(&tpp, id).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) FROM key_mappings WHERE application_id = {id} AND create_mode = 'MAPPED' AND state = 'ACTIVE'"
        )),
        1
    );
}

#[actix_web::test]
async fn a_disabled_key_manager_offers_nothing_and_refuses_every_keys_request() {
    let app = TestApp::new()
        .with_tpp("ivan")
        .with_application("ivan", "Disabled")
        .with_keys("Disabled", "production")
        .build()
        .await;
    let (tpp, id) = (app.session("ivan"), app.application("Disabled"));
    let secret = app.keys("Disabled", "production").consumer_secret.clone();
    let disable = format!("{}/disable", resident_page(&app));
    let response = app.admin_session().post(&disable, &[]).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);

    let (status, page) = tpp.page(&keys_path(id, "sandbox")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("No key manager is available to you"));
    assert!(texts(&page, "nav.tabs a[data-key-manager]").is_empty());
    assert!(!page.contains("/generate\""));

    let before = keys_state(&app);
    let attempts: Vec<(String, Vec<(&str, &str)>)> = vec![
        (
            format!("{}/generate", keys_path(id, "sandbox")),
            client_credentials(),
        ),
        (
            format!("{}/map", keys_path(id, "sandbox")),
            vec![
                ("key_manager", "resident"),
                ("consumer_key", "x"),
                ("consumer_secret", "y"),
            ],
        ),
        (
            format!("{}/token", keys_path(id, "production")),
            vec![
                ("key_manager", "resident"),
                ("consumer_secret", &secret),
                ("validity_period", "60"),
            ],
        ),
        (
            format!("{}/regenerate-secret", keys_path(id, "production")),
            vec![("key_manager", "resident")],
        ),
        (
            format!("{}/remove", keys_path(id, "production")),
            vec![("key_manager", "resident")],
        ),
        (
            format!("{}/generate", keys_path(id, "sandbox")),
            vec![("grant_types", "client_credentials")],
        ),
    ];
    for (path, fields) in attempts {
        let response = tpp.post(&path, &fields).await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{path}");
        let body = response.text().await.unwrap();
        assert!(
            body.contains("is disabled") || body.contains("No key manager is available"),
            "{path}: {body}"
        );
    }
    assert_eq!(keys_state(&app), before, "nothing changed");
}

#[actix_web::test]
async fn keys_are_updated_regenerated_and_removed() {
    let (app, tpp) = spawn_tpp("judy").await;
    let id = tpp.create_application("Lifecycle").await;
    let (key, old_secret) = generate(
        &tpp,
        id,
        "production",
        &[
            ("key_manager", "resident"),
            ("grant_types", "client_credentials"),
            ("grant_types", "refresh_token"),
        ],
    )
    .await;

    // Regenerate: the new secret is shown once, the old one stops working.
    let response = resident_keys_action(&tpp, id, "regenerate-secret").await;
    let body = shown_after(&tpp, response).await;
    assert_eq!(field(&body, "consumer_key").unwrap(), key);
    let new_secret = field(&body, "consumer_secret").unwrap();
    assert_ne!(new_secret, old_secret);
    assert_eq!(
        token_for(&app, &key, &old_secret).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(token_for(&app, &key, &new_secret).await.0, StatusCode::OK);
    let (_, later) = tpp.page(&keys_path(id, "production")).await;
    assert!(!later.contains(&new_secret));

    // Update: the registry follows; a bad value is refused with the values kept.
    let update = format!("{}/update", keys_path(id, "production"));
    let response = tpp
        .post(&update, &with_callback("http://evil.example/cb"))
        .await;
    let body = unprocessable(response, "").await;
    assert!(error_on(&body, "callback_url").is_some());
    assert_eq!(
        textarea_value(&body, "callback_url").as_deref(),
        Some("http://evil.example/cb")
    );
    assert_eq!(
        checked_values(&body, "grant_types"),
        vec!["client_credentials", "authorization_code"]
    );
    let response = tpp
        .post_ok(
            &update,
            &[
                with_callback("https://app.example/cb"),
                vec![("pkce_mandatory", "true")],
            ]
            .concat(),
        )
        .await;
    let (_, page) = tpp.page(&location(&response)).await;
    assert!(page.contains("The keys were updated."));
    assert_eq!(
        field(&page, "grant_types").unwrap(),
        "client_credentials authorization_code"
    );
    assert_eq!(
        checked_values(&page, "grant_types"),
        vec!["client_credentials", "authorization_code"]
    );
    assert_eq!(
        app.text(&format!(
            "SELECT grant_types || ' ' || redirect_uris || ' ' || CASE WHEN pkce_mandatory THEN '1' ELSE '0' END || ' ' || application_id AS line FROM oauth_clients WHERE client_id = '{key}'"
        )),
        format!("client_credentials authorization_code [\"https://app.example/cb\"] 1 {id}")
    );

    // Remove: the generated client is deleted at the key manager; new keys can be made.
    let response = resident_keys_action(&tpp, id, "remove").await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let (_, page) = tpp.page(&location(&response)).await;
    assert!(page.contains("OAuth client deleted"));
    assert!(field(&page, "consumer_key").is_none());
    assert_eq!(app.count("SELECT COUNT(*) FROM oauth_clients"), 0);
    assert_eq!(app.count("SELECT COUNT(*) FROM key_mappings"), 0);
    assert_eq!(
        token_for(&app, &key, &new_secret).await.0,
        StatusCode::UNAUTHORIZED
    );
    // Operations on keys that are gone are conflicts, not errors.
    let response = resident_keys_action(&tpp, id, "regenerate-secret").await;
    assert_eq!(response.status(), StatusCode::CONFLICT);
    generate(&tpp, id, "production", &client_credentials()).await;

    // The history and the admin's audit trail show who did what.
    let (_, overview) = tpp.page(&format!("/applications/{id}")).await;
    assert_shows(
        &overview,
        &[
            "Generated production keys",
            "Regenerated the consumer secret of production keys",
            "Updated production keys",
            "Removed production keys",
        ],
    );
    let admin = app.admin().await;
    let (_, audit) = admin.page("/admin/audit?object_type=keys").await;
    assert!(audit.contains("<option value=\"keys\" selected>"));
    for action in ["generate", "update", "regenerate_secret", "remove"] {
        assert!(
            audit.contains(&format!("<td>{action}</td>")),
            "audit: {action}"
        );
        assert!(audit.contains(&format!("<option value=\"{action}\"")));
    }
}

/// The token endpoint keeps clients it has just authenticated in memory for a second. A change
/// made through the portal is seen by the very next token request; one made behind this
/// process's back (another process on the same database) within that second.
#[actix_web::test]
async fn the_token_endpoint_follows_every_change_to_a_client_it_has_just_used() {
    let (app, tpp) = spawn_tpp("kim").await;
    let id = tpp.create_application("Cached").await;
    let (key, secret) = generate(&tpp, id, "production", &client_credentials()).await;
    let application_name = |answer: &Value| {
        claims(answer["access_token"].as_str().expect("an access token"))["application"]["name"]
            .clone()
    };
    let (status, answer) = token_for(&app, &key, &secret).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(application_name(&answer), "Cached");

    // Renamed through the portal: the next token speaks for the new name.
    tpp.post_ok(
        &format!("/applications/{id}"),
        &[
            ("name", "Renamed"),
            ("throttling_policy", "20PerMin"),
            ("description", ""),
        ],
    )
    .await;
    let (status, answer) = token_for(&app, &key, &secret).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(application_name(&answer), "Renamed");

    // Regenerated: the old secret is refused at once.
    let response = resident_keys_action(&tpp, id, "regenerate-secret").await;
    let new_secret = field(&shown_after(&tpp, response).await, "consumer_secret").unwrap();
    assert_eq!(
        token_for(&app, &key, &secret).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(token_for(&app, &key, &new_secret).await.0, StatusCode::OK);

    // Changed in the database by someone else: seen within the cache's second.
    app.execute(&format!(
        "UPDATE oauth_clients SET secret_hash = '{}' WHERE client_id = '{key}'",
        sha256_hex(b"set-elsewhere")
    ));
    tokio::time::sleep(portico::oauth_server::client_cache::TTL).await;
    assert_eq!(
        token_for(&app, &key, &new_secret).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        token_for(&app, &key, "set-elsewhere").await.0,
        StatusCode::OK
    );

    // Removed through the portal: refused at once.
    let response = resident_keys_action(&tpp, id, "remove").await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        token_for(&app, &key, "set-elsewhere").await.0,
        StatusCode::UNAUTHORIZED
    );
}

#[actix_web::test]
async fn a_portal_token_is_a_jwt_the_server_introspects_as_active() {
    let (app, tpp) = spawn_tpp("karl").await;
    let id = tpp.create_application("Tokens").await;
    // The token carries the scopes of the API the application is subscribed to.
    let api = app
        .publish_api("Payments", "/payments", "PUBLISHED", &["Gold"])
        .await;
    app.add_scope(api, "read", "Read payments", "").await;
    app.add_scope(api, "write", "Make payments", "").await;
    tpp.subscribe(api, id, "Gold").await;
    let (key, secret) = generate(&tpp, id, "sandbox", &client_credentials()).await;
    let path = format!("{}/token", keys_path(id, "sandbox"));

    let before = keys_state(&app);
    let cases: Vec<Case> = vec![
        (
            vec![("consumer_secret", "wrong"), ("validity_period", "600")],
            "consumer_secret",
            CREDENTIALS,
        ),
        (
            vec![("validity_period", "600")],
            "consumer_secret",
            "Enter the consumer secret",
        ),
        (
            vec![("consumer_secret", &secret), ("validity_period", "0")],
            "validity_period",
            "between 1 and 86400",
        ),
        (
            vec![("consumer_secret", &secret), ("validity_period", "86401")],
            "validity_period",
            "between 1 and 86400",
        ),
        (
            vec![("consumer_secret", &secret), ("validity_period", "soon")],
            "validity_period",
            "whole number",
        ),
        (
            vec![
                ("consumer_secret", &secret),
                ("scopes", "read anything_at_all"),
                ("validity_period", "600"),
            ],
            "scopes",
            "Unknown scope: anything_at_all",
        ),
        (
            vec![
                ("consumer_secret", &secret),
                ("validity_period", "600"),
                ("scopes", "read \"write\""),
            ],
            "scopes",
            "separated by spaces",
        ),
    ];
    for (mut fields, name, message) in cases {
        fields.push(("key_manager", "resident"));
        let response = tpp.post(&path, &fields).await;
        let body = unprocessable(response, &format!("{name}: {message}")).await;
        assert!(
            error_on(&body, name).unwrap_or_default().contains(message),
            "{name}: {message}: {:?}",
            error_on(&body, name)
        );
        assert!(field(&body, "access_token").is_none());
        assert!(
            input_value(&body, "consumer_secret")
                .unwrap_or_default()
                .is_empty(),
            "the secret is not sent back"
        );
    }
    assert_eq!(keys_state(&app), before);

    let response = tpp
        .post(
            &path,
            &[
                ("key_manager", "resident"),
                ("consumer_secret", &secret),
                ("scopes", "read write"),
                ("validity_period", "600"),
            ],
        )
        .await;
    let body = shown_after(&tpp, response).await;
    let token = field(&body, "access_token").unwrap();
    assert_eq!(field(&body, "expires_in").unwrap(), "600");
    assert!(field(&body, "expires_at").unwrap().ends_with("UTC"));
    assert!(!body.contains(&secret), "the secret is not shown");
    let (_, later) = tpp.page(&keys_path(id, "sandbox")).await;
    assert!(!later.contains(&token), "the token is shown once");

    let claims = claims(&token);
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        600
    );
    let introspection: Value = http()
        .post(app.url("/oauth2/introspect"))
        .header("authorization", basic(&key, &secret))
        .form(&[("token", token.as_str())])
        .fetch_json()
        .await;
    assert_eq!(introspection["active"], true, "{introspection}");
    assert_eq!(introspection["client_id"], key);
    assert_eq!(introspection["scope"], "read write");
    assert_eq!(introspection["key_type"], "SANDBOX");
    assert_eq!(introspection["application"]["id"], id);
    assert_eq!(introspection["application"]["name"], "Tokens");
    // The organisation the application belongs to (karl's, named after him), not a person.
    let organisation = app.organisation_of("karl");
    assert_eq!(
        introspection["org"],
        json!({"id": organisation, "name": "karl"})
    );
    assert!(introspection.get("owner").is_none());
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) FROM audit_events WHERE action = 'generate_token' AND application_id = {id}"
        )),
        1
    );

    // Keys without client_credentials cannot get portal tokens.
    tpp.post_ok(
        &format!("{}/update", keys_path(id, "sandbox")),
        &[
            ("key_manager", "resident"),
            ("grant_types", "authorization_code"),
            ("callback_url", "https://app.example/cb"),
        ],
    )
    .await;
    let (_, page) = tpp.page(&keys_path(id, "sandbox")).await;
    assert!(!page.contains("Generate an access token"));
    let response = tpp
        .post(
            &path,
            &[
                ("key_manager", "resident"),
                ("consumer_secret", &secret),
                ("validity_period", "600"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::CONFLICT);
}

#[actix_web::test]
async fn deleting_an_application_deletes_created_clients_and_keeps_mapped_ones() {
    let (app, tpp) = spawn_tpp("leo").await;
    let id = tpp.create_application("Doomed").await;
    let (created, _) = generate(&tpp, id, "production", &client_credentials()).await;
    let existing = app.register_client(ClientSpec::default());
    tpp.post_ok(
        &format!("{}/map", keys_path(id, "sandbox")),
        &[
            ("key_manager", "resident"),
            ("consumer_key", &existing.client_id),
            ("consumer_secret", existing.secret.as_deref().unwrap()),
        ],
    )
    .await;

    tpp.post_ok(&format!("/applications/{id}/delete"), &[])
        .await;
    assert_eq!(app.count("SELECT COUNT(*) FROM applications"), 0);
    assert_eq!(app.count("SELECT COUNT(*) FROM key_mappings"), 0);
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) FROM oauth_clients WHERE client_id = '{created}'"
        )),
        0,
        "the generated client is deleted"
    );
    assert_eq!(
        app.text(&format!(
            "SELECT coalesce(CAST(application_id AS TEXT), 'none') || ' ' || coalesce(key_type, 'none') AS line FROM oauth_clients WHERE client_id = '{}'",
            existing.client_id
        )),
        "none none",
        "the provided client stays, unlinked"
    );
    assert_eq!(app.count("SELECT COUNT(*) FROM key_manager_tasks"), 0);
    assert!(
        app.text("SELECT summary AS line FROM audit_events WHERE action = 'delete'")
            .contains("and its keys")
    );
}

#[actix_web::test]
async fn no_plaintext_consumer_secret_is_stored_anywhere() {
    let (app, tpp) = spawn_tpp("mallory").await;
    let id = tpp.create_application("Journey").await;
    let mut secrets = Vec::new();
    let (key, first) = generate(&tpp, id, "production", &client_credentials()).await;
    secrets.push(first);
    let response = resident_keys_action(&tpp, id, "regenerate-secret").await;
    let second = field(&shown_after(&tpp, response).await, "consumer_secret").unwrap();
    let response = tpp.portal_token(id, &second, None, "60").await;
    let shown = shown_after(&tpp, response).await;
    let token = field(&shown, "access_token").unwrap();
    // A token asked without scopes shows what it got, or says it has none: never "Scope:"
    // with nothing after it.
    assert!(
        field(&shown, "scope").map_or(shown.contains("No scope"), |s| !s.trim().is_empty()),
        "the scope line"
    );
    secrets.push(second.clone());
    secrets.push(token);
    let existing = app.register_client(ClientSpec::default());
    let mapped_secret = existing.secret.clone().unwrap();
    tpp.post_ok(
        &format!("{}/map", keys_path(id, "sandbox")),
        &[
            ("key_manager", "resident"),
            ("consumer_key", &existing.client_id),
            ("consumer_secret", &mapped_secret),
        ],
    )
    .await;
    secrets.push(mapped_secret);
    assert_eq!(
        app.text(&format!(
            "SELECT secret_hash AS line FROM oauth_clients WHERE client_id = '{key}'"
        )),
        sha256_hex(second.as_bytes()),
        "stored as its SHA-256"
    );

    // Everything the database keeps (on SQLite with the write-ahead log folded in too).
    let stored = app.stored_bytes();
    assert!(stored.len() > 4096);
    for secret in &secrets {
        assert!(
            !stored.windows(secret.len()).any(|w| w == secret.as_bytes()),
            "a consumer secret is stored in plain text"
        );
    }
}

#[actix_web::test]
async fn an_administrator_sees_and_resolves_key_manager_tasks() {
    let (app, admin) = spawn_admin().await;
    let (_, home) = admin.page("/admin").await;
    assert!(home.contains("href=\"/admin/key-manager-tasks\""));
    let (status, empty) = admin.page("/admin/key-manager-tasks").await;
    assert_eq!(status, StatusCode::OK);
    assert!(empty.contains("Nothing to do"));

    // A client its key manager failed to delete (an external one was down, say): SQL, as the
    // resident key manager here cannot be made to fail on demand.
    app.execute(
        "INSERT INTO key_manager_tasks (key_manager_id, key_manager_name, consumer_key, application_name, error, created_at) \
         SELECT id, display_name, 'orphan-client', 'Gone <App>', 'the key manager is unavailable: HTTP 503', 0 FROM key_managers WHERE name = 'resident'",
    );
    let task = app.count("SELECT id AS n FROM key_manager_tasks");
    let (_, page) = admin.page("/admin/key-manager-tasks").await;
    assert_eq!(field(&page, "consumer_key").unwrap(), "orphan-client");
    assert!(field(&page, "error").unwrap().contains("HTTP 503"));
    assert!(shown_escaped(&page, "Gone <App>"));
    let tpp = app.tpp("nosy").await;
    assert_eq!(
        tpp.get_status("/admin/key-manager-tasks").await,
        StatusCode::FORBIDDEN
    );

    admin
        .post_ok(&format!("/admin/key-manager-tasks/{task}/retry"), &[])
        .await;
    let (_, page) = admin.page("/admin/key-manager-tasks").await;
    assert!(page.contains("was deleted at Resident Key Manager"));
    assert!(page.contains("Resolved"));
    assert_eq!(
        app.count("SELECT COUNT(*) FROM key_manager_tasks WHERE resolved_at IS NOT NULL"),
        1
    );
    let response = admin
        .post(&format!("/admin/key-manager-tasks/{task}/retry"), &[])
        .await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND, "already resolved");
    let (_, audit) = admin
        .page("/admin/audit?object_type=key_manager_task")
        .await;
    assert!(
        audit.contains("Deleted the client at its key manager: client orphan-client"),
        "who resolved it is recorded"
    );
}

/// A kind of key manager in the matrix below, running for the test (an external one at its
/// real server or stand-in), and where its out-of-band clients come from.
enum Manager {
    Resident,
    Dcr(crate::external_server::ExternalServer),
    Auth0(crate::auth0_stub::Auth0Stub),
}

impl Manager {
    /// Starts the key manager `name` of `kind` and configures it through the admin form.
    async fn start(app: &TestApp, kind: &str, name: &str) -> Manager {
        use crate::dcr_connector::{
            IAT, Registration, create_key_manager, endpoints, key_manager_form,
        };
        match kind {
            "resident" => Manager::Resident,
            "auth0" => {
                let stub = crate::auth0_stub::Auth0Stub::start().await;
                crate::auth0_connector::configure_auth0(&app.admin().await, &stub).await;
                Manager::Auth0(stub)
            }
            _ => {
                let mut args = vec!["--initial-access-token", IAT, "--rotate-secret-on-update"];
                if kind == "fs" {
                    args.push("--fs");
                }
                let server = crate::external_server::ExternalServer::start(&args);
                let urls = endpoints(&server.issuer);
                let registration = Registration::Bearer(IAT);
                let form = key_manager_form(kind, name, &server.issuer, &urls, &registration);
                create_key_manager(app, &form).await;
                Manager::Dcr(server)
            }
        }
    }

    /// A client made outside Portico, as its owner would: (consumer key, consumer secret).
    async fn existing_client(&self, app: &TestApp) -> (String, String) {
        match self {
            Manager::Resident => {
                let client = app.register_client(ClientSpec::default());
                (client.client_id, client.secret.unwrap())
            }
            Manager::Dcr(server) => {
                server
                    .register_client(Some(crate::dcr_connector::IAT))
                    .await
            }
            Manager::Auth0(stub) => stub.add_client(
                "Made elsewhere",
                "client_secret_post",
                &["client_credentials"],
            ),
        }
    }
}

/// The actions on existing keys, and whether each kind × way of getting keys offers them
/// (token, update, regenerate-secret, remove). Keys provided out-of-band at an RFC 7592 server
/// cannot be changed or re-secreted from the portal: Portico holds no registration access
/// token for a client it did not register.
const MATRIX: &[(&str, &str, [bool; 4])] = &[
    ("resident", "CREATED", [true, true, true, true]),
    ("resident", "MAPPED", [true, true, true, true]),
    ("dcr", "CREATED", [true, true, true, true]),
    ("dcr", "MAPPED", [true, false, false, true]),
    ("fs", "CREATED", [true, true, true, true]),
    ("fs", "MAPPED", [true, false, false, true]),
    ("auth0", "CREATED", [true, true, true, true]),
    ("auth0", "MAPPED", [true, true, true, true]),
];
const ACTIONS: [&str; 4] = ["token", "update", "regenerate-secret", "remove"];

/// One application's production keys tab at one key manager, in the matrix below.
struct MatrixTab<'a> {
    tpp: &'a Browser,
    key_manager: &'static str,
    base: String,
    case: String,
}

impl MatrixTab<'_> {
    fn tab(&self) -> String {
        format!("{}?key_manager={}", self.base, self.key_manager)
    }

    async fn send(&self, action: &str, fields: &[(&str, &str)]) -> reqwest::Response {
        let mut all = vec![("key_manager", self.key_manager)];
        all.extend_from_slice(fields);
        self.tpp
            .post(&format!("{}/{action}", self.base), &all)
            .await
    }

    /// Gets keys as `mode` says; returns their consumer secret.
    async fn get_keys(&self, app: &TestApp, manager: &Manager, mode: &str) -> String {
        if mode == "CREATED" {
            let response = self
                .send("generate", &[("grant_types", "client_credentials")])
                .await;
            let page = shown_after(self.tpp, response).await;
            return field(&page, "consumer_secret").expect(&self.case);
        }
        let (key, secret) = manager.existing_client(app).await;
        let fields = [
            ("consumer_key", key.as_str()),
            ("consumer_secret", secret.as_str()),
        ];
        let response = self.send("map", &fields).await;
        assert_eq!(
            response.status(),
            StatusCode::SEE_OTHER,
            "{}: map",
            self.case
        );
        secret
    }

    /// The tab offers a form for each action that works and a sentence for each that does not;
    /// returns the page and the number of cases checked.
    async fn offers(&self, mode: &str, offers: &[bool; 4]) -> (String, usize) {
        let case = &self.case;
        let (_, page) = self.tpp.page(&self.tab()).await;
        for (action, offered) in ACTIONS.iter().zip(offers) {
            let form = page.contains(&format!("action=\"{}/{action}\"", self.base));
            let why = texts(&page, &format!("[data-unavailable=\"{action}\"]"));
            assert_eq!(form, *offered, "{case}: the {action} form");
            assert_eq!(
                why.len(),
                usize::from(!offered),
                "{case}: no {action}: {why:?}"
            );
        }
        let note = field(&page, "secret_note").unwrap();
        assert_eq!(note.contains("Regenerate it"), offers[2], "{case}: {note}");
        assert_eq!(
            note.contains("You provided it"),
            mode == "MAPPED",
            "{case}: {note}"
        );
        (page, ACTIONS.len())
    }

    /// A refused token form: the tab again (422), its values kept, the secret not sent back.
    async fn refused_form(&self, secret: &str) {
        let case = &self.case;
        let fields = [
            ("consumer_secret", secret),
            ("scopes", "read"),
            ("validity_period", "soon"),
        ];
        let response = self.send("token", &fields).await;
        let body = unprocessable(response, &case.to_string()).await;
        assert!(error_on(&body, "validity_period").is_some(), "{case}");
        assert_eq!(
            input_value(&body, "scopes").as_deref(),
            Some("read"),
            "{case}"
        );
        assert!(
            !body.contains(secret),
            "{case}: the secret is not sent back"
        );
    }

    /// A POST of each action: an offered one is a 303 whose result shows once; one not offered
    /// is a 403 on the tab with the sentence the tab gave.
    async fn posts(&self, page: &str, offers: &[bool; 4], mut secret: String) -> usize {
        let case = &self.case;
        for (action, offered) in ACTIONS.iter().zip(offers) {
            let response = match *action {
                "token" => {
                    let fields = [
                        ("consumer_secret", secret.as_str()),
                        ("validity_period", "300"),
                    ];
                    self.send(action, &fields).await
                }
                "update" => {
                    self.send(action, &[("grant_types", "client_credentials")])
                        .await
                }
                _ => self.send(action, &[]).await,
            };
            if !offered {
                let why = texts(page, &format!("[data-unavailable=\"{action}\"]")).remove(0);
                assert_eq!(response.status(), StatusCode::FORBIDDEN, "{case}: {action}");
                let body = response.text().await.unwrap();
                assert_eq!(field(&body, "keys_refusal"), Some(why), "{case}: {action}");
                let tabs = texts(&body, "nav.tabs a[data-key-manager]");
                assert!(!tabs.is_empty(), "{case}: {action} on the tab");
                assert!(
                    field(&body, "consumer_key").is_some(),
                    "{case}: keys still shown"
                );
                continue;
            }
            assert_eq!(location(&response), self.tab(), "{case}: {action}");
            let shown = shown_after(self.tpp, response).await;
            match *action {
                "token" => assert!(field(&shown, "access_token").is_some(), "{case}"),
                "update" => assert!(shown.contains("The keys were updated."), "{case}"),
                "regenerate-secret" => {
                    let new = field(&shown, "consumer_secret").expect(case);
                    assert_ne!(new, secret, "{case}: a new secret");
                    secret = new;
                }
                _ => assert!(field(&shown, "consumer_key").is_none(), "{case}: removed"),
            }
            let (_, reload) = self.tpp.page(&self.tab()).await;
            assert!(
                field(&reload, "access_token").is_none(),
                "{case}: {action} once"
            );
            assert!(
                field(&reload, "consumer_secret").is_none(),
                "{case}: {action} once"
            );
        }
        ACTIONS.len()
    }
}

/// Every key manager type × way of getting keys × action: the tab offers exactly the actions
/// that work, says why for each it does not, and a POST of each answers as the tab promised —
/// 303 and the result shown once, or the tab again with the refusal by its form.
#[actix_web::test]
async fn the_keys_tab_offers_exactly_what_each_key_manager_can_do_for_each_kind_of_keys() {
    let app = spawn_app_with(&[("PORTICO_ALLOW_PRIVATE_KM_URLS", "true")]).await;
    let tpp = app.tpp("matrix").await;
    let mut managers = std::collections::BTreeMap::new();
    let mut cases = 0;
    for (kind, mode, offers) in MATRIX {
        if !managers.contains_key(kind) {
            managers.insert(*kind, Manager::start(&app, kind, kind).await);
        }
        let id = tpp
            .create_application(&format!("Matrix {kind} {mode}"))
            .await;
        let tab = MatrixTab {
            tpp: &tpp,
            key_manager: kind,
            base: keys_path(id, "production"),
            case: format!("{kind} {mode}"),
        };
        let secret = tab.get_keys(&app, &managers[kind], mode).await;
        let (page, offered) = tab.offers(mode, offers).await;
        tab.refused_form(&secret).await;
        cases += offered + 1 + tab.posts(&page, offers, secret).await;
    }
    let Manager::Auth0(stub) = &managers["auth0"] else {
        unreachable!("the matrix has an auth0 row")
    };
    a_failing_key_manager_is_shown_on_the_tab(&tpp, stub).await;
    cases += 1;
    println!(
        "keys matrix: {} kinds × ways of getting keys, {cases} cases",
        MATRIX.len()
    );
}

/// A key manager failing: the tab again (502), the message by the form, the values kept.
async fn a_failing_key_manager_is_shown_on_the_tab(
    tpp: &Browser,
    stub: &crate::auth0_stub::Auth0Stub,
) {
    let id = tpp.create_application("Matrix fault").await;
    let base = keys_path(id, "production");
    let generate = [
        ("key_manager", "auth0"),
        ("grant_types", "client_credentials"),
    ];
    let response = tpp.post(&format!("{base}/generate"), &generate).await;
    shown_after(tpp, response).await;
    stub.set_fault(Some(crate::auth0_stub::Fault::ServerError));
    let update = [
        ("key_manager", "auth0"),
        ("grant_types", "client_credentials"),
        ("grant_types", "authorization_code"),
        ("callback_url", "https://kept.example/cb"),
    ];
    let response = tpp.post(&format!("{base}/update"), &update).await;
    let body = body_with(response, StatusCode::BAD_GATEWAY).await;
    assert!(
        field(&body, "keys_refusal")
            .unwrap()
            .contains("unavailable")
    );
    let by_the_form = texts(&body, "#update-title ~ [data-field=keys_refusal]");
    assert_eq!(by_the_form.len(), 1, "the message is by the update form");
    let callbacks = textarea_value(&body, "callback_url");
    assert_eq!(callbacks.as_deref(), Some("https://kept.example/cb"));
    let grants = checked_values(&body, "grant_types");
    assert_eq!(grants, vec!["client_credentials", "authorization_code"]);
    stub.set_fault(None);
}
