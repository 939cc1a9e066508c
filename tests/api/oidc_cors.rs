//! CORS for browser-based clients, as a single-page app's browser sees it: discovery and the
//! JWKS for any origin; the token, userinfo, revocation and introspection endpoints only for
//! the origins of registered redirect URIs — the preflight for any client's, the call itself
//! only for the calling client's (or, at userinfo, the token's) — and a call from another
//! origin refused with nothing issued. Server-side calls (no `Origin`) see no CORS at all.

use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use serde_json::Value;

use crate::helpers::*;
use crate::oauth::{
    CALLBACK, VERIFIER, assert_oauth_error, basic, client_credentials_token, code_for, http,
};

const SPA: &str = "https://client.example";
const OTHER: &str = "https://other.example";

fn allowed_origin(headers: &HeaderMap) -> Option<&str> {
    headers
        .get("access-control-allow-origin")
        .and_then(|v| v.to_str().ok())
}

/// A POST of a form from a page of `origin` (or from a server: `None`).
async fn post_from(
    app: &TestApp,
    path: &str,
    origin: Option<&str>,
    form: &[(&str, &str)],
    bearer: Option<&str>,
) -> (StatusCode, Value, HeaderMap) {
    let mut request = http().post(app.url(path)).form(form);
    if let Some(origin) = origin {
        request = request.header("origin", origin);
    }
    if let Some(token) = bearer {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    let (status, headers) = (response.status(), response.headers().clone());
    let body = response.json().await.unwrap_or(Value::Null);
    (status, body, headers)
}

async fn preflight(app: &TestApp, path: &str, origin: &str) -> (StatusCode, HeaderMap) {
    let response = http()
        .request(reqwest::Method::OPTIONS, app.url(path))
        .header("origin", origin)
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "authorization, content-type",
        )
        .send()
        .await
        .unwrap();
    (response.status(), response.headers().clone())
}

#[actix_web::test]
async fn discovery_and_the_jwks_answer_any_origin() {
    let app = spawn_app().await;
    for path in ["/.well-known/openid-configuration", "/oauth2/jwks"] {
        for (method, answer) in [
            (reqwest::Method::GET, StatusCode::OK),
            (reqwest::Method::OPTIONS, StatusCode::NO_CONTENT),
        ] {
            let response = http()
                .request(method.clone(), app.url(path))
                .header("origin", "https://anyone.example")
                .header("access-control-request-method", "GET")
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), answer, "{method} {path}");
            assert_eq!(allowed_origin(response.headers()), Some("*"), "{path}");
        }
    }
}

#[actix_web::test]
async fn a_single_page_app_redeems_its_code_from_its_own_origin_only() {
    let app = spawn_app().await;
    let spa = app.register_client(ClientSpec::public(&[CALLBACK]));
    let other = app.register_client(ClientSpec {
        redirect_uris: &["https://other.example/cb"],
        ..Default::default()
    });
    let person = app.tpp("person").await;

    // Preflights: any registered origin, none other.
    for path in [
        "/oauth2/token",
        "/oauth2/revoke",
        "/oauth2/introspect",
        "/oauth2/userinfo",
    ] {
        let (status, headers) = preflight(&app, path, SPA).await;
        assert_eq!(status, StatusCode::NO_CONTENT, "{path}");
        assert_eq!(allowed_origin(&headers), Some(SPA), "{path}");
        let methods = headers["access-control-allow-methods"].to_str().unwrap();
        let allowed = headers["access-control-allow-headers"].to_str().unwrap();
        assert!(
            methods.contains("POST") && allowed.contains("Authorization"),
            "{path}"
        );
        let (status, headers) = preflight(&app, path, "https://evil.example").await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path}");
        assert_eq!(allowed_origin(&headers), None, "{path}");
    }

    // The code exchange from another client's origin, or none registered, or no origin at
    // all: refused, the code left unused.
    let code = code_for(&app, &person, &spa, "openid").await;
    let exchange = [
        ("grant_type", "authorization_code"),
        ("client_id", spa.client_id.as_str()),
        ("code", code.as_str()),
        ("redirect_uri", CALLBACK),
        ("code_verifier", VERIFIER),
    ];
    for origin in [OTHER, "https://evil.example", "null"] {
        let (status, body, _) =
            post_from(&app, "/oauth2/token", Some(origin), &exchange, None).await;
        assert_oauth_error((status, body.clone()), "invalid_request", origin);
        assert!(
            body["error_description"]
                .as_str()
                .unwrap()
                .contains("origin"),
            "{origin}"
        );
    }
    assert_eq!(
        app.count("SELECT COUNT(*) FROM authorization_codes WHERE used_at IS NULL"),
        1,
        "the code is still unused"
    );
    let (status, tokens, headers) =
        post_from(&app, "/oauth2/token", Some(SPA), &exchange, None).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    assert_eq!(allowed_origin(&headers), Some(SPA));
    assert!(
        headers
            .get_all("vary")
            .iter()
            .any(|v| v.to_str().unwrap().contains("Origin")),
        "a cache keeps answers to each origin apart"
    );
    let access_token = tokens["access_token"].as_str().unwrap();

    // Userinfo: the token's client's origin; an error is readable from a registered origin,
    // with its challenge exposed.
    let (status, info, headers) =
        post_from(&app, "/oauth2/userinfo", Some(SPA), &[], Some(access_token)).await;
    assert_eq!(status, StatusCode::OK, "{info}");
    assert_eq!(allowed_origin(&headers), Some(SPA));
    let (status, body, _) = post_from(
        &app,
        "/oauth2/userinfo",
        Some(OTHER),
        &[],
        Some(access_token),
    )
    .await;
    assert_oauth_error(
        (status, body),
        "invalid_request",
        "userinfo from another origin",
    );
    let (status, _, headers) = post_from(
        &app,
        "/oauth2/userinfo",
        Some(SPA),
        &[],
        Some("not-a-token"),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(allowed_origin(&headers), Some(SPA));
    assert_eq!(headers["access-control-expose-headers"], "WWW-Authenticate");

    // Revocation from its origin.
    let revoke = [
        ("client_id", spa.client_id.as_str()),
        ("token", tokens["refresh_token"].as_str().unwrap()),
    ];
    let (status, _, headers) = post_from(&app, "/oauth2/revoke", Some(SPA), &revoke, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(allowed_origin(&headers), Some(SPA));

    // A confidential client introspects from its own origin, not from the app's.
    let token = client_credentials_token(&app, &other, None).await;
    let auth = basic(&other);
    for (origin, expected) in [(OTHER, StatusCode::OK), (SPA, StatusCode::BAD_REQUEST)] {
        let response = http()
            .post(app.url("/oauth2/introspect"))
            .header("authorization", &auth)
            .header("origin", origin)
            .form(&[("token", token.as_str())])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), expected, "{origin}");
    }
}

#[actix_web::test]
async fn server_side_calls_see_no_cors_headers() {
    let app = spawn_app().await;
    let client = app.register_client(ClientSpec::default());
    let (status, body, headers) = post_from(
        &app,
        "/oauth2/token",
        None,
        &[("grant_type", "client_credentials")],
        None,
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(allowed_origin(&headers), None);
    let response = http()
        .post(app.url("/oauth2/token"))
        .header("authorization", basic(&client))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        !response
            .headers()
            .keys()
            .any(|name| name.as_str().starts_with("access-control-")),
        "{:?}",
        response.headers()
    );
}
