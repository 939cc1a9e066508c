//! Out-of-band provisioning against key managers that answer a failed client authentication in
//! their own dialect (SECURITY.md rows 17 and 37): loopback stand-ins for Keycloak (current and
//! older releases) and WSO2 Identity Server, answering a client_credentials request as those
//! servers document it, and the real oidc-provider. A wrong secret, an unknown client, a public
//! client and a client that cannot be verified are refused with one message and leave nothing
//! behind; a right secret maps — so nobody can lock an owner out of their own client. Then the
//! consumer keys no client ID can be are refused before any request (issue #14 item 13).

use std::sync::{Arc, Mutex};

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::external_server::ExternalServer;
use crate::helpers::{FetchJson, *};

const CREDENTIALS: &str =
    "The consumer key and consumer secret do not match a client of this key manager.";

/// The clients every stand-in holds: a client allowed client_credentials (a Keycloak service
/// account), a confidential client that is not, and a public client.
const SERVICE: (&str, &str) = ("billing-service", "service-secret-0001");
const NO_SERVICE: (&str, &str) = ("web-frontend", "frontend-secret-0002");
const PUBLIC: &str = "spa-public";

/// How a stand-in answers the token endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dialect {
    /// Keycloak today: a wrong secret and a client without service accounts are 401
    /// `unauthorized_client`, an unknown client 401 `invalid_client`.
    Keycloak,
    /// Older Keycloak releases: an unknown client, a public client and a client without
    /// service accounts are 400 `unauthorized_client`; a wrong secret 401.
    KeycloakOlder,
    /// WSO2 Identity Server: 401 `invalid_client` for an unknown client and a wrong secret, 400
    /// `unauthorized_client` for a grant the authenticated client may not use.
    Wso2,
}

fn oauth_error(status: u16, error: &str, description: &str) -> (u16, Value) {
    (
        status,
        json!({"error": error, "error_description": description}),
    )
}

/// The answer of `dialect` to client_credentials from `client_id` with `secret`.
fn answer(dialect: Dialect, client_id: &str, secret: &str) -> (u16, Value) {
    use Dialect::*;
    let known = [SERVICE.0, NO_SERVICE.0, PUBLIC].contains(&client_id);
    let right = (client_id == SERVICE.0 && secret == SERVICE.1)
        || (client_id == NO_SERVICE.0 && secret == NO_SERVICE.1);
    match dialect {
        Keycloak | KeycloakOlder if !known => match dialect {
            Keycloak => oauth_error(
                401,
                "invalid_client",
                "Invalid client or Invalid client credentials",
            ),
            _ => oauth_error(400, "unauthorized_client", "Invalid client credentials"),
        },
        // Keycloak skips the secret of a public client, then refuses the grant.
        Keycloak | KeycloakOlder if client_id == PUBLIC => oauth_error(
            if dialect == Keycloak { 401 } else { 400 },
            "unauthorized_client",
            "Public client not allowed to retrieve service account",
        ),
        Keycloak if !right => oauth_error(
            401,
            "unauthorized_client",
            "Invalid client or Invalid client credentials",
        ),
        KeycloakOlder if !right => oauth_error(401, "unauthorized_client", "Invalid client secret"),
        Keycloak | KeycloakOlder if client_id == NO_SERVICE.0 => oauth_error(
            if dialect == Keycloak { 401 } else { 400 },
            "unauthorized_client",
            "Client not enabled to retrieve service account",
        ),
        Wso2 if !known => oauth_error(
            401,
            "invalid_client",
            &format!("A valid OAuth client could not be found for client_id: {client_id}"),
        ),
        Wso2 if !right => oauth_error(401, "invalid_client", "Client credentials are invalid."),
        Wso2 if client_id == NO_SERVICE.0 => oauth_error(
            400,
            "unauthorized_client",
            "The authenticated client is not authorized to use this authorization grant type",
        ),
        _ => (
            200,
            json!({"access_token": "standin-token", "token_type": "Bearer", "expires_in": 300}),
        ),
    }
}

/// The (client_id, secret) of every token request a stand-in received.
type Seen = Arc<Mutex<Vec<(String, String)>>>;

/// Credentials from HTTP Basic (form-urlencoded parts, RFC 6749 §2.3.1) or from the form.
fn credentials(request: &HttpRequest, form: &[(String, String)]) -> (String, String) {
    let decode = |s: &str| {
        url::form_urlencoded::parse(format!("x={s}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default()
    };
    let basic = request
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|v| STANDARD.decode(v).ok())
        .and_then(|v| String::from_utf8(v).ok());
    if let Some((id, secret)) = basic.as_deref().and_then(|b| b.split_once(':')) {
        return (decode(id), decode(secret));
    }
    let field = |name: &str| {
        form.iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    (field("client_id"), field("client_secret"))
}

async fn token(
    request: HttpRequest,
    form: web::Form<Vec<(String, String)>>,
    state: web::Data<(Dialect, Seen)>,
) -> HttpResponse {
    let (dialect, seen) = state.get_ref();
    let (client_id, secret) = credentials(&request, &form);
    seen.lock()
        .unwrap()
        .push((client_id.clone(), secret.clone()));
    let grant = form.iter().find(|(k, _)| k == "grant_type");
    let (status, body) = match grant.map(|(_, v)| v.as_str()) {
        Some("client_credentials") => answer(*dialect, &client_id, &secret),
        _ => oauth_error(400, "unsupported_grant_type", "Unsupported grant_type"),
    };
    HttpResponse::build(actix_web::http::StatusCode::from_u16(status).unwrap()).json(body)
}

/// A stand-in token endpoint on a free loopback port: its base URL and what it received.
fn stand_in(dialect: Dialect) -> (String, Seen) {
    let seen = Seen::default();
    let state = web::Data::new((dialect, seen.clone()));
    let (listener, base) = loopback();
    let server = HttpServer::new(move || {
        App::new()
            .app_data(state.clone())
            .route("/token", web::post().to(token))
    })
    .workers(1)
    .listen(listener)
    .unwrap();
    actix_web::rt::spawn(server.run());
    (base, seen)
}

/// A `dcr` or `fs` key manager named `name` whose token endpoint is at `base`, made through the
/// admin form.
async fn key_manager(app: &TestApp, kind: &str, name: &str, base: &str) {
    let (token, registration) = (format!("{base}/token"), format!("{base}/reg"));
    let issuer = format!("{base}/{name}");
    let form = [
        &[
            ("type", kind),
            ("name", name),
            ("display_name", name),
            ("issuer", &issuer),
            ("token_endpoint", &token),
            ("client_registration_endpoint", &registration),
            ("grant_types", "client_credentials"),
            ("connector_initial_access_token", "iat-of-the-stand-in"),
        ],
        KEY_MANAGER_SWITCHES,
    ]
    .concat();
    let response = app.admin().await.post("/admin/key-managers", &form).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER, "{name}");
}

async fn map(
    tpp: &Browser,
    id: i64,
    key_manager: &str,
    key: &str,
    secret: &str,
) -> reqwest::Response {
    tpp.provide_keys(id, "production", key_manager, key, secret)
        .await
}

fn mappings(app: &TestApp) -> i64 {
    app.count("SELECT COUNT(*) FROM key_mappings")
}

/// A 422 with exactly the one message on the secret: the page.
async fn refused_unproven(response: reqwest::Response, case: &str) -> String {
    let body = refused_on(response, "consumer_secret", CREDENTIALS, case).await;
    assert_eq!(
        error_on(&body, "consumer_secret").as_deref(),
        Some(CREDENTIALS),
        "{case}"
    );
    body
}

/// Asserts the refusal every unproven client gets: 422, the one message on the secret, the
/// consumer key kept, the secret not echoed, nothing stored.
async fn assert_refused(
    app: &TestApp,
    response: reqwest::Response,
    key: &str,
    secret: &str,
    case: &str,
) {
    let body = refused_unproven(response, case).await;
    assert_eq!(
        input_value(&body, "consumer_key").as_deref(),
        Some(key),
        "{case}"
    );
    assert!(!body.contains(secret), "{case}: the secret is not echoed");
    assert_eq!(mappings(app), 0, "{case}: nothing stored");
}

/// One dialect, through a `dcr` and an `fs` key manager: what an attacker without the secret
/// gets, what the owner gets, and what the stand-in received. `no_service_provable`: whether
/// the dialect lets the right secret of a client without client_credentials be told apart.
async fn out_of_band_proof_in(dialect: Dialect, no_service_provable: bool) {
    let app = spawn_app_with(&[("PORTICO_ALLOW_PRIVATE_KM_URLS", "true")]).await;
    let attacker = app.tpp("attacker").await;
    let owner = app.tpp("owner").await;
    for kind in ["dcr", "fs"] {
        let (base, seen) = stand_in(dialect);
        let name = format!("idp-{kind}");
        key_manager(&app, kind, &name, &base).await;
        let target = attacker.create_application(&format!("Grab {kind}")).await;
        let mut cases = vec![
            ("a made-up secret", SERVICE.0, "made-up-secret"),
            ("an unknown client", "no-such-client", SERVICE.1),
            (
                "a client without service accounts, made-up secret",
                NO_SERVICE.0,
                "made-up-secret",
            ),
        ];
        if dialect != Dialect::Wso2 {
            cases.push(("a public client, made-up secret", PUBLIC, "made-up-secret"));
        }
        for (case, key, secret) in cases {
            let case = format!("{dialect:?} {kind}: {case}");
            let response = map(&attacker, target, &name, key, secret).await;
            assert_refused(&app, response, key, secret, &case).await;
        }

        // The owner maps their client with its secret: no 409, the attacker never got it.
        let own = owner.create_application(&format!("Billing {kind}")).await;
        let response = map(&owner, own, &name, SERVICE.0, SERVICE.1).await;
        assert_eq!(
            response.status(),
            StatusCode::SEE_OTHER,
            "{dialect:?} {kind}"
        );
        let granted = app.text(&format!(
            "SELECT create_mode || ' ' || consumer_key AS line FROM key_mappings WHERE application_id = {own}"
        ));
        assert_eq!(granted, format!("MAPPED {}", SERVICE.0));

        // A client that may not use client_credentials, with its right secret: mapped where
        // the server's answer tells the secret apart from a made-up one, refused where not.
        let other = owner.create_application(&format!("Frontend {kind}")).await;
        seen.lock().unwrap().clear();
        let response = map(&owner, other, &name, NO_SERVICE.0, NO_SERVICE.1).await;
        let case = format!("{dialect:?} {kind}: no service accounts, right secret");
        if no_service_provable {
            assert_eq!(response.status(), StatusCode::SEE_OTHER, "{case}");
            // The stand-in got the secret, then a control secret nobody has.
            let seen = seen.lock().unwrap().clone();
            assert_eq!(seen.len(), 2, "{case}: {seen:?}");
            assert_eq!(
                seen[0],
                (NO_SERVICE.0.to_string(), NO_SERVICE.1.to_string())
            );
            assert_eq!(seen[1].0, NO_SERVICE.0);
            assert_ne!(seen[1].1, NO_SERVICE.1);
        } else {
            let before = mappings(&app);
            refused_unproven(response, &case).await;
            assert_eq!(mappings(&app), before);
        }
        // Clean up for the next kind: the tables hold only this kind's rows.
        for id in [own, other] {
            owner.post(&format!("/applications/{id}/delete"), &[]).await;
        }
        assert_eq!(mappings(&app), 0, "{dialect:?} {kind}");
    }
}

#[actix_web::test]
async fn keycloak_answering_401_unauthorized_client_maps_only_the_right_secret() {
    // Today's Keycloak answers every failure with 401: a client without service accounts
    // cannot be told apart from a wrong secret, so it is not mapped either.
    out_of_band_proof_in(Dialect::Keycloak, false).await;
}

#[actix_web::test]
async fn older_keycloak_answering_400_to_unknown_and_public_clients_maps_only_the_right_secret() {
    out_of_band_proof_in(Dialect::KeycloakOlder, true).await;
}

#[actix_web::test]
async fn wso2_identity_server_answering_401_invalid_client_maps_only_the_right_secret() {
    out_of_band_proof_in(Dialect::Wso2, true).await;
}

/// Registers a client at oidc-provider as its owner would, with `metadata`: (id, secret).
async fn register(server: &ExternalServer, metadata: Value) -> (String, Option<String>) {
    let client: Value = reqwest::Client::new()
        .post(server.url("/reg"))
        .json(&metadata)
        .fetch_json()
        .await;
    (
        client["client_id"]
            .as_str()
            .expect("registered")
            .to_string(),
        client["client_secret"].as_str().map(str::to_string),
    )
}

#[actix_web::test]
async fn oidc_provider_clients_are_mapped_only_with_their_own_secret() {
    let server = ExternalServer::start(&[]);
    let app = spawn_app_with(&[("PORTICO_ALLOW_PRIVATE_KM_URLS", "true")]).await;
    key_manager(&app, "dcr", "oidc", &server.issuer).await;
    let (web, web_secret) = register(
        &server,
        json!({
            "client_name": "web only",
            "grant_types": ["authorization_code"],
            "response_types": ["code"],
            "redirect_uris": ["https://app.example/cb"],
        }),
    )
    .await;
    let web_secret = web_secret.unwrap();
    let (public, _) = register(
        &server,
        json!({
            "client_name": "public",
            "grant_types": ["authorization_code"],
            "response_types": ["code"],
            "redirect_uris": ["https://app.example/cb"],
            "token_endpoint_auth_method": "none",
        }),
    )
    .await;
    let attacker = app.tpp("attacker").await;
    let target = attacker.create_application("Grab").await;
    for (key, secret) in [
        (web.as_str(), "made-up-secret"),
        (public.as_str(), "made-up-secret"),
        ("no-such-client", web_secret.as_str()),
    ] {
        let response = map(&attacker, target, "oidc", key, secret).await;
        assert_refused(&app, response, key, secret, key).await;
    }
    // oidc-provider authenticates first, then answers 400 invalid_request for a grant the
    // client may not use: the right secret of such a client is told apart and mapped.
    let owner = app.tpp("owner").await;
    let own = owner.create_application("Web").await;
    let response = map(&owner, own, "oidc", &web, &web_secret).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(mappings(&app), 1);
}

/// Consumer keys no RFC 7591 client ID can be, and no path either.
const BAD_CLIENT_IDS: &[&str] = &[
    ".",
    "..",
    "...",
    "../../admin",
    "a/b",
    "/",
    "a\\b",
    "\\\\host\\share",
    "caf\u{e9}",
    "tab\there",
    "nul\0byte",
    "",
    "   ",
];

#[actix_web::test]
async fn consumer_keys_no_client_id_can_be_are_refused_before_any_request() {
    let app = spawn_app_with(&[("PORTICO_ALLOW_PRIVATE_KM_URLS", "true")]).await;
    let tpp = app.tpp("ada").await;
    let id = tpp.create_application("Wallet").await;
    let too_long = "x".repeat(256);
    let mut keys = BAD_CLIENT_IDS.to_vec();
    keys.push(&too_long);
    for kind in ["dcr", "fs"] {
        let (base, seen) = stand_in(Dialect::Wso2);
        let name = format!("strict-{kind}");
        key_manager(&app, kind, &name, &base).await;
        for key in &keys {
            let response = map(&tpp, id, &name, key, SERVICE.1).await;
            let body = unprocessable(response, &format!("{kind} {key:?}")).await;
            assert!(
                error_on(&body, "consumer_key").is_some(),
                "{kind} {key:?}: {body}"
            );
            assert_eq!(mappings(&app), 0, "{kind} {key:?}");
        }
        assert!(
            seen.lock().unwrap().is_empty(),
            "{kind}: the key manager received nothing"
        );
        // A client ID of the rules still reaches the server.
        let response = map(&tpp, id, &name, SERVICE.0, SERVICE.1).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "{kind}");
        assert_eq!(seen.lock().unwrap().len(), 1);
        tpp.keys_action(
            id,
            "production",
            "remove",
            &[("key_manager", name.as_str())],
        )
        .await;
        assert_eq!(mappings(&app), 0, "{kind}: removed");
    }
}
