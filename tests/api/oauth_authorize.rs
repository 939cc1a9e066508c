//! The authorization endpoint is no open redirector (SECURITY.md row 40, RFC 9700 §4.11.2):
//! every kind of bad parameter, for an anonymous visitor and for a signed-in person. Before the
//! client and its callback are both proven, a page with no way to the callback; after, a page
//! whose link the person may follow back. The browser goes to a callback on its own only with
//! a code, after the person clicked Allow or Deny, or with the answer `prompt=none` asks for.

use reqwest::StatusCode;
use scraper::{Html, Selector};

use crate::helpers::*;
use crate::oauth::{CALLBACK, VERIFIER, authorize, challenge};

/// The href of the page's "Return to the application" link.
pub(crate) fn return_link(html: &str) -> Option<String> {
    let document = Html::parse_document(html);
    let selector = Selector::parse("a[data-field=return_url]").expect("a selector");
    document
        .select(&selector)
        .next()
        .and_then(|a| a.value().attr("href"))
        .map(str::to_string)
}

/// An authorization request's query.
type Query<'a> = Vec<(&'a str, String)>;

/// What a bad request must show.
#[derive(Clone, Copy)]
enum Expect {
    /// An error page with no link to any callback.
    Page,
    /// A page linking back to `callback` with `error`, and `state=keep` unless the state was
    /// what was wrong.
    Return {
        callback: &'static str,
        error: &'static str,
        state: bool,
    },
}

fn back(error: &'static str) -> Expect {
    Expect::Return {
        callback: CALLBACK,
        error,
        state: true,
    }
}

/// `query` with `name` set to `value` (added, or replaced), or removed when `value` is None.
fn set<'a>(
    query: &[(&'a str, String)],
    name: &'a str,
    value: Option<&str>,
) -> Vec<(&'a str, String)> {
    let mut query: Vec<(&str, String)> =
        query.iter().filter(|(k, _)| *k != name).cloned().collect();
    if let Some(value) = value {
        query.push((name, value.to_string()));
    }
    query
}

#[actix_web::test]
async fn no_bad_authorization_request_sends_anyone_to_a_callback_on_its_own() {
    let app = spawn_app().await;
    let client = app.register_client(ClientSpec::default());
    let evil = app.register_client(ClientSpec {
        redirect_uris: &["https://evil.example/"],
        ..Default::default()
    });
    let two_callbacks = app.register_client(ClientSpec {
        redirect_uris: &[CALLBACK, "https://client.example/other"],
        ..Default::default()
    });
    let no_code_grant = app.register_client(ClientSpec {
        grants: &["client_credentials"],
        ..Default::default()
    });
    let public = app.register_client(ClientSpec {
        public: true,
        pkce_mandatory: false,
        ..Default::default()
    });
    let good: Vec<(&str, String)> = [
        ("response_type", "code"),
        ("client_id", client.client_id.as_str()),
        ("redirect_uri", CALLBACK),
        ("code_challenge", challenge(VERIFIER).as_str()),
        ("code_challenge_method", "S256"),
        ("state", "keep"),
    ]
    .iter()
    .map(|(k, v)| (*k, v.to_string()))
    .collect();
    let evil_request = set(
        &set(&good, "client_id", Some(&evil.client_id)),
        "redirect_uri",
        Some("https://evil.example/"),
    );
    let no_pkce = set(
        &set(&good, "code_challenge", None),
        "code_challenge_method",
        None,
    );
    let bad_chars = format!("{}+", "a".repeat(42));
    let (long_challenge, short_challenge) = ("a".repeat(129), "a".repeat(42));
    let (long_scope, long_state) = ("s".repeat(1001), "s".repeat(1025));
    #[rustfmt::skip]
    let cases: Vec<(&str, Query, Expect)> = vec![
        // The client or its callback is not proven: a page, whoever asks.
        ("unknown client", set(&good, "client_id", Some("nobody")), Expect::Page),
        ("no client_id", set(&good, "client_id", None), Expect::Page),
        ("unregistered redirect_uri", set(&good, "redirect_uri", Some("https://evil.example/cb")), Expect::Page),
        ("redirect_uri with a longer path", set(&good, "redirect_uri", Some("https://client.example/callback/x")), Expect::Page),
        ("redirect_uri with a query added", set(&good, "redirect_uri", Some("https://client.example/callback?x=1")), Expect::Page),
        ("redirect_uri in other case", set(&good, "redirect_uri", Some("https://CLIENT.example/callback")), Expect::Page),
        ("no redirect_uri, two registered", set(&set(&good, "client_id", Some(&two_callbacks.client_id)), "redirect_uri", None), Expect::Page),
        ("another client's redirect_uri", set(&evil_request, "redirect_uri", Some(CALLBACK)), Expect::Page),
        // Proven client and callback: a page with a link back, never a redirect.
        ("the issue's response_type=x to evil.example", set(&evil_request, "response_type", Some("x")),
            Expect::Return { callback: "https://evil.example/", error: "unsupported_response_type", state: true }),
        ("response_type=x", set(&good, "response_type", Some("x")), back("unsupported_response_type")),
        ("response_type=token", set(&good, "response_type", Some("token")), back("unsupported_response_type")),
        ("no response_type", set(&good, "response_type", None), back("unsupported_response_type")),
        ("client without the code grant", set(&good, "client_id", Some(&no_code_grant.client_id)), back("unauthorized_client")),
        ("scope with a backslash", set(&good, "scope", Some("read a\\b")), back("invalid_scope")),
        ("scope with a quote", set(&good, "scope", Some("\"read\"")), back("invalid_scope")),
        ("scope too long", set(&good, "scope", Some(&long_scope)), back("invalid_scope")),
        ("no PKCE where required", no_pkce.clone(), back("invalid_request")),
        ("public client without PKCE", set(&no_pkce, "client_id", Some(&public.client_id)), back("invalid_request")),
        ("method without a challenge", set(&no_pkce, "code_challenge_method", Some("S256")), back("invalid_request")),
        ("plain not allowed", set(&set(&good, "code_challenge", Some(VERIFIER)), "code_challenge_method", Some("plain")), back("invalid_request")),
        ("plain by default not allowed", set(&set(&good, "code_challenge", Some(VERIFIER)), "code_challenge_method", None), back("invalid_request")),
        ("unknown method", set(&good, "code_challenge_method", Some("S512")), back("invalid_request")),
        ("challenge of 129 characters", set(&good, "code_challenge", Some(&long_challenge)), back("invalid_request")),
        ("challenge of 42 characters", set(&good, "code_challenge", Some(&short_challenge)), back("invalid_request")),
        ("challenge with a bad character", set(&good, "code_challenge", Some(&bad_chars)), back("invalid_request")),
        ("state too long", set(&good, "state", Some(&long_state)),
            Expect::Return { callback: CALLBACK, error: "invalid_request", state: false }),
        ("prompt=none consent", set(&good, "prompt", Some("none consent")), back("invalid_request")),
        ("prompt=none login", set(&good, "prompt", Some("none login")), back("invalid_request")),
        ("an unknown prompt value", set(&good, "prompt", Some("create")), back("invalid_request")),
        ("max_age not a number", set(&good, "max_age", Some("ten")), back("invalid_request")),
        ("a negative max_age", set(&good, "max_age", Some("-1")), back("invalid_request")),
        ("a request object", set(&good, "request", Some("eyJhbGciOiJub25lIn0.e30.")), back("request_not_supported")),
        ("a request_uri", set(&good, "request_uri", Some("https://client.example/r/1")), back("request_uri_not_supported")),
    ];
    let anonymous = app.browser();
    let signed_in = app.tpp("person").await;
    // prompt=none cannot be answered silently: asked to sign in, or not yet consented.
    let silent = set(&good, "prompt", Some("none"));
    let mut runs: Vec<(String, &Browser, Query, Expect)> = Vec::new();
    for (case, query, expect) in &cases {
        runs.push((
            format!("{case}, anonymous"),
            &anonymous,
            query.clone(),
            *expect,
        ));
        runs.push((
            format!("{case}, signed in"),
            &signed_in,
            query.clone(),
            *expect,
        ));
    }

    for (case, browser, query, expect) in &runs {
        let url = format!(
            "/oauth2/authorize?{}",
            serde_urlencoded::to_string(query).unwrap()
        );
        let response = browser.get(&url).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{case}");
        assert!(response.headers().get("location").is_none(), "{case}");
        let page = response.text().await.unwrap();
        let link = return_link(&page);
        match expect {
            Expect::Page => assert_eq!(link, None, "{case}"),
            Expect::Return {
                callback,
                error,
                state,
            } => {
                let link = link.unwrap_or_else(|| panic!("{case}: no link back"));
                let target = url::Url::parse(&link).unwrap();
                let pairs: Vec<(String, String)> = target.query_pairs().into_owned().collect();
                assert!(link.starts_with(callback), "{case}: {link}");
                assert!(
                    pairs.contains(&("error".into(), error.to_string())),
                    "{case}: {link}"
                );
                assert!(
                    pairs.contains(&("iss".into(), app.address.clone())),
                    "{case}: RFC 9207's iss: {link}"
                );
                assert_eq!(
                    pairs.iter().any(|(k, v)| k == "state" && v == "keep"),
                    *state,
                    "{case}: {link}"
                );
                assert!(!pairs.iter().any(|(k, _)| k == "code"), "{case}");
                assert!(page.contains(error), "{case}: the page names the error");
            }
        }
    }
    // prompt=none that cannot be answered silently: the error goes to the callback at once.
    for (who, browser, error) in [
        ("anonymous", &anonymous, "login_required"),
        ("signed in", &signed_in, "consent_required"),
    ] {
        let url = format!(
            "/oauth2/authorize?{}",
            serde_urlencoded::to_string(&silent).unwrap()
        );
        let response = browser.get(&url).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "{who}");
        let target = url::Url::parse(&location(&response)).unwrap();
        let pairs: Vec<(String, String)> = target.query_pairs().into_owned().collect();
        assert!(target.as_str().starts_with(CALLBACK), "{who}: {target}");
        for (name, value) in [("error", error), ("state", "keep"), ("iss", &app.address)] {
            assert!(
                pairs.contains(&(name.into(), value.to_string())),
                "{who}: {target}"
            );
        }
    }
    assert_eq!(
        app.count("SELECT COUNT(*) FROM authorization_codes")
            + app.count("SELECT COUNT(*) FROM consents"),
        0,
        "no bad request made a code or a consent"
    );

    // The good request: an anonymous visitor signs in first, a signed-in person is asked.
    let url = format!(
        "/oauth2/authorize?{}",
        serde_urlencoded::to_string(&good).unwrap()
    );
    let response = anonymous.get(&url).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert!(location(&response).starts_with("/login?next="));
    let (status, page) = signed_in.page(&url).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("name=\"decision\" value=\"approve\""));
    // Once consented, prompt=none answers silently with a code, and prompt=consent asks again.
    let query: Vec<(&str, &str)> = good.iter().map(|(k, v)| (*k, v.as_str())).collect();
    authorize(&app, &signed_in, &query).await;
    let url = format!(
        "/oauth2/authorize?{}",
        serde_urlencoded::to_string(&silent).unwrap()
    );
    let response = signed_in.get(&url).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert!(location(&response).starts_with(&format!("{CALLBACK}?code=")));
    let url = format!(
        "/oauth2/authorize?{}",
        serde_urlencoded::to_string(set(&good, "prompt", Some("consent"))).unwrap()
    );
    let (status, page) = signed_in.page(&url).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("name=\"decision\" value=\"approve\""));
}

#[actix_web::test]
async fn an_application_of_a_suspended_organisation_cannot_ask_for_access() {
    let app = spawn_app().await;
    let (_, application_id) = crate::oauth::application(&app).await;
    let client = app.register_client(ClientSpec {
        application_id: Some(application_id),
        ..Default::default()
    });
    let person = app.tpp("person").await;
    let query = serde_urlencoded::to_string([
        ("response_type", "code"),
        ("client_id", client.client_id.as_str()),
        ("redirect_uri", CALLBACK),
        ("code_challenge", challenge(VERIFIER).as_str()),
        ("code_challenge_method", "S256"),
    ])
    .unwrap();
    let url = format!("/oauth2/authorize?{query}");
    let admin = app.admin().await;
    let organisation = app.organisation_of("owner");
    admin
        .post_ok(&format!("/admin/organisations/{organisation}/suspend"), &[])
        .await;
    for browser in [&person, &app.browser()] {
        let response = browser.get(&url).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        let page = response.text().await.unwrap();
        assert_eq!(return_link(&page), None);
        assert!(page.contains("not available"), "{page}");
    }
}
