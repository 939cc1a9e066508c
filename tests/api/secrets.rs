//! SECURITY.md rows 5, 20 and 21 after a whole journey against a REAL Portico process: every
//! password, issued secret, token and connector credential is searched — as typed, in hex and in
//! base64 — in the database (its file and WAL on SQLite, every row on PostgreSQL), in every page
//! a TPP and an administrator can reach by following links, and in the process's log. Nothing is
//! found outside the one response that created each secret.

use std::collections::{BTreeSet, VecDeque};

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::*;
use crate::process::Portico;
use crate::results::shown_after;

const TPP_PASSWORD: &str = "tpp-passphrase-never-stored-5521";
const CALLBACK: &str = "https://client.example/callback";
const DCR_TOKEN: &str = "dcr-initial-access-token-8a71c3";
const DCR_PASSWORD: &str = "dcr-registration-password-2f9d";
const AUTH0_SECRET: &str = "auth0-client-secret-77e0b1d4";
const MAX_PAGES: usize = 400;

fn km_form(kind: &str, name: &str, port: u16) -> Vec<(&'static str, String)> {
    let url = |path: &str| format!("http://127.0.0.1:{port}{path}");
    vec![
        ("type", kind.into()),
        ("name", name.into()),
        ("display_name", name.into()),
        ("issuer", url("/issuer")),
        ("token_endpoint", url("/token")),
        ("client_registration_endpoint", url("/register")),
        ("introspection_endpoint", url("/introspect")),
        ("grant_types", "client_credentials".into()),
        ("certificate_type", "JWKS".into()),
        ("certificate_value", url("/jwks")),
        ("token_validation", "self_validate_jwt".into()),
        ("permission_type", "PUBLIC".into()),
        ("enable_oauth_app_creation", "true".into()),
        ("enable_token_generation", "true".into()),
        ("enabled", "true".into()),
    ]
}

/// Follows every internal link from `start`, GET only; returns (path, body) of each page.
async fn crawl(browser: &Browser, start: &[String]) -> Vec<(String, String)> {
    let mut seen: BTreeSet<String> = start.iter().cloned().collect();
    let mut queue: VecDeque<String> = start.iter().cloned().collect();
    let mut pages = Vec::new();
    let links = scraper::Selector::parse("a[href]").unwrap();
    while let Some(path) = queue.pop_front() {
        let (status, body) = browser.page(&path).await;
        assert!(status.as_u16() < 500, "GET {path}: {status}");
        if status != StatusCode::OK {
            continue;
        }
        let document = scraper::Html::parse_document(&body);
        for link in document.select(&links) {
            let href = link.value().attr("href").unwrap();
            let href = href.split('#').next().unwrap();
            if !href.starts_with('/') || href.starts_with("//") || href.starts_with("/static/") {
                continue;
            }
            if seen.len() < MAX_PAGES && seen.insert(href.to_string()) {
                queue.push_back(href.to_string());
            }
        }
        pages.push((path, body));
    }
    pages
}

/// The forms a secret could take at rest or in a log.
fn encodings(secret: &str) -> Vec<(&'static str, String)> {
    vec![
        ("plain", secret.to_string()),
        ("hex", hex::encode(secret)),
        ("HEX", hex::encode_upper(secret)),
        ("base64", STANDARD.encode(secret)),
        ("base64url", URL_SAFE_NO_PAD.encode(secret)),
    ]
}

#[actix_web::test]
async fn no_secret_is_found_anywhere_but_in_the_response_that_made_it() {
    let mut portico = Portico::start(&[
        ("PORTICO_ALLOW_PRIVATE_KM_URLS", "true"),
        ("RUST_LOG", "debug"),
    ]);
    let app = &portico.app;
    let api = app
        .publish_api("Ledger", "/ledger", "PUBLISHED", &["Gold"])
        .await;
    // Every secret of the journey, named, as it was shown once.
    let mut secrets: Vec<(String, String)> = vec![
        ("admin password".into(), ADMIN_PASSWORD.into()),
        ("TPP password".into(), TPP_PASSWORD.into()),
        ("dcr initial access token".into(), DCR_TOKEN.into()),
        ("dcr registration password".into(), DCR_PASSWORD.into()),
        ("auth0 client secret".into(), AUTH0_SECRET.into()),
    ];

    // The administrator configures key managers, their connector secrets typed into forms.
    let admin = portico.browser();
    assert_eq!(
        admin.sign_in(ADMIN, ADMIN_PASSWORD).await.status(),
        StatusCode::SEE_OTHER
    );
    let mut dcr = km_form("dcr", "partner-dcr", 9101);
    dcr.push(("connector_initial_access_token", DCR_TOKEN.into()));
    let mut dcr_basic = km_form("dcr", "partner-basic", 9102);
    dcr_basic.push(("connector_username", "registrar".into()));
    dcr_basic.push(("connector_password", DCR_PASSWORD.into()));
    let mut auth0 = km_form("auth0", "tenant-auth0", 9103);
    auth0.push(("connector_client_id", "auth0-client-id".into()));
    auth0.push(("connector_client_secret", AUTH0_SECRET.into()));
    auth0.push(("connector_audience", "http://127.0.0.1:9103/api/v2/".into()));
    for form in [&dcr, &dcr_basic, &auth0] {
        let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let response = admin.post("/admin/key-managers", &form).await;
        let status = response.status();
        assert_eq!(
            status,
            StatusCode::SEE_OTHER,
            "{}",
            response.text().await.unwrap()
        );
    }
    assert_eq!(
        app.count("SELECT COUNT(*) FROM key_managers WHERE connector_secrets IS NOT NULL"),
        3
    );
    let response = admin
        .post("/admin/gateways", &[("name", "Edge gateway")])
        .await;
    let page = shown_after(&admin, response).await;
    secrets.push((
        "gateway secret".into(),
        data_field(&page, "client_secret").unwrap(),
    ));

    // A TPP signs up with a password, makes an application and gets keys.
    let tpp = portico.browser();
    let signup = with_field(
        with_field(signup_fields("secret-keeper"), "password", TPP_PASSWORD),
        "password_confirm",
        TPP_PASSWORD,
    );
    tpp.post_ok("/signup", &signup).await;
    assert_eq!(
        tpp.sign_in("secret-keeper", TPP_PASSWORD).await.status(),
        StatusCode::SEE_OTHER
    );
    let id = tpp.create_application("Vault").await;
    tpp.subscribe(api, id, "Gold").await;
    let mut keys = Vec::new();
    for key_type in ["production", "sandbox"] {
        let response = tpp
            .try_generate(
                id,
                key_type,
                &[
                    ("key_manager", "resident"),
                    ("grant_types", "client_credentials"),
                    ("grant_types", "authorization_code"),
                    ("grant_types", "refresh_token"),
                    ("callback_url", CALLBACK),
                ],
            )
            .await;
        let body = shown_after(&tpp, response).await;
        let key = data_field(&body, "consumer_key").unwrap();
        let secret = data_field(&body, "consumer_secret").unwrap();
        secrets.push((format!("{key_type} consumer secret"), secret.clone()));
        keys.push((key, secret));
    }
    let response = tpp
        .keys_action(
            id,
            "production",
            "regenerate-secret",
            &[("key_manager", "resident")],
        )
        .await;
    let regenerated = data_field(&shown_after(&tpp, response).await, "consumer_secret").unwrap();
    secrets.push(("regenerated consumer secret".into(), regenerated.clone()));
    let (key, _) = keys[0].clone();
    let response = tpp.portal_token(id, &regenerated, None, "600").await;
    let portal_token = data_field(&shown_after(&tpp, response).await, "access_token").unwrap();
    secrets.push(("portal access token".into(), portal_token));

    // The token endpoint: client credentials, then the code flow with a refresh token.
    let http = reqwest::Client::new();
    let token = |form: Vec<(&'static str, String)>| {
        let http = http.clone();
        let url = app.url("/oauth2/token");
        let (key, secret) = (key.clone(), regenerated.clone());
        async move {
            let response = http
                .post(url)
                .basic_auth(key, Some(secret))
                .form(&form)
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), StatusCode::OK);
            response.json::<Value>().await.unwrap()
        }
    };
    let body = token(vec![("grant_type", "client_credentials".into())]).await;
    secrets.push((
        "client-credentials access token".into(),
        body["access_token"].as_str().unwrap().into(),
    ));
    let query = serde_urlencoded::to_string([
        ("response_type", "code"),
        ("client_id", key.as_str()),
        ("redirect_uri", CALLBACK),
        ("scope", "openid"),
        ("state", "s-1"),
    ])
    .unwrap();
    let (status, consent) = tpp.page(&format!("/oauth2/authorize?{query}")).await;
    assert_eq!(status, StatusCode::OK, "the consent page");
    let response = crate::oauth::decide(&tpp, &consent, "approve").await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let code = url::Url::parse(&location(&response))
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.into_owned())
        .expect("a code");
    secrets.push(("authorization code".into(), code.clone()));
    let body = token(vec![
        ("grant_type", "authorization_code".into()),
        ("code", code),
        ("redirect_uri", CALLBACK.into()),
    ])
    .await;
    secrets.push((
        "code-flow access token".into(),
        body["access_token"].as_str().unwrap().into(),
    ));
    let refresh = body["refresh_token"].as_str().unwrap().to_string();
    secrets.push(("refresh token".into(), refresh.clone()));
    let body = token(vec![
        ("grant_type", "refresh_token".into()),
        ("refresh_token", refresh),
    ])
    .await;
    secrets.push((
        "rotated refresh token".into(),
        body["refresh_token"].as_str().unwrap().into(),
    ));
    secrets.push((
        "refreshed access token".into(),
        body["access_token"].as_str().unwrap().into(),
    ));

    // Every page the TPP and the administrator can reach.
    let tpp_pages = crawl(
        &tpp,
        &[
            "/".into(),
            "/applications".into(),
            "/apis".into(),
            "/account/consents".into(),
            format!("/applications/{id}"),
            format!("/applications/{id}/keys/production"),
            format!("/applications/{id}/keys/sandbox"),
        ],
    )
    .await;
    let admin_pages = crawl(
        &admin,
        &[
            "/".into(),
            "/admin/key-managers".into(),
            "/admin/gateways".into(),
            "/admin/audit".into(),
            "/admin/users".into(),
        ],
    )
    .await;
    assert!(
        tpp_pages
            .iter()
            .any(|(p, _)| p.contains("/keys/production"))
    );
    assert!(
        admin_pages
            .iter()
            .any(|(p, _)| p.starts_with("/admin/key-managers/"))
    );

    // SQLite only (PostgreSQL keeps no file of its own here): the WAL holds recent writes and
    // the seeded policies are in the database file itself.
    if !crate::pg::on_postgres() {
        let read = |path: std::path::PathBuf| std::fs::read(path).unwrap_or_default();
        let wal = read(app.db_path.with_extension("db-wal"));
        assert!(!wal.is_empty(), "the WAL holds recent writes");
        let file = read(app.db_path.clone());
        let seeded = String::from_utf8_lossy(&file).contains("10PerMin");
        assert!(seeded, "the seeded policies are in the database file");
    }
    // What the database keeps while the process runs, and again after it stopped.
    let text = |bytes: Vec<u8>| String::from_utf8_lossy(&bytes).into_owned();
    let running = text(app.stored_bytes());
    portico.kill();
    let logs = portico.logs();
    assert!(
        logs.contains("path=/oauth2/token"),
        "the request log is there"
    );
    let stopped = text(portico.app.stored_bytes());

    let mut places: Vec<(String, &str)> = vec![
        ("database".into(), running.as_str()),
        ("database after the stop".into(), stopped.as_str()),
        ("log".into(), logs.as_str()),
    ];
    for (path, body) in &tpp_pages {
        places.push((format!("TPP page {path}"), body.as_str()));
    }
    for (path, body) in &admin_pages {
        places.push((format!("admin page {path}"), body.as_str()));
    }
    // The search sees what is there: the consumer key (not a secret) is in the database, on the
    // keys page and in the audit trail; the seeded policies are in the database.
    let holds = |prefixes: &[&str], needle: &str| {
        places
            .iter()
            .filter(|(p, _)| prefixes.iter().any(|prefix| p.starts_with(prefix)))
            .any(|(_, text)| text.contains(needle))
    };
    assert!(holds(&["database"], &key));
    assert!(holds(&["TPP page /applications"], &key));
    assert!(holds(&["admin page /admin/audit"], &key));
    assert!(holds(&["database"], "10PerMin"));
    let mut searched = 0;
    let mut found = Vec::new();
    for (name, secret) in &secrets {
        assert!(secret.len() >= 16, "{name} is a real secret");
        for (encoding, needle) in encodings(secret) {
            for (place, text) in &places {
                searched += 1;
                if text.contains(&needle) {
                    found.push(format!("{name} ({encoding}) in the {place}"));
                }
            }
        }
    }
    println!(
        "secrets: {} secrets × {} encodings searched in {} places ({} TPP pages, {} admin pages, \
         database, log) = {searched} searches, {} hits",
        secrets.len(),
        encodings("x").len(),
        places.len(),
        tpp_pages.len(),
        admin_pages.len(),
        found.len()
    );
    assert!(found.is_empty(), "{found:#?}");
}
