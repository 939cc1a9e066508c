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
