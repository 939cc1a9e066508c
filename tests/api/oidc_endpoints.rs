//! The token-side endpoints' answers by the book: `WWW-Authenticate` on every 401 (RFC 6749
//! §5.2, RFC 6750 §3), userinfo's scheme in any case and only the claims the scopes cover
//! (OIDC Core §5.4), introspection without a token (RFC 7662 §2.1), and revocation of another
//! client's token or with an unregistered hint (RFC 7009 §2.1, §2.2.1) refused and not done.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;
use crate::oauth::{
    VERIFIER, active, app_with_client, assert_oauth_error, basic, client_credentials_token,
    code_for, exchange, http, post_json, revoke,
};

async fn userinfo(app: &TestApp, authorization: Option<&str>) -> (StatusCode, Value, String) {
    let mut request = http().get(app.url("/oauth2/userinfo"));
    if let Some(value) = authorization {
        request = request.header("authorization", value);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let challenge = response
        .headers()
        .get("www-authenticate")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    (
        status,
        response.json().await.unwrap_or(Value::Null),
        challenge,
    )
}

#[actix_web::test]
async fn every_401_says_how_to_authenticate() {
    let app = spawn_app().await;
    let client = app.register_client(ClientSpec::default());
    let wrong = TestClient {
        client_id: client.client_id.clone(),
        secret: Some("wrong".into()),
    };
    for (path, form) in [
        ("/oauth2/token", vec![("grant_type", "client_credentials")]),
        ("/oauth2/introspect", vec![("token", "x")]),
        ("/oauth2/revoke", vec![("token", "x")]),
    ] {
        let (status, body, headers) = post_json(&app, path, Some(&basic(&wrong)), &form).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{path}");
        assert_eq!(body["error"], "invalid_client", "{path}");
        assert_eq!(
            headers["www-authenticate"], "Basic realm=\"portico\", error=\"invalid_client\"",
            "{path}"
        );
    }
    // Userinfo: no token at all is a bare challenge (RFC 6750 §3.1); a bad one names the error.
    let (status, _, challenge) = userinfo(&app, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(challenge, "Bearer realm=\"portico\"");
    let (status, _, challenge) = userinfo(&app, Some("Basic dXNlcjpwdw==")).await;
    assert_eq!(
        (status, challenge.as_str()),
        (StatusCode::UNAUTHORIZED, "Bearer realm=\"portico\"")
    );
    let (status, body, challenge) = userinfo(&app, Some("Bearer not-a-token")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error"], "invalid_token");
    assert!(
        challenge
            .starts_with("Bearer realm=\"portico\", error=\"invalid_token\", error_description=\""),
        "{challenge}"
    );
}

#[actix_web::test]
async fn userinfo_reads_any_case_of_bearer_and_answers_only_what_the_scopes_cover() {
    let (app, _, client) = app_with_client().await;
    let person = app.tpp("person").await;
    // The person's opaque subject (never their database id).
    let sub = app.lines("SELECT subject AS line FROM users WHERE username = 'person'")[0].clone();
    assert_ne!(sub, app.user_id("person").to_string());
    let cases = [
        ("openid", json!({ "sub": sub })),
        (
            "openid profile",
            json!({ "sub": sub, "preferred_username": "person", "name": "Ada Lovelace", "given_name": "Ada", "family_name": "Lovelace" }),
        ),
        (
            "openid email",
            json!({ "sub": sub, "email": "dev@example.com", "email_verified": false }),
        ),
    ];
    for (scope, expected) in cases {
        let code = code_for(&app, &person, &client, scope).await;
        let (_, tokens) = exchange(&app, &client, &code, VERIFIER).await;
        let token = tokens["access_token"].as_str().unwrap();
        for scheme in ["Bearer", "bearer", "BEARER"] {
            let (status, body, _) = userinfo(&app, Some(&format!("{scheme} {token}"))).await;
            assert_eq!(status, StatusCode::OK, "{scope} / {scheme}");
            assert_eq!(body, expected, "{scope}");
        }
    }
    // A user token without openid: the scope is missing, not the token (RFC 6750 §3.1).
    let code = code_for(&app, &person, &client, "profile").await;
    let (_, tokens) = exchange(&app, &client, &code, VERIFIER).await;
    let bearer = format!("Bearer {}", tokens["access_token"].as_str().unwrap());
    let (status, body, challenge) = userinfo(&app, Some(&bearer)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(body["error"], "insufficient_scope");
    assert!(
        challenge.contains("error=\"insufficient_scope\""),
        "{challenge}"
    );
}

#[actix_web::test]
async fn introspection_without_a_token_is_a_malformed_request() {
    let app = spawn_app().await;
    let client = app.register_client(ClientSpec::default());
    for form in [
        vec![],
        vec![("token", "")],
        vec![("token_type_hint", "access_token")],
    ] {
        let (status, body, _) =
            post_json(&app, "/oauth2/introspect", Some(&basic(&client)), &form).await;
        assert_oauth_error((status, body.clone()), "invalid_request", "no token");
        assert!(
            body["error_description"]
                .as_str()
                .unwrap()
                .contains("token")
        );
    }
}

#[actix_web::test]
async fn revoking_another_clients_token_or_with_an_unknown_hint_is_refused_and_not_done() {
    let (app, _, client) = app_with_client().await;
    let other = app.register_client(ClientSpec::default());
    let person = app.tpp("person").await;
    let code = code_for(&app, &person, &client, "openid").await;
    let (_, tokens) = exchange(&app, &client, &code, VERIFIER).await;
    let refresh = tokens["refresh_token"].as_str().unwrap();
    let access = client_credentials_token(&app, &client, None).await;
    for token in [refresh, access.as_str()] {
        let refused = revoke(&app, Some(&other), &[("token", token)]).await;
        assert_oauth_error(refused, "invalid_grant", "another client's token");
        for hint in ["id_token", "ACCESS_TOKEN", "urn:x"] {
            let form = [("token", token), ("token_type_hint", hint)];
            let (status, body) = revoke(&app, Some(&client), &form).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{hint}");
            assert_eq!(body["error"], "unsupported_token_type", "{hint}");
        }
        assert_eq!(active(&app, &client, token).await, true, "not revoked");
    }
    assert_eq!(
        app.count("SELECT COUNT(*) FROM revoked_tokens")
            + app.count("SELECT COUNT(*) FROM refresh_token_families WHERE revoked_at IS NOT NULL"),
        0
    );
    // The registered hints work, even when they are the wrong kind (RFC 7009 §2.1).
    for (token, hint) in [
        (access.as_str(), "refresh_token"),
        (refresh, "refresh_token"),
    ] {
        let (status, _) = revoke(
            &app,
            Some(&client),
            &[("token", token), ("token_type_hint", hint)],
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(active(&app, &client, token).await, false);
    }
}
