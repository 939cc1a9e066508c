//! SECURITY.md row 8, for every route of the route table that names an object: another TPP
//! gets 404 under every verb and nothing changes.

use portico::startup::{Access, ROUTES};
use reqwest::StatusCode;

use crate::helpers::*;

/// "owner" with application "Private App" subscribed to Payments (Bronze), and another TPP.
pub(crate) fn owner_and(other: &str) -> TestAppBuilder {
    TestApp::new()
        .with_api("Payments", "/payments", &["Bronze"])
        .with_subscriber("owner", "Private App", "Payments", "Bronze")
        .with_tpp(other)
}

#[actix_web::test]
async fn another_tpp_gets_404_on_every_object_route_and_changes_nothing() {
    let app = owner_and("intruder")
        .with_application("intruder", "Intruder App")
        .build()
        .await;
    let (id, intruder) = (app.application("Private App"), app.session("intruder"));
    let sub = app.count("SELECT id AS n FROM subscriptions");
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
            let body = not_found(intruder, route.method, &path, &fields).await;
            assert!(
                !body.contains("Private App"),
                "{} {path} leaks the name",
                route.method
            );
        }
    }
    // Subscribing someone else's application to an API.
    let response = intruder
        .try_subscribe(app.api("Payments"), &id.to_string(), "Bronze")
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
    let (_app, tpp) = spawn_tpp("typist").await;
    for route in ROUTES
        .iter()
        .filter(|r| r.path.contains("{id}") && r.access == Access::SignedIn)
    {
        let path = route
            .path
            .replace("{id}", "abc")
            .replace("{sub_id}", "1")
            .replace("{key_type}", "production");
        let response = tpp.send(route.method, &path, &[]).await;
        assert_eq!(
            response.status(),
            StatusCode::NOT_FOUND,
            "{} {path}",
            route.method
        );
    }
}

/// A request that must answer 404: the page.
async fn not_found(browser: &Browser, method: &str, path: &str, fields: &[(&str, &str)]) -> String {
    let response = browser.send(method, path, fields).await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND, "{method} {path}");
    body_of(response).await
}

/// The id of an application's (one) subscription.
fn subscription_of(app: &TestApp, application: i64) -> i64 {
    app.count(&format!(
        "SELECT id AS n FROM subscriptions WHERE application_id = {application}"
    ))
}

/// SECURITY.md row 35, on every application route of the route table: a TPP whose application
/// comes after another TPP's deleted one gets new ids, sees nothing of the deleted one (name,
/// owner, consumer key, history), and every id of the deleted objects answers 404 to both TPPs.
#[actix_web::test]
async fn a_new_tpps_application_inherits_nothing_from_another_tpps_deleted_one() {
    let app = TestApp::new()
        .with_api("Payments", "/payments", &["Bronze"])
        .with_subscriber("departed-owner", "Departed Ledger", "Payments", "Bronze")
        .with_keys("Departed Ledger", "sandbox")
        .build()
        .await;
    let (api, departed) = (app.api("Payments"), app.session("departed-owner"));
    let old = app.application("Departed Ledger");
    let old_sub = subscription_of(&app, old);
    let consumer_key = app.text(&format!(
        "SELECT consumer_key AS line FROM key_mappings WHERE application_id = {old}"
    ));
    assert_eq!(
        consumer_key,
        app.keys("Departed Ledger", "sandbox").consumer_key
    );
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
    newcomer.subscribe(api, new, "Bronze").await;
    let new_sub = subscription_of(&app, new);
    assert!(new_sub > old_sub, "subscription {new_sub} reuses {old_sub}");
    // The former owner's own pages name the former owner, as every page names its viewer.
    let traces = ["Departed Ledger", consumer_key.as_str(), "departed-owner"];
    let viewers = [(&newcomer, &traces[..]), (departed, &traces[..2])];

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
    // The administrator signs in first: a sign-in is itself recorded (audit, known address).
    let admin = app.admin().await;
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
            let body = not_found(browser, route.method, &path, &fields).await;
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
    // The administrator's subscription routes do not know the deleted subscription either.
    for route in ROUTES
        .iter()
        .filter(|r| r.access == Access::Admin && r.path.starts_with("/admin/subscriptions/{id}"))
    {
        let path = fill_route(route.path, old_sub);
        let response = admin.post(&path, &[("reason", "Not now")]).await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "POST {path}");
        cases += 1;
    }
    assert_eq!(app.snapshot(), before, "nothing changed");
    println!(
        "ownership: {} application routes, {cases} cases: nothing of a deleted application reaches the next one",
        routes.len()
    );
}

/// One kind of administrator's object: its route prefix, the form that makes one, and the
/// query that finds the one just made by its name.
struct AdminObject {
    prefix: &'static str,
    create: &'static str,
    form: fn(&'static str) -> Vec<(&'static str, &'static str)>,
    id_of: fn(&'static str) -> String,
}

fn key_manager_form(name: &'static str) -> Vec<(&'static str, &'static str)> {
    let issuer = if name.starts_with("departed") {
        "https://departed.example.com"
    } else {
        "https://fresh.example.com"
    };
    dcr_form_with(&[
        ("name", name),
        ("display_name", name),
        ("issuer", issuer),
        ("connector_initial_access_token", "initial-access-token"),
    ])
}

fn policy_form(name: &'static str) -> Vec<(&'static str, &'static str)> {
    vec![
        ("level", "subscription"),
        ("name", name),
        ("display_name", name),
        ("description", ""),
        ("request_count", "100"),
        ("unit_time", "1"),
        ("time_unit", "min"),
    ]
}

/// Makes one object through the administrator's form; returns its id.
async fn make(app: &TestApp, admin: &Browser, kind: &AdminObject, name: &'static str) -> i64 {
    let response = admin.post(kind.create, &(kind.form)(name)).await;
    let status = response.status();
    assert!(
        status.is_success() || status.is_redirection(),
        "{} {name}: {status}",
        kind.create
    );
    app.count(&(kind.id_of)(name))
}

/// SECURITY.md row 35 for the administrator's objects, on every id route of theirs in the
/// route table: a key manager, a throttling policy or a gateway made after another one was
/// deleted gets a new id, shows nothing of the deleted one, and the deleted id answers 404.
#[actix_web::test]
async fn an_administrators_new_objects_never_take_a_deleted_objects_id() {
    let (app, admin) = spawn_admin().await;
    let kinds = [
        AdminObject {
            prefix: "/admin/key-managers/{id}",
            create: "/admin/key-managers",
            form: key_manager_form,
            id_of: |name| format!("SELECT id AS n FROM key_managers WHERE name = '{name}'"),
        },
        AdminObject {
            prefix: "/admin/throttling-policies/{id}",
            create: "/admin/throttling-policies",
            form: policy_form,
            id_of: |name| format!("SELECT id AS n FROM throttling_policies WHERE name = '{name}'"),
        },
        AdminObject {
            prefix: "/admin/gateways/{id}",
            create: "/admin/gateways",
            form: |name| vec![("name", name)],
            id_of: |name| format!("SELECT id AS n FROM oauth_clients WHERE client_name = '{name}'"),
        },
    ];
    let mut cases = 0;
    for kind in &kinds {
        let old = make(&app, &admin, kind, "departed-one").await;
        let response = admin
            .post(&format!("{}/delete", fill_route(kind.prefix, old)), &[])
            .await;
        assert_eq!(
            response.status(),
            StatusCode::SEE_OTHER,
            "{} deleted",
            kind.prefix
        );
        let new = make(&app, &admin, kind, "fresh-one").await;
        assert!(new > old, "{}: {new} took the deleted {old}", kind.prefix);

        let before = app.snapshot();
        let routes = ROUTES
            .iter()
            .filter(|r| r.access == Access::Admin && r.path.starts_with(kind.prefix));
        for route in routes {
            let path = fill_route(route.path, old);
            let response = if route.method == "GET" {
                admin.get(&path).await
            } else {
                admin.post(&path, &(kind.form)("departed-one")).await
            };
            assert_eq!(
                response.status(),
                StatusCode::NOT_FOUND,
                "{} {path}",
                route.method
            );
            cases += 1;
            if route.method == "GET" {
                let (_, page) = admin.page(&fill_route(route.path, new)).await;
                assert!(
                    !page.contains("departed-one"),
                    "GET {path} shows the deleted one"
                );
            }
        }
        assert_eq!(app.snapshot(), before, "{}: nothing changed", kind.prefix);
    }
    println!("ownership: {cases} administrator id routes answer 404 for a deleted object's id");
}
