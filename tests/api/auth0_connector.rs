//! The `auth0` key manager against a stand-in Auth0 tenant (`auth0_stub`): an administrator
//! configures it through the admin forms, TPPs generate, use, update, regenerate and remove
//! keys, provide existing Auth0 clients out-of-band — and what the tenant received is checked:
//! the clients and grants it holds, how many management tokens it issued (the connector caches
//! them), and that faults leave nothing half-made on either side (SECURITY.md rows 16, 17, 34).

use std::time::Duration;

use reqwest::StatusCode;

use crate::auth0_stub::{Auth0Stub, Fault, M2M_CLIENT_ID, M2M_CLIENT_SECRET};
use crate::helpers::*;
use crate::process::Portico;
use crate::results::shown_after;

const CREDENTIALS: &str =
    "The consumer key and consumer secret do not match a client of this key manager.";

/// Portico with loopback key-manager URLs allowed, and an administrator who configured the
/// stub tenant as the key manager `auth0` through the admin form.
async fn portico_with_auth0(stub: &Auth0Stub) -> TestApp {
    let app = spawn_app_with(&[("PORTICO_ALLOW_PRIVATE_KM_URLS", "true")]).await;
    configure_auth0(&app.admin().await, stub).await;
    app
}

/// The administrator's form for the stub tenant, posted.
pub(crate) async fn configure_auth0(admin: &Browser, stub: &Auth0Stub) {
    let (issuer, token_endpoint, audience) =
        (stub.issuer(), stub.token_endpoint(), stub.audience());
    let response = admin
        .post(
            "/admin/key-managers",
            &[
                ("type", "auth0"),
                ("name", "auth0"),
                ("display_name", "Auth0 tenant"),
                ("issuer", &issuer),
                ("token_endpoint", &token_endpoint),
                ("grant_types", "client_credentials"),
                ("grant_types", "authorization_code"),
                ("token_validation", "self_validate_jwt"),
                ("permission_type", "PUBLIC"),
                ("enable_token_generation", "true"),
                ("enable_oob_provisioning", "true"),
                ("enable_oauth_app_creation", "true"),
                ("enabled", "true"),
                ("connector_client_id", M2M_CLIENT_ID),
                ("connector_client_secret", M2M_CLIENT_SECRET),
                ("connector_audience", &audience),
            ],
        )
        .await;
    let status = response.status();
    let path = location(&response);
    assert_eq!(
        status,
        StatusCode::SEE_OTHER,
        "{}",
        response.text().await.unwrap()
    );
    let (_, edit) = admin.page(&path).await;
    assert!(
        !edit.contains(M2M_CLIENT_SECRET),
        "the Management API secret is never shown"
    );
}

/// POSTs a keys form of the `auth0` key manager.
async fn keys_post(
    browser: &Browser,
    id: i64,
    action: &str,
    fields: &[(&str, &str)],
) -> reqwest::Response {
    let mut all = vec![("key_manager", "auth0")];
    all.extend_from_slice(fields);
    browser
        .post(&format!("{}/{action}", keys_path(id, "production")), &all)
        .await
}

/// Provides existing Auth0 keys (out-of-band) as the production keys of an application.
async fn map_keys(browser: &Browser, id: i64, key: &str, secret: &str) -> reqwest::Response {
    keys_post(
        browser,
        id,
        "map",
        &[("consumer_key", key), ("consumer_secret", secret)],
    )
    .await
}

/// Asks for client_credentials production keys; the answer, whatever it is.
async fn try_generate(browser: &Browser, id: i64) -> reqwest::Response {
    keys_post(
        browser,
        id,
        "generate",
        &[("grant_types", "client_credentials")],
    )
    .await
}

/// Generates production keys: (consumer key, consumer secret) as the page shows them.
/// The production keys page, on the Auth0 tab.
fn auth0_keys(id: i64) -> String {
    format!("{}?key_manager=auth0", keys_path(id, "production"))
}

async fn generate(browser: &Browser, id: i64) -> (String, String) {
    let response = try_generate(browser, id).await;
    let body = shown_after(browser, response).await;
    (
        data_field(&body, "consumer_key").expect("the consumer key is shown"),
        data_field(&body, "consumer_secret").expect("the secret is shown once"),
    )
}

/// An Auth0 tenant, a Portico with its key manager, and a TPP's application.
async fn auth0_application(tpp: &str, application: &str) -> (Auth0Stub, TestApp, Browser, i64) {
    let stub = Auth0Stub::start().await;
    let app = portico_with_auth0(&stub).await;
    let browser = app.tpp(tpp).await;
    let id = browser.create_application(application).await;
    (stub, app, browser, id)
}

/// A portal token for the production keys: the status and, on success, the token shown.
async fn portal_token(browser: &Browser, id: i64, secret: &str) -> (StatusCode, String) {
    let response = keys_post(
        browser,
        id,
        "token",
        &[("consumer_secret", secret), ("validity_period", "3600")],
    )
    .await;
    let status = response.status();
    if status == StatusCode::SEE_OTHER {
        let body = shown_after(browser, response).await;
        let token = data_field(&body, "access_token").expect("the token is shown");
        return (StatusCode::OK, token);
    }
    let body = response.text().await.unwrap();
    (
        status,
        error_on(&body, "consumer_secret").unwrap_or_default(),
    )
}

#[actix_web::test]
async fn an_auth0_key_manager_generates_uses_updates_regenerates_and_removes_keys() {
    let (stub, app, tpp, id) = auth0_application("alice", "Wallet").await;

    let (key, secret) = generate(&tpp, id).await;
    {
        let tenant = stub.tenant();
        let client = tenant
            .client_named("alice_Wallet_PRODUCTION")
            .expect("the client is named <owner>_<application>_<KEYTYPE>");
        assert_eq!(
            (client.client_id.as_str(), client.client_secret.as_str()),
            (key.as_str(), secret.as_str())
        );
        assert_eq!(client.app_type, "non_interactive");
        assert_eq!(client.grant_types, vec!["client_credentials"]);
        assert_eq!(client.token_endpoint_auth_method, "client_secret_post");
        let grants = tenant.grants_of(&key);
        assert_eq!(grants.len(), 1, "one client grant");
        assert_eq!(grants[0].audience, stub.audience());
        assert!(grants[0].scope.is_empty());
    }
    assert_eq!(
        app.text(&format!(
            "SELECT create_mode || ' ' || state || ' ' || CASE WHEN consumer_secret IS NULL THEN 'none' ELSE 'stored' END AS line \
             FROM key_mappings WHERE consumer_key = '{key}' AND application_id = {id}"
        )),
        "CREATED ACTIVE none"
    );
    let (_, page) = tpp.page(&auth0_keys(id)).await;
    assert_eq!(
        data_field(&page, "token_endpoint").unwrap(),
        stub.token_endpoint()
    );
    assert!(!page.contains(&secret), "the secret is shown only once");

    // A portal token comes from Auth0's token endpoint with the keys' own credentials.
    let (status, token) = portal_token(&tpp, id, &secret).await;
    assert_eq!(status, StatusCode::OK, "{token}");
    assert!(token.starts_with("app."));
    assert_eq!(stub.tenant().app_tokens, vec![key.clone()]);

    // Update: Auth0 holds what the form says.
    let response = keys_post(
        &tpp,
        id,
        "update",
        &[
            ("grant_types", "client_credentials"),
            ("grant_types", "authorization_code"),
            ("callback_url", "https://wallet.example/callback"),
        ],
    )
    .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    {
        let tenant = stub.tenant();
        let client = &tenant.clients[&key];
        assert_eq!(
            client.grant_types,
            vec!["client_credentials", "authorization_code"]
        );
        assert_eq!(client.callbacks, vec!["https://wallet.example/callback"]);
        assert_eq!(client.name, "alice_Wallet_PRODUCTION");
    }

    // Regenerate: Auth0 rotated the secret; the old one is refused, the new one works.
    let response = keys_post(&tpp, id, "regenerate-secret", &[]).await;
    let body = shown_after(&tpp, response).await;
    let new_secret = data_field(&body, "consumer_secret").unwrap();
    assert_ne!(new_secret, secret);
    assert_eq!(stub.tenant().clients[&key].client_secret, new_secret);
    let (status, message) = portal_token(&tpp, id, &secret).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(message, CREDENTIALS);
    assert_eq!(portal_token(&tpp, id, &new_secret).await.0, StatusCode::OK);

    // Remove: the client and its grant are gone at Auth0.
    let response = keys_post(&tpp, id, "remove", &[]).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert!(stub.tenant().clients.is_empty());
    assert!(stub.tenant().grants.is_empty());
    assert_eq!(app.count("SELECT COUNT(*) FROM key_mappings"), 0);

    // Deleting the application deletes a generated client at Auth0 too.
    let (again, _) = generate(&tpp, id).await;
    assert!(stub.tenant().clients.contains_key(&again));
    tpp.post_ok(&format!("/applications/{id}/delete"), &[])
        .await;
    assert!(stub.tenant().clients.is_empty());
    assert!(stub.tenant().grants.is_empty());

    // One management token served every call.
    assert_eq!(stub.tenant().management_token_fetches, 1);
    let logs = std::fs::read_dir(app.dir.path())
        .unwrap()
        .filter_map(|e| std::fs::read(e.unwrap().path()).ok())
        .any(|bytes| {
            bytes
                .windows(M2M_CLIENT_SECRET.len())
                .any(|w| w == M2M_CLIENT_SECRET.as_bytes())
        });
    assert!(!logs, "the Management API secret is stored encrypted only");
}

#[actix_web::test]
async fn the_management_token_is_cached_until_shortly_before_it_expires() {
    let stub = Auth0Stub::start().await;
    stub.tenant().management_token_lifetime = 5;
    let app = portico_with_auth0(&stub).await;
    let tpp = app.tpp("bob").await;
    let id = tpp.create_application("Cached").await;

    let (_, secret) = generate(&tpp, id).await;
    assert_eq!(portal_token(&tpp, id, &secret).await.0, StatusCode::OK);
    assert_eq!(
        stub.tenant().management_token_fetches,
        1,
        "one token for create, grant and read"
    );

    // Past its life (less the margin), the next call fetches a new one.
    actix_web::rt::time::sleep(Duration::from_millis(5_100)).await;
    let response = keys_post(&tpp, id, "regenerate-secret", &[]).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(stub.tenant().management_token_fetches, 2);

    // A token Auth0 stops accepting early is replaced once, and the call goes through.
    stub.tenant().management_tokens.clear();
    let response = keys_post(&tpp, id, "remove", &[]).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(stub.tenant().management_token_fetches, 3);
    assert!(stub.tenant().clients.is_empty());
}

#[actix_web::test]
async fn existing_auth0_clients_are_proven_then_mapped_unlinked_and_mapped_again() {
    let stub = Auth0Stub::start().await;
    let app = portico_with_auth0(&stub).await;
    let (client_id, client_secret) = stub.add_client(
        "Partner CLI",
        "client_secret_basic",
        &["client_credentials"],
    );
    let tpp = app.tpp("grace").await;
    let id = tpp.create_application("Provided").await;

    // Wrong secret, unknown client: one message, nothing stored.
    let mut messages = Vec::new();
    for (key, secret) in [
        (client_id.as_str(), "not-the-secret"),
        ("NoSuchClient00000000000000000000", client_secret.as_str()),
    ] {
        let response = map_keys(&tpp, id, key, secret).await;
        let body = unprocessable(response, key).await;
        assert!(!body.contains(secret), "the secret is not sent back");
        assert_eq!(input_value(&body, "consumer_key").as_deref(), Some(key));
        messages.push(error_on(&body, "consumer_secret").unwrap());
    }
    assert!(messages.iter().all(|m| m == CREDENTIALS), "{messages:?}");
    assert_eq!(app.count("SELECT COUNT(*) FROM key_mappings"), 0);

    // The right secret maps the client; Portico stores no secret of it.
    let response = map_keys(&tpp, id, &client_id, &client_secret).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        app.text(&format!(
            "SELECT create_mode || ' ' || CASE WHEN consumer_secret IS NULL THEN 'none' ELSE 'stored' END AS line FROM key_mappings \
             WHERE application_id = {id} AND consumer_key = '{client_id}'"
        )),
        "MAPPED none"
    );
    let (_, page) = tpp.page(&auth0_keys(id)).await;
    assert_eq!(data_field(&page, "consumer_key").unwrap(), client_id);
    assert_eq!(
        data_field(&page, "grant_types").unwrap(),
        "client_credentials"
    );
    // Its portal tokens authenticate as the client does (HTTP Basic).
    assert_eq!(
        portal_token(&tpp, id, &client_secret).await.0,
        StatusCode::OK
    );

    // Already mapped: 409 for another TPP, naming no one.
    let other = app.tpp("intruder").await;
    let other_id = other.create_application("Other").await;
    let response = map_keys(&other, other_id, &client_id, &client_secret).await;
    assert_eq!(response.status(), StatusCode::CONFLICT);
    let body = response.text().await.unwrap();
    assert!(body.contains("already mapped to an application"));
    assert!(!body.contains("grace") && !body.contains("Provided"));

    // Deleting the application unlinks the client; it survives at Auth0 and maps again.
    tpp.post_ok(&format!("/applications/{id}/delete"), &[])
        .await;
    assert!(stub.tenant().clients.contains_key(&client_id));
    assert_eq!(stub.tenant().grants_of(&client_id).len(), 1);
    let response = map_keys(&other, other_id, &client_id, &client_secret).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);

    // A client without a grant toward the API is refused, naming the consumer key.
    let (lonely, lonely_secret) =
        stub.add_client("No grant", "client_secret_post", &["client_credentials"]);
    stub.tenant().grants.retain(|g| g.client_id != lonely);
    let third = other.create_application("Third").await;
    let response = map_keys(&other, third, &lonely, &lonely_secret).await;
    refused_on(response, "consumer_key", "no client grant", "").await;
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) FROM key_mappings WHERE application_id = {third}"
        )),
        0
    );
}

#[actix_web::test]
async fn an_auth0_refusal_that_does_not_tell_the_secret_apart_proves_nothing() {
    let stub = Auth0Stub::start().await;
    let app = portico_with_auth0(&stub).await;
    let (web, web_secret) = stub.add_client("Web", "client_secret_post", &["authorization_code"]);
    let tpp = app.tpp("grace").await;
    let id = tpp.create_application("Provided").await;
    let refusal = |body: &str, field: &str| error_on(body, field).unwrap_or_default();

    // Auth0 authenticates first: a made-up secret is a failed login; the right one is told
    // apart from a made-up one, so the page may say why the client cannot be used.
    let response = map_keys(&tpp, id, &web, "made-up-secret").await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        refusal(&response.text().await.unwrap(), "consumer_secret"),
        CREDENTIALS
    );
    let response = map_keys(&tpp, id, &web, &web_secret).await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        refusal(&response.text().await.unwrap(), "consumer_key")
            .contains("does not allow the client_credentials grant")
    );

    // A tenant that refused the grant before the secret would answer a made-up secret as the
    // right one: nothing is proven, and the page tells no more than for a wrong secret.
    stub.tenant().grant_checked_first = true;
    for secret in ["made-up-secret", web_secret.as_str()] {
        let response = map_keys(&tpp, id, &web, secret).await;
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(
            refusal(&response.text().await.unwrap(), "consumer_secret"),
            CREDENTIALS
        );
    }
    assert_eq!(app.count("SELECT COUNT(*) FROM key_mappings"), 0);
}

/// Consumer keys no Auth0 client ID can be: each would otherwise become a Management API path
/// (`clients/.` lists the tenant's clients).
const NOT_AUTH0_CLIENT_IDS: &[&str] = &[
    ".",
    "..",
    "../users",
    "a/b",
    "a\\b",
    "a.b",
    "%2e",
    "%2e%2e",
    "a?b",
    "a#b",
    "a~b",
    "caf\u{e9}",
    "clients/x",
    "",
];

#[actix_web::test]
async fn consumer_keys_no_auth0_client_id_can_be_are_refused_before_any_request() {
    let stub = Auth0Stub::start().await;
    let app = portico_with_auth0(&stub).await;
    let (client_id, client_secret) =
        stub.add_client("Partner CLI", "client_secret_post", &["client_credentials"]);
    let tpp = app.tpp("grace").await;
    let id = tpp.create_application("Provided").await;
    let too_long = "A".repeat(65);
    let mut keys = NOT_AUTH0_CLIENT_IDS.to_vec();
    keys.push(&too_long);
    let before = stub.tenant().received;
    for key in &keys {
        let response = map_keys(&tpp, id, key, &client_secret).await;
        let body = unprocessable(response, &format!("{key:?}")).await;
        assert!(error_on(&body, "consumer_key").is_some(), "{key:?}: {body}");
        assert!(
            !body.contains(&client_secret),
            "the secret is not sent back"
        );
    }
    assert_eq!(
        stub.tenant().received,
        before,
        "the tenant received nothing"
    );
    assert_eq!(app.count("SELECT COUNT(*) FROM key_mappings"), 0);
    // A client ID of Auth0's form still reaches the tenant, and maps.
    let response = map_keys(&tpp, id, &client_id, &client_secret).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert!(stub.tenant().received > before);
}

#[actix_web::test]
async fn auth0_faults_answer_502_or_504_and_leave_nothing_half_made() {
    let (stub, app, tpp, id) = auth0_application("heidi", "Faulty").await;
    let nothing_made = |what: &str| {
        assert_eq!(
            app.count("SELECT COUNT(*) FROM key_mappings"),
            0,
            "{what}: no keys in Portico"
        );
        assert_eq!(
            app.count("SELECT COUNT(*) FROM audit_events WHERE action = 'generate'"),
            0,
            "{what}: no audit of keys that were not made"
        );
        assert!(
            stub.tenant().clients.is_empty(),
            "{what}: no orphan client at Auth0"
        );
        assert!(stub.tenant().grants.is_empty(), "{what}: no orphan grant");
    };

    // Tampered connector secrets: refused (502), not a 500, and Auth0 is not called.
    let sealed =
        app.blob("SELECT connector_secrets AS bytes FROM key_managers WHERE name = 'auth0'");
    // A damaged row, which no page can write.
    let damaged = app.blob_literal(
        &hex::decode("00112233445566778899AABBCCDDEEFF00112233445566778899").unwrap(),
    );
    app.execute(&format!(
        "UPDATE key_managers SET connector_secrets = {damaged} WHERE name = 'auth0'"
    ));
    let response = try_generate(&tpp, id).await;
    assert_eq!(response.status(), StatusCode::BAD_GATEWAY);
    assert!(stub.tenant().requests.is_empty());
    assert_eq!(stub.tenant().management_token_fetches, 0);
    nothing_made("tampered secrets");
    app.execute(&format!(
        "UPDATE key_managers SET connector_secrets = {} WHERE name = 'auth0'",
        app.blob_literal(&sealed)
    ));

    for fault in [Fault::ServerError, Fault::Garbage, Fault::GrantFails] {
        stub.set_fault(Some(fault));
        let response = try_generate(&tpp, id).await;
        assert_eq!(response.status(), StatusCode::BAD_GATEWAY, "{fault:?}");
        let body = response.text().await.unwrap();
        assert!(body.contains("The key manager is unavailable"), "{fault:?}");
        assert!(!body.contains(M2M_CLIENT_SECRET));
        nothing_made(&format!("{fault:?}"));
    }
    // The grant failed after the client was made: the connector deleted it again.
    assert!(
        stub.tenant()
            .requests
            .iter()
            .any(|r| r.starts_with("DELETE /api/v2/clients/"))
    );

    // A value Auth0 refuses names its field, and the form keeps the values.
    stub.set_fault(Some(Fault::RejectCallbacks));
    let response = keys_post(
        &tpp,
        id,
        "generate",
        &[
            ("grant_types", "authorization_code"),
            ("callback_url", "https://faulty.example/cb"),
        ],
    )
    .await;
    let body = refused_on(response, "callback_url", "Auth0 refused", "").await;
    assert_eq!(
        textarea_value(&body, "callback_url").as_deref(),
        Some("https://faulty.example/cb")
    );
    nothing_made("refused callback");

    // Slow: 504 once the connector stops waiting.
    stub.set_fault(Some(Fault::Slow));
    let response = try_generate(&tpp, id).await;
    assert_eq!(response.status(), StatusCode::GATEWAY_TIMEOUT);
    assert!(body_of(response).await.contains("did not answer in time"));
    nothing_made("slow");

    // Down: 502, then keys work again once the tenant is back (another tenant here).
    stub.set_fault(None);
    stub.stop().await;
    let response = try_generate(&tpp, id).await;
    assert_eq!(response.status(), StatusCode::BAD_GATEWAY);
    nothing_made("down");
}

#[actix_web::test]
async fn a_real_portico_logs_no_auth0_secret_or_token() {
    let stub = Auth0Stub::start().await;
    let mut portico = Portico::start(&[
        ("RUST_LOG", "debug"),
        ("PORTICO_ALLOW_PRIVATE_KM_URLS", "true"),
    ]);
    let browser = || portico.browser();
    let admin = browser();
    assert_eq!(
        admin.sign_in(ADMIN, ADMIN_PASSWORD).await.status(),
        StatusCode::SEE_OTHER
    );
    configure_auth0(&admin, &stub).await;
    let tpp = browser();
    assert_eq!(tpp.sign_up("ivan").await.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        tpp.sign_in("ivan", PASSWORD).await.status(),
        StatusCode::SEE_OTHER
    );
    let id = tpp.create_application("Logged").await;
    let (_, secret) = generate(&tpp, id).await;
    let (status, access_token) = portal_token(&tpp, id, &secret).await;
    assert_eq!(status, StatusCode::OK);
    let (_, refused) = portal_token(&tpp, id, "a-wrong-secret-typed-in").await;
    assert_eq!(refused, CREDENTIALS);
    let response = keys_post(&tpp, id, "regenerate-secret", &[]).await;
    let new_secret = data_field(&shown_after(&tpp, response).await, "consumer_secret").unwrap();
    stub.set_fault(Some(Fault::ServerError));
    let response = keys_post(&tpp, id, "remove", &[]).await;
    assert_eq!(response.status(), StatusCode::BAD_GATEWAY);
    std::thread::sleep(Duration::from_millis(300));
    portico.kill();
    let all = portico.logs();
    assert!(
        all.contains("a key manager is unavailable"),
        "the 502's cause is logged"
    );
    let management_token = stub.tenant().management_tokens[0].0.clone();
    for secret in [
        M2M_CLIENT_SECRET,
        secret.as_str(),
        new_secret.as_str(),
        "a-wrong-secret-typed-in",
        access_token.as_str(),
        management_token.as_str(),
    ] {
        assert!(!all.contains(secret), "the logs contain {secret:?}");
    }
}
