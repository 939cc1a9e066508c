//! `portico seed-demo`: a newcomer's catalog is not empty. The real binary publishes the demo
//! APIs on a fresh database; a second run adds nothing.

use std::process::Command;

use reqwest::StatusCode;

use crate::helpers::*;

fn seed_demo(app: &TestApp) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_portico"))
        .arg("seed-demo")
        .envs(app.db_env())
        .env("PORTICO_LISTEN", "127.0.0.1:0")
        .env_remove("PORTICO_ADMIN_USERNAME")
        .env_remove("PORTICO_ADMIN_PASSWORD")
        .output()
        .expect("portico seed-demo runs");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "seed-demo failed: {stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

#[actix_web::test]
async fn seed_demo_publishes_three_apis_with_their_operations_once() {
    let app = spawn_app().await;
    let first = seed_demo(&app);
    assert_eq!(first.matches("Published ").count(), 3, "{first}");

    let visitor = app.browser();
    let (status, catalog) = visitor.page("/apis").await;
    assert_eq!(status, StatusCode::OK);
    for name in ["Payments", "Accounts", "FX Rates"] {
        assert!(catalog.contains(name), "{name} is in the catalog");
    }
    let payments = app.count("SELECT id AS n FROM apis WHERE context = '/payments'");
    let (_, page) = visitor.page(&format!("/apis/{payments}")).await;
    assert!(
        page.contains("Create a payment consent"),
        "operations are listed"
    );
    assert!(page.contains("Gold"), "tiers are listed");
    assert_eq!(
        app.count("SELECT COUNT(*) FROM audit_events WHERE object_type = 'api' AND action = 'create' AND actor_name = 'admin'"),
        3,
        "recorded as the administrator's doing"
    );

    let second = seed_demo(&app);
    assert_eq!(second.matches("Left ").count(), 3, "{second}");
    assert_eq!(app.count("SELECT COUNT(*) FROM apis"), 3, "nothing added");
}
