//! OpenID Connect RP-Initiated Logout 1.0 at `/oauth2/logout`, as an application sends the
//! person there: an ID token hint of the person signed in ends the session at once; anything
//! less asks the person first (a CSRF-guarded confirmation); `post_logout_redirect_uri` must be
//! registered for the application and gets `state` back; a bad request ends nothing and sends
//! no one anywhere.

use reqwest::StatusCode;

use crate::helpers::*;
use crate::oauth::{CALLBACK, VERIFIER, app_with_client, code_for, exchange, forge};

/// An ID token the client got for the signed-in `browser`.
async fn id_token(app: &TestApp, browser: &Browser, client: &TestClient) -> String {
    let code = code_for(app, browser, client, "openid").await;
    let (status, tokens) = exchange(app, client, &code, VERIFIER).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    tokens["id_token"].as_str().unwrap().to_string()
}

/// A logout request's parameters.
type Query<'a> = Vec<(&'a str, &'a str)>;

fn logout_url(pairs: &[(&str, &str)]) -> String {
    format!(
        "/oauth2/logout?{}",
        serde_urlencoded::to_string(pairs).unwrap()
    )
}

#[actix_web::test]
async fn the_hint_of_the_person_signed_in_ends_the_session_and_returns_with_the_state() {
    let (app, _, client) = app_with_client().await;
    let person = app.tpp("person").await;
    let hint = id_token(&app, &person, &client).await;
    let response = person
        .get(&logout_url(&[
            ("id_token_hint", &hint),
            ("post_logout_redirect_uri", CALLBACK),
            ("state", "bye-1"),
        ]))
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), format!("{CALLBACK}?state=bye-1"));
    assert!(!person.is_signed_in().await);
    assert_eq!(app.sessions_of(app.user_id("person")), 0);

    // Without a post-logout address: Portico's own signed-out page. An hour-old (expired) ID
    // token still names the application and the person (§2).
    let person = app.browser();
    person.sign_in("person", PASSWORD).await;
    app.execute("UPDATE oauth_clients SET id_token_ttl = -3600");
    let expired = id_token(&app, &person, &client).await;
    let response = person
        .get(&logout_url(&[("id_token_hint", &expired)]))
        .await;
    assert_eq!(location(&response), "/login?signed_out=true");
    assert!(!person.is_signed_in().await);
}

#[actix_web::test]
async fn without_a_hint_of_the_person_they_are_asked_first() {
    let (app, _, client) = app_with_client().await;
    let person = app.tpp("person").await;
    let someone_else = app.tpp("someone-else").await;
    let their_hint = id_token(&app, &someone_else, &client).await;
    let requests = [
        logout_url(&[
            ("client_id", &client.client_id),
            ("post_logout_redirect_uri", CALLBACK),
            ("state", "s-2"),
        ]),
        logout_url(&[
            ("id_token_hint", &their_hint),
            ("post_logout_redirect_uri", CALLBACK),
            ("state", "s-2"),
        ]),
    ];
    for url in &requests {
        let (status, page) = person.page(url).await;
        assert_eq!(status, StatusCode::OK, "{url}");
        assert!(page.contains("Sign out of Portico?"));
        assert_eq!(
            data_field(&page, "application_name").as_deref(),
            Some("Wallet")
        );
        assert!(person.is_signed_in().await, "nothing ended yet");
    }
    // The confirmation is a guarded form: without its token nothing ends.
    let (_, page) = person.page(&requests[0]).await;
    let fields = hidden_fields(&page, "/oauth2/logout/confirm");
    let mut forged = fields.clone();
    forged.retain(|(k, _)| k != "csrf_token");
    let response = person.post_raw("/oauth2/logout/confirm", &forged).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert!(person.is_signed_in().await);
    let response = person.post_raw("/oauth2/logout/confirm", &fields).await;
    assert_eq!(location(&response), format!("{CALLBACK}?state=s-2"));
    assert!(!person.is_signed_in().await);
    assert!(someone_else.is_signed_in().await);
}

#[actix_web::test]
async fn a_bad_logout_request_ends_nothing_and_sends_no_one_anywhere() {
    let (app, _, client) = app_with_client().await;
    let other = app.register_client(ClientSpec {
        redirect_uris: &["https://other.example/cb"],
        ..Default::default()
    });
    let person = app.tpp("person").await;
    let hint = id_token(&app, &person, &client).await;
    let mut forged_claims: serde_json::Value = serde_json::from_slice(
        &base64::Engine::decode(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
            hint.split('.').nth(1).unwrap(),
        )
        .unwrap(),
    )
    .unwrap();
    forged_claims["iss"] = "https://evil.example".into();
    let other_issuer = forge(&app, &forged_claims);
    let long_state = "s".repeat(1025);
    let cases: Vec<(&str, Query, &str)> = vec![
        (
            "an unregistered post_logout_redirect_uri",
            vec![
                ("id_token_hint", &hint),
                ("post_logout_redirect_uri", "https://evil.example/"),
            ],
            "not an address registered",
        ),
        (
            "another application's address",
            vec![
                ("id_token_hint", &hint),
                ("post_logout_redirect_uri", "https://other.example/cb"),
            ],
            "not an address registered",
        ),
        (
            "an address and no application",
            vec![("post_logout_redirect_uri", CALLBACK)],
            "needs client_id or id_token_hint",
        ),
        (
            "client_id is not the hint's audience",
            vec![("id_token_hint", &hint), ("client_id", &other.client_id)],
            "not the application",
        ),
        (
            "an unknown client_id",
            vec![("client_id", "nobody")],
            "not known",
        ),
        (
            "a hint that is no token",
            vec![("id_token_hint", "garbage")],
            "not an ID token",
        ),
        (
            "a hint of another issuer",
            vec![("id_token_hint", &other_issuer)],
            "not an ID token",
        ),
        (
            "a state too long",
            vec![("id_token_hint", &hint), ("state", &long_state)],
            "longer than 1024",
        ),
    ];
    for (case, pairs, message) in cases {
        let response = person.get(&logout_url(&pairs)).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{case}");
        assert!(response.headers().get("location").is_none(), "{case}");
        let page = response.text().await.unwrap();
        assert!(page.contains(message), "{case}: {page}");
        assert!(person.is_signed_in().await, "{case}: still signed in");
    }
}

#[actix_web::test]
async fn another_sites_post_is_answered_by_the_get_that_carries_the_session() {
    let (app, _, client) = app_with_client().await;
    let person = app.tpp("person").await;
    let hint = id_token(&app, &person, &client).await;
    let pairs = [
        ("id_token_hint", hint.as_str()),
        ("post_logout_redirect_uri", CALLBACK),
        ("state", "s-3"),
    ];
    // A cross-site form post carries no SameSite=Lax cookie: the GET of the same request.
    let response = app.browser().post_raw("/oauth2/logout", &pairs).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), logout_url(&pairs));
    assert!(person.is_signed_in().await);
    // Nobody signed in: straight to the address, nothing to end.
    let response = app.browser().get(&logout_url(&pairs)).await;
    assert_eq!(location(&response), format!("{CALLBACK}?state=s-3"));
    // Posted with the session (no CSRF token: the endpoint is the application's to call).
    let response = person.post_raw("/oauth2/logout", &pairs).await;
    assert_eq!(location(&response), format!("{CALLBACK}?state=s-3"));
    assert!(!person.is_signed_in().await);
}
