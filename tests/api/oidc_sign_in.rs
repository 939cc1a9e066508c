//! OIDC Core §3.1.2 by the book, as a relying party drives it through a browser: `auth_time`
//! is when the person signed in, `max_age` and `prompt=login` ask for a fresh sign-in,
//! `prompt=none` answers by redirect, `prompt=consent` asks again, every answer carries `iss`
//! (RFC 9207), and the authorization endpoint takes a POSTed request without the portal's CSRF
//! guard while the consent decision keeps it.

use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::*;
use crate::oauth::{
    CALLBACK, VERIFIER, app_with_client, authorize, challenge, decide, exchange, pair,
    verify_with_jwks,
};

/// The authorization request of `client` for `openid`, with extra parameters.
fn request(client: &TestClient, extra: &[(&str, &str)]) -> Vec<(String, String)> {
    let query: Vec<(String, String)> = [
        ("response_type", "code"),
        ("client_id", client.client_id.as_str()),
        ("redirect_uri", CALLBACK),
        ("scope", "openid"),
        ("state", "s-1"),
        ("code_challenge", challenge(VERIFIER).as_str()),
        ("code_challenge_method", "S256"),
    ]
    .iter()
    .chain(extra)
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    query
}

fn authorize_url(query: &[(String, String)]) -> String {
    format!(
        "/oauth2/authorize?{}",
        serde_urlencoded::to_string(query).unwrap()
    )
}

/// The query pairs of a redirect to the client's callback.
fn callback_pairs(location: &str) -> Vec<(String, String)> {
    assert!(location.starts_with(CALLBACK), "{location}");
    url::Url::parse(location)
        .unwrap()
        .query_pairs()
        .into_owned()
        .collect()
}

/// The ID token's claims for the code of a redirect.
async fn id_claims(app: &TestApp, client: &TestClient, location: &str) -> Value {
    let pairs = callback_pairs(location);
    let code = pair(&pairs, "code").expect("a code");
    let (status, tokens) = exchange(app, client, code, VERIFIER).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    verify_with_jwks(app, tokens["id_token"].as_str().unwrap())
        .await
        .1
}

/// Moves the person's sign-in `seconds` into the past (time passing, in SQL).
fn sign_in_ago(app: &TestApp, username: &str, seconds: i64) -> i64 {
    let at = portico::db::now() - seconds;
    let user = app.user_id(username);
    // Each session value is stored as JSON text; the state is edited here, not in SQL.
    for id in app.lines(&format!(
        "SELECT id AS line FROM sessions WHERE user_id = {user}"
    )) {
        let state = app.text(&format!(
            "SELECT state AS line FROM sessions WHERE id = '{id}'"
        ));
        let mut state: serde_json::Map<String, Value> = serde_json::from_str(&state).unwrap();
        state.insert("auth_time".into(), Value::String(at.to_string()));
        let state = serde_json::to_string(&state).unwrap().replace('\'', "''");
        app.execute(&format!(
            "UPDATE sessions SET state = '{state}' WHERE id = '{id}'"
        ));
    }
    at
}

/// Signs in again on the page a fresh sign-in leads to; the answer (303 to the request).
async fn sign_in_again(browser: &Browser, login: &str, username: &str) -> reqwest::Response {
    let (status, page) = browser.page(login).await;
    assert_eq!(status, StatusCode::OK, "the sign-in form is shown again");
    assert!(page.contains("asks you to sign in again"), "{page}");
    assert_eq!(input_value(&page, "username").as_deref(), Some(username));
    let next = input_value(&page, "next").unwrap();
    browser
        .post(
            "/login",
            &[
                ("username", username),
                ("password", PASSWORD),
                ("next", &next),
            ],
        )
        .await
}

/// A Portico with a client, and a person who signed in and allowed it `openid`; the query of
/// the redirect that followed.
async fn consented() -> (TestApp, TestClient, Browser, Vec<(String, String)>) {
    let (app, _, client) = app_with_client().await;
    let person = app.tpp("person").await;
    let query = request(&client, &[]);
    let pairs: Vec<(&str, &str)> = query
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let answer = authorize(&app, &person, &pairs).await;
    (app, client, person, answer)
}

#[actix_web::test]
async fn auth_time_is_when_the_person_signed_in_and_max_age_asks_for_a_fresh_sign_in() {
    let (app, client, person, _) = consented().await;
    let query = request(&client, &[]);

    // An hour after signing in, the code is new but auth_time is the sign-in's.
    let signed_in_at = sign_in_ago(&app, "person", 3600);
    let response = person.get(&authorize_url(&query)).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let claims = id_claims(&app, &client, &location(&response)).await;
    assert_eq!(claims["auth_time"], signed_in_at);
    assert!(claims["iat"].as_i64().unwrap() >= signed_in_at + 3600);

    // max_age=7200 still counts that sign-in; max_age=60 does not.
    let response = person
        .get(&authorize_url(&request(&client, &[("max_age", "7200")])))
        .await;
    let claims = id_claims(&app, &client, &location(&response)).await;
    assert_eq!(claims["auth_time"], signed_in_at);
    let before = portico::db::now();
    let codes = app.count("SELECT COUNT(*) FROM authorization_codes");
    let response = person
        .get(&authorize_url(&request(&client, &[("max_age", "60")])))
        .await;
    let login = location(&response);
    assert!(login.starts_with("/login?next="), "{login}");
    assert!(login.contains("again=true"), "{login}");
    assert_eq!(
        app.count("SELECT COUNT(*) FROM authorization_codes"),
        codes,
        "no code before the sign-in"
    );
    let response = sign_in_again(&person, &login, "person").await;
    let back = location(&response);
    assert!(back.starts_with("/oauth2/authorize?"), "{back}");
    assert!(!back.contains("max_age"), "the request is met: {back}");
    let response = person.get(&back).await;
    let claims = id_claims(&app, &client, &location(&response)).await;
    assert!(claims["auth_time"].as_i64().unwrap() >= before);

    // prompt=none cannot sign anyone in: a sign-in too old answers login_required.
    sign_in_ago(&app, "person", 3600);
    let response = person
        .get(&authorize_url(&request(
            &client,
            &[("prompt", "none"), ("max_age", "60")],
        )))
        .await;
    let pairs = callback_pairs(&location(&response));
    assert_eq!(pair(&pairs, "error"), Some("login_required"));
    assert_eq!(pair(&pairs, "state"), Some("s-1"));
    assert_eq!(pair(&pairs, "iss"), Some(app.address.as_str()));
}

#[actix_web::test]
async fn prompt_login_signs_the_person_in_again_and_prompt_consent_asks_again() {
    let (app, client, person, answer) = consented().await;
    assert_eq!(pair(&answer, "iss"), Some(app.address.as_str()), "RFC 9207");

    // The consent is remembered, yet prompt=login shows the sign-in form to the signed-in
    // person, and the code that follows carries the new sign-in's time.
    sign_in_ago(&app, "person", 600);
    let before = portico::db::now();
    let response = person
        .get(&authorize_url(&request(
            &client,
            &[("prompt", "login consent")],
        )))
        .await;
    let login = location(&response);
    assert!(login.contains("again=true"), "{login}");
    let response = sign_in_again(&person, &login, "person").await;
    let back = location(&response);
    // What remains of the prompt is consent: the consent page, though it is remembered.
    let (status, page) = person.page(&back).await;
    assert_eq!(status, StatusCode::OK, "{back}");
    assert!(page.contains("name=\"decision\" value=\"approve\""));
    let response = decide(&person, &page, "approve").await;
    let claims = id_claims(&app, &client, &location(&response)).await;
    assert!(claims["auth_time"].as_i64().unwrap() >= before);

    // A visitor who is not signed in is simply asked to sign in.
    let response = app
        .browser()
        .get(&authorize_url(&request(&client, &[("prompt", "login")])))
        .await;
    let login = location(&response);
    assert!(
        login.starts_with("/login?next=") && !login.contains("again"),
        "{login}"
    );
}

#[actix_web::test]
async fn a_posted_authorization_request_is_answered_and_the_decision_keeps_its_csrf_check() {
    let (app, _, client) = app_with_client().await;
    let person = app.tpp("person").await;
    let query = request(&client, &[("nonce", "n-1")]);

    // Posted by the person's browser, with no CSRF token: the consent page.
    let response = person.post_raw("/oauth2/authorize", &query).await;
    assert_eq!(response.status(), StatusCode::OK);
    let page = response.text().await.unwrap();

    // The decision without its token (or from another site) is refused, and nothing is made.
    let mut decision = hidden_fields(&page, "/oauth2/authorize/decision");
    decision.push(("decision".into(), "approve".into()));
    let mut without = decision.clone();
    without.retain(|(k, _)| k != "csrf_token");
    let forged = person
        .post_raw("/oauth2/authorize/decision", &without)
        .await;
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    let cross_site = person
        .post_with_header(
            "/oauth2/authorize/decision",
            ("sec-fetch-site", "cross-site"),
            &decision,
        )
        .await;
    assert_eq!(cross_site.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM authorization_codes")
            + app.count("SELECT COUNT(*) FROM consents"),
        0
    );
    let response = decide(&person, &page, "approve").await;
    let claims = id_claims(&app, &client, &location(&response)).await;
    assert_eq!(claims["nonce"], "n-1");

    // Posted from another site (no session cookie with it): the GET of the same request, which
    // the browser sends with its cookie and which answers with a code.
    let response = app.browser().post_raw("/oauth2/authorize", &query).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let get = location(&response);
    assert_eq!(get, authorize_url(&query));
    let response = person.get(&get).await;
    let pairs = callback_pairs(&location(&response));
    assert!(pair(&pairs, "code").is_some());
    assert_eq!(pair(&pairs, "iss"), Some(app.address.as_str()));

    // A bad posted request gets the same answers as a bad GET.
    let bad = request(&client, &[("prompt", "none login")]);
    let response = person.post_raw("/oauth2/authorize", &bad).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let page = response.text().await.unwrap();
    assert!(page.contains("invalid_request") && page.contains("prompt=none"));
}
