//! Brute force against lockout abuse (SECURITY.md rows 6, 7, 38, 39): sign-in attempts counted
//! before the password check even when they race, an attacker unable to keep the administrator
//! out, `trusted_proxies` deciding whose forwarded address is believed, sign-up floods cut off
//! per address, sign-ups and sign-ins in the audit trail, and HSTS for an https public URL.

use std::time::{Duration, Instant};

use portico::config::{FileSettings, Settings};
use reqwest::StatusCode;
use reqwest::header::{HeaderMap, HeaderValue};

use crate::helpers::*;
use crate::process::Portico;

/// A browser whose requests reach Portico through a reverse proxy at 127.0.0.1 that writes
/// `X-Forwarded-For: <chain>`.
fn behind_proxy(app: &TestApp, chain: &str) -> Browser {
    let mut headers = HeaderMap::new();
    headers.insert("x-forwarded-for", HeaderValue::from_str(chain).unwrap());
    Browser {
        address: app.address.clone(),
        client: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .cookie_store(true)
            .default_headers(headers)
            .build()
            .expect("a client"),
    }
}

fn audit_count(app: &TestApp, action: &str, summary_like: &str) -> i64 {
    app.count(&format!(
        "SELECT COUNT(*) FROM audit_events WHERE action = '{action}' AND summary LIKE '{summary_like}'"
    ))
}

#[actix_web::test]
async fn simultaneous_sign_in_attempts_check_at_most_five_passwords() {
    let app = spawn_app().await;
    app.browser().sign_up("racer").await;
    // Every attacker session holds its token first, so that the 60 POSTs really race.
    let mut attackers = Vec::new();
    for _ in 0..60 {
        let browser = app.browser();
        let token = browser.csrf_token().await;
        attackers.push((browser, token));
    }
    let attempts = attackers.iter().map(|(browser, token)| async move {
        let fields = [
            ("username", "racer"),
            ("password", "a wrong guess at it"),
            ("csrf_token", token.as_str()),
        ];
        browser.post_raw("/login", &fields).await
    });
    let statuses: Vec<StatusCode> = futures_util::future::join_all(attempts)
        .await
        .iter()
        .map(|r| r.status())
        .collect();
    let checked = statuses
        .iter()
        .filter(|s| **s == StatusCode::UNPROCESSABLE_ENTITY)
        .count();
    let refused = statuses
        .iter()
        .filter(|s| **s == StatusCode::TOO_MANY_REQUESTS)
        .count();
    assert_eq!(checked + refused, 60, "{statuses:?}");
    assert_eq!(checked, 5, "the rule is 5 password checks per 15 minutes");
    // The audit trail agrees: five failed password checks, one throttle started.
    assert_eq!(
        audit_count(&app, "sign_in_failed", "%racer from 127.0.0.1"),
        5
    );
    assert_eq!(
        audit_count(&app, "sign_in_throttled", "%racer from 127.0.0.1%"),
        1
    );
    assert_eq!(
        app.browser().sign_in("racer", PASSWORD).await.status(),
        StatusCode::TOO_MANY_REQUESTS,
        "the owner at the attacker's address waits like the attacker"
    );
}

#[actix_web::test]
async fn an_attacker_cannot_keep_the_administrator_out() {
    let app = spawn_app_with(&[("PORTICO_TRUSTED_PROXIES", "127.0.0.1")]).await;
    let attacker = behind_proxy(&app, "203.0.113.66");
    for attempt in 0..7 {
        let expected = if attempt < 5 {
            StatusCode::UNPROCESSABLE_ENTITY
        } else {
            StatusCode::TOO_MANY_REQUESTS
        };
        let response = attacker.sign_in(ADMIN, "guessing the admin").await;
        assert_eq!(response.status(), expected, "attempt {attempt}");
    }
    // The real administrator, elsewhere, is not locked out.
    let admin = behind_proxy(&app, "198.51.100.7");
    assert_eq!(
        admin.sign_in(ADMIN, ADMIN_PASSWORD).await.status(),
        StatusCode::SEE_OTHER
    );
    assert!(admin.is_signed_in().await);
    // From two more addresses the attacker reaches ten failures: the account slows down for
    // addresses it is not known at...
    for address in ["203.0.113.67", "203.0.113.68"] {
        let attacker = behind_proxy(&app, address);
        for _ in 0..5 {
            attacker.sign_in(ADMIN, "guessing the admin").await;
        }
    }
    let stranger = behind_proxy(&app, "192.0.2.50");
    assert_eq!(
        stranger.sign_in(ADMIN, ADMIN_PASSWORD).await.status(),
        StatusCode::TOO_MANY_REQUESTS
    );
    // ...but the administrator's known address still lets them in, with the right password.
    let again = behind_proxy(&app, "198.51.100.7");
    assert_eq!(
        again.sign_in(ADMIN, "not the password").await.status(),
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert_eq!(
        again.sign_in(ADMIN, ADMIN_PASSWORD).await.status(),
        StatusCode::SEE_OTHER
    );
}

#[actix_web::test]
async fn forwarded_addresses_from_an_untrusted_peer_are_ignored() {
    // A proxy range is configured, but the test's connection (127.0.0.1) is not in it.
    let app = spawn_app_with(&[("PORTICO_TRUSTED_PROXIES", "10.0.0.0/8, fd00::/8")]).await;
    app.browser().sign_up("victim").await;
    for i in 0..20 {
        let spoofer = behind_proxy(&app, &format!("198.51.100.{i}"));
        let response = spoofer.sign_in(&format!("spray{i}"), "guess guess").await;
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    }
    // All twenty counted against the real peer address, whatever the header said.
    let fresh = behind_proxy(&app, "198.51.100.200");
    assert_eq!(
        fresh.sign_in("victim", PASSWORD).await.status(),
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_eq!(audit_count(&app, "sign_in_failed", "%from 127.0.0.1"), 20);
    assert_eq!(audit_count(&app, "sign_in_failed", "%198.51.100.%"), 0);
}

#[actix_web::test]
async fn behind_a_trusted_proxy_one_clients_failures_do_not_lock_another() {
    let app = spawn_app_with(&[("PORTICO_TRUSTED_PROXIES", "127.0.0.0/8")]).await;
    app.browser().sign_up("neighbour").await;
    // The left part of the chain is the client's own invention and changes every time; the
    // right-most untrusted address (what the proxy saw) is what counts.
    for i in 0..20 {
        let client = behind_proxy(&app, &format!("10.9.9.{i}, 203.0.113.5, 127.0.0.2"));
        let response = client.sign_in(&format!("spray{i}"), "guess guess").await;
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY, "{i}");
    }
    let same = behind_proxy(&app, "203.0.113.5");
    assert_eq!(
        same.sign_in("neighbour", PASSWORD).await.status(),
        StatusCode::TOO_MANY_REQUESTS
    );
    let other = behind_proxy(&app, "203.0.113.6");
    assert_eq!(
        other.sign_in("neighbour", PASSWORD).await.status(),
        StatusCode::SEE_OTHER
    );
    assert_eq!(audit_count(&app, "sign_in_failed", "%from 203.0.113.5"), 20);
    assert_eq!(
        audit_count(&app, "sign_in", "Signed in from 203.0.113.6"),
        1
    );
    assert_eq!(
        app.count(
            "SELECT COUNT(*) FROM login_throttles WHERE throttle_key = 'address:203.0.113.5' AND locked_until IS NOT NULL"
        ),
        1
    );
}

#[actix_web::test]
async fn a_bad_trusted_proxies_value_stops_the_start_naming_the_setting() {
    for bad in [
        "10.0.0.0/33",
        "proxy.internal",
        "10.0.0.1/8",
        "10.0.0.0/8;192.0.2.1",
    ] {
        let error = Settings::resolve(FileSettings::default(), |name| match name {
            "PORTICO_TRUSTED_PROXIES" => Some(bad.to_string()),
            "PORTICO_SECRET_KEY" => Some("ab".repeat(32)),
            _ => None,
        })
        .err()
        .unwrap_or_else(|| panic!("{bad} was accepted"))
        .to_string();
        assert!(
            error.contains("PORTICO_TRUSTED_PROXIES (trusted_proxies)"),
            "{error}"
        );
    }
    let file = Settings::parse_file("trusted_proxies = [\"10.0.0.0/8\", \"::1\"]\n").unwrap();
    let settings = Settings::resolve(file, |name| {
        (name == "PORTICO_SECRET_KEY").then(|| "ab".repeat(32))
    })
    .expect("a list in the file is accepted");
    assert!(
        settings
            .trusted_proxies
            .contains("10.1.2.3".parse().unwrap())
    );
}

#[actix_web::test]
async fn the_request_log_names_the_forwarded_client() {
    let mut portico = Portico::start(&[("PORTICO_TRUSTED_PROXIES", "127.0.0.1")]);
    let proxied = behind_proxy(&portico.app, "1.2.3.4, 203.0.113.77");
    assert_eq!(proxied.get_status("/healthz").await, StatusCode::OK);
    std::thread::sleep(Duration::from_millis(300));
    portico.kill();
    let logs = portico.logs();
    assert!(logs.contains("client=203.0.113.77"), "{logs}");
    assert!(!logs.contains("1.2.3.4"));
}

#[actix_web::test]
async fn a_sign_up_flood_from_one_address_is_cut_off() {
    let app = spawn_app_with(&[("PORTICO_TRUSTED_PROXIES", "127.0.0.1")]).await;
    let mut statuses = Vec::new();
    for i in 0..40 {
        // A fresh client each time, as a script would: a signed-in session does not interfere.
        let client = behind_proxy(&app, "203.0.113.20");
        statuses.push(client.sign_up(&format!("flood{i:02}")).await.status());
    }
    let created = statuses
        .iter()
        .filter(|s| **s == StatusCode::SEE_OTHER)
        .count();
    assert_eq!(created, 30, "{statuses:?}");
    assert!(
        statuses[30..]
            .iter()
            .all(|s| *s == StatusCode::TOO_MANY_REQUESTS)
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM users WHERE username LIKE 'flood%'"),
        30
    );
    // The server still answers at once, and another address can still sign up.
    let started = Instant::now();
    assert_eq!(app.browser().get_status("/healthz").await, StatusCode::OK);
    assert!(started.elapsed() < Duration::from_secs(1));
    let other = behind_proxy(&app, "203.0.113.21");
    assert_eq!(
        other.sign_up("neighbour").await.status(),
        StatusCode::SEE_OTHER
    );
    let refused = behind_proxy(&app, "203.0.113.20");
    let response = refused.sign_up("one-more").await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    let body = response.text().await.unwrap();
    assert!(body.contains("Too many sign-ups"), "{body}");
    assert_eq!(input_value(&body, "username").as_deref(), Some("one-more"));
}

#[actix_web::test]
async fn probing_usernames_through_sign_up_costs_like_sign_in_failures() {
    let app = spawn_app_with(&[("PORTICO_TRUSTED_PROXIES", "127.0.0.1")]).await;
    app.browser().sign_up("taken").await;
    let prober = behind_proxy(&app, "203.0.113.30");
    for i in 0..20 {
        let response = prober.sign_up("taken").await;
        assert_eq!(response.status(), StatusCode::CONFLICT, "probe {i}");
    }
    // Twenty taken answers used up the address's failure budget: no more probing either way.
    assert_eq!(
        prober.sign_up("taken").await.status(),
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_eq!(
        prober.sign_in("taken", PASSWORD).await.status(),
        StatusCode::TOO_MANY_REQUESTS
    );
    let elsewhere = behind_proxy(&app, "203.0.113.31");
    assert_eq!(
        elsewhere.sign_in("taken", PASSWORD).await.status(),
        StatusCode::SEE_OTHER
    );
}

#[actix_web::test]
async fn sign_up_signs_in_and_carries_next_through() {
    let app = spawn_app().await;
    let browser = app.browser();
    let (_, login) = browser.page("/login?next=/apis%3Fq%3Dpay").await;
    assert!(
        login.contains("href=\"/signup?next=%2Fapis%3Fq%3Dpay\""),
        "{login}"
    );
    let (_, signup) = browser.page("/signup?next=/apis%3Fq%3Dpay").await;
    assert_eq!(input_value(&signup, "next").as_deref(), Some("/apis?q=pay"));
    assert!(signup.contains("href=\"/login?next=%2Fapis%3Fq%3Dpay\""));
    let before = browser.csrf_token().await;

    let fields = with_field(signup_fields("newcomer"), "next", "/apis?q=pay");
    let response = browser.post_ok("/signup", &fields).await;
    let to_login = location(&response);
    assert_eq!(to_login, "/login?next=%2Fapis%3Fq%3Dpay");
    let response = browser.get(&to_login).await;
    assert_eq!(location(&response), "/apis?q=pay");
    let (_, landing) = browser.page("/apis?q=pay").await;
    assert!(
        landing.contains("Your account is ready"),
        "the flash waits for it"
    );
    assert!(browser.is_signed_in().await, "signed in straight away");
    assert_ne!(
        browser.csrf_token().await,
        before,
        "a new session at sign-up"
    );
    assert_eq!(audit_count(&app, "sign_up", "Signed up from 127.0.0.1"), 1);

    // Only local paths are carried: anything else is dropped.
    let other = app.browser();
    let fields = with_field(signup_fields("elsewhere"), "next", "https://evil.example/");
    let response = other.post("/signup", &fields).await;
    assert_eq!(location(&response), "/login");
    assert_eq!(location(&other.get("/login").await), "/applications");
}

#[actix_web::test]
async fn with_approval_sign_up_waits_and_does_not_sign_in() {
    let app = spawn_app_with(&[("PORTICO_SIGNUP_APPROVAL", "true")]).await;
    let browser = app.browser();
    let response = browser.sign_up("patient").await;
    assert_eq!(location(&response), "/signup/pending");
    assert!(!browser.is_signed_in().await);
    assert_eq!(
        audit_count(
            &app,
            "sign_up",
            "Signed up from 127.0.0.1 (waiting for approval)"
        ),
        1
    );
}

#[actix_web::test]
async fn sign_ups_and_sign_ins_appear_in_the_admin_audit_trail() {
    let app = spawn_app().await;
    app.browser().sign_up("audited").await;
    let browser = app.browser();
    browser.sign_in("audited", "not it at all").await;
    browser.sign_in("audited", PASSWORD).await;
    for _ in 0..5 {
        app.browser().sign_in("nobody-here", "guess guess").await;
    }
    let admin = app.admin().await;
    let (_, page) = admin.page("/admin/audit").await;
    assert!(
        page.contains("<option value=\"account\""),
        "account is an object type"
    );
    for (action, text) in [
        ("sign_up", "Signed up from 127.0.0.1"),
        ("sign_in", "Signed in from 127.0.0.1"),
        (
            "sign_in_failed",
            "Failed sign-in for audited from 127.0.0.1",
        ),
        (
            "sign_in_failed",
            "Failed sign-in for an unknown username from 127.0.0.1",
        ),
        (
            "sign_in_throttled",
            "refused for 15 minutes after 5 failures",
        ),
    ] {
        let (status, page) = admin
            .page(&format!("/admin/audit?object_type=account&action={action}"))
            .await;
        assert_eq!(status, StatusCode::OK);
        assert!(page.contains(text), "{action}: {text}");
        assert!(page.contains(&format!("<option value=\"{action}\" selected")));
    }
    // The typed unknown username is never stored: it could be a password typed in the wrong box.
    assert_eq!(
        app.count("SELECT COUNT(*) FROM audit_events WHERE summary LIKE '%nobody-here%'"),
        0
    );
}

#[actix_web::test]
async fn hsts_is_sent_when_the_public_url_is_https_and_only_then() {
    let https = spawn_app_with(&[("PORTICO_PUBLIC_URL", "https://portal.example")]).await;
    // Every kind of response: pages, errors, health, static files, the authorization server.
    let paths = [
        "/",
        "/login",
        "/signup",
        "/healthz",
        "/static/css/portico.css",
        "/no-such-page",
        "/applications",
        "/oauth2/jwks",
        "/.well-known/openid-configuration",
    ];
    let hsts = |response: &reqwest::Response| {
        response
            .headers()
            .get("strict-transport-security")
            .map(|v| v.to_str().unwrap().to_string())
    };
    for path in paths {
        let response = https.browser().get(path).await;
        assert_eq!(
            hsts(&response).as_deref(),
            Some("max-age=31536000"),
            "{path}"
        );
    }
    let refused = https
        .browser()
        .post_raw("/login", &[] as &[(&str, &str)])
        .await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert!(hsts(&refused).is_some(), "a refused POST");
    let http = spawn_app().await;
    for path in paths {
        assert_eq!(hsts(&http.browser().get(path).await), None, "{path}");
    }
}
