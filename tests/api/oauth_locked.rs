//! A locked account loses its OAuth access at the next request (SECURITY.md row 36): the
//! person's own grants (codes, refresh tokens, access tokens, userinfo) end for good, and the
//! applications they own get no tokens and hold no active ones until an unlock brings them back.
//! Every check runs right after the administrator's click, with the client cache warm.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;
use crate::oauth::{
    VERIFIER, app_with_client, assert_oauth_error, basic, client_credentials_token, code_for,
    exchange, http, post_json, post_token,
};
use crate::oauth_refusals::server_tables;

async fn introspect(app: &TestApp, gateway: &TestClient, token: &str) -> Value {
    let (status, body, _) = post_json(
        app,
        "/oauth2/introspect",
        Some(&basic(gateway)),
        &[("token", token)],
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    body
}

async fn userinfo(app: &TestApp, token: &str) -> StatusCode {
    http()
        .get(app.url("/oauth2/userinfo"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .status()
}

async fn refresh(app: &TestApp, client: &TestClient, token: &str) -> (StatusCode, Value) {
    let (status, body, _) = post_token(
        app,
        Some(&basic(client)),
        &[("grant_type", "refresh_token"), ("refresh_token", token)],
    )
    .await;
    (status, body)
}

async fn decide(app: &TestApp, admin: &Browser, username: &str, decision: &str) {
    let id = app.user_id(username);
    let response = admin
        .post(&format!("/admin/users/{id}/{decision}"), &[])
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER, "{decision}");
}

fn gateway(app: &TestApp) -> TestClient {
    app.register_client(ClientSpec {
        resource_server: true,
        grants: &[],
        ..Default::default()
    })
}

/// The person's consent through the code flow: the access token and the refresh token.
async fn tokens(
    app: &TestApp,
    person: &Browser,
    client: &TestClient,
    scope: &str,
) -> (String, String) {
    let code = code_for(app, person, client, scope).await;
    let (_, tokens) = exchange(app, client, &code, VERIFIER).await;
    let token = |name: &str| tokens[name].as_str().unwrap().to_string();
    (token("access_token"), token("refresh_token"))
}

#[actix_web::test]
async fn locking_a_person_ends_their_grants_for_good() {
    let (app, application_id, client) = app_with_client().await;
    let without_refresh = app.register_client(ClientSpec {
        application_id: Some(application_id),
        grants: &["authorization_code"],
        ..Default::default()
    });
    let gateway = gateway(&app);
    let person = app.tpp("person").await;
    let (access, refresh_token) = tokens(&app, &person, &client, "openid profile").await;
    let code = code_for(&app, &person, &without_refresh, "openid").await;
    let (_, tokens) = exchange(&app, &without_refresh, &code, VERIFIER).await;
    let plain_access = tokens["access_token"].as_str().unwrap().to_string();
    assert!(tokens.get("refresh_token").is_none());
    let unexchanged = code_for(&app, &person, &client, "openid").await;
    for token in [&access, &plain_access, &refresh_token] {
        assert_eq!(introspect(&app, &gateway, token).await["active"], true);
    }
    assert_eq!(userinfo(&app, &access).await, StatusCode::OK);
    // The application's own token, to show the owner's applications are not touched.
    let application_token = client_credentials_token(&app, &client, None).await;

    let admin = app.admin().await;
    decide(&app, &admin, "person", "lock").await;
    for unlocked in [false, true] {
        let when = if unlocked {
            "after the unlock"
        } else {
            "locked"
        };
        assert_oauth_error(
            refresh(&app, &client, &refresh_token).await,
            "invalid_grant",
            &format!("refresh, {when}"),
        );
        assert_oauth_error(
            exchange(&app, &client, &unexchanged, VERIFIER).await,
            "invalid_grant",
            &format!("code exchange, {when}"),
        );
        for token in [&access, &plain_access, &refresh_token] {
            assert_eq!(
                introspect(&app, &gateway, token).await,
                json!({ "active": false }),
                "introspection, {when}"
            );
        }
        assert_eq!(
            userinfo(&app, &access).await,
            StatusCode::UNAUTHORIZED,
            "{when}"
        );
        assert_eq!(
            introspect(&app, &gateway, &application_token).await["active"],
            true,
            "the application's own token, {when}"
        );
        if !unlocked {
            decide(&app, &admin, "person", "unlock").await;
        }
    }
    // Unlocked, the person starts again: a new grant works.
    let person = app.browser();
    person.sign_in("person", PASSWORD).await;
    let code = code_for(&app, &person, &client, "openid").await;
    let (status, body) = exchange(&app, &client, &code, VERIFIER).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[actix_web::test]
async fn suspending_an_organisation_stops_its_applications_tokens_until_it_is_reinstated() {
    let (app, _, client) = app_with_client().await;
    let gateway = gateway(&app);
    let person = app.tpp("person").await;
    let (access, refresh_token) = tokens(&app, &person, &client, "openid").await;
    let unexchanged = code_for(&app, &person, &client, "openid").await;
    // A token request just before the lock: the client is now in the client cache.
    let application_token = client_credentials_token(&app, &client, None).await;

    let admin = app.admin().await;
    let organisation = app.organisation_of("owner");
    let suspend = format!("/admin/organisations/{organisation}/suspend");
    assert_eq!(
        admin.post(&suspend, &[]).await.status(),
        StatusCode::SEE_OTHER
    );
    let before = server_tables(&app);
    let (status, body, _) = post_token(
        &app,
        Some(&basic(&client)),
        &[("grant_type", "client_credentials")],
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("unauthorized_client")),
        "client_credentials at the next request: {body}"
    );
    assert_oauth_error(
        refresh(&app, &client, &refresh_token).await,
        "unauthorized_client",
        "refresh",
    );
    assert_oauth_error(
        exchange(&app, &client, &unexchanged, VERIFIER).await,
        "unauthorized_client",
        "code exchange",
    );
    for token in [&application_token, &access, &refresh_token] {
        assert_eq!(
            introspect(&app, &gateway, token).await,
            json!({ "active": false })
        );
    }
    assert_eq!(userinfo(&app, &access).await, StatusCode::UNAUTHORIZED);
    assert_eq!(server_tables(&app), before, "the refusals wrote nothing");

    // Suspending it again is a conflict that changes nothing.
    assert_eq!(
        admin.post(&suspend, &[]).await.status(),
        StatusCode::CONFLICT
    );
    // Reinstating brings the applications' tokens back; nothing of theirs was revoked.
    let reinstate = format!("/admin/organisations/{organisation}/reinstate");
    assert_eq!(
        admin.post(&reinstate, &[]).await.status(),
        StatusCode::SEE_OTHER
    );
    for token in [&application_token, &access, &refresh_token] {
        assert_eq!(introspect(&app, &gateway, token).await["active"], true);
    }
    assert_eq!(userinfo(&app, &access).await, StatusCode::OK);
    client_credentials_token(&app, &client, None).await;
    let (status, body) = refresh(&app, &client, &refresh_token).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = exchange(&app, &client, &unexchanged, VERIFIER).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // Locking one member (here its only Owner) ends their sessions, not the organisation's
    // applications: the company's client keeps getting tokens.
    decide(&app, &admin, "owner", "lock").await;
    client_credentials_token(&app, &client, None).await;
}
