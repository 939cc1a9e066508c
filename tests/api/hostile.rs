//! SECURITY.md rows 10, 30 and 31 for every route of the route table: hostile text in every
//! field of every form is refused or stored exactly, never a 5xx, and every page shows it
//! escaped.

use portico::startup::{Access, ROUTES};
use reqwest::StatusCode;

use crate::helpers::*;

/// Every form field name the portal's forms use.
const FIELDS: &[&str] = &[
    "name",
    "description",
    "throttling_policy",
    "application_id",
    "username",
    "email",
    "first_name",
    "last_name",
    "organization",
    "password",
    "password_confirm",
    "accept_terms",
    "reason",
    "version",
    "context",
    "tiers",
    "status",
    "level",
    "display_name",
    "request_count",
    "unit_time",
    "time_unit",
    "requires_approval",
    "openapi_document",
    "decision",
    "client_id",
    "redirect_uri",
    "scope",
    "state",
    "next",
    "key_manager",
    "grant_types",
    "callback_url",
    "consumer_key",
    "consumer_secret",
    "scopes",
    "validity_period",
    "application_certificate",
    "roles",
];

const SCRIPT: &str = "<script>alert('portico')</script>";
const ATTRIBUTE: &str = "\" onmouseover=\"alert('portico')\" x=\"";

fn payloads() -> Vec<String> {
    vec![
        SCRIPT.to_string(),
        ATTRIBUTE.to_string(),
        "right\u{202E}to left".to_string(),
        "nul\0byte".to_string(),
        "zero\u{200B}width".to_string(),
        "x".repeat(10_000),
        "'; DROP TABLE users; -- %_\\".to_string(),
    ]
}

/// Destructive routes go last, so that the others still find their objects.
fn destructive(path: &str) -> bool {
    [
        "/delete", "/lock", "/reject", "/remove", "/revoke", "/logout",
    ]
    .iter()
    .any(|s| path.ends_with(s))
}

#[actix_web::test]
async fn hostile_text_in_every_field_of_every_form_never_breaks_a_page() {
    let app = spawn_app().await;
    let api = app.publish_api("Payments", "/payments", "PUBLISHED", &["Bronze"]).await;
    let tpp = app.tpp("hostile-tpp").await;
    let application = tpp.create_application("Target").await;
    tpp.subscribe(api, application, "Bronze").await;
    let subscription = app.count("SELECT id AS n FROM subscriptions");
    let admin = app.admin().await;
    let policy = app.count("SELECT id AS n FROM throttling_policies WHERE name = '50PerMin'");
    let user = app.user_id("hostile-tpp");

    let mut posts: Vec<_> = ROUTES.iter().filter(|r| r.method == "POST").collect();
    posts.sort_by_key(|r| destructive(r.path));
    let mut tried = 0;
    for route in posts {
        let id = if route.path.starts_with("/applications") {
            application
        } else if route.path.starts_with("/apis") || route.path.starts_with("/admin/apis") {
            api
        } else if route.path.starts_with("/admin/users") {
            user
        } else if route.path.starts_with("/admin/subscriptions") {
            subscription
        } else if route.path.starts_with("/admin/throttling-policies") {
            policy
        } else {
            1
        };
        let path = fill_route_with(route.path, id, subscription, "production");
        let browser = if route.access == Access::Admin {
            &admin
        } else {
            &tpp
        };
        for payload in payloads() {
            let fields: Vec<(&str, &str)> = FIELDS.iter().map(|f| (*f, payload.as_str())).collect();
            let response = browser.post(&path, &fields).await;
            assert!(
                response.status().as_u16() < 500,
                "POST {path} answered {}",
                response.status()
            );
            tried += 1;
        }
    }
    assert!(tried >= 20 * payloads().len());
    let mut pages = 0;

    // Every page, for the TPP, the administrator and a visitor: no 5xx, nothing unescaped.
    let tpp = app.tpp("crawler").await;
    for route in ROUTES.iter().filter(|r| r.method == "GET") {
        let path = fill_route_with(
            route.path,
            if route.path.starts_with("/apis") {
                api
            } else {
                application
            },
            subscription,
            "production",
        );
        for browser in [&admin, &tpp, &app.browser()] {
            let (status, body) = browser.page(&path).await;
            assert!(status.as_u16() < 500, "GET {path} answered {status}");
            assert!(
                !body.contains("<script>alert"),
                "GET {path} shows a script unescaped"
            );
            assert!(
                !body.contains("onmouseover=\"alert"),
                "GET {path} breaks out of an attribute"
            );
            pages += 1;
        }
    }
    assert_eq!(app.browser().get("/healthz").await.status(), StatusCode::OK);
    println!(
        "hostile: {tried} POSTs ({} routes × {} payloads, each in all {} fields), no 5xx; {pages} page views escaped",
        tried / payloads().len(),
        payloads().len(),
        FIELDS.len()
    );
}
