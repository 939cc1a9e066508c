//! Applications: create, rules on names and policies, update, delete, the list, the history.

use reqwest::StatusCode;

use crate::helpers::*;

#[actix_web::test]
async fn a_tpp_creates_an_application_and_finds_it_in_the_list() {
    let (app, tpp) = spawn_tpp("alice").await;
    let (_, empty) = tpp.page("/applications").await;
    assert!(empty.contains("Your organisation has no applications yet"));

    let response = tpp
        .post_ok(
            "/applications",
            &[
                ("name", "Payments App"),
                ("throttling_policy", "20PerMin"),
                ("description", "Moves money"),
            ],
        )
        .await;
    let id = app.count("SELECT id AS n FROM applications WHERE name = 'Payments App'");
    assert_eq!(location(&response), format!("/applications/{id}"));

    let (status, page) = tpp.page(&location(&response)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Application “Payments App” created"));
    assert!(page.contains("20 per minute"));
    assert!(page.contains("Moves money"));
    assert_shows(
        &page,
        &[
            "Overview",
            "Production Keys",
            "Sandbox Keys",
            "Subscriptions",
        ],
    );
    assert!(
        page.contains("Created application “Payments App” with policy 20PerMin"),
        "the history shows the creation"
    );

    let (_, list) = tpp.page("/applications").await;
    assert!(list.contains(&format!("href=\"/applications/{id}\">Payments App</a>")));
    assert_eq!(app.count(&format!("SELECT COUNT(*) FROM audit_events WHERE action = 'create' AND object_type = 'application' AND object_id = {id} AND actor_name = 'alice'")), 1);
}

#[actix_web::test]
async fn application_rules_name_their_field_and_keep_the_values() {
    let (app, tpp) = spawn_tpp("bob").await;
    let long_name = "n".repeat(101);
    let long_description = "d".repeat(513);
    let cases: Vec<(&str, &str, &str, &str, &str)> = vec![
        ("", "10PerMin", "", "name", "Name is required"),
        ("   ", "10PerMin", "", "name", "Name is required"),
        (&long_name, "10PerMin", "", "name", "at most 100"),
        ("Zero\u{200B}Width", "10PerMin", "", "name", "invisible"),
        ("Right\u{202E}ToLeft", "10PerMin", "", "name", "invisible"),
        ("Nul\0Byte", "10PerMin", "", "name", "control"),
        (
            "Fine name",
            "10PerMin",
            &long_description,
            "description",
            "at most 512",
        ),
        (
            "Fine name",
            "Bronze",
            "",
            "throttling_policy",
            "application throttling policies",
        ),
        (
            "Fine name",
            "NoSuchPolicy",
            "",
            "throttling_policy",
            "application throttling policies",
        ),
        (
            "Fine name",
            "",
            "",
            "throttling_policy",
            "Choose a throttling policy",
        ),
    ];
    for (name, policy, description, field, message) in cases {
        let response = tpp
            .post(
                "/applications",
                &[
                    ("name", name),
                    ("throttling_policy", policy),
                    ("description", description),
                ],
            )
            .await;
        let body = unprocessable(response, &format!("{field}: {message}")).await;
        let document = scraper::Html::parse_document(&body);
        let selector = scraper::Selector::parse(&format!("#{field}-note.field-error")).unwrap();
        let error = document
            .select(&selector)
            .next()
            .map(|e| e.text().collect::<String>())
            .unwrap_or_default();
        assert!(
            error.contains(message),
            "{field}: expected {message:?}, got {error:?}"
        );
        if field == "description" {
            assert!(body.contains(&long_description), "the description is kept");
        }
    }
    assert_eq!(app.count("SELECT COUNT(*) FROM applications"), 0);
    assert_eq!(app.changes_audited(), 0);
}

#[actix_web::test]
async fn names_are_unique_per_owner_after_case_folding_and_normalisation() {
    let (app, tpp) = spawn_tpp("carol").await;
    tpp.create_application("Café Orders").await;
    for same in [
        "café orders",
        "CAFÉ ORDERS",
        "Cafe\u{0301} Orders",
        "  Café Orders  ",
    ] {
        let response = tpp
            .post(
                "/applications",
                &[("name", same), ("throttling_policy", "10PerMin")],
            )
            .await;
        assert_eq!(response.status(), StatusCode::CONFLICT, "{same:?}");
        let body = response.text().await.unwrap();
        assert!(
            field_errors(&body)
                .iter()
                .any(|e| e.contains("already has an application")),
            "{same:?}"
        );
        assert_eq!(
            input_value(&body, "name").as_deref(),
            Some(same),
            "the typed name is kept"
        );
    }
    assert_eq!(app.count("SELECT COUNT(*) FROM applications"), 1);
    // Another TPP may use the same name.
    app.tpp("dave")
        .await
        .create_application("Café Orders")
        .await;
    assert_eq!(app.count("SELECT COUNT(*) FROM applications"), 2);
}

#[actix_web::test]
async fn two_simultaneous_creates_with_one_name_make_one_application() {
    let (app, tpp) = spawn_tpp("erin").await;
    let token = tpp.csrf_token().await;
    let send = || {
        tpp.client
            .post(app.url("/applications"))
            .form(&[
                ("name", "Racer"),
                ("throttling_policy", "10PerMin"),
                ("csrf_token", token.as_str()),
            ])
            .send()
    };
    let results = futures_util::future::join_all((0..8).map(|_| send())).await;
    let statuses: Vec<u16> = results
        .into_iter()
        .map(|r| r.unwrap().status().as_u16())
        .collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 303).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 409).count(),
        7,
        "{statuses:?}"
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM applications WHERE name = 'Racer'"),
        1
    );
}

#[actix_web::test]
async fn a_tpp_renames_an_application_and_cannot_take_a_used_name() {
    let (app, tpp) = spawn_tpp("frank").await;
    let first = tpp.create_application("First").await;
    tpp.create_application("Second").await;
    tpp.post_ok(
        &format!("/applications/{first}"),
        &[
            ("name", "Renamed"),
            ("throttling_policy", "50PerMin"),
            ("description", "now described"),
        ],
    )
    .await;
    let (_, page) = tpp.page(&format!("/applications/{first}")).await;
    assert!(page.contains("Application “Renamed” saved"));
    assert!(page.contains("Updated name “First” → “Renamed”, policy → 50PerMin, description"));

    let response = tpp
        .post(
            &format!("/applications/{first}"),
            &[("name", "SECOND"), ("throttling_policy", "50PerMin")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::CONFLICT);
    let body = response.text().await.unwrap();
    assert_eq!(input_value(&body, "name").as_deref(), Some("SECOND"));
    assert_eq!(
        app.text(&format!(
            "SELECT name AS line FROM applications WHERE id = {first}"
        )),
        "Renamed"
    );
}

#[actix_web::test]
async fn deleting_an_application_removes_its_subscriptions() {
    let app = TestApp::new()
        .with_api("Accounts", "/accounts", &["Bronze"])
        .with_subscriber("grace", "Doomed", "Accounts", "Bronze")
        .build()
        .await;
    let (tpp, id) = (app.session("grace"), app.application("Doomed"));
    assert_eq!(app.count("SELECT COUNT(*) FROM subscriptions"), 1);
    // The list counts each application's subscriptions.
    tpp.create_application("Unsubscribed").await;
    let (_, list) = tpp.page("/applications").await;
    let row = |name: &str| {
        let start = list
            .find(&format!(">{name}</a>"))
            .expect("the application's row");
        let row = &list[start..start + list[start..].find("</tr>").unwrap()];
        row.split("<td>")
            .map(|c| c.split("</td>").next().unwrap().to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(row("Doomed")[2], "1");
    assert_eq!(row("Unsubscribed")[2], "0");

    let response = tpp
        .post_ok(&format!("/applications/{id}/delete"), &[])
        .await;
    assert_eq!(location(&response), "/applications");
    let (_, list) = tpp.page("/applications").await;
    assert!(list.contains("Application “Doomed” deleted"));
    assert_eq!(app.count("SELECT COUNT(*) FROM applications"), 1);
    assert_eq!(app.count("SELECT COUNT(*) FROM subscriptions"), 0);
    assert_eq!(
        tpp.get_status(&format!("/applications/{id}")).await,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) FROM audit_events WHERE action = 'delete' AND object_id = {id}"
        )),
        1
    );
}

#[actix_web::test]
async fn the_application_list_is_paginated() {
    let (_app, tpp) = spawn_tpp("heidi").await;
    for i in 1..=25 {
        tpp.create_application(&format!("App {i:02}")).await;
    }
    let (_, first) = tpp.page("/applications").await;
    assert!(first.contains("Page 1 of 2"));
    assert!(first.contains("App 20") && !first.contains("App 21"));
    let (_, second) = tpp.page("/applications?page=2").await;
    assert!(second.contains("App 25") && !second.contains("App 20<"));
}

#[actix_web::test]
async fn the_keys_tabs_exist_for_both_environments_only() {
    let (_app, tpp) = spawn_tpp("ivan").await;
    let id = tpp.create_application("Keyed").await;
    for (key_type, title) in [
        ("production", "Production Keys"),
        ("sandbox", "Sandbox Keys"),
    ] {
        let (status, page) = tpp
            .page(&format!("/applications/{id}/keys/{key_type}"))
            .await;
        assert_eq!(status, StatusCode::OK);
        assert!(page.contains(&format!("<title>Keyed · {title}")));
    }
    assert_eq!(
        tpp.get_status(&format!("/applications/{id}/keys/staging"))
            .await,
        StatusCode::NOT_FOUND
    );
}

#[actix_web::test]
async fn hostile_application_text_is_refused_or_shown_exactly_and_escaped() {
    let (app, tpp) = spawn_tpp("judy").await;
    let payloads = [
        "<script>alert('x')</script>",
        "\"><img src=x onerror=alert(1)>",
        "'; DROP TABLE applications; --",
        "50% off _sale_ \\ back",
    ];
    for name in payloads {
        let id = tpp.create_application(name).await;
        assert_eq!(
            app.text(&format!(
                "SELECT name AS line FROM applications WHERE id = {id}"
            )),
            name,
            "stored exactly"
        );
        for path in [format!("/applications/{id}"), "/applications".to_string()] {
            let (status, page) = tpp.page(&path).await;
            assert_eq!(status, StatusCode::OK);
            assert!(!page.contains("<script>alert"), "{path}");
            assert!(!page.contains("<img src=x"), "{path}");
        }
    }
    let (status, audit) = app.admin().await.page("/admin/audit").await;
    assert_eq!(status, StatusCode::OK);
    assert!(!audit.contains("<script>alert") && !audit.contains("<img src=x"));
    let ten_thousand = "x".repeat(10_000);
    let response = tpp
        .post(
            "/applications",
            &[("name", &ten_thousand), ("throttling_policy", "10PerMin")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let response = tpp
        .post(
            "/applications",
            &[
                ("name", "ok"),
                ("throttling_policy", "10PerMin"),
                ("description", &ten_thousand),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
}
