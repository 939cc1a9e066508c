//! The API catalog, subscriptions and their approval, and the audit trail.

use reqwest::StatusCode;

use crate::helpers::*;

/// One API in each status of the lifecycle: Payments is published, Legacy deprecated, Draft
/// created and Gone retired.
fn with_every_status() -> TestAppBuilder {
    TestApp::new()
        .with_api("Payments", "/payments", &["Bronze"])
        .with_api_in("Legacy", "/legacy", "DEPRECATED", &["Bronze"])
        .with_api_in("Draft", "/draft", "CREATED", &["Bronze"])
        .with_api_in("Gone", "/gone", "RETIRED", &["Bronze"])
}

#[actix_web::test]
async fn the_catalog_lists_published_and_deprecated_apis_only() {
    let app = with_every_status().build().await;
    let (draft, retired) = (app.api("Draft"), app.api("Gone"));
    let visitor = app.browser();
    let (status, page) = visitor.page("/apis").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Payments") && page.contains("Legacy"));
    assert!(page.contains("Deprecated"));
    assert!(!page.contains("Draft") && !page.contains("Gone"));
    for id in [draft, retired] {
        assert_eq!(
            visitor.get_status(&format!("/apis/{id}")).await,
            StatusCode::NOT_FOUND
        );
    }
}

#[actix_web::test]
async fn the_catalog_searches_name_context_and_description_literally() {
    let app = spawn_app().await;
    app.publish_api("Payments", "/payments", "PUBLISHED", &["Bronze"])
        .await;
    let accounts = app
        .publish_api("Accounts", "/accounts", "PUBLISHED", &["Bronze"])
        .await;
    let admin = app.seeder().await;
    admin
        .edit_api(accounts, &[("description", "Balances with 100% accuracy")])
        .await;
    let visitor = app.browser();
    let search = |q: &'static str| {
        let visitor = &visitor;
        async move {
            let url = format!("/apis?{}", url_encode_q(q));
            visitor.page(&url).await.1
        }
    };
    let page = search("paym").await;
    assert!(page.contains("Payments") && !page.contains(">Accounts<"));
    // Whatever the case, on either backend (PostgreSQL's LIKE minds case, SQLite's does not).
    let page = search("PAYM").await;
    assert!(page.contains("Payments") && !page.contains(">Accounts<"));
    let page = search("/accounts").await;
    assert!(page.contains(">Accounts<") && !page.contains(">Payments<"));
    let page = search("accuracy").await;
    assert!(page.contains(">Accounts<"));
    // LIKE wildcards and SQL are matched as text, not as patterns or code.
    let page = search("100%").await;
    assert!(page.contains(">Accounts<") && !page.contains(">Payments<"));
    for q in ["%", "_", "' OR 1=1 --", "\\"] {
        let page = search(q).await;
        assert!(
            !page.contains(">Payments<"),
            "{q:?} must not match everything"
        );
    }
    let page = search("nothing-like-this").await;
    assert!(page.contains("No API matches"));
}

fn url_encode_q(q: &str) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .append_pair("q", q)
        .finish()
}

#[actix_web::test]
async fn the_catalog_is_paginated() {
    let app = spawn_app().await;
    for i in 0..25 {
        app.publish_api(
            &format!("Api{i:02}"),
            &format!("/api{i:02}"),
            "PUBLISHED",
            &["Bronze"],
        )
        .await;
    }
    let (_, first) = app.browser().page("/apis").await;
    assert!(first.contains("25 APIs") && first.contains("Page 1 of 2"));
    assert!(first.contains(">Api19<") && !first.contains(">Api20<"));
    let (_, second) = app.browser().page("/apis?page=2").await;
    assert!(second.contains(">Api24<") && !second.contains(">Api19<"));
}

#[actix_web::test]
async fn the_api_page_shows_operations_tiers_and_who_may_subscribe() {
    let app = spawn_app().await;
    let api = app
        .publish_api("Payments", "/payments", "PUBLISHED", &["Bronze", "Gold"])
        .await;
    let (status, page) = app.browser().page(&format!("/apis/{api}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("List items") && page.contains("/items"));
    assert!(page.contains("1000 requests per minute") && page.contains("5000 requests per minute"));
    assert!(page.contains("Sign in to subscribe"));

    let tpp = app.tpp("alice").await;
    let (_, page) = tpp.page(&format!("/apis/{api}")).await;
    assert!(
        page.contains("Create an application"),
        "a TPP without applications is told what to do"
    );
    let id = tpp.create_application("Shop").await;
    let (_, page) = tpp.page(&format!("/apis/{api}")).await;
    assert!(page.contains(&format!("<option value=\"{id}\"")));
    assert!(page.contains("<option value=\"Gold\""));
    assert!(
        !page.contains("<option value=\"Silver\""),
        "only the API's tiers are offered"
    );
}

#[actix_web::test]
async fn a_tpp_subscribes_and_unsubscribes() {
    let app = TestApp::new()
        .with_api("Payments", "/payments", &["Bronze"])
        .with_tpp("bob")
        .with_application("bob", "Shop")
        .build()
        .await;
    let (api, tpp, id) = (
        app.api("Payments"),
        app.session("bob"),
        app.application("Shop"),
    );
    let response = tpp.try_subscribe(api, &id.to_string(), "Bronze").await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        location(&response),
        format!("/applications/{id}/subscriptions")
    );
    let (_, page) = tpp.page(&location(&response)).await;
    assert!(page.contains("“Shop” is subscribed to Payments 1.0.0 under Bronze."));
    assert!(page.contains("Payments 1.0.0") && page.contains(">Active<"));

    let again = tpp.try_subscribe(api, &id.to_string(), "Bronze").await;
    assert_eq!(again.status(), StatusCode::CONFLICT);
    assert!(again.text().await.unwrap().contains("already subscribed"));
    assert_eq!(app.count("SELECT COUNT(*) FROM subscriptions"), 1);

    let sub = app.count("SELECT id AS n FROM subscriptions");
    tpp.post_ok(
        &format!("/applications/{id}/subscriptions/{sub}/delete"),
        &[],
    )
    .await;
    assert_eq!(app.count("SELECT COUNT(*) FROM subscriptions"), 0);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM audit_events WHERE action IN ('subscribe', 'unsubscribe')"),
        2
    );
}

#[actix_web::test]
async fn subscriptions_respect_tiers_and_the_lifecycle() {
    let app = with_every_status()
        .with_tpp("carol")
        .with_application("carol", "Shop")
        .build()
        .await;
    let (published, deprecated) = (app.api("Payments"), app.api("Legacy"));
    let (retired, draft) = (app.api("Gone"), app.api("Draft"));
    let (tpp, id) = (app.session("carol"), app.application("Shop").to_string());

    let response = tpp.try_subscribe(published, &id, "Gold").await;
    let body = unprocessable(response, "").await;
    assert!(
        field_errors(&body)
            .iter()
            .any(|e| e.contains("tiers this API offers"))
    );
    let refused = [
        (published, "", StatusCode::UNPROCESSABLE_ENTITY),
        (deprecated, id.as_str(), StatusCode::CONFLICT),
        (retired, id.as_str(), StatusCode::NOT_FOUND),
        (draft, id.as_str(), StatusCode::NOT_FOUND),
    ];
    for (api, application, status) in refused {
        let response = tpp.try_subscribe(api, application, "Bronze").await;
        assert_eq!(response.status(), status, "API {api}");
        if api == deprecated {
            assert!(response.text().await.unwrap().contains("deprecated"));
        }
    }
    assert_eq!(app.count("SELECT COUNT(*) FROM subscriptions"), 0);

    // A deprecated API keeps its existing subscriptions.
    tpp.subscribe(published, id.parse().unwrap(), "Bronze")
        .await;
    app.seeder().await.walk_api(published, "DEPRECATED").await;
    let (_, page) = tpp.page(&format!("/applications/{id}/subscriptions")).await;
    assert!(page.contains("Payments 1.0.0") && page.contains(">Active<"));
}

async fn on_hold_subscription(app: &TestApp) -> (Browser, String, i64) {
    app.require_approval("Gold").await;
    let api = app
        .publish_api("Premium", "/premium", "PUBLISHED", &["Gold"])
        .await;
    let tpp = app.tpp("dave").await;
    let id = tpp.create_application("Trader").await.to_string();
    let response = tpp.try_subscribe(api, &id, "Gold").await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let (_, page) = tpp.page(&location(&response)).await;
    assert!(page.contains("waiting for an administrator"));
    assert!(page.contains(">Waiting for approval<"));
    let sub = app.count("SELECT id AS n FROM subscriptions WHERE status = 'ON_HOLD'");
    (tpp, id, sub)
}

#[actix_web::test]
async fn a_tier_that_requires_approval_waits_for_an_admin_who_approves() {
    let app = spawn_app().await;
    let (tpp, id, sub) = on_hold_subscription(&app).await;
    let admin = app.admin().await;
    let (_, tasks) = admin.page("/admin/subscriptions").await;
    assert!(tasks.contains("Trader") && tasks.contains("Premium 1.0.0") && tasks.contains("dave"));
    admin
        .post_ok(&format!("/admin/subscriptions/{sub}/approve"), &[])
        .await;
    assert_eq!(
        app.text("SELECT status AS line FROM subscriptions"),
        "ACTIVE"
    );
    let (_, page) = tpp.page(&format!("/applications/{id}/subscriptions")).await;
    assert!(page.contains(">Active<"));
    let (_, tasks) = admin.page("/admin/subscriptions").await;
    assert!(tasks.contains("Nothing to decide"));
    let (_, active) = admin.page("/admin/subscriptions?status=ACTIVE").await;
    assert!(
        active.contains("Trader") && active.contains(">Active<"),
        "the administrator sees the status too"
    );
    // A decision is made once; an unknown subscription is not found.
    for (sub, status) in [(sub, StatusCode::CONFLICT), (999, StatusCode::NOT_FOUND)] {
        let approve = format!("/admin/subscriptions/{sub}/approve");
        assert_eq!(admin.post_status(&approve, &[]).await, status, "{approve}");
    }
}

#[actix_web::test]
async fn a_rejection_needs_a_reason_that_the_tpp_sees() {
    let app = spawn_app().await;
    let (tpp, id, sub) = on_hold_subscription(&app).await;
    let admin = app.admin().await;
    let before = app.snapshot();
    let response = admin
        .post(
            &format!("/admin/subscriptions/{sub}/reject"),
            &[("reason", "  ")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(response.text().await.unwrap().contains("Give the reason"));
    assert_eq!(app.snapshot(), before, "nothing written");

    let reason = "Premium access is for licensed institutions <b>only</b>";
    admin
        .post_ok(
            &format!("/admin/subscriptions/{sub}/reject"),
            &[("reason", reason)],
        )
        .await;
    let (_, page) = tpp.page(&format!("/applications/{id}/subscriptions")).await;
    assert!(page.contains(">Rejected<"));
    assert!(
        page.contains("Premium access is for licensed institutions &#60;b&#62;only&#60;/b&#62;")
            || page.contains("&lt;b&gt;only")
    );
    assert_eq!(
        app.count(
            "SELECT COUNT(*) FROM audit_events WHERE action = 'reject' AND actor_name = 'admin'"
        ),
        1
    );

    // The TPP may ask again after a rejection.
    let api = app.count("SELECT api_id AS n FROM subscriptions");
    tpp.subscribe(api, id.parse().unwrap(), "Gold").await;
    assert_eq!(
        app.text("SELECT status AS line FROM subscriptions"),
        "ON_HOLD"
    );
}

#[actix_web::test]
async fn the_audit_trail_records_and_filters_who_did_what() {
    let app = spawn_app().await;
    let (tpp, id, sub) = on_hold_subscription(&app).await;
    let admin = app.admin().await;
    admin
        .post(&format!("/admin/subscriptions/{sub}/approve"), &[])
        .await;
    tpp.post(
        &format!("/applications/{id}"),
        &[("name", "Trader Pro"), ("throttling_policy", "10PerMin")],
    )
    .await;

    let (_, all) = admin.page("/admin/audit").await;
    assert_shows(
        &all,
        &[
            "Created application “Trader”",
            "Subscribed “Trader” to Premium 1.0.0 (Gold), waiting for approval",
            "Approved the subscription to Premium 1.0.0",
            "Updated name “Trader” → “Trader Pro”",
        ],
    );
    let (_, by_admin) = admin.page("/admin/audit?actor=admin").await;
    assert!(
        by_admin.contains("Approved the subscription") && !by_admin.contains("Created application")
    );
    let (_, creates) = admin.page("/admin/audit?action=create").await;
    assert!(creates.contains("Created application") && !creates.contains("Approved"));
    let (_, subs) = admin.page("/admin/audit?object_type=subscription").await;
    assert!(subs.contains("Subscribed") && !subs.contains("Created application"));
    let (_, future) = admin.page("/admin/audit?from=2999-01-01").await;
    assert!(future.contains("No events"));
    let (_, today) = admin
        .page("/admin/audit?to=2999-01-01&from=2000-01-01")
        .await;
    assert!(today.contains("Created application"));
    let (status, bad) = admin.page("/admin/audit?from=yesterday").await;
    assert_eq!(status, StatusCode::OK);
    assert!(bad.contains("is not a date like"));

    // The TPP sees their application's own history, including the admin's decision.
    let (_, overview) = tpp.page(&format!("/applications/{id}")).await;
    assert!(overview.contains("Approved the subscription to Premium 1.0.0"));
    assert!(overview.contains("Created application “Trader”"));
}
