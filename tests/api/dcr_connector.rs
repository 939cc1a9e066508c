//! The `dcr` and `fs` connectors against the real oidc-provider on loopback: an administrator
//! configures the key manager through the forms, a TPP generates, uses, updates, re-secrets and
//! removes keys, and provides existing clients out-of-band — asserting what the TPP sees and what
//! the server holds (read back through RFC 7592 with the registration access token Portico
//! keeps). Then the failures of SECURITY.md row 34 (down, slow, 500, malformed JSON, a redirect, a
//! registration whose answer is unusable) and row 13 for connector URLs: a 502/504 page,
//! nothing half-made in Portico, no orphan client at the server.

use std::sync::{Arc, Mutex};

use actix_web::{HttpRequest, HttpResponse, web};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use portico::config::SecretKey;
use portico::security::secret_box::SecretBox;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::external_server::ExternalServer;
use crate::helpers::data_field as field;
use crate::helpers::*;
use crate::results::shown_after;

/// Portico's secret key in these tests, so that the test can read what Portico sealed.
const SECRET_KEY_HEX: &str = "0707070707070707070707070707070707070707070707070707070707070707";
pub(crate) const IAT: &str = "initial-access-token-for-portico";
const CREDENTIALS: &str =
    "The consumer key and consumer secret do not match a client of this key manager.";

async fn portico() -> TestApp {
    spawn_app_with(&[
        ("PORTICO_ALLOW_PRIVATE_KM_URLS", "true"),
        ("PORTICO_SECRET_KEY", SECRET_KEY_HEX),
    ])
    .await
}

fn secret_box() -> SecretBox {
    SecretBox::new(&SecretKey::from_bytes([7; 32]))
}

/// How Portico authenticates its registrations.
pub(crate) enum Registration<'a> {
    Bearer(&'a str),
    Basic(&'a str, &'a str),
}

/// The admin form of a key manager at `issuer` (an oidc-provider or a fault server).
pub(crate) fn key_manager_form<'a>(
    kind: &'a str,
    name: &'a str,
    issuer: &'a str,
    urls: &'a [(&'a str, String)],
    registration: &Registration<'a>,
) -> Vec<(&'a str, &'a str)> {
    let mut form = vec![
        ("type", kind),
        ("name", name),
        ("display_name", name),
        ("issuer", issuer),
        ("grant_types", "client_credentials"),
        ("grant_types", "authorization_code"),
        ("grant_types", "refresh_token"),
    ];
    form.extend_from_slice(KEY_MANAGER_SWITCHES);
    for (name, url) in urls {
        form.push((name, url.as_str()));
    }
    match registration {
        Registration::Bearer(token) => form.push(("connector_initial_access_token", token)),
        Registration::Basic(user, password) => {
            form.push(("connector_username", user));
            form.push(("connector_password", password));
        }
    }
    form
}

pub(crate) fn endpoints(base: &str) -> Vec<(&'static str, String)> {
    vec![
        ("client_registration_endpoint", format!("{base}/reg")),
        ("token_endpoint", format!("{base}/token")),
        (
            "introspection_endpoint",
            format!("{base}/token/introspection"),
        ),
        ("revoke_endpoint", format!("{base}/token/revocation")),
        (
            "well_known_url",
            format!("{base}/.well-known/openid-configuration"),
        ),
    ]
}

/// Creates a key manager through the admin form.
pub(crate) async fn create_key_manager(app: &TestApp, form: &[(&str, &str)]) {
    let response = app.admin().await.post("/admin/key-managers", form).await;
    let status = response.status();
    let body = response.text().await.unwrap();
    assert_eq!(status, StatusCode::SEE_OTHER, "{:?}", field_errors(&body));
}

/// The `dcr` key manager `partner` at the real server, registering with the initial access
/// token, plus `extra` fields.
async fn partner(app: &TestApp, server: &ExternalServer, extra: &[(&str, &str)]) {
    let urls = endpoints(&server.issuer);
    let mut form = key_manager_form(
        "dcr",
        "partner",
        &server.issuer,
        &urls,
        &Registration::Bearer(IAT),
    );
    form.extend_from_slice(extra);
    create_key_manager(app, &form).await;
}

/// The registration access token and configuration URI Portico keeps for a client, unsealed.
fn registration(app: &TestApp, consumer_key: &str) -> Option<(String, String)> {
    use diesel::prelude::*;
    #[derive(QueryableByName)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::Text)]
        registration_client_uri: String,
        #[diesel(sql_type = diesel::sql_types::Binary)]
        registration_access_token: Vec<u8>,
    }
    let rows: Vec<Row> = diesel::sql_query(format!(
        "SELECT registration_client_uri, registration_access_token FROM client_registrations \
         WHERE consumer_key = '{}'",
        consumer_key.replace('\'', "''")
    ))
    .load(&mut app.db())
    .unwrap();
    rows.into_iter().next().map(|row| {
        let token = secret_box()
            .open("registration access token", &row.registration_access_token)
            .expect("the registration access token is sealed with Portico's key");
        (
            row.registration_client_uri,
            String::from_utf8(token).unwrap(),
        )
    })
}

/// RFC 7592 GET of a client: (status, metadata).
async fn read_client(uri: &str, token: &str) -> (StatusCode, Value) {
    let response = reqwest::Client::new()
        .get(uri)
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn generate(tpp: &Browser, id: i64, fields: &[(&str, &str)]) -> (String, String) {
    let response = tpp.try_generate(id, "production", fields).await;
    let body = shown_after(tpp, response).await;
    (
        field(&body, "consumer_key").expect("the consumer key is shown"),
        field(&body, "consumer_secret").expect("the consumer secret is shown once"),
    )
}

/// oidc-provider (with the initial access token) and a Portico with the partner key manager
/// registering there, with these changes to its form.
async fn with_partner(changes: &[(&str, &str)]) -> (ExternalServer, TestApp) {
    let server = ExternalServer::start(&["--initial-access-token", IAT]);
    let app = portico().await;
    partner(&app, &server, changes).await;
    (server, app)
}

/// Asks for a new secret of the partner's production keys.
async fn regenerate_partner_secret(tpp: &Browser, id: i64) -> reqwest::Response {
    let fields = [("key_manager", "partner")];
    tpp.keys_action(id, "production", "regenerate-secret", &fields)
        .await
}

/// Client-credentials keys of the partner key manager.
const PARTNER_KEYS: &[(&str, &str)] = &[
    ("key_manager", "partner"),
    ("grant_types", "client_credentials"),
];

/// Asserts that no keys and no registration were stored.
fn nothing_registered(app: &TestApp) {
    assert_eq!(rows(app, "key_mappings"), 0);
    assert_eq!(rows(app, "client_registrations"), 0);
}

fn rows(app: &TestApp, table: &str) -> i64 {
    app.count(&format!("SELECT COUNT(*) FROM {table}"))
}

/// The whole life of generated keys, for one key manager: generate, token, update, regenerate,
/// remove — each checked at the server. Returns nothing; panics on the first difference.
// Long: one life of keys, in order; each step checks the server before the next one acts.
#[allow(clippy::too_many_lines)]
async fn keys_live_and_die_at_the_server(
    app: &TestApp,
    server: &ExternalServer,
    key_manager: &str,
    tpp_name: &str,
    generate_fields: &[(&str, &str)],
) -> Value {
    let tpp = app.tpp(tpp_name).await;
    let id = tpp.create_application("Wallet").await;
    let (key, secret) = generate(&tpp, id, generate_fields).await;

    // The server holds the client Portico asked for, under Portico's name for it.
    let (uri, rat) = registration(app, &key).expect("Portico keeps the registration");
    let (status, client) = read_client(&uri, &rat).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        client["client_name"],
        format!("{tpp_name}_Wallet_PRODUCTION")
    );
    assert_eq!(client["client_id"], key.as_str());
    let registered = client.clone();
    let stored = ["registration_access_token", "client_secret"].map(|column| {
        app.blob(&format!(
            "SELECT {column} AS bytes FROM client_registrations WHERE consumer_key = '{key}'"
        ))
    });
    let holds =
        |bytes: &[u8], plain: &str| bytes.windows(plain.len()).any(|w| w == plain.as_bytes());
    assert!(
        stored.iter().all(|s| !holds(s, &rat) && !holds(s, &secret)),
        "the registration access token and the secret are stored encrypted"
    );

    // A token generated from the portal is one the server issued and accepts.
    let response = tpp
        .keys_action(
            id,
            "production",
            "token",
            &[
                ("key_manager", key_manager),
                ("scopes", "read"),
                ("validity_period", "3600"),
                ("consumer_secret", &secret),
            ],
        )
        .await;
    let body = shown_after(&tpp, response).await;
    let access_token = field(&body, "access_token").expect("the token is shown");
    let introspection = server.introspect(&key, &secret, &access_token).await;
    assert_eq!(introspection["active"], true, "{introspection}");
    assert_eq!(introspection["client_id"], key.as_str());

    // Update: the server has the new grant types and redirect URI.
    let mut update = generate_fields.to_vec();
    update.retain(|(name, _)| *name != "grant_types" && *name != "callback_url");
    update.extend([
        ("grant_types", "client_credentials"),
        ("grant_types", "authorization_code"),
        ("callback_url", "https://wallet.example/callback"),
    ]);
    let response = tpp.keys_action(id, "production", "update", &update).await;
    let status = response.status();
    let body = response.text().await.unwrap();
    assert_eq!(
        status,
        StatusCode::SEE_OTHER,
        "update: {:?}",
        field_errors(&body)
    );
    let (_, rotated) = registration(app, &key).unwrap();
    assert_ne!(
        rotated, rat,
        "the rotated registration access token replaced the old one"
    );
    let (_, client) = read_client(&uri, &rotated).await;
    assert_eq!(
        client["grant_types"],
        json!(["client_credentials", "authorization_code"])
    );
    assert_eq!(
        client["redirect_uris"],
        json!(["https://wallet.example/callback"])
    );
    // The update kept the secret.
    assert_eq!(server.token(&key, &secret).await.0, StatusCode::OK);

    // Regenerate: the old secret is refused at the server, the new one works.
    let response = tpp
        .keys_action(
            id,
            "production",
            "regenerate-secret",
            &[("key_manager", key_manager)],
        )
        .await;
    let body = shown_after(&tpp, response).await;
    let new_secret = field(&body, "consumer_secret").expect("the new secret is shown once");
    assert_ne!(new_secret, secret);
    let (status, answer) = server.token(&key, &secret).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(answer["error"], "invalid_client");
    assert_eq!(server.token(&key, &new_secret).await.0, StatusCode::OK);

    // Remove: the client is gone at the server, and from Portico.
    let (_, last) = registration(app, &key).unwrap();
    tpp.post_ok(
        &format!("{}/remove", keys_path(id, "production")),
        &[("key_manager", key_manager)],
    )
    .await;
    assert_ne!(read_client(&uri, &last).await.0, StatusCode::OK);
    let (status, answer) = server.token(&key, &new_secret).await;
    assert_eq!(
        (status, answer["error"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("invalid_client"))
    );
    assert_eq!(rows(app, "key_mappings"), 0);
    assert_eq!(rows(app, "client_registrations"), 0);
    registered
}

#[actix_web::test]
async fn dcr_keys_are_made_used_changed_resecreted_and_deleted_at_the_real_server() {
    let server =
        ExternalServer::start(&["--initial-access-token", IAT, "--rotate-secret-on-update"]);
    let app = portico().await;
    partner(&app, &server, &[]).await;
    let client = keys_live_and_die_at_the_server(
        &app,
        &server,
        "partner",
        "ada",
        &[
            ("key_manager", "partner"),
            ("grant_types", "client_credentials"),
        ],
    )
    .await;
    assert_eq!(client["grant_types"], json!(["client_credentials"]));
    assert_eq!(client["response_types"], json!([]));
    assert_eq!(client["token_endpoint_auth_method"], "client_secret_basic");
}

#[actix_web::test]
async fn fs_keys_carry_the_certificate_the_regulatory_flag_pkce_and_lifetimes() {
    let server = ExternalServer::start(&[
        "--registration-basic",
        "registrar:registrar-password",
        "--rotate-secret-on-update",
        "--fs",
    ]);
    let app = portico().await;
    let urls = endpoints(&server.issuer);
    let mut form = key_manager_form(
        "fs",
        "openbank",
        &server.issuer,
        &urls,
        &Registration::Basic("registrar", "registrar-password"),
    );
    form.push(("connector_application_access_token_expiry_time", "900"));
    form.push(("connector_refresh_token_expiry_time", "86400"));
    create_key_manager(&app, &form).await;

    let key = rcgen::KeyPair::generate().unwrap();
    let mut params = rcgen::CertificateParams::new(vec!["tpp.example".into()]).unwrap();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "Wallet TPP");
    let certificate = params.self_signed(&key).unwrap();
    let pem = certificate.pem();
    let der = certificate.der().to_vec();

    let client = keys_live_and_die_at_the_server(
        &app,
        &server,
        "openbank",
        "grace",
        &[
            ("key_manager", "openbank"),
            ("grant_types", "client_credentials"),
            ("grant_types", "authorization_code"),
            ("callback_url", "https://wallet.example/cb"),
            ("regulatory", "true"),
            ("pkce_mandatory", "true"),
            ("application_certificate", &pem),
        ],
    )
    .await;
    assert_eq!(client["regulatory"], true);
    assert_eq!(client["ext_pkce_mandatory"], true);
    assert_eq!(client["ext_pkce_support_plain"], false);
    assert_eq!(client["ext_application_token_lifetime"], 900);
    assert_eq!(client["ext_refresh_token_lifetime"], 86400);
    assert_eq!(client["response_types"], json!(["code"]));
    let jwk = &client["jwks"]["keys"][0];
    assert_eq!(jwk["kty"], "EC");
    assert_eq!(jwk["crv"], "P-256");
    assert_eq!(jwk["x5c"][0], STANDARD.encode(&der));
}

#[actix_web::test]
async fn registration_with_wrong_credentials_is_a_502_and_makes_nothing() {
    let server = ExternalServer::start(&["--registration-basic", "registrar:right"]);
    let app = portico().await;
    let urls = endpoints(&server.issuer);
    create_key_manager(
        &app,
        &key_manager_form(
            "dcr",
            "partner",
            &server.issuer,
            &urls,
            &Registration::Basic("registrar", "wrong"),
        ),
    )
    .await;
    let tpp = app.tpp("ada").await;
    let id = tpp.create_application("Wallet").await;
    let response = tpp.try_generate(id, "production", PARTNER_KEYS).await;
    assert_eq!(response.status(), StatusCode::BAD_GATEWAY);
    let body = response.text().await.unwrap();
    assert!(body.contains("unavailable"), "{body}");
    assert!(!body.contains("wrong"), "no credential in the page");
    nothing_registered(&app);
}

#[actix_web::test]
async fn a_registration_the_server_refuses_is_shown_on_its_field_with_the_values_kept() {
    let (_server, app) = with_partner(&[("grant_types", "password")]).await;
    let tpp = app.tpp("ada").await;
    let id = tpp.create_application("Wallet").await;
    let response = tpp
        .try_generate(
            id,
            "production",
            &[
                ("key_manager", "partner"),
                ("grant_types", "client_credentials"),
                ("grant_types", "password"),
            ],
        )
        .await;
    let body = unprocessable(response, "").await;
    let error = error_on(&body, "grant_types").expect("the error is on the grant types");
    assert!(error.contains("key manager refused"), "{error}");
    assert!(
        checked_values(&body, "grant_types").contains(&"password".to_string()),
        "the choice is kept"
    );
    nothing_registered(&app);
}

#[actix_web::test]
async fn an_out_of_band_client_is_proven_at_the_token_endpoint_and_only_unlinked() {
    let (server, app) = with_partner(&[]).await;
    let (key, secret) = server.register_client(Some(IAT)).await;
    let ada = app.tpp("ada").await;
    let id = ada.create_application("Wallet").await;
    let bob = app.tpp("bob").await;
    let other = bob.create_application("Other").await;
    async fn map(tpp: &Browser, id: i64, key: &str, secret: &str) -> reqwest::Response {
        tpp.provide_keys(id, "production", "partner", key, secret)
            .await
    }

    // A wrong secret and an unknown client: the same 422 on the secret, nothing stored.
    for (wrong_key, wrong_secret) in [
        (key.as_str(), "not-the-secret"),
        ("no-such-client", secret.as_str()),
    ] {
        let response = map(&ada, id, wrong_key, wrong_secret).await;
        let body = unprocessable(response, "").await;
        assert_eq!(
            error_on(&body, "consumer_secret").as_deref(),
            Some(CREDENTIALS)
        );
        assert_eq!(
            input_value(&body, "consumer_key").as_deref(),
            Some(wrong_key)
        );
        assert!(!body.contains(wrong_secret), "the secret is not echoed");
        assert_eq!(rows(&app, "key_mappings"), 0);
    }

    // The right secret maps it; another TPP cannot map it too, nor learn whose it is.
    let response = map(&ada, id, &key, &secret).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let (_, page) = ada
        .page(&format!(
            "{}?key_manager=partner",
            keys_path(id, "production")
        ))
        .await;
    assert_eq!(field(&page, "consumer_key").as_deref(), Some(key.as_str()));
    let response = map(&bob, other, &key, &secret).await;
    assert_eq!(response.status(), StatusCode::CONFLICT);
    let body = response.text().await.unwrap();
    assert!(
        !body.contains("ada") && !body.contains("Wallet"),
        "the other owner is not named"
    );
    assert_eq!(rows(&app, "key_mappings"), 1);

    // Portico holds no registration access token for it: no new secret, no update.
    let response = regenerate_partner_secret(&ada, id).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert!(response.text().await.unwrap().contains("out-of-band"));
    let response = ada
        .keys_action(
            id,
            "production",
            "update",
            &[
                ("key_manager", "partner"),
                ("grant_types", "client_credentials"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert!(response.text().await.unwrap().contains("out-of-band"));

    // Deleting the application leaves the client at the server; it can be mapped again.
    ada.post_ok(&format!("/applications/{id}/delete"), &[])
        .await;
    assert_eq!(server.token(&key, &secret).await.0, StatusCode::OK);
    assert_eq!(rows(&app, "key_manager_tasks"), 0);
    let response = map(&bob, other, &key, &secret).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    bob.post_ok(
        &format!("{}/remove", keys_path(other, "production")),
        &[("key_manager", "partner")],
    )
    .await;
    assert_eq!(server.token(&key, &secret).await.0, StatusCode::OK);
    assert_eq!(rows(&app, "key_mappings"), 0);
}

/// What a fault server does with each request.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Fault {
    Slow,
    Error500,
    Malformed,
    /// Redirects to the real server (row 13: redirects are not followed).
    Redirect,
    /// Forwards to the real server, but strips the secret from the registration answer.
    LoseSecret,
}

/// The requests a fault server forwarded, and what the real server answered to registrations.
#[derive(Default)]
struct Seen {
    registrations: Vec<Value>,
}

async fn fault(
    request: HttpRequest,
    body: web::Bytes,
    state: web::Data<(Fault, String, Arc<Mutex<Seen>>)>,
) -> HttpResponse {
    let (fault, upstream, seen) = state.get_ref();
    match fault {
        Fault::Slow => {
            actix_web::rt::time::sleep(std::time::Duration::from_secs(12)).await;
            HttpResponse::Ok().json(json!({}))
        }
        Fault::Error500 => HttpResponse::InternalServerError().body("boom"),
        Fault::Redirect => HttpResponse::TemporaryRedirect()
            .insert_header(("location", format!("{upstream}{}", request.uri())))
            .finish(),
        Fault::Malformed => HttpResponse::Created()
            .content_type("application/json")
            .body("{\"client_id\": \"half"),
        Fault::LoseSecret => {
            let url = format!("{upstream}{}", request.uri());
            let mut forwarded = reqwest::Client::new()
                .request(
                    reqwest::Method::from_bytes(request.method().as_str().as_bytes()).unwrap(),
                    &url,
                )
                .body(body.to_vec());
            for (name, value) in request.headers() {
                if name != "host" && name != "content-length" {
                    forwarded = forwarded.header(name.as_str(), value.as_bytes());
                }
            }
            let answer = forwarded.send().await.unwrap();
            let status = answer.status().as_u16();
            let mut json: Value = answer.json().await.unwrap_or(Value::Null);
            if request.method() == actix_web::http::Method::POST && request.path() == "/reg" {
                seen.lock().unwrap().registrations.push(json.clone());
                json.as_object_mut().unwrap().remove("client_secret");
            }
            HttpResponse::build(actix_web::http::StatusCode::from_u16(status).unwrap()).json(json)
        }
    }
}

/// A loopback server that misbehaves as told (`upstream`: where LoseSecret forwards).
fn fault_server(kind: Fault, upstream: &str) -> (String, Arc<Mutex<Seen>>) {
    let seen = Arc::new(Mutex::new(Seen::default()));
    let state = web::Data::new((kind, upstream.to_string(), seen.clone()));
    (stand_in(state, fault), seen)
}

#[actix_web::test]
async fn a_failing_key_manager_answers_502_or_504_and_leaves_nothing_behind() {
    let server = ExternalServer::start(&["--initial-access-token", IAT]);
    let app = portico().await;
    let tpp = app.tpp("ada").await;
    let id = tpp.create_application("Wallet").await;
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        format!("http://127.0.0.1:{port}")
    };
    let mut cases = vec![("down", closed, StatusCode::BAD_GATEWAY, None)];
    for (name, kind, status) in [
        ("error500", Fault::Error500, StatusCode::BAD_GATEWAY),
        ("malformed", Fault::Malformed, StatusCode::BAD_GATEWAY),
        ("redirect", Fault::Redirect, StatusCode::BAD_GATEWAY),
        ("losesecret", Fault::LoseSecret, StatusCode::BAD_GATEWAY),
        ("slow", Fault::Slow, StatusCode::GATEWAY_TIMEOUT),
    ] {
        let (url, seen) = fault_server(kind, &server.issuer);
        cases.push((name, url, status, Some(seen)));
    }
    for (name, base, status, seen) in cases {
        let urls = endpoints(&base);
        let issuer = format!("{base}/{name}");
        create_key_manager(
            &app,
            &key_manager_form("dcr", name, &issuer, &urls, &Registration::Bearer(IAT)),
        )
        .await;
        let before = app.snapshot();
        let response = tpp
            .try_generate(
                id,
                "production",
                &[("key_manager", name), ("grant_types", "client_credentials")],
            )
            .await;
        assert_eq!(response.status(), status, "{name}");
        let body = response.text().await.unwrap();
        assert!(body.contains("Nothing was changed"), "{name}: {body}");
        assert!(!body.contains(IAT), "{name}: no credential in the page");
        assert_eq!(rows(&app, "key_mappings"), 0, "{name}");
        assert_eq!(rows(&app, "client_registrations"), 0, "{name}");
        assert_eq!(app.snapshot(), before, "{name}: the database is unchanged");
        let registered = seen.and_then(|seen| seen.lock().unwrap().registrations.first().cloned());
        if let Some(registered) = registered {
            // The registration went through at the real server: Portico deleted it again.
            let uri = registered["registration_client_uri"].as_str().unwrap();
            let rat = registered["registration_access_token"].as_str().unwrap();
            assert_ne!(
                read_client(uri, rat).await.0,
                StatusCode::OK,
                "no orphan client"
            );
            let (key, secret) = (
                registered["client_id"].as_str().unwrap(),
                registered["client_secret"].as_str().unwrap(),
            );
            assert_eq!(server.token(key, secret).await.0, StatusCode::UNAUTHORIZED);
        } else {
            assert_ne!(
                name, "losesecret",
                "the registration reached the real server"
            );
        }
    }
}

#[actix_web::test]
async fn connector_urls_on_loopback_are_refused_once_private_urls_are_switched_off() {
    let (_server, app) = with_partner(&[]).await;
    let tpp_name = "ada";
    app.tpp(tpp_name).await;
    let app = restart(app, &[("PORTICO_SECRET_KEY", SECRET_KEY_HEX)]).await;
    let tpp = app.browser();
    assert_eq!(
        tpp.sign_in(tpp_name, PASSWORD).await.status(),
        StatusCode::SEE_OTHER
    );
    let id = tpp.create_application("Wallet").await;
    let response = tpp.try_generate(id, "production", PARTNER_KEYS).await;
    assert_eq!(response.status(), StatusCode::BAD_GATEWAY);
    let body = response.text().await.unwrap();
    assert!(body.contains("Nothing was changed"), "{body}");
    nothing_registered(&app);
}

#[actix_web::test]
async fn a_server_that_keeps_secrets_is_told_apart_and_the_secret_keeps_working() {
    // oidc-provider as shipped keeps the secret on RFC 7592 updates.
    let (server, app) = with_partner(&[]).await;
    let tpp = app.tpp("ada").await;
    let id = tpp.create_application("Wallet").await;
    let (key, secret) = generate(
        &tpp,
        id,
        &[
            ("key_manager", "partner"),
            ("grant_types", "client_credentials"),
        ],
    )
    .await;
    let response = regenerate_partner_secret(&tpp, id).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let body = response.text().await.unwrap();
    assert!(body.contains("cannot be regenerated"), "{body}");
    assert!(!body.contains(&secret), "the secret is not shown again");
    assert_eq!(server.token(&key, &secret).await.0, StatusCode::OK);
}

#[actix_web::test]
async fn an_fs_token_lifetime_must_be_whole_seconds() {
    let app = portico().await;
    let urls = endpoints("http://127.0.0.1:9");
    let mut form = key_manager_form(
        "fs",
        "openbank",
        "http://127.0.0.1:9",
        &urls,
        &Registration::Bearer(IAT),
    );
    form.push(("connector_id_token_expiry_time", "ten minutes"));
    let response = app.admin().await.post("/admin/key-managers", &form).await;
    let body = unprocessable(response, "").await;
    let error = error_on(&body, "connector_id_token_expiry_time").expect("the field's error");
    assert!(error.contains("whole number of seconds"), "{error}");
    assert_eq!(
        input_value(&body, "connector_id_token_expiry_time").as_deref(),
        Some("ten minutes")
    );
    assert!(
        !body.contains(IAT),
        "the initial access token is not echoed"
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM key_managers WHERE name = 'openbank'"),
        0
    );
}
