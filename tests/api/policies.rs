//! Throttling policies in the admin area: the list with quotas and uses, create, edit, delete
//! (refused while in use), every rule naming its field, hostile text.

use reqwest::StatusCode;

use crate::helpers::*;
use crate::hostile::{HostileForm, form_payloads, refused_or_kept_exactly};

const LIST: &str = "/admin/throttling-policies";

fn policy_fields() -> Vec<(&'static str, &'static str)> {
    vec![
        ("level", "subscription"),
        ("name", "Platinum"),
        ("display_name", "Platinum"),
        ("description", "Allows 10000 requests per minute"),
        ("request_count", "10000"),
        ("unit_time", "1"),
        ("time_unit", "min"),
    ]
}

fn policy_id(app: &TestApp, level: &str, name: &str) -> i64 {
    app.count(&format!(
        "SELECT id AS n FROM throttling_policies WHERE level = '{level}' AND name = '{name}'"
    ))
}

fn policy_column(app: &TestApp, id: i64, column: &str) -> String {
    // The one boolean column reads as 1 or 0 on both backends.
    let value = match column {
        "requires_approval" => "CASE WHEN requires_approval THEN '1' ELSE '0' END".to_string(),
        _ => format!("coalesce(CAST({column} AS TEXT), 'NULL')"),
    };
    app.text(&format!(
        "SELECT {value} AS line FROM throttling_policies WHERE id = {id}"
    ))
}

fn audit_count(app: &TestApp, action: &str, id: i64) -> i64 {
    app.count(&format!(
        "SELECT COUNT(*) FROM audit_events WHERE action = '{action}' \
         AND object_type = 'throttling_policy' AND object_id = {id} AND actor_name = '{ADMIN}'"
    ))
}

/// The text of one cell (`data-field`) of a policy's row on the list.
fn cell(list: &str, level: &str, name: &str, field: &str) -> Option<String> {
    texts(
        list,
        &format!("tr[data-policy=\"{level}/{name}\"] [data-field=\"{field}\"]"),
    )
    .into_iter()
    .next()
}

/// Asserts cells of the list: (level, policy, field, text).
fn assert_cells(list: &str, expected: &[(&str, &str, &str, &str)]) {
    for (level, name, field, text) in expected {
        assert_eq!(
            cell(list, level, name, field).as_deref(),
            Some(*text),
            "{level}/{name} {field}"
        );
    }
}

/// Two applications on 10PerMin, one API offering Bronze, both applications subscribed to it
/// under Bronze.
async fn with_uses() -> Scenario {
    TestApp::new()
        .with_api("Pets", "/pets", &["Bronze"])
        .with_tpp("owner")
        .with_application("owner", "one")
        .with_application("owner", "two")
        .with_subscription("one", "Pets", "Bronze")
        .with_subscription("two", "Pets", "Bronze")
        .build()
        .await
}

#[actix_web::test]
async fn the_list_shows_both_levels_with_their_quotas_and_uses() {
    let app = with_uses().await;
    let admin = app.admin().await;
    let (status, list) = admin.page(LIST).await;
    assert_eq!(status, StatusCode::OK);
    assert!(list.contains("Application policies") && list.contains("Subscription policies"));
    for (level, name, quota) in [
        ("application", "10PerMin", "10 requests per minute"),
        ("application", "20PerMin", "20 requests per minute"),
        ("application", "50PerMin", "50 requests per minute"),
        ("application", "Unlimited", "No request limit"),
        ("subscription", "Bronze", "1000 requests per minute"),
        ("subscription", "Silver", "2000 requests per minute"),
        ("subscription", "Gold", "5000 requests per minute"),
        ("subscription", "Unlimited", "No request limit"),
    ] {
        assert_eq!(
            cell(&list, level, name, "quota").as_deref(),
            Some(quota),
            "{level}/{name}"
        );
    }
    assert_cells(
        &list,
        &[
            (
                "subscription",
                "Bronze",
                "uses",
                "2 subscriptions and 1 API",
            ),
            ("application", "10PerMin", "uses", "2 applications"),
            ("subscription", "Gold", "uses", "Not used"),
        ],
    );
    // A policy in use offers no delete button; an unused one does, with a confirmation.
    let bronze = policy_id(&app, "subscription", "Bronze");
    let gold = policy_id(&app, "subscription", "Gold");
    assert!(!list.contains(&format!("action=\"{LIST}/{bronze}/delete\"")));
    assert!(confirm_question(&list, &format!("{LIST}/{gold}/delete")).is_some());
    // The admin home links here.
    let (_, home) = admin.page("/admin").await;
    assert!(home.contains("href=\"/admin/throttling-policies\""));
    assert!(home.contains("Throttling policies"));
}

#[actix_web::test]
async fn an_admin_creates_a_subscription_policy_that_requires_approval() {
    let (app, admin) = spawn_admin().await;
    let (status, form) = admin.page(&format!("{LIST}/new")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(selected_value(&form, "time_unit").as_deref(), Some("min"));
    assert_eq!(input_value(&form, "unit_time").as_deref(), Some("1"));
    assert!(
        unlabelled_controls(&form).is_empty(),
        "{:?}",
        unlabelled_controls(&form)
    );

    let fields = with_field(policy_fields(), "requires_approval", "true");
    let response = admin.post_ok(LIST, &fields).await;
    assert_eq!(location(&response), LIST);
    let id = policy_id(&app, "subscription", "Platinum");
    assert!(id > 0);
    assert_row(
        |column| policy_column(&app, id, column),
        &[
            ("display_name", "Platinum"),
            ("request_count", "10000"),
            ("unit_time", "1"),
            ("time_unit", "min"),
            ("requires_approval", "1"),
        ],
    );
    assert_eq!(audit_count(&app, "create", id), 1);

    let (_, list) = admin.page(LIST).await;
    assert!(list.contains("The subscription policy Platinum was created."));
    assert_cells(
        &list,
        &[
            (
                "subscription",
                "Platinum",
                "quota",
                "10000 requests per minute",
            ),
            (
                "subscription",
                "Platinum",
                "requires_approval",
                "Requires approval",
            ),
        ],
    );
}

#[actix_web::test]
async fn an_empty_request_count_is_unlimited_and_the_limits_are_inclusive() {
    let (app, admin) = spawn_admin().await;
    let fields = with_field(
        with_field(policy_fields(), "request_count", ""),
        "unit_time",
        "",
    );
    admin.post_ok(LIST, &fields).await;
    let id = policy_id(&app, "subscription", "Platinum");
    assert_row(
        |column| policy_column(&app, id, column),
        &[
            ("request_count", "NULL"),
            ("unit_time", "1"),
            ("requires_approval", "0"),
        ],
    );

    let fields = vec![
        ("level", "application"),
        ("name", "Max_rate-1"),
        ("display_name", "The most"),
        ("request_count", "1000000000"),
        ("unit_time", "1000"),
        ("time_unit", "day"),
    ];
    admin.post_ok(LIST, &fields).await;
    let (_, list) = admin.page(LIST).await;
    assert_cells(
        &list,
        &[
            ("subscription", "Platinum", "quota", "No request limit"),
            (
                "application",
                "Max_rate-1",
                "quota",
                "1000000000 requests per 1000 days",
            ),
        ],
    );
}

#[actix_web::test]
async fn every_policy_rule_names_its_field_and_keeps_the_values() {
    let (app, admin) = spawn_admin().await;
    let before = app.snapshot();
    let long_name = "n".repeat(65);
    let long_display = "d".repeat(101);
    let long_description = "x".repeat(513);
    let cases: Vec<(&str, &str, &str, &str)> = vec![
        ("level", "", "level", "Choose a level"),
        ("level", "global", "level", "Choose a level"),
        ("name", "", "name", "Name is required"),
        ("name", "   ", "name", "Name is required"),
        ("name", "has space", "name", "only letters"),
        ("name", "Plat.inum", "name", "only letters"),
        ("name", "Ünïcode", "name", "only letters"),
        ("name", &long_name, "name", "at most 64"),
        (
            "display_name",
            "",
            "display_name",
            "Display name is required",
        ),
        ("display_name", &long_display, "display_name", "at most 100"),
        (
            "display_name",
            "two\nlines",
            "display_name",
            "control characters",
        ),
        (
            "description",
            &long_description,
            "description",
            "at most 512",
        ),
        (
            "request_count",
            "0",
            "request_count",
            "from 1 to 1000000000",
        ),
        (
            "request_count",
            "-5",
            "request_count",
            "from 1 to 1000000000",
        ),
        (
            "request_count",
            "1.5",
            "request_count",
            "from 1 to 1000000000",
        ),
        (
            "request_count",
            "lots",
            "request_count",
            "from 1 to 1000000000",
        ),
        (
            "request_count",
            "1000000001",
            "request_count",
            "from 1 to 1000000000",
        ),
        (
            "request_count",
            "99999999999999999999999",
            "request_count",
            "from 1 to 1000000000",
        ),
        ("unit_time", "0", "unit_time", "from 1 to 1000"),
        ("unit_time", "1001", "unit_time", "from 1 to 1000"),
        ("unit_time", "an hour", "unit_time", "from 1 to 1000"),
        ("time_unit", "week", "time_unit", "Choose a time unit"),
        ("time_unit", "", "time_unit", "Choose a time unit"),
        ("requires_approval", "yes", "requires_approval", "check box"),
    ];
    for (field, value, error_field, message) in cases {
        let fields = with_field(policy_fields(), field, value);
        let response = admin.post(LIST, &fields).await;
        let case = format!("{field}={value:?}");
        let body = refused_on(response, error_field, message, &case).await;
        // The values are kept, the wrong one included.
        match field {
            "description" => assert_eq!(textarea_value(&body, field).as_deref(), Some(value)),
            "level" | "time_unit" | "requires_approval" => {}
            _ => assert_eq!(input_value(&body, field).as_deref(), Some(value), "{field}"),
        }
        if field != "display_name" {
            assert_eq!(
                input_value(&body, "display_name").as_deref(),
                Some("Platinum")
            );
        }
        if field != "request_count" {
            assert_eq!(
                input_value(&body, "request_count").as_deref(),
                Some("10000")
            );
        }
    }

    // Approval belongs to subscriptions: an application policy cannot require it (said
    // together with the other problems of the form).
    let fields = with_field(
        with_field(
            with_field(policy_fields(), "level", "application"),
            "requires_approval",
            "true",
        ),
        "display_name",
        "",
    );
    let response = admin.post(LIST, &fields).await;
    let body = unprocessable(response, "").await;
    assert!(
        error_on(&body, "requires_approval")
            .is_some_and(|e| e.contains("Only subscription policies can require approval"))
    );
    assert!(error_on(&body, "display_name").is_some_and(|e| e.contains("required")));
    assert_eq!(checked_values(&body, "requires_approval"), vec!["true"]);
    assert_eq!(
        selected_value(&body, "level").as_deref(),
        Some("application")
    );

    assert_eq!(app.snapshot(), before, "nothing written");
    assert_eq!(app.count("SELECT COUNT(*) FROM throttling_policies"), 8);
    assert_eq!(app.changes_audited(), 0);
}

#[actix_web::test]
async fn names_are_unique_per_level_ignoring_case() {
    let (app, admin) = spawn_admin().await;
    let before = app.snapshot();
    for taken in ["Bronze", "bronze", "GOLD"] {
        let fields = with_field(policy_fields(), "name", taken);
        let response = admin.post(LIST, &fields).await;
        assert_eq!(response.status(), StatusCode::CONFLICT, "{taken}");
        let body = response.text().await.unwrap();
        assert!(
            error_on(&body, "name").is_some_and(|e| e.contains("already exists")),
            "{taken}"
        );
        assert_eq!(input_value(&body, "name").as_deref(), Some(taken));
        assert_eq!(
            input_value(&body, "display_name").as_deref(),
            Some("Platinum")
        );
    }
    assert_eq!(app.snapshot(), before, "nothing written");
    assert_eq!(app.changes_audited(), 0);

    // The same name at the other level is another policy.
    let fields = with_field(
        with_field(policy_fields(), "name", "Bronze"),
        "level",
        "application",
    );
    admin.post_ok(LIST, &fields).await;
    assert_eq!(
        app.count("SELECT COUNT(*) FROM throttling_policies WHERE name = 'Bronze'"),
        2
    );
}

#[actix_web::test]
async fn editing_a_policy_changes_its_quota_but_never_its_level_or_name() {
    let (app, admin) = spawn_admin().await;
    let bronze = policy_id(&app, "subscription", "Bronze");
    let path = format!("{LIST}/{bronze}");
    let (status, page) = admin.page(&path).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        input_value(&page, "display_name").as_deref(),
        Some("Bronze")
    );
    assert_eq!(input_value(&page, "request_count").as_deref(), Some("1000"));
    assert_eq!(selected_value(&page, "time_unit").as_deref(), Some("min"));
    assert_eq!(
        textarea_value(&page, "description").as_deref(),
        Some("Allows 1000 requests per minute")
    );
    assert_eq!(input_value(&page, "name"), None, "the name is not editable");
    assert_eq!(
        texts(&page, "[data-field=level]"),
        vec!["subscription".to_string()]
    );
    assert!(
        unlabelled_controls(&page).is_empty(),
        "{:?}",
        unlabelled_controls(&page)
    );

    let response = admin
        .post_ok(
            &path,
            &[
                ("level", "application"),
                ("name", "Renamed"),
                ("display_name", "Bronze plus"),
                ("description", "Now\nunlimited"),
                ("request_count", ""),
                ("unit_time", "2"),
                ("time_unit", "hour"),
                ("requires_approval", "true"),
            ],
        )
        .await;
    assert_eq!(location(&response), LIST);
    assert_row(
        |column| policy_column(&app, bronze, column),
        &[
            ("name", "Bronze"),
            ("level", "subscription"),
            ("display_name", "Bronze plus"),
            ("description", "Now\nunlimited"),
            ("request_count", "NULL"),
            ("unit_time", "2"),
            ("time_unit", "hour"),
            ("requires_approval", "1"),
        ],
    );
    assert_eq!(audit_count(&app, "update", bronze), 1);
    let (_, list) = admin.page(LIST).await;
    assert!(list.contains("The subscription policy Bronze was saved."));

    // An unticked box is absent from the form: approval is switched off.
    admin
        .post_ok(
            &path,
            &[
                ("display_name", "Bronze"),
                ("request_count", "1000"),
                ("unit_time", "1"),
                ("time_unit", "min"),
            ],
        )
        .await;
    assert_eq!(policy_column(&app, bronze, "requires_approval"), "0");
    assert_eq!(policy_column(&app, bronze, "request_count"), "1000");
    assert_eq!(audit_count(&app, "update", bronze), 2);
}

#[actix_web::test]
async fn an_invalid_update_is_refused_with_the_values_kept() {
    let (app, admin) = spawn_admin().await;
    let bronze = policy_id(&app, "subscription", "Bronze");
    let before = app.snapshot();
    let response = admin
        .post(
            &format!("{LIST}/{bronze}"),
            &[
                ("display_name", "Bronze two"),
                ("request_count", "lots"),
                ("unit_time", "1"),
                ("time_unit", "min"),
            ],
        )
        .await;
    let body = unprocessable(response, "").await;
    assert!(error_on(&body, "request_count").is_some_and(|e| e.contains("whole number")));
    assert_eq!(input_value(&body, "request_count").as_deref(), Some("lots"));
    assert_eq!(
        input_value(&body, "display_name").as_deref(),
        Some("Bronze two")
    );
    assert_eq!(
        texts(&body, "[data-field=name]"),
        vec!["Bronze".to_string()]
    );

    // Approval on an application policy is refused on update too.
    let ten = policy_id(&app, "application", "10PerMin");
    let response = admin
        .post(
            &format!("{LIST}/{ten}"),
            &[
                ("display_name", "10 per minute"),
                ("request_count", "10"),
                ("unit_time", "0"),
                ("time_unit", "min"),
                ("requires_approval", "true"),
            ],
        )
        .await;
    let body = unprocessable(response, "").await;
    assert!(
        error_on(&body, "requires_approval")
            .is_some_and(|e| e.contains("Only subscription policies"))
    );
    assert!(
        error_on(&body, "unit_time").is_some(),
        "every problem at once"
    );
    assert_eq!(app.snapshot(), before, "nothing written");
    assert_eq!(policy_column(&app, ten, "requires_approval"), "0");
    assert_eq!(app.changes_audited(), 0);
}

#[actix_web::test]
async fn unknown_policies_are_404() {
    let (app, admin) = spawn_admin().await;
    let before = app.snapshot();
    let valid = [
        ("display_name", "Ghost"),
        ("unit_time", "1"),
        ("time_unit", "min"),
    ];
    for (method, path) in [
        ("GET", format!("{LIST}/9999")),
        ("GET", format!("{LIST}/not-a-number")),
        ("POST", format!("{LIST}/9999")),
        ("POST", format!("{LIST}/9999/delete")),
        ("POST", format!("{LIST}/-1/delete")),
    ] {
        let status = if method == "GET" {
            admin.get_status(&path).await
        } else {
            admin.post_status(&path, &valid).await
        };
        assert_eq!(status, StatusCode::NOT_FOUND, "{method} {path}");
    }
    assert_eq!(app.snapshot(), before);
}

#[actix_web::test]
async fn deleting_an_unused_policy_removes_it_and_records_who() {
    let (app, admin) = spawn_admin().await;
    admin.post(LIST, &policy_fields()).await;
    let id = policy_id(&app, "subscription", "Platinum");
    let response = admin.post_ok(&format!("{LIST}/{id}/delete"), &[]).await;
    assert_eq!(location(&response), LIST);
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) FROM throttling_policies WHERE id = {id}"
        )),
        0
    );
    assert_eq!(audit_count(&app, "delete", id), 1);
    let (_, list) = admin.page(LIST).await;
    assert!(list.contains("The subscription policy Platinum was deleted."));
    assert!(!list.contains("data-policy=\"subscription/Platinum\""));
    // Deleting it again: it is gone.
    assert_eq!(
        admin.post_status(&format!("{LIST}/{id}/delete"), &[]).await,
        StatusCode::NOT_FOUND
    );
}

#[actix_web::test]
async fn a_policy_in_use_cannot_be_deleted_and_the_admin_is_told_what_uses_it() {
    let app = with_uses().await;
    let admin = app.admin().await;
    let before = app.snapshot();
    for (level, name, message) in [
        (
            "subscription",
            "Bronze",
            "Bronze is used by 2 subscriptions and 1 API; change those first.",
        ),
        (
            "application",
            "10PerMin",
            "10PerMin is used by 2 applications; change those first.",
        ),
    ] {
        let id = policy_id(&app, level, name);
        let response = admin.post(&format!("{LIST}/{id}/delete"), &[]).await;
        assert_eq!(response.status(), StatusCode::CONFLICT, "{name}");
        let body = response.text().await.unwrap();
        assert_eq!(
            texts(&body, "[data-field=problem]"),
            vec![message.to_string()]
        );
        assert!(body.contains("Application policies"), "the list is shown");
        assert_eq!(audit_count(&app, "delete", id), 0);
    }
    assert_eq!(app.snapshot(), before, "nothing deleted");
    // The edit page says so as well, without a delete button.
    let bronze = policy_id(&app, "subscription", "Bronze");
    let (_, page) = admin.page(&format!("{LIST}/{bronze}")).await;
    assert_eq!(
        texts(&page, "dd[data-field=uses]"),
        vec!["2 subscriptions and 1 API".to_string()]
    );
    assert!(!page.contains(&format!("action=\"{LIST}/{bronze}/delete\"")));
}

#[actix_web::test]
async fn hostile_text_in_policy_fields_is_refused_or_kept_exactly() {
    let (app, admin) = spawn_admin().await;
    let form = HostileForm {
        action: LIST,
        table: "throttling_policies",
        stored_by: &[
            ("level", &[]),
            ("name", &[]),
            ("display_name", &["script", "sql"]),
            ("description", &["script", "sql"]),
            ("request_count", &[]),
            ("unit_time", &[]),
            ("time_unit", &[]),
        ],
        form: &|n, field, payload| {
            let name = format!("Hostile{n}");
            owned(with_field(
                with_field(policy_fields(), "name", &name),
                field,
                payload,
            ))
        },
        created: &|app, n, _| policy_id(app, "subscription", &format!("Hostile{n}")),
        column: &policy_column,
        state: &|app| {
            vec![
                app.count("SELECT COUNT(*) FROM throttling_policies")
                    .to_string(),
            ]
        },
    };
    refused_or_kept_exactly(&app, &admin, &form).await;

    // The same payloads on an update are refused or stored the same way.
    let gold = policy_id(&app, "subscription", "Gold");
    for field in ["display_name", "description"] {
        for (kind, payload) in form_payloads("throttling_policies") {
            let fields = with_field(
                vec![
                    ("display_name", "Gold"),
                    ("description", ""),
                    ("unit_time", "1"),
                    ("time_unit", "min"),
                ],
                field,
                &payload,
            );
            let response = admin.post(&format!("{LIST}/{gold}"), &fields).await;
            let expected = if matches!(kind, "script" | "sql") {
                StatusCode::SEE_OTHER
            } else {
                StatusCode::UNPROCESSABLE_ENTITY
            };
            assert_eq!(response.status(), expected, "update {field} {kind}");
            if expected == StatusCode::SEE_OTHER {
                assert_eq!(policy_column(&app, gold, field), payload);
            } else {
                let body = response.text().await.unwrap();
                assert!(error_on(&body, field).is_some(), "update {field} {kind}");
            }
        }
    }
    assert_eq!(
        app.count("SELECT COUNT(*) FROM throttling_policies WHERE level = 'subscription'"),
        4 + 4,
        "the table is intact"
    );
}
