//! SECURITY.md row 8, for every route of the route table that names an object: another TPP
//! gets 404 under every verb and nothing changes.

use portico::startup::{Access, ROUTES};
use reqwest::StatusCode;

use crate::helpers::*;

#[actix_web::test]
async fn another_tpp_gets_404_on_every_object_route_and_changes_nothing() {
    let app = spawn_app().await;
    let api = seed_api(&app, "Payments", "/payments", "PUBLISHED", &["Bronze"]);
    let owner = app.tpp("owner").await;
    let id = owner.create_application("Private App").await;
    let response = owner
        .post(
            &format!("/apis/{api}/subscribe"),
            &[
                ("application_id", &id.to_string()),
                ("throttling_policy", "Bronze"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let sub = app.count("SELECT id AS n FROM subscriptions");
    let intruder = app.tpp("intruder").await;
    intruder.create_application("Intruder App").await;
    let before = app.snapshot();

    let object_routes: Vec<_> = ROUTES
        .iter()
        .filter(|r| r.access == Access::SignedIn && r.path.starts_with("/applications/{id}"))
        .collect();
    assert!(
        object_routes.len() >= 6,
        "the application routes are in the table"
    );
    let fields = [
        ("name", "Hijacked"),
        ("throttling_policy", "10PerMin"),
        ("description", "x"),
    ];
    let mut cases = 0;
    let routes = object_routes.len();
    for route in object_routes {
        for key_type in ["production", "sandbox"] {
            cases += 1;
            let path = fill_route_with(route.path, id, sub, key_type);
            let response = if route.method == "GET" {
                intruder.get(&path).await
            } else {
                intruder.post(&path, &fields).await
            };
            assert_eq!(
                response.status(),
                StatusCode::NOT_FOUND,
                "{} {path}",
                route.method
            );
            let body = response.text().await.unwrap();
            assert!(
                !body.contains("Private App"),
                "{} {path} leaks the name",
                route.method
            );
        }
    }
    // Subscribing someone else's application to an API.
    let response = intruder
        .post(
            &format!("/apis/{api}/subscribe"),
            &[
                ("application_id", &id.to_string()),
                ("throttling_policy", "Bronze"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    // The owner's subscription through the intruder's own application id is not theirs either.
    let own = app.count("SELECT id AS n FROM applications WHERE name = 'Intruder App'");
    let response = intruder
        .post(
            &format!("/applications/{own}/subscriptions/{sub}/delete"),
            &[],
        )
        .await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);

    cases += 2;
    assert_eq!(app.snapshot(), before, "nothing changed");
    println!(
        "ownership: {routes} application routes × 2 key types + 2 subscription cases = {cases} cases answered 404, nothing changed"
    );
    let (_, list) = intruder.page("/applications").await;
    assert!(!list.contains("Private App"));
}

#[actix_web::test]
async fn object_routes_with_ids_that_are_not_numbers_are_404() {
    let app = spawn_app().await;
    let tpp = app.tpp("typist").await;
    for route in ROUTES
        .iter()
        .filter(|r| r.path.contains("{id}") && r.access == Access::SignedIn)
    {
        let path = route
            .path
            .replace("{id}", "abc")
            .replace("{sub_id}", "1")
            .replace("{key_type}", "production");
        let response = if route.method == "GET" {
            tpp.get(&path).await
        } else {
            tpp.post(&path, &[]).await
        };
        assert_eq!(
            response.status(),
            StatusCode::NOT_FOUND,
            "{} {path}",
            route.method
        );
    }
}

/// Subscribes an application to an API through the catalog; returns the subscription's id.
async fn subscribe(app: &TestApp, tpp: &Browser, api: i64, application: i64) -> i64 {
    let response = tpp
        .post(
            &format!("/apis/{api}/subscribe"),
            &[
                ("application_id", &application.to_string()),
                ("throttling_policy", "Bronze"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER, "subscribe");
    app.count(&format!(
        "SELECT id AS n FROM subscriptions WHERE application_id = {application}"
    ))
}

/// SECURITY.md row 35, on every application route of the route table: a TPP whose application
/// comes after another TPP's deleted one gets new ids, sees nothing of the deleted one (name,
/// owner, consumer key, history), and every id of the deleted objects answers 404 to both TPPs.
#[actix_web::test]
async fn a_new_tpps_application_inherits_nothing_from_another_tpps_deleted_one() {
    let app = spawn_app().await;
    let api = seed_api(&app, "Payments", "/payments", "PUBLISHED", &["Bronze"]);
    let departed = app.tpp("departed-owner").await;
    let old = departed.create_application("Departed Ledger").await;
    let old_sub = subscribe(&app, &departed, api, old).await;
    let response = departed
        .post(
            &format!("/applications/{old}/keys/sandbox/generate"),
            &[
                ("key_manager", "resident"),
                ("grant_types", "client_credentials"),
            ],
        )
        .await;
    assert!(response.status().is_success() || response.status().is_redirection());
    let consumer_key = app.text(&format!(
        "SELECT consumer_key AS line FROM key_mappings WHERE application_id = {old}"
    ));
    let response = departed
        .post(&format!("/applications/{old}/delete"), &[])
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER, "deleted");

    let newcomer = app.tpp("newcomer").await;
    let new = newcomer.create_application("Fresh Start").await;
    assert!(
        new > old,
        "application {new} took the deleted application's id {old}"
    );
    let new_sub = subscribe(&app, &newcomer, api, new).await;
    assert!(new_sub > old_sub, "subscription {new_sub} reuses {old_sub}");
    // The former owner's own pages name the former owner, as every page names its viewer.
    let traces = ["Departed Ledger", consumer_key.as_str(), "departed-owner"];
    let viewers = [(&newcomer, &traces[..]), (&departed, &traces[..2])];

    let routes: Vec<_> = ROUTES
        .iter()
        .filter(|r| r.access == Access::SignedIn && r.path.starts_with("/applications/{id}"))
        .collect();
    let mut cases = 0;
    // The newcomer's own pages, the Overview's history included, show nothing of the deleted one.
    for route in routes.iter().filter(|r| r.method == "GET") {
        for key_type in ["production", "sandbox"] {
            let path = fill_route_with(route.path, new, new_sub, key_type);
            let (status, body) = newcomer.page(&path).await;
            assert_eq!(status, StatusCode::OK, "GET {path}");
            for trace in traces {
                assert!(!body.contains(trace), "GET {path} shows {trace:?}");
            }
            cases += 1;
        }
    }
    let (_, overview) = newcomer.page(&format!("/applications/{new}")).await;
    assert!(overview.contains("Created application “Fresh Start”"));

    // Every id the deleted objects had answers 404, under every verb, to both TPPs.
    let before = app.snapshot();
    let fields = [
        ("name", "Hijacked"),
        ("throttling_policy", "10PerMin"),
        ("description", "x"),
        ("key_manager", "resident"),
        ("grant_types", "client_credentials"),
    ];
    for route in &routes {
        // The deleted subscription's id, also under the newcomer's own application.
        let ids: &[i64] = if route.path.contains("{sub_id}") {
            &[old, new]
        } else {
            &[old]
        };
        for (browser, &id, key_type, traces) in viewers.into_iter().flat_map(|(b, t)| {
            ids.iter()
                .flat_map(move |id| ["production", "sandbox"].map(move |k| (b, id, k, t)))
        }) {
            let path = fill_route_with(route.path, id, old_sub, key_type);
            let response = if route.method == "GET" {
                browser.get(&path).await
            } else {
                browser.post(&path, &fields).await
            };
            assert_eq!(
                response.status(),
                StatusCode::NOT_FOUND,
                "{} {path}",
                route.method
            );
            let body = response.text().await.unwrap();
            for trace in traces {
                assert!(
                    !body.contains(trace),
                    "{} {path} shows {trace:?}",
                    route.method
                );
            }
            cases += 1;
        }
    }
    for (browser, _) in viewers {
        let response = browser
            .post(
                &format!("/apis/{api}/subscribe"),
                &[
                    ("application_id", &old.to_string()),
                    ("throttling_policy", "Bronze"),
                ],
            )
            .await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "subscribe {old}");
        cases += 1;
    }
    assert_eq!(app.snapshot(), before, "nothing changed");
    println!(
        "ownership: {} application routes, {cases} cases: nothing of a deleted application reaches the next one",
        routes.len()
    );
}
