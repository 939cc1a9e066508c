//! The resident authorization server, table-driven in the way fosite and node-oidc-provider test
//! theirs: every grant, every error, SECURITY.md rows 22–28, JWTs verified against the JWKS.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{FetchJson, *};

pub(crate) const CALLBACK: &str = "https://client.example/callback";
pub(crate) const VERIFIER: &str = "a-verifier-that-is-long-enough-to-satisfy-rfc-7636-rules_~.";

pub(crate) fn challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(aws_lc_rs::digest::digest(
        &aws_lc_rs::digest::SHA256,
        verifier.as_bytes(),
    ))
}

/// A 400 from the token endpoint with this OAuth `error`; `case` names the try.
pub(crate) fn assert_oauth_error(answer: (StatusCode, Value), error: &str, case: &str) {
    let (status, body) = answer;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some(error)),
        "{case}"
    );
}

pub(crate) fn basic(client: &TestClient) -> String {
    format!(
        "Basic {}",
        STANDARD.encode(format!(
            "{}:{}",
            client.client_id,
            client.secret.as_deref().unwrap_or("")
        ))
    )
}

/// A raw client of the OAuth endpoints (no cookies, no redirects).
pub(crate) fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

pub(crate) async fn post_token(
    app: &TestApp,
    auth: Option<&str>,
    form: &[(&str, &str)],
) -> (StatusCode, Value, reqwest::header::HeaderMap) {
    post_json(app, "/oauth2/token", auth, form).await
}

pub(crate) async fn post_json(
    app: &TestApp,
    path: &str,
    auth: Option<&str>,
    form: &[(&str, &str)],
) -> (StatusCode, Value, reqwest::header::HeaderMap) {
    let mut request = http().post(app.url(path)).form(form);
    if let Some(auth) = auth {
        request = request.header("authorization", auth);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let body = response.text().await.unwrap();
    (
        status,
        serde_json::from_str(&body).unwrap_or(Value::Null),
        headers,
    )
}

pub(crate) async fn client_credentials_token(
    app: &TestApp,
    client: &TestClient,
    scope: Option<&str>,
) -> String {
    let mut form = vec![("grant_type", "client_credentials")];
    if let Some(scope) = scope {
        form.push(("scope", scope));
    }
    let (status, body, _) = post_token(app, Some(&basic(client)), &form).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["access_token"].as_str().unwrap().to_string()
}

/// Verifies a JWT against the published JWKS and returns its header and claims.
pub(crate) async fn verify_with_jwks(app: &TestApp, token: &str) -> (jsonwebtoken::Header, Value) {
    let jwks: jsonwebtoken::jwk::JwkSet = http().get(app.url("/oauth2/jwks")).fetch_json().await;
    let header = jsonwebtoken::decode_header(token).unwrap();
    let jwk = jwks
        .find(header.kid.as_deref().unwrap())
        .expect("the kid is in the JWKS");
    let key = jsonwebtoken::DecodingKey::from_jwk(jwk).unwrap();
    let mut validation = jsonwebtoken::Validation::new(header.alg);
    validation.validate_aud = false;
    let data = jsonwebtoken::decode::<Value>(token, &key, &validation)
        .expect("the signature verifies against the JWKS");
    (data.header, data.claims)
}

/// A Portico with `application`'s application and a client registered for it.
pub(crate) async fn app_with_client() -> (TestApp, i64, TestClient) {
    let app = spawn_app().await;
    let (_, application_id) = application(&app).await;
    let client = app.register_client(ClientSpec {
        application_id: Some(application_id),
        ..Default::default()
    });
    (app, application_id, client)
}

/// An application owned by a TPP, subscribed to one API with the scopes `read` and `write`:
/// what the tokens speak for.
pub(crate) async fn application(app: &TestApp) -> (Browser, i64) {
    let api = app
        .publish_api("Payments", "/payments", "PUBLISHED", &["Gold"])
        .await;
    app.add_scope(api, "read", "Read payments", "").await;
    app.add_scope(api, "write", "Make payments", "").await;
    let tpp = app.tpp_of("owner", "Wallet Corp").await;
    let id = tpp.create_application("Wallet").await;
    tpp.subscribe(api, id, "Gold").await;
    (tpp, id)
}

#[actix_web::test]
async fn discovery_lists_exactly_the_endpoints_and_capabilities() {
    let app = spawn_app().await;
    for path in [
        "/.well-known/openid-configuration",
        "/.well-known/oauth-authorization-server",
    ] {
        let doc: Value = http().get(app.url(path)).fetch_json().await;
        assert_eq!(doc["issuer"], app.address);
        for (key, endpoint) in [
            ("authorization_endpoint", "/oauth2/authorize"),
            ("token_endpoint", "/oauth2/token"),
            ("jwks_uri", "/oauth2/jwks"),
            ("userinfo_endpoint", "/oauth2/userinfo"),
            ("introspection_endpoint", "/oauth2/introspect"),
            ("revocation_endpoint", "/oauth2/revoke"),
        ] {
            assert_eq!(doc[key], format!("{}{endpoint}", app.address), "{key}");
        }
        assert_eq!(
            doc["grant_types_supported"],
            json!(["authorization_code", "client_credentials", "refresh_token"])
        );
        assert_eq!(
            doc["code_challenge_methods_supported"],
            json!(["S256", "plain"])
        );
        // RS256 is always there beside the configured algorithm (OIDC Discovery §3).
        assert_eq!(
            doc["id_token_signing_alg_values_supported"],
            json!(["ES256", "RS256"])
        );
        assert_eq!(doc["response_types_supported"], json!(["code"]));
    }
    let jwks: Value = http().get(app.url("/oauth2/jwks")).fetch_json().await;
    let key = &jwks["keys"][0];
    assert_eq!(
        (
            key["kty"].as_str(),
            key["crv"].as_str(),
            key["alg"].as_str()
        ),
        (Some("EC"), Some("P-256"), Some("ES256"))
    );
    assert!(key["kid"].as_str().is_some_and(|k| !k.is_empty()));
    assert!(key.get("d").is_none(), "no private part");
}

#[actix_web::test]
async fn client_credentials_issues_an_rfc_9068_jwt_with_the_application() {
    let (app, application_id, client) = app_with_client().await;

    for auth_method in ["basic", "post"] {
        let (status, body, headers) = if auth_method == "basic" {
            post_token(
                &app,
                Some(&basic(&client)),
                &[
                    ("grant_type", "client_credentials"),
                    ("scope", "read write"),
                ],
            )
            .await
        } else {
            let secret = client.secret.clone().unwrap();
            post_token(
                &app,
                None,
                &[
                    ("grant_type", "client_credentials"),
                    ("client_id", &client.client_id),
                    ("client_secret", &secret),
                ],
            )
            .await
        };
        assert_eq!(status, StatusCode::OK, "{auth_method}: {body}");
        assert_eq!(headers["cache-control"], "no-store");
        assert_eq!(body["token_type"], "Bearer");
        assert_eq!(body["expires_in"], 3600);
        assert!(
            body.get("refresh_token").is_none(),
            "no refresh token for client_credentials"
        );
        let (header, claims) = verify_with_jwks(&app, body["access_token"].as_str().unwrap()).await;
        assert_eq!(header.typ.as_deref(), Some("at+jwt"));
        assert_eq!(header.alg, jsonwebtoken::Algorithm::ES256);
        assert_eq!(claims["iss"], app.address);
        assert_eq!(claims["sub"], client.client_id.as_str());
        // RFC 8707 / RFC 9068: the audience is the subscribed API's resource identifier.
        assert_eq!(claims["aud"], format!("{}/payments", app.address));
        assert_eq!(claims["client_id"], client.client_id.as_str());
        assert_eq!(claims["key_type"], "PRODUCTION");
        assert_eq!(
            claims["application"],
            json!({ "id": application_id, "name": "Wallet", "tier": "10PerMin" }),
            "the application, never its owner's username"
        );
        assert!(claims["jti"].as_str().is_some_and(|j| j.len() >= 20));
        assert_eq!(
            claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
            3600
        );
        // Asked or not (the default), the application gets the scopes of its subscribed API.
        assert_eq!(claims["scope"], "read write");
        assert_eq!(body["scope"], "read write");
    }
    // The hot path writes nothing.
    assert_eq!(
        app.count("SELECT COUNT(*) FROM family_access_tokens")
            + app.count("SELECT COUNT(*) FROM refresh_tokens"),
        0
    );
}

#[actix_web::test]
async fn client_ids_and_secrets_are_random_and_secrets_are_stored_hashed() {
    let app = spawn_app().await;
    let first = app.register_client(ClientSpec::default());
    let second = app.register_client(ClientSpec::default());
    assert_ne!(first.client_id, second.client_id);
    assert!(first.client_id.len() >= 22, "at least 128 bits");
    let secret = first.secret.unwrap();
    assert!(secret.len() >= 43, "at least 256 bits");
    assert!(
        first
            .client_id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    );
    let stored = app.text(&format!(
        "SELECT secret_hash AS line FROM oauth_clients WHERE client_id = '{}'",
        first.client_id
    ));
    assert_ne!(stored, secret);
    assert_eq!(
        stored,
        hex::encode(aws_lc_rs::digest::digest(
            &aws_lc_rs::digest::SHA256,
            secret.as_bytes()
        ))
    );
}

#[actix_web::test]
async fn token_endpoint_errors_follow_rfc_6749() {
    let app = spawn_app().await;
    let client = app.register_client(ClientSpec::default());
    let code_only = app.register_client(ClientSpec {
        grants: &["authorization_code"],
        ..Default::default()
    });
    let secret = client.secret.clone().unwrap();
    let wrong = format!(
        "Basic {}",
        STANDARD.encode(format!("{}:wrong", client.client_id))
    );
    let unknown = format!("Basic {}", STANDARD.encode("nobody:secret"));
    type Case<'a> = (
        &'a str,
        Option<String>,
        Vec<(&'a str, &'a str)>,
        u16,
        &'a str,
    );
    let cases: Vec<Case> = vec![
        (
            "unknown client",
            Some(unknown),
            vec![("grant_type", "client_credentials")],
            401,
            "invalid_client",
        ),
        (
            "wrong secret",
            Some(wrong),
            vec![("grant_type", "client_credentials")],
            401,
            "invalid_client",
        ),
        (
            "malformed Basic",
            Some("Basic !!!not-base64".into()),
            vec![("grant_type", "client_credentials")],
            401,
            "invalid_client",
        ),
        (
            "Basic without a colon",
            Some(format!("Basic {}", STANDARD.encode("just-an-id"))),
            vec![("grant_type", "client_credentials")],
            401,
            "invalid_client",
        ),
        (
            "no authentication",
            None,
            vec![("grant_type", "client_credentials")],
            401,
            "invalid_client",
        ),
        (
            "a confidential client without its secret",
            None,
            vec![
                ("grant_type", "client_credentials"),
                ("client_id", &client.client_id),
            ],
            401,
            "invalid_client",
        ),
        (
            "two methods",
            Some(basic(&client)),
            vec![
                ("grant_type", "client_credentials"),
                ("client_secret", &secret),
            ],
            400,
            "invalid_request",
        ),
        (
            "grant not allowed",
            Some(basic(&code_only)),
            vec![("grant_type", "client_credentials")],
            400,
            "unauthorized_client",
        ),
        (
            "unknown grant",
            Some(basic(&client)),
            vec![("grant_type", "password")],
            400,
            "unsupported_grant_type",
        ),
        (
            "missing grant",
            Some(basic(&client)),
            vec![("scope", "x")],
            400,
            "invalid_request",
        ),
        (
            "repeated parameter",
            Some(basic(&client)),
            vec![
                ("grant_type", "client_credentials"),
                ("grant_type", "client_credentials"),
            ],
            400,
            "invalid_request",
        ),
        (
            "bad code",
            Some(basic(&client)),
            vec![
                ("grant_type", "authorization_code"),
                ("code", "made-up"),
                ("redirect_uri", CALLBACK),
            ],
            400,
            "invalid_grant",
        ),
        (
            "missing code",
            Some(basic(&client)),
            vec![("grant_type", "authorization_code")],
            400,
            "invalid_request",
        ),
        (
            "bad refresh token",
            Some(basic(&client)),
            vec![
                ("grant_type", "refresh_token"),
                ("refresh_token", "made-up"),
            ],
            400,
            "invalid_grant",
        ),
        (
            "bad scope",
            Some(basic(&client)),
            vec![("grant_type", "client_credentials"), ("scope", "quote\"s")],
            400,
            "invalid_scope",
        ),
    ];
    for (case, auth, form, status, error) in cases {
        let (got, body, headers) = post_token(&app, auth.as_deref(), &form).await;
        assert_eq!(got.as_u16(), status, "{case}: {body}");
        assert_eq!(body["error"], error, "{case}");
        assert!(body["error_description"].as_str().is_some(), "{case}");
        assert_eq!(headers["cache-control"], "no-store", "{case}");
        if status == 401 {
            assert!(
                headers["www-authenticate"]
                    .to_str()
                    .unwrap()
                    .starts_with("Basic"),
                "{case}"
            );
        }
    }
}

/// Signs in `browser` (a TPP) and walks the consent page; returns the redirect's query pairs.
pub(crate) async fn authorize(
    app: &TestApp,
    browser: &Browser,
    query: &[(&str, &str)],
) -> Vec<(String, String)> {
    let url = format!(
        "/oauth2/authorize?{}",
        serde_urlencoded::to_string(query).unwrap()
    );
    let response = browser.get(&url).await;
    let response = if response.status() == StatusCode::OK {
        decide(browser, &response.text().await.unwrap(), "approve").await
    } else {
        response
    };
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let location = location(&response);
    assert!(location.starts_with(CALLBACK), "{location}");
    let pairs: Vec<(String, String)> = url::Url::parse(&location)
        .unwrap()
        .query_pairs()
        .into_owned()
        .collect();
    let discovery: Value = http()
        .get(app.url("/.well-known/openid-configuration"))
        .fetch_json()
        .await;
    assert_eq!(
        pair(&pairs, "iss"),
        discovery["issuer"].as_str(),
        "RFC 9207"
    );
    pairs
}

pub(crate) fn pair<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

pub(crate) async fn code_for(
    app: &TestApp,
    browser: &Browser,
    client: &TestClient,
    scope: &str,
) -> String {
    let challenge = challenge(VERIFIER);
    let pairs = authorize(
        app,
        browser,
        &[
            ("response_type", "code"),
            ("client_id", &client.client_id),
            ("redirect_uri", CALLBACK),
            ("scope", scope),
            ("state", "xyz"),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
            ("nonce", "n-0S6"),
        ],
    )
    .await;
    assert_eq!(pair(&pairs, "state"), Some("xyz"));
    pair(&pairs, "code").expect("a code").to_string()
}

pub(crate) async fn exchange(
    app: &TestApp,
    client: &TestClient,
    code: &str,
    verifier: &str,
) -> (StatusCode, Value) {
    let fields = [("redirect_uri", CALLBACK), ("code_verifier", verifier)];
    redeem(app, Some(&basic(client)), code, &fields).await
}

/// A code exchange with these fields besides the grant type and the code (redirect_uri,
/// code_verifier, a public client's client_id...), authenticated by `auth` when given.
pub(crate) async fn redeem(
    app: &TestApp,
    auth: Option<&str>,
    code: &str,
    fields: &[(&str, &str)],
) -> (StatusCode, Value) {
    let mut form = vec![("grant_type", "authorization_code"), ("code", code)];
    form.extend_from_slice(fields);
    let (status, body, _) = post_token(app, auth, &form).await;
    (status, body)
}

/// A public client's code exchange: its client_id, and PKCE as its only proof.
pub(crate) async fn redeem_public(
    app: &TestApp,
    client_id: &str,
    code: &str,
    redirect_uri: &str,
) -> (StatusCode, Value) {
    let fields = [
        ("client_id", client_id),
        ("redirect_uri", redirect_uri),
        ("code_verifier", VERIFIER),
    ];
    redeem(app, None, code, &fields).await
}

/// Sends the consent page's decision form (`approve` or `deny`) from the person's browser.
pub(crate) async fn decide(browser: &Browser, consent: &str, decision: &str) -> reqwest::Response {
    let mut fields = hidden_fields(consent, "/oauth2/authorize/decision");
    fields.push(("decision".into(), decision.into()));
    browser
        .post_raw("/oauth2/authorize/decision", &fields)
        .await
}

/// The `field` (`kid`, `alg`) of each key the JWKS publishes, in order.
pub(crate) async fn jwks_field(app: &TestApp, field: &str) -> Vec<String> {
    let jwks: Value = http().get(app.url("/oauth2/jwks")).fetch_json().await;
    jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k[field].as_str().unwrap().to_string())
        .collect()
}

/// A revocation of `token`, by `client` (or unauthenticated).
pub(crate) async fn revoke(
    app: &TestApp,
    client: Option<&TestClient>,
    form: &[(&str, &str)],
) -> (StatusCode, Value) {
    let auth = client.map(basic);
    let (status, body, _) = post_json(app, "/oauth2/revoke", auth.as_deref(), form).await;
    (status, body)
}

/// Whether introspection says `token` is active, asked by `client`.
pub(crate) async fn active(app: &TestApp, client: &TestClient, token: &str) -> Value {
    post_json(
        app,
        "/oauth2/introspect",
        Some(&basic(client)),
        &[("token", token)],
    )
    .await
    .1["active"]
        .clone()
}

#[actix_web::test]
async fn the_code_flow_with_pkce_consent_and_id_token() {
    let (app, _, client) = app_with_client().await;
    let person = app.tpp("person").await;

    // The consent page names the application, its owner's organisation and the scopes.
    let challenge = challenge(VERIFIER);
    let query = serde_urlencoded::to_string([
        ("response_type", "code"),
        ("client_id", client.client_id.as_str()),
        ("redirect_uri", CALLBACK),
        ("scope", "openid profile"),
        ("state", "s1"),
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "S256"),
    ])
    .unwrap();
    let (status, page) = person.page(&format!("/oauth2/authorize?{query}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Wallet") && page.contains("Wallet Corp"));
    assert!(page.contains("openid") && page.contains("profile"));
    assert!(
        page.contains("name=\"decision\" value=\"approve\"")
            && page.contains("name=\"decision\" value=\"deny\"")
    );

    let code = code_for(&app, &person, &client, "openid profile").await;
    let (status, tokens) = exchange(&app, &client, &code, VERIFIER).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    let (_, claims) = verify_with_jwks(&app, tokens["access_token"].as_str().unwrap()).await;
    // The person's subject is stable and opaque: not their database id.
    let subject = claims["sub"].as_str().unwrap().to_string();
    assert_ne!(subject, app.user_id("person").to_string());
    assert!(
        subject.len() == 32 && subject.chars().all(|c| c.is_ascii_hexdigit()),
        "{subject}"
    );
    assert_eq!(claims["scope"], "openid profile");
    assert!(tokens["refresh_token"].as_str().is_some());
    let (header, id_claims) = verify_with_jwks(&app, tokens["id_token"].as_str().unwrap()).await;
    assert_eq!(header.typ.as_deref(), Some("JWT"));
    assert_eq!(id_claims["aud"], client.client_id.as_str());
    assert_eq!(id_claims["nonce"], "n-0S6");
    assert_eq!(
        id_claims["sub"],
        subject.as_str(),
        "the same subject in the ID token"
    );

    // The consent is remembered: the next request goes straight back with a code.
    let url = format!("/oauth2/authorize?{query}");
    let response = person.get(&url).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert!(location(&response).contains("code="));

    // Userinfo answers for the openid token.
    let info: Value = http()
        .get(app.url("/oauth2/userinfo"))
        .bearer_auth(tokens["access_token"].as_str().unwrap())
        .fetch_json()
        .await;
    assert_eq!(
        info["sub"],
        subject.as_str(),
        "the same subject at userinfo"
    );
    assert_eq!(info["preferred_username"], "person");
    assert_eq!(info["name"], "Ada Lovelace");
    let plain = client_credentials_token(&app, &client, None).await;
    let response = http()
        .get(app.url("/oauth2/userinfo"))
        .bearer_auth(plain)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert!(crate::helpers::header(&response, "www-authenticate").contains("invalid_token"));
}

#[actix_web::test]
async fn a_visitor_signs_in_first_and_a_denial_goes_back_with_access_denied() {
    let app = spawn_app().await;
    let client = app.register_client(ClientSpec::default());
    app.browser().sign_up("visitor").await;
    let browser = app.browser();
    let challenge = challenge(VERIFIER);
    let query = serde_urlencoded::to_string([
        ("response_type", "code"),
        ("client_id", client.client_id.as_str()),
        ("redirect_uri", CALLBACK),
        ("state", "st"),
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "S256"),
    ])
    .unwrap();
    let response = browser.get(&format!("/oauth2/authorize?{query}")).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let login = location(&response);
    assert!(login.starts_with("/login?next=%2Foauth2%2Fauthorize%3F"));
    let (_, page) = browser.page(&login).await;
    let response = browser.sign_in_on(&page, "visitor", PASSWORD).await;
    assert_eq!(location(&response), format!("/oauth2/authorize?{query}"));

    let (_, consent) = browser.page(&location(&response)).await;
    let response = decide(&browser, &consent, "deny").await;
    let denied = location(&response);
    assert!(
        denied.starts_with(CALLBACK)
            && denied.contains("error=access_denied")
            && denied.contains("state=st")
            && denied.contains("iss="),
        "{denied}"
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM authorization_codes")
            + app.count("SELECT COUNT(*) FROM consents"),
        0
    );
}

#[actix_web::test]
async fn authorization_requests_are_checked_before_any_redirect() {
    let app = spawn_app().await;
    let client = app.register_client(ClientSpec::default());
    let plain_ok = app.register_client(ClientSpec {
        pkce_mandatory: false,
        pkce_plain_allowed: true,
        ..Default::default()
    });
    let browser = app.tpp("checker").await;
    let good = challenge(VERIFIER);
    let id = client.client_id.as_str();
    // Errors shown as a page, never redirected.
    for (case, query) in [
        (
            "unknown client",
            vec![
                ("response_type", "code"),
                ("client_id", "nobody"),
                ("redirect_uri", CALLBACK),
            ],
        ),
        (
            "unregistered redirect",
            vec![
                ("response_type", "code"),
                ("client_id", id),
                ("redirect_uri", "https://evil.example/cb"),
            ],
        ),
        (
            "redirect with extra path",
            vec![
                ("response_type", "code"),
                ("client_id", id),
                ("redirect_uri", "https://client.example/callback/x"),
            ],
        ),
    ] {
        let response = browser
            .get(&format!(
                "/oauth2/authorize?{}",
                serde_urlencoded::to_string(&query).unwrap()
            ))
            .await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{case}");
        assert!(response.headers().get("location").is_none(), "{case}");
    }
    // Errors of a verified client and redirect URI.
    let long = "a".repeat(129);
    for (case, query, error) in [
        (
            "response_type token",
            vec![
                ("response_type", "token"),
                ("client_id", id),
                ("redirect_uri", CALLBACK),
                ("code_challenge", good.as_str()),
                ("code_challenge_method", "S256"),
            ],
            "unsupported_response_type",
        ),
        (
            "PKCE required",
            vec![
                ("response_type", "code"),
                ("client_id", id),
                ("redirect_uri", CALLBACK),
            ],
            "invalid_request",
        ),
        (
            "plain not allowed",
            vec![
                ("response_type", "code"),
                ("client_id", id),
                ("redirect_uri", CALLBACK),
                ("code_challenge", VERIFIER),
                ("code_challenge_method", "plain"),
            ],
            "invalid_request",
        ),
        (
            "unknown method",
            vec![
                ("response_type", "code"),
                ("client_id", id),
                ("redirect_uri", CALLBACK),
                ("code_challenge", good.as_str()),
                ("code_challenge_method", "S512"),
            ],
            "invalid_request",
        ),
        (
            "challenge too long",
            vec![
                ("response_type", "code"),
                ("client_id", id),
                ("redirect_uri", CALLBACK),
                ("code_challenge", long.as_str()),
                ("code_challenge_method", "S256"),
            ],
            "invalid_request",
        ),
    ] {
        let mut query = query;
        query.push(("state", "keep"));
        let response = browser
            .get(&format!(
                "/oauth2/authorize?{}",
                serde_urlencoded::to_string(&query).unwrap()
            ))
            .await;
        // A page with a link back, never an automatic redirect (RFC 9700 §4.11.2).
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{case}");
        assert!(response.headers().get("location").is_none(), "{case}");
        let page = response.text().await.unwrap();
        let target = crate::oauth_authorize::return_link(&page).unwrap_or_default();
        assert!(
            target.starts_with(CALLBACK)
                && target.contains(&format!("error={error}"))
                && target.contains("state=keep"),
            "{case}: {target}"
        );
    }
    // Plain is accepted where the client allows it.
    let pairs = authorize(
        &app,
        &browser,
        &[
            ("response_type", "code"),
            ("client_id", &plain_ok.client_id),
            ("redirect_uri", CALLBACK),
            ("code_challenge", VERIFIER),
            ("code_challenge_method", "plain"),
        ],
    )
    .await;
    let code = pair(&pairs, "code").unwrap();
    let (status, body) = exchange(&app, &plain_ok, code, VERIFIER).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[actix_web::test]
async fn codes_are_single_use_bound_and_short_lived() {
    let app = spawn_app().await;
    let client = app.register_client(ClientSpec::default());
    let other = app.register_client(ClientSpec::default());
    let person = app.tpp("coder").await;

    // Reuse revokes what the first exchange issued.
    let code = code_for(&app, &person, &client, "openid").await;
    let (status, first) = exchange(&app, &client, &code, VERIFIER).await;
    assert_eq!(status, StatusCode::OK);
    let (status, again) = exchange(&app, &client, &code, VERIFIER).await;
    assert_eq!(
        (status, again["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant"))
    );
    for token in [
        first["access_token"].as_str().unwrap(),
        first["refresh_token"].as_str().unwrap(),
    ] {
        let (_, body, _) = post_json(
            &app,
            "/oauth2/introspect",
            Some(&basic(&client)),
            &[("token", token)],
        )
        .await;
        assert_eq!(
            body,
            json!({ "active": false }),
            "revoked after the code was replayed"
        );
    }

    // Another client's code, a wrong redirect URI, an expired code, PKCE mismatches.
    let code = code_for(&app, &person, &client, "openid").await;
    let (status, body) = exchange(&app, &other, &code, VERIFIER).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant")),
        "another client's code"
    );
    let other_callback = [
        ("redirect_uri", "https://client.example/other"),
        ("code_verifier", VERIFIER),
    ];
    let (status, body) = redeem(&app, Some(&basic(&client)), &code, &other_callback).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant")),
        "redirect mismatch"
    );
    for (case, verifier) in [
        (
            "mismatch",
            "another-verifier-that-is-long-enough-for-rfc-7636-rules-xx",
        ),
        ("42 characters", "a".repeat(42).as_str()),
        ("129 characters", "a".repeat(129).as_str()),
        (
            "bad characters",
            "a verifier with spaces that is long enough for the rule!!",
        ),
        ("missing", ""),
    ] {
        let (status, body) = exchange(&app, &client, &code, verifier).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (StatusCode::BAD_REQUEST, Some("invalid_grant")),
            "{case}"
        );
    }
    let (status, _) = exchange(&app, &client, &code, VERIFIER).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "failed attempts do not consume the code"
    );

    let code = code_for(&app, &person, &client, "openid").await;
    // Time passing: the code's ten minutes are over.
    app.execute(&format!(
        "UPDATE authorization_codes SET expires_at = {} WHERE used_at IS NULL",
        epoch_now() - 1
    ));
    assert_oauth_error(
        exchange(&app, &client, &code, VERIFIER).await,
        "invalid_grant",
        "expired",
    );
}

#[actix_web::test]
async fn a_verifier_without_a_challenge_is_refused() {
    let app = spawn_app().await;
    let client = app.register_client(ClientSpec {
        pkce_mandatory: false,
        ..Default::default()
    });
    let person = app.tpp("no-pkce").await;
    let pairs = authorize(
        &app,
        &person,
        &[
            ("response_type", "code"),
            ("client_id", &client.client_id),
            ("redirect_uri", CALLBACK),
        ],
    )
    .await;
    let code = pair(&pairs, "code").unwrap();
    let (status, body) = exchange(&app, &client, code, VERIFIER).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant"))
    );
    let (status, _) = redeem(
        &app,
        Some(&basic(&client)),
        code,
        &[("redirect_uri", CALLBACK)],
    )
    .await;
    assert_eq!(
        status,
        StatusCode::OK,
        "without PKCE, where the client allows it"
    );
}

#[actix_web::test]
async fn public_clients_authenticate_by_pkce_alone() {
    let app = spawn_app().await;
    let client = app.register_client(ClientSpec {
        public: true,
        grants: &["authorization_code", "refresh_token"],
        ..Default::default()
    });
    assert!(client.secret.is_none());
    let person = app.tpp("mobile").await;
    let code = code_for(&app, &person, &client, "openid").await;
    let (status, body) = redeem_public(&app, &client.client_id, &code, CALLBACK).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body, _) = post_token(
        &app,
        None,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", &client.client_id),
        ],
    )
    .await;
    assert_eq!(
        (status.as_u16(), body["error"].as_str()),
        (400, Some("unauthorized_client"))
    );
    let (status, _, _) = post_token(
        &app,
        Some(&format!(
            "Basic {}",
            STANDARD.encode(format!("{}:guess", client.client_id))
        )),
        &[("grant_type", "client_credentials")],
    )
    .await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "a public client has no secret to guess"
    );
}

#[actix_web::test]
async fn refresh_tokens_rotate_and_reuse_revokes_the_family() {
    let (app, _, client) = app_with_client().await;
    let other = app.register_client(ClientSpec::default());
    let person = app.tpp("refresher").await;
    let code = code_for(&app, &person, &client, "read write").await;
    let (_, tokens) = exchange(&app, &client, &code, VERIFIER).await;
    let first = tokens["refresh_token"].as_str().unwrap().to_string();
    let refresh = |token: String, scope: Option<&'static str>, who: &'static str| {
        let app = &app;
        let auth = basic(if who == "client" { &client } else { &other });
        async move {
            let mut form = vec![
                ("grant_type", "refresh_token"),
                ("refresh_token", token.as_str()),
            ];
            if let Some(scope) = scope {
                form.push(("scope", scope));
            }
            let (status, body, _) = post_token(app, Some(&auth), &form).await;
            (status, body)
        }
    };
    assert_oauth_error(
        refresh(first.clone(), None, "other").await,
        "invalid_grant",
        "another client's token",
    );
    let (status, body) = refresh(first.clone(), Some("read write admin"), "client").await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_scope")),
        "widening"
    );

    // Neither refusal consumed the token: it still rotates (and may narrow the scope).
    let (status, second) = refresh(first.clone(), Some("read"), "client").await;
    assert_eq!(status, StatusCode::OK, "{second}");
    assert_eq!(second["scope"], "read", "scope may narrow");
    let second_refresh = second["refresh_token"].as_str().unwrap().to_string();
    assert_ne!(second_refresh, first);
    // Reusing the rotated token revokes the family: the new refresh and access tokens die too.
    let (status, body) = refresh(first, None, "client").await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant"))
    );
    let (status, _) = refresh(second_refresh, None, "client").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (_, body, _) = post_json(
        &app,
        "/oauth2/introspect",
        Some(&basic(&client)),
        &[("token", second["access_token"].as_str().unwrap())],
    )
    .await;
    assert_eq!(body, json!({ "active": false }));
}

#[actix_web::test]
async fn parallel_reuse_of_a_refresh_token_lets_at_most_one_through_and_revokes_the_family() {
    let app = spawn_app().await;
    let client = app.register_client(ClientSpec::default());
    let person = app.tpp("racer").await;
    let code = code_for(&app, &person, &client, "openid").await;
    let (_, tokens) = exchange(&app, &client, &code, VERIFIER).await;
    let token = tokens["refresh_token"].as_str().unwrap().to_string();
    let auth = basic(&client);
    let form = [
        ("grant_type", "refresh_token"),
        ("refresh_token", token.as_str()),
    ];
    let attempts = (0..6).map(|_| post_token(&app, Some(&auth), &form));
    let results = futures_util::future::join_all(attempts).await;
    let winners: Vec<&Value> = results
        .iter()
        .filter(|(s, _, _)| *s == StatusCode::OK)
        .map(|(_, b, _)| b)
        .collect();
    assert_eq!(winners.len(), 1, "exactly one rotation");
    let (status, _, _) = post_token(
        &app,
        Some(&auth),
        &[
            ("grant_type", "refresh_token"),
            (
                "refresh_token",
                winners[0]["refresh_token"].as_str().unwrap(),
            ),
        ],
    )
    .await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "the reuse revoked the family"
    );
}

/// Signs arbitrary claims with the server's own key, read the way Portico reads it.
pub(crate) fn forge(app: &TestApp, claims: &Value) -> String {
    use portico::oauth_server::keys::{SigningAlgorithm, SigningKeys};
    let settings = settings_for(&app.db_url, &[]);
    let secret_box = portico::security::secret_box::SecretBox::new(&settings.secret_key);
    let keys =
        SigningKeys::load_or_create(&mut app.db(), &secret_box, SigningAlgorithm::Es256, 86_400)
            .unwrap();
    keys.sign("at+jwt", claims)
}

#[actix_web::test]
async fn introspection_answers_only_for_good_tokens_and_their_owners() {
    let (app, _, client) = app_with_client().await;
    let stranger = app.register_client(ClientSpec::default());
    let gateway = app.register_client(ClientSpec {
        resource_server: true,
        grants: &[],
        ..Default::default()
    });
    let token = client_credentials_token(&app, &client, Some("read")).await;

    let (status, body, headers) = post_json(
        &app,
        "/oauth2/introspect",
        Some(&basic(&client)),
        &[("token", &token)],
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["cache-control"], "no-store");
    assert_eq!(body["active"], true);
    assert_eq!(body["client_id"], client.client_id.as_str());
    assert_eq!(body["scope"], "read");
    assert_eq!(body["key_type"], "PRODUCTION");
    assert_eq!(body["application"]["name"], "Wallet");
    assert_eq!(
        body["subscriptions"],
        json!([{ "context": "/payments", "resource": format!("{}/payments", app.address), "tier": "Gold", "api": "Payments", "version": "1.0.0" }])
    );
    for key in ["exp", "iat", "sub", "token_type"] {
        assert!(body.get(key).is_some(), "{key}");
    }

    let (_, body, _) = post_json(
        &app,
        "/oauth2/introspect",
        Some(&basic(&stranger)),
        &[("token", &token)],
    )
    .await;
    assert_eq!(body, json!({ "active": false }), "another client's token");
    let (_, body, _) = post_json(
        &app,
        "/oauth2/introspect",
        Some(&basic(&gateway)),
        &[("token", &token)],
    )
    .await;
    assert_eq!(body["active"], true, "a gateway sees every token");

    let (status, _, headers) =
        post_json(&app, "/oauth2/introspect", None, &[("token", &token)]).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "no client authentication");
    assert!(headers.contains_key("www-authenticate"));

    let now = portico::db::now();
    let good_claims = json!({ "iss": app.address, "sub": client.client_id, "aud": client.client_id, "exp": now + 600, "iat": now, "jti": "j1", "client_id": client.client_id, "scope": "x" });
    let assert_inactive = |case: &'static str, token: String| {
        let auth = basic(&client);
        let app = &app;
        async move {
            let (status, body, _) =
                post_json(app, "/oauth2/introspect", Some(&auth), &[("token", &token)]).await;
            assert_eq!(status, StatusCode::OK, "{case}");
            assert_eq!(body, json!({ "active": false }), "{case}");
        }
    };
    assert!(forge(&app, &good_claims).split('.').count() == 3);
    let (_, body, _) = post_json(
        &app,
        "/oauth2/introspect",
        Some(&basic(&client)),
        &[("token", &forge(&app, &good_claims))],
    )
    .await;
    assert_eq!(
        body["active"], true,
        "the forging helper signs like the server"
    );

    let parts: Vec<&str> = token.split('.').collect();
    let header: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[0]).unwrap()).unwrap();
    let mut claims: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
    let none_header = URL_SAFE_NO_PAD
        .encode(json!({ "alg": "none", "typ": "at+jwt", "kid": header["kid"] }).to_string());
    assert_inactive("alg none", format!("{none_header}.{}.", parts[1])).await;
    let jwks: Value = http().get(app.url("/oauth2/jwks")).fetch_json().await;
    let hs_header = json!({ "alg": "HS256", "typ": "at+jwt", "kid": header["kid"] });
    let hs_input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(hs_header.to_string()),
        parts[1]
    );
    let hs_key =
        aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, jwks.to_string().as_bytes());
    let hs_sig = URL_SAFE_NO_PAD.encode(aws_lc_rs::hmac::sign(&hs_key, hs_input.as_bytes()));
    assert_inactive("HS256 with the public key", format!("{hs_input}.{hs_sig}")).await;
    claims["scope"] = json!("admin");
    assert_inactive(
        "tampered payload",
        format!(
            "{}.{}.{}",
            parts[0],
            URL_SAFE_NO_PAD.encode(claims.to_string()),
            parts[2]
        ),
    )
    .await;
    let unknown_kid = URL_SAFE_NO_PAD
        .encode(json!({ "alg": "ES256", "typ": "at+jwt", "kid": "unknown" }).to_string());
    assert_inactive(
        "unknown kid",
        format!("{unknown_kid}.{}.{}", parts[1], parts[2]),
    )
    .await;
    let mut expired = good_claims.clone();
    expired["exp"] = json!(now - 1);
    assert_inactive("expired", forge(&app, &expired)).await;
    let mut wrong_aud = good_claims.clone();
    wrong_aud["aud"] = json!("someone-else");
    assert_inactive("wrong aud", forge(&app, &wrong_aud)).await;
    let mut wrong_iss = good_claims.clone();
    wrong_iss["iss"] = json!("https://evil.example");
    assert_inactive("wrong iss", forge(&app, &wrong_iss)).await;
    assert_inactive("garbage", "garbage".into()).await;
    assert_inactive("three dots of garbage", "a.b.c".into()).await;
    // No token at all is a malformed request, not an inactive token (RFC 7662 §2.1).
    let auth = basic(&client);
    let answer = post_json(&app, "/oauth2/introspect", Some(&auth), &[("token", "")]).await;
    assert_oauth_error((answer.0, answer.1), "invalid_request", "empty token");
}

#[actix_web::test]
async fn revocation_denies_the_token_and_leaves_other_clients_alone() {
    // A fixed public URL, so that the restart keeps the issuer and only the deny-list decides.
    let fixed = [("PORTICO_PUBLIC_URL", "http://portal.test")];
    let app = spawn_app_with(&fixed).await;
    let client = app.register_client(ClientSpec::default());
    let other = app.register_client(ClientSpec::default());
    let token = client_credentials_token(&app, &client, None).await;

    // Another client's revocation is refused (RFC 7009 §2.1), and the token stays active.
    let refused = revoke(&app, Some(&other), &[("token", &token)]).await;
    assert_oauth_error(refused, "invalid_grant", "another client's token");
    assert_eq!(active(&app, &client, &token).await, true);
    let (status, _) = revoke(&app, Some(&client), &[("token", "never-issued")]).await;
    assert_eq!(status, StatusCode::OK, "unknown tokens get 200");
    let (status, _) = revoke(&app, None, &[("token", &token)]).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    let (status, _) = revoke(&app, Some(&client), &[("token", &token)]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(active(&app, &client, &token).await, false);
    assert_eq!(app.count("SELECT COUNT(*) FROM revoked_tokens"), 1);
    // The database is the truth: a restarted Portico still denies it (and accepts the others).
    let app = restart(app, &fixed).await;
    let fresh = client_credentials_token(&app, &client, None).await;
    let (_, body, _) = post_json(
        &app,
        "/oauth2/introspect",
        Some(&basic(&client)),
        &[("token", &fresh)],
    )
    .await;
    assert_eq!(body["active"], true);
    let (_, body, _) = post_json(
        &app,
        "/oauth2/introspect",
        Some(&basic(&client)),
        &[("token", &token)],
    )
    .await;
    assert_eq!(body, json!({ "active": false }));

    // Revoking a refresh token ends its family and the access tokens it issued.
    let person = app.tpp("revoker").await;
    let code = code_for(&app, &person, &client, "openid").await;
    let (_, tokens) = exchange(&app, &client, &code, VERIFIER).await;
    let refresh = tokens["refresh_token"].as_str().unwrap();
    let (_, body, _) = post_json(
        &app,
        "/oauth2/introspect",
        Some(&basic(&client)),
        &[("token", refresh)],
    )
    .await;
    assert_eq!(
        (body["active"].as_bool(), body["token_type"].as_str()),
        (Some(true), Some("refresh_token"))
    );
    revoke(&app, Some(&client), &[("token", refresh)]).await;
    for token in [refresh, tokens["access_token"].as_str().unwrap()] {
        let (_, body, _) = post_json(
            &app,
            "/oauth2/introspect",
            Some(&basic(&client)),
            &[("token", token)],
        )
        .await;
        assert_eq!(body, json!({ "active": false }));
    }
}

#[actix_web::test]
async fn a_person_sees_and_withdraws_their_consents() {
    let (app, _, client) = app_with_client().await;
    let person = app.tpp("consenter").await;
    let code = code_for(&app, &person, &client, "openid email").await;
    let (_, tokens) = exchange(&app, &client, &code, VERIFIER).await;
    let (_, page) = person.page("/account/consents").await;
    assert!(page.contains("Wallet") && page.contains("openid email"));
    let id = app.count("SELECT id AS n FROM consents");

    let intruder = app.tpp("other-person").await;
    assert_eq!(
        intruder
            .post_status(&format!("/account/consents/{id}/revoke"), &[])
            .await,
        StatusCode::NOT_FOUND
    );
    assert_eq!(app.count("SELECT COUNT(*) FROM consents"), 1);

    person
        .post_ok(&format!("/account/consents/{id}/revoke"), &[])
        .await;
    let (_, page) = person.page("/account/consents").await;
    assert!(page.contains("Permission withdrawn") && page.contains("No authorized applications"));
    let (_, body, _) = post_json(
        &app,
        "/oauth2/introspect",
        Some(&basic(&client)),
        &[("token", tokens["refresh_token"].as_str().unwrap())],
    )
    .await;
    assert_eq!(
        body,
        json!({ "active": false }),
        "withdrawing revokes the application's tokens"
    );
}

#[actix_web::test]
async fn every_signing_algorithm_verifies_against_the_jwks() {
    for algorithm in ["RS256", "PS256", "EdDSA", "ES256"] {
        let app = spawn_app_with(&[("PORTICO_SIGNING_ALGORITHM", algorithm)]).await;
        let client = app.register_client(ClientSpec::default());
        let token = client_credentials_token(&app, &client, None).await;
        let (header, _) = verify_with_jwks(&app, &token).await;
        assert_eq!(format!("{:?}", header.alg), algorithm);
        let (_, body, _) = post_json(
            &app,
            "/oauth2/introspect",
            Some(&basic(&client)),
            &[("token", &token)],
        )
        .await;
        assert_eq!(body["active"], true, "{algorithm}");
    }
}

#[actix_web::test]
async fn rotation_keeps_the_old_public_key_until_its_tokens_expire() {
    // A fixed public URL: the issuer must not change with the restart's port.
    let fixed = [("PORTICO_PUBLIC_URL", "http://portal.test")];
    let app = spawn_app_with(&fixed).await;
    let client = app.register_client(ClientSpec::default());
    let old_token = client_credentials_token(&app, &client, None).await;
    let old_kid = jsonwebtoken::decode_header(&old_token)
        .unwrap()
        .kid
        .unwrap();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_portico"))
        .arg("rotate-signing-key")
        .envs(app.db_env())
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let app = restart(app, &fixed).await;
    let new_token = client_credentials_token(&app, &client, None).await;
    let new_kid = jsonwebtoken::decode_header(&new_token)
        .unwrap()
        .kid
        .unwrap();
    assert_ne!(old_kid, new_kid);
    let kids = jwks_field(&app, "kid").await;
    assert!(kids.contains(&old_kid) && kids.contains(&new_kid));
    for token in [&old_token, &new_token] {
        verify_with_jwks(&app, token).await;
        let (_, body, _) = post_json(
            &app,
            "/oauth2/introspect",
            Some(&basic(&client)),
            &[("token", token)],
        )
        .await;
        assert_eq!(body["active"], true);
    }
    // Once every token of the old key has expired (time passing, in SQL), the key leaves the JWKS.
    app.execute(&format!(
        "UPDATE signing_keys SET publish_until = {} WHERE active = FALSE",
        epoch_now() - 1
    ));
    let app = restart(app, &fixed).await;
    let kids = jwks_field(&app, "kid").await;
    // The new ES256 key and the new RS256 key kept beside it for ID tokens.
    assert_eq!(kids.len(), 2, "{kids:?}");
    assert!(kids.contains(&new_kid) && !kids.contains(&old_kid));
}

#[actix_web::test]
async fn private_signing_keys_are_encrypted_at_rest() {
    let app = spawn_app().await;
    let blob: Vec<u8> = {
        use diesel::prelude::*;
        use portico::db::schema::signing_keys;
        signing_keys::table
            .select(signing_keys::private_key)
            .first(&mut app.db())
            .unwrap()
    };
    let parse = |der: &[u8]| {
        aws_lc_rs::signature::EcdsaKeyPair::from_pkcs8(
            &aws_lc_rs::signature::ECDSA_P256_SHA256_FIXED_SIGNING,
            der,
        )
        .is_ok()
    };
    assert!(
        !parse(&blob),
        "the stored key is not a plain PKCS#8 document"
    );
    let settings = settings_for(&app.db_url, &[]);
    let opened = portico::security::secret_box::SecretBox::new(&settings.secret_key)
        .open("signing key", &blob)
        .unwrap();
    assert!(parse(&opened));
}

#[actix_web::test]
async fn the_oauth2_crate_runs_the_whole_journey_against_portico() {
    use oauth2::basic::BasicClient;
    use oauth2::{
        AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken, IntrospectionUrl,
        PkceCodeChallenge, RedirectUrl, RefreshToken, RevocationUrl, Scope, StandardRevocableToken,
        TokenIntrospectionResponse, TokenResponse, TokenUrl,
    };
    let (app, _, registered) = app_with_client().await;
    let http_client = http();

    // Discovery.
    let doc: Value = http_client
        .get(app.url("/.well-known/oauth-authorization-server"))
        .fetch_json()
        .await;
    let endpoint = |key: &str| doc[key].as_str().unwrap().to_string();
    let client = BasicClient::new(ClientId::new(registered.client_id.clone()))
        .set_client_secret(ClientSecret::new(registered.secret.clone().unwrap()))
        .set_auth_uri(AuthUrl::new(endpoint("authorization_endpoint")).unwrap())
        .set_token_uri(TokenUrl::new(endpoint("token_endpoint")).unwrap())
        .set_introspection_url(IntrospectionUrl::new(endpoint("introspection_endpoint")).unwrap())
        .set_revocation_url(RevocationUrl::new(endpoint("revocation_endpoint")).unwrap())
        .set_redirect_uri(RedirectUrl::new(CALLBACK.into()).unwrap());

    // client_credentials.
    let token = client
        .exchange_client_credentials()
        .add_scope(Scope::new("read".into()))
        .request_async(&http_client)
        .await
        .unwrap();
    assert_eq!(token.scopes().unwrap()[0].as_str(), "read");

    // Code + PKCE through a real browser session.
    let (pkce_challenge, pkce_verifier) = PkceCodeChallenge::new_random_sha256();
    let (authorize_url, state) = client
        .authorize_url(CsrfToken::new_random)
        .add_scope(Scope::new("openid".into()))
        .set_pkce_challenge(pkce_challenge)
        .url();
    let person = app.tpp("interop").await;
    let path = format!(
        "{}?{}",
        authorize_url.path(),
        authorize_url.query().unwrap()
    );
    let query: Vec<(String, String)> = authorize_url
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let query_refs: Vec<(&str, &str)> = query
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    assert!(path.starts_with("/oauth2/authorize"));
    let pairs = authorize(&app, &person, &query_refs).await;
    assert_eq!(pair(&pairs, "state"), Some(state.secret().as_str()));
    let code = pair(&pairs, "code").unwrap().to_string();
    let tokens = client
        .exchange_code(AuthorizationCode::new(code))
        .set_pkce_verifier(pkce_verifier)
        .request_async(&http_client)
        .await
        .unwrap();
    let refresh = tokens.refresh_token().unwrap().clone();

    // Refresh (rotation).
    let refreshed = client
        .exchange_refresh_token(&RefreshToken::new(refresh.secret().clone()))
        .request_async(&http_client)
        .await
        .unwrap();
    assert_ne!(
        refreshed.refresh_token().unwrap().secret(),
        refresh.secret()
    );

    // Introspect.
    let introspection = client
        .introspect(refreshed.access_token())
        .request_async(&http_client)
        .await
        .unwrap();
    assert!(introspection.active());
    assert_eq!(
        introspection.client_id().unwrap().as_str(),
        registered.client_id
    );

    // Revoke, then introspect again. The oauth2 crate revokes only over https (RFC 7009 §2
    // requires TLS), so on loopback http the revocation request is sent as it would send it.
    let revocable: StandardRevocableToken = refreshed.access_token().into();
    assert!(matches!(
        client.revoke_token(revocable),
        Err(oauth2::ConfigurationError::InsecureUrl(_))
    ));
    let response = http_client
        .post(endpoint("revocation_endpoint"))
        .basic_auth(&registered.client_id, registered.secret.as_ref())
        .form(&[
            ("token", refreshed.access_token().secret().as_str()),
            ("token_type_hint", "access_token"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let introspection = client
        .introspect(refreshed.access_token())
        .request_async(&http_client)
        .await
        .unwrap();
    assert!(!introspection.active());
}

#[actix_web::test]
async fn an_admin_registers_a_gateway_that_introspects_any_token() {
    let app = spawn_app().await;
    let client = app.register_client(ClientSpec::default());
    let token = client_credentials_token(&app, &client, None).await;
    let admin = app.admin().await;

    let response = admin.post("/admin/gateways", &[("name", "  ")]).await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        field_errors(&response.text().await.unwrap())
            .iter()
            .any(|e| e.contains("Name is required"))
    );

    let response = admin
        .post("/admin/gateways", &[("name", "Edge gateway")])
        .await;
    let page = crate::results::shown_after(&admin, response).await;
    let gateway = TestClient {
        client_id: data_field(&page, "client_id").unwrap(),
        secret: data_field(&page, "client_secret"),
    };
    let secret = gateway.secret.clone().unwrap();
    let (_, body, _) = post_json(
        &app,
        "/oauth2/introspect",
        Some(&basic(&gateway)),
        &[("token", &token)],
    )
    .await;
    assert_eq!(body["active"], true);
    assert_eq!(body["client_id"], client.client_id.as_str());

    let (_, list) = admin.page("/admin/gateways").await;
    assert!(list.contains("Edge gateway") && list.contains(&gateway.client_id));
    assert!(!list.contains(&secret), "the secret is shown only once");

    let id = app.count("SELECT id AS n FROM oauth_clients WHERE resource_server = TRUE");
    admin
        .post_ok(&format!("/admin/gateways/{id}/delete"), &[])
        .await;
    let (status, _, _) = post_json(
        &app,
        "/oauth2/introspect",
        Some(&basic(&gateway)),
        &[("token", &token)],
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let ordinary = app.count("SELECT id AS n FROM oauth_clients");
    assert_eq!(
        admin
            .post_status(&format!("/admin/gateways/{ordinary}/delete"), &[])
            .await,
        StatusCode::NOT_FOUND,
        "only gateways can be removed here"
    );
}

#[actix_web::test]
async fn tokens_of_a_deleted_client_are_no_longer_active() {
    let app = spawn_app().await;
    let client = app.register_client(ClientSpec::default());
    let gateway = app.register_client(ClientSpec {
        resource_server: true,
        grants: &[],
        ..Default::default()
    });
    let token = client_credentials_token(&app, &client, None).await;
    let (_, body, _) = post_json(
        &app,
        "/oauth2/introspect",
        Some(&basic(&gateway)),
        &[("token", &token)],
    )
    .await;
    assert_eq!(body["active"], true);
    // Removed behind Portico's back (as another process would): seen once the client cache's
    // entry is older than its TTL. Removal through the portal empties the cache at once.
    portico::oauth_server::clients::OAuthClient::delete(&mut app.db(), &client.client_id).unwrap();
    actix_web::rt::time::sleep(portico::oauth_server::client_cache::TTL).await;
    let (_, body, _) = post_json(
        &app,
        "/oauth2/introspect",
        Some(&basic(&gateway)),
        &[("token", &token)],
    )
    .await;
    assert_eq!(
        body,
        json!({ "active": false }),
        "removed keys take their tokens with them"
    );
}
