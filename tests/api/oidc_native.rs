//! RFC 8252, OAuth for native apps: an app listening on a loopback port the system chose gets
//! its code there whatever the port it registered, and an app with a private-use URI scheme
//! (`com.example.app:/callback`) may register it as a public client through the keys page —
//! a confidential client may not, at registration or at /authorize.

use reqwest::StatusCode;

use crate::helpers::*;
use crate::oauth::{VERIFIER, challenge, decide, redeem_public};

/// The authorization request of a public client to `redirect_uri`.
fn request(client_id: &str, redirect_uri: &str) -> String {
    let challenge = challenge(VERIFIER);
    format!(
        "/oauth2/authorize?{}",
        serde_urlencoded::to_string([
            ("response_type", "code"),
            ("client_id", client_id),
            ("redirect_uri", redirect_uri),
            ("state", "native"),
            ("code_challenge", challenge.as_str()),
            ("code_challenge_method", "S256"),
        ])
        .unwrap()
    )
}

/// Approves the consent page of `url` for the signed-in `browser` (unless an earlier consent
/// covers it); where the browser goes.
async fn approve(browser: &Browser, url: &str) -> String {
    let response = browser.get(url).await;
    let response = match response.status() {
        StatusCode::OK => decide(browser, &response.text().await.unwrap(), "approve").await,
        _ => response,
    };
    assert_eq!(response.status(), StatusCode::SEE_OTHER, "{url}");
    location(&response)
}

/// Exchanges the code of a redirect as the public client; the status.
async fn exchange_as(
    client_id: &str,
    app: &TestApp,
    redirect: &str,
    redirect_uri: &str,
) -> StatusCode {
    let code = url::Url::parse(redirect)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.into_owned())
        .expect("a code");
    let (status, body) = redeem_public(app, client_id, &code, redirect_uri).await;
    assert!(status != StatusCode::OK || body["access_token"].is_string());
    status
}

#[actix_web::test]
async fn a_loopback_redirect_uri_matches_on_any_port_and_nothing_else_is_loosened() {
    let app = spawn_app().await;
    let loopback = ["http://127.0.0.1:8080/callback", "http://[::1]/callback"];
    let client = app.register_client(ClientSpec::public(&loopback));
    let person = app.tpp("person").await;
    for (port_chosen, registered_as) in [
        ("http://127.0.0.1:51234/callback", "127.0.0.1:8080"),
        ("http://[::1]:40001/callback", "[::1] without a port"),
    ] {
        let to = approve(&person, &request(&client.client_id, port_chosen)).await;
        assert!(
            to.starts_with(&format!("{port_chosen}?code=")),
            "{registered_as}: {to}"
        );
        // The code is bound to the port the app used.
        assert_eq!(
            exchange_as(&client.client_id, &app, &to, port_chosen).await,
            StatusCode::OK,
            "{registered_as}"
        );
    }
    let to = approve(
        &person,
        &request(&client.client_id, "http://127.0.0.1:51234/callback"),
    )
    .await;
    assert_eq!(
        exchange_as(
            &client.client_id,
            &app,
            &to,
            "http://127.0.0.1:8080/callback"
        )
        .await,
        StatusCode::BAD_REQUEST,
        "another port at the token endpoint is another redirect_uri"
    );
    let codes = app.count("SELECT COUNT(*) FROM authorization_codes");
    for other in [
        "http://127.0.0.1:51234/other",
        "http://127.0.0.1:51234/callback?x=1",
        "https://127.0.0.1:51234/callback",
        "http://localhost:51234/callback",
        "http://127.0.0.2:8080/callback",
    ] {
        let response = person.get(&request(&client.client_id, other)).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{other}");
        assert!(response.headers().get("location").is_none(), "{other}");
        let page = response.text().await.unwrap();
        assert!(page.contains("not registered"), "{other}");
    }
    assert_eq!(app.count("SELECT COUNT(*) FROM authorization_codes"), codes);
}

#[actix_web::test]
async fn a_native_app_registers_its_private_use_scheme_as_a_public_client_only() {
    let (app, tpp) = spawn_tpp("developer").await;
    let id = tpp.create_application("Pocket").await;
    let scheme_uri = "com.example.pocket:/oauth2redirect";
    let fields = |public: bool| {
        let mut fields = vec![
            ("key_manager", "resident"),
            ("grant_types", "authorization_code"),
            ("callback_url", scheme_uri),
            ("pkce_mandatory", "true"),
        ];
        if public {
            fields.push(("public_client", "true"));
        }
        fields
    };
    let response = tpp.try_generate(id, "production", &fields(false)).await;
    refused_on(response, "callback_url", "public clients", "confidential").await;
    assert_eq!(app.count("SELECT COUNT(*) FROM oauth_clients"), 0);

    let keys_page = {
        let response = tpp.try_generate(id, "production", &fields(true)).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        tpp.page(&location(&response)).await.1
    };
    let client_id = data_field(&keys_page, "consumer_key").unwrap();
    // Updating the keys to a confidential client is refused the same way.
    let update = format!("{}/update", keys_path(id, "production"));
    let response = tpp.post(&update, &fields(false)).await;
    refused_on(response, "callback_url", "public clients", "update").await;

    // The person is sent back to the app's scheme with the code, which the app redeems.
    let person = app.tpp("person").await;
    let to = approve(&person, &request(&client_id, scheme_uri)).await;
    assert!(to.starts_with(&format!("{scheme_uri}?code=")), "{to}");
    assert_eq!(
        exchange_as(&client_id, &app, &to, scheme_uri).await,
        StatusCode::OK
    );

    // A confidential client that holds such a URI anyway (registered before this rule) gets
    // no code there.
    let legacy = app.register_client(ClientSpec {
        redirect_uris: &[scheme_uri],
        ..Default::default()
    });
    let response = person.get(&request(&legacy.client_id, scheme_uri)).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(response.headers().get("location").is_none());
    assert!(response.text().await.unwrap().contains("private-use"));
}
