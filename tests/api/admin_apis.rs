//! APIs in the admin area: the list with statuses and subscription counts, create and edit with
//! tiers, the lifecycle, OpenAPI documents in JSON and YAML, every rule naming its field.

use reqwest::StatusCode;

use crate::helpers::*;
use crate::hostile::{HostileForm, refused_or_kept_exactly};

const LIST: &str = "/admin/apis";

const PETSTORE_JSON: &str = r#"{
  "openapi": "3.0.3",
  "info": {"title": "Pets", "version": "1.0.0"},
  "paths": {
    "/pets": {
      "get": {"summary": "List pets", "responses": {"200": {"description": "ok"}}},
      "post": {"summary": "Add a pet", "responses": {"201": {"description": "created"}}}
    },
    "/pets/{petId}": {
      "parameters": [{"name": "petId", "in": "path", "required": true, "schema": {"type": "string"}}],
      "delete": {"responses": {"204": {"description": "gone"}}}
    }
  }
}"#;

const ORDERS_YAML: &str = "openapi: 3.1.0
info:
  title: Orders
  version: 2.0.0
paths:
  /orders:
    get:
      summary: List orders
      responses:
        200:
          description: ok
  /orders/{id}:
    patch:
      summary: Change an order
      responses:
        200:
          description: ok
    head:
      responses:
        204:
          description: exists
";

fn api_fields<'a>(name: &'a str, context: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("name", name),
        ("version", "1.0.0"),
        ("context", context),
        ("description", "Pets and their owners"),
        ("tiers", "Bronze"),
        ("tiers", "Gold"),
        ("status", "CREATED"),
    ]
}

/// Replaces every value of a (possibly repeated) field by one value.
fn set<'a>(
    fields: Vec<(&'a str, &'a str)>,
    name: &'a str,
    value: &'a str,
) -> Vec<(&'a str, &'a str)> {
    with_field(fields, name, value)
}

async fn create_api(browser: &Browser, fields: &[(&str, &str)]) -> i64 {
    let response = browser.post(LIST, fields).await;
    assert_eq!(
        response.status(),
        StatusCode::SEE_OTHER,
        "the API is created"
    );
    let location = location(&response);
    location
        .strip_prefix("/admin/apis/")
        .and_then(|id| id.parse().ok())
        .unwrap_or_else(|| panic!("a Location to the API's page, got {location:?}"))
}

fn api_column(app: &TestApp, id: i64, column: &str) -> String {
    app.text(&format!(
        "SELECT coalesce(CAST({column} AS TEXT), 'NULL') AS line FROM apis WHERE id = {id}"
    ))
}

fn tiers_of(app: &TestApp, id: i64) -> Vec<String> {
    app.lines(&format!(
        "SELECT p.name AS line FROM api_tiers t JOIN throttling_policies p ON p.id = t.policy_id \
         WHERE t.api_id = {id} ORDER BY p.name"
    ))
}

fn audit_count(app: &TestApp, action: &str, id: i64) -> i64 {
    app.count(&format!(
        "SELECT COUNT(*) FROM audit_events WHERE action = '{action}' AND object_type = 'api' \
         AND object_id = {id} AND actor_name = '{ADMIN}'"
    ))
}

/// Every row an API change could touch, as text.
fn catalog_snapshot(app: &TestApp) -> Vec<String> {
    let mut rows = app.lines(
        "SELECT id || '|' || name || '|' || version || '|' || context || '|' || description || '|' || status \
         || '|' || coalesce(CAST(openapi_document AS TEXT), 'NULL') || '|' || operations || '|' || updated_at AS line FROM apis ORDER BY id",
    );
    rows.extend(app.lines(
        "SELECT api_id || '|' || policy_id AS line FROM api_tiers ORDER BY api_id, policy_id",
    ));
    rows.extend(app.lines(
        "SELECT id || '|' || action || '|' || object_type AS line FROM audit_events ORDER BY id",
    ));
    rows
}

/// The operations table of an API's page, as "METHOD path | summary".
fn operations(page: &str) -> Vec<String> {
    let document = scraper::Html::parse_document(page);
    let rows = scraper::Selector::parse("#operations tbody tr").unwrap();
    let cells = scraper::Selector::parse("td").unwrap();
    document
        .select(&rows)
        .map(|row| {
            let cells: Vec<String> = row
                .select(&cells)
                .map(|c| c.text().collect::<String>())
                .collect();
            format!("{} {} | {}", cells[0], cells[1], cells[2])
        })
        .collect()
}

#[actix_web::test]
async fn an_admin_creates_an_api_with_its_tiers() {
    let (app, admin) = spawn_admin().await;
    let (status, form) = admin.page(&format!("{LIST}/new")).await;
    assert_eq!(status, StatusCode::OK);
    for tier in ["Bronze", "Silver", "Gold", "Unlimited"] {
        assert!(
            form.contains(&format!(
                "name=\"tiers\" type=\"checkbox\" value=\"{tier}\""
            )),
            "{tier}"
        );
    }
    assert!(
        !form.contains("value=\"10PerMin\""),
        "application policies are not tiers"
    );
    assert_eq!(
        texts(&form, "select[name=status] option"),
        vec!["CREATED", "PUBLISHED"],
        "a new API starts as CREATED or PUBLISHED"
    );
    assert!(
        unlabelled_controls(&form).is_empty(),
        "{:?}",
        unlabelled_controls(&form)
    );

    let id = create_api(&admin, &api_fields("Pets", "/pets/v1")).await;
    assert_row(
        |column| api_column(&app, id, column),
        &[
            ("name", "Pets"),
            ("version", "1.0.0"),
            ("context", "/pets/v1"),
            ("description", "Pets and their owners"),
            ("status", "CREATED"),
            ("openapi_document", "NULL"),
            ("operations", "[]"),
        ],
    );
    assert_eq!(tiers_of(&app, id), vec!["Bronze", "Gold"]);
    assert_eq!(audit_count(&app, "create", id), 1);

    let (status, page) = admin.page(&format!("{LIST}/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("The API Pets 1.0.0 was created."));
    assert_eq!(input_value(&page, "name").as_deref(), Some("Pets"));
    assert_eq!(input_value(&page, "context").as_deref(), Some("/pets/v1"));
    assert_eq!(checked_values(&page, "tiers"), vec!["Bronze", "Gold"]);
    assert_eq!(selected_value(&page, "status").as_deref(), Some("CREATED"));
    assert!(page.contains("No OpenAPI document yet"));

    // Created directly as PUBLISHED.
    let fields = set(api_fields("Owners", "/owners"), "status", "PUBLISHED");
    let id = create_api(&admin, &fields).await;
    assert_eq!(api_column(&app, id, "status"), "PUBLISHED");
}

#[actix_web::test]
async fn the_list_shows_every_api_with_its_status_and_subscription_count() {
    let (app, admin) = spawn_admin().await;
    let (_, empty) = admin.page(LIST).await;
    assert!(empty.contains("No APIs yet"));
    let pets = create_api(
        &admin,
        &set(api_fields("Pets", "/pets"), "status", "PUBLISHED"),
    )
    .await;
    let owners = create_api(&admin, &api_fields("Owners", "/owners")).await;
    let vets = create_api(&admin, &api_fields("Vets", "/vets")).await;
    admin.walk_api(vets, "RETIRED").await;
    // Three subscriptions to Pets, from three applications.
    let owner = app.tpp("owner").await;
    for n in 1..=3 {
        let application = owner.create_application(&format!("app{n}")).await;
        owner.subscribe(pets, application, "Bronze").await;
    }
    let (status, list) = admin.page(LIST).await;
    assert_eq!(status, StatusCode::OK);
    let cell = |id: i64, field: &str| {
        texts(
            &list,
            &format!("tr[data-api=\"{id}\"] [data-field=\"{field}\"]"),
        )
        .into_iter()
        .next()
        .unwrap_or_default()
    };
    assert_eq!(cell(pets, "status"), "PUBLISHED");
    assert_eq!(cell(pets, "subscriptions"), "3");
    assert_eq!(cell(owners, "status"), "CREATED");
    assert_eq!(cell(owners, "subscriptions"), "0");
    assert_eq!(cell(vets, "status"), "RETIRED");
    assert_eq!(cell(pets, "context"), "/pets");
    assert!(list.contains("class=\"badge badge-success\" data-field=\"status\">PUBLISHED"));
    assert!(list.contains("class=\"badge badge-danger\" data-field=\"status\">RETIRED"));
    let (_, home) = admin.page("/admin").await;
    assert!(home.contains("href=\"/admin/apis\""));
}

#[actix_web::test]
async fn every_api_rule_names_its_field_and_keeps_the_values() {
    let (app, admin) = spawn_admin().await;
    let before = catalog_snapshot(&app);
    let long_name = "n".repeat(101);
    let long_version = "1".repeat(31);
    let long_context = format!("/{}", "c".repeat(200));
    let long_description = "d".repeat(2001);
    let cases: Vec<(&str, &str, &str, &str)> = vec![
        ("name", "", "name", "Name is required"),
        ("name", &long_name, "name", "at most 100"),
        ("name", "two\nlines", "name", "control characters"),
        ("version", "", "version", "Version is required"),
        ("version", &long_version, "version", "at most 30"),
        ("version", "1 0", "version", "only letters"),
        ("version", "v1/2", "version", "only letters"),
        ("context", "", "context", "Context is required"),
        ("context", "pets", "context", "must start with /"),
        ("context", "/", "context", "2 to 200"),
        ("context", &long_context, "context", "2 to 200"),
        ("context", "/pets/", "context", "must not end with /"),
        ("context", "//pets", "context", "must not contain //"),
        ("context", "/pets//v1", "context", "must not contain //"),
        ("context", "/pets v1", "context", "may contain only"),
        ("context", "/pets?v=1", "context", "may contain only"),
        ("context", "/pets/../admin", "context", ". or .."),
        (
            "description",
            &long_description,
            "description",
            "at most 2000",
        ),
        ("tiers", "", "tiers", "at least one"),
        (
            "tiers",
            "Platinum",
            "tiers",
            "Not a subscription policy: Platinum",
        ),
        (
            "tiers",
            "10PerMin",
            "tiers",
            "Not a subscription policy: 10PerMin",
        ),
        (
            "tiers",
            "bad tier!",
            "tiers",
            "Choose the tiers from the list",
        ),
        ("status", "", "status", "Choose a status"),
        ("status", "LIVE", "status", "Choose a status"),
        (
            "status",
            "DEPRECATED",
            "status",
            "starts as CREATED or PUBLISHED",
        ),
        (
            "status",
            "RETIRED",
            "status",
            "starts as CREATED or PUBLISHED",
        ),
    ];
    for (field, value, error_field, message) in cases {
        let fields = set(api_fields("Pets", "/pets"), field, value);
        let response = admin.post(LIST, &fields).await;
        let case = format!("{field}={value:?}");
        let body = refused_on(response, error_field, message, &case).await;
        match field {
            "description" => assert_eq!(textarea_value(&body, field).as_deref(), Some(value)),
            "name" | "version" | "context" => {
                assert_eq!(input_value(&body, field).as_deref(), Some(value), "{field}")
            }
            _ => {}
        }
        if field != "tiers" {
            assert_eq!(checked_values(&body, "tiers"), vec!["Bronze", "Gold"]);
        }
        if field != "name" {
            assert_eq!(input_value(&body, "name").as_deref(), Some("Pets"));
        }
    }
    assert_eq!(catalog_snapshot(&app), before, "nothing written");
    assert_eq!(app.count("SELECT COUNT(*) FROM apis"), 0);
}

#[actix_web::test]
async fn name_and_version_are_unique_together_and_contexts_are_unique() {
    let (app, admin) = spawn_admin().await;
    create_api(&admin, &api_fields("Pets", "/pets")).await;
    let before = catalog_snapshot(&app);

    let response = admin.post(LIST, &api_fields("Pets", "/pets-again")).await;
    assert_eq!(response.status(), StatusCode::CONFLICT);
    let body = response.text().await.unwrap();
    assert!(
        error_on(&body, "version").is_some_and(|e| e.contains("already has version 1.0.0")),
        "{:?}",
        error_on(&body, "version")
    );
    assert_eq!(
        input_value(&body, "context").as_deref(),
        Some("/pets-again")
    );

    let response = admin.post(LIST, &api_fields("Cats", "/pets")).await;
    assert_eq!(response.status(), StatusCode::CONFLICT);
    let body = response.text().await.unwrap();
    assert!(
        error_on(&body, "context").is_some_and(|e| e.contains("already used by Pets 1.0.0")),
        "{:?}",
        error_on(&body, "context")
    );
    assert_eq!(input_value(&body, "name").as_deref(), Some("Cats"));
    assert_eq!(catalog_snapshot(&app), before, "nothing written");

    // Another version of the same API, or another context, is fine.
    let v2 = create_api(
        &admin,
        &set(api_fields("Pets", "/pets/v2"), "version", "2.0.0"),
    )
    .await;
    // An update into another API's context is refused the same way.
    let before = catalog_snapshot(&app);
    let fields = set(api_fields("Pets", "/pets"), "version", "2.0.0");
    let response = admin.post(&format!("{LIST}/{v2}"), &fields).await;
    assert_eq!(response.status(), StatusCode::CONFLICT);
    let body = response.text().await.unwrap();
    assert!(error_on(&body, "context").is_some());
    assert_eq!(input_value(&body, "context").as_deref(), Some("/pets"));
    assert_eq!(catalog_snapshot(&app), before, "nothing written");
}

#[actix_web::test]
async fn the_lifecycle_allows_only_its_transitions() {
    use StatusCode as S;
    let (app, admin) = spawn_admin().await;
    let statuses = ["CREATED", "PUBLISHED", "DEPRECATED", "RETIRED"];
    // (from, to) -> None when allowed, or the refusal's words.
    let refusal = |from: &str, to: &str| -> Option<String> {
        let allowed = from == to
            || matches!(
                (from, to),
                ("CREATED", "PUBLISHED")
                    | ("PUBLISHED", "DEPRECATED")
                    | ("DEPRECATED", "PUBLISHED")
                    | ("PUBLISHED", "RETIRED")
                    | ("DEPRECATED", "RETIRED")
                    | ("CREATED", "RETIRED")
            );
        if allowed {
            None
        } else if from == "RETIRED" {
            Some("A RETIRED API cannot change status".into())
        } else if to == "CREATED" {
            Some(format!("An API cannot go from {from} back to CREATED"))
        } else {
            Some(format!("An API cannot go from {from} to {to}"))
        }
    };
    let mut n = 0;
    for from in statuses {
        for to in statuses {
            n += 1;
            let context = format!("/lifecycle/{n}");
            let name = format!("Lifecycle {n}");
            let id = create_api(&admin, &api_fields(&name, &context)).await;
            admin.walk_api(id, from).await;
            let updates = audit_count(&app, "update", id);
            let version = format!("{n}.0");
            let fields = set(
                set(api_fields(&name, &context), "status", to),
                "version",
                &version,
            );
            let response = admin.post(&format!("{LIST}/{id}"), &fields).await;
            match refusal(from, to) {
                None => {
                    assert_eq!(response.status(), S::SEE_OTHER, "{from} -> {to}");
                    assert_eq!(location(&response), format!("{LIST}/{id}"));
                    assert_eq!(api_column(&app, id, "status"), to, "{from} -> {to}");
                    assert_eq!(audit_count(&app, "update", id), updates + 1);
                }
                Some(message) => {
                    refused_on(response, "status", &message, &format!("{from} -> {to}")).await;
                    assert_eq!(api_column(&app, id, "status"), from, "{from} -> {to}");
                    assert_ne!(api_column(&app, id, "version"), version, "nothing written");
                    assert_eq!(audit_count(&app, "update", id), updates);
                }
            }
        }
    }
    // A refused transition is reported together with the form's other problems.
    let id = create_api(&admin, &api_fields("Together", "/together")).await;
    admin.walk_api(id, "PUBLISHED").await;
    let fields = set(
        set(api_fields("Together", "/together/"), "status", "CREATED"),
        "tiers",
        "Platinum",
    );
    let response = admin.post(&format!("{LIST}/{id}"), &fields).await;
    let body = unprocessable(response, "").await;
    assert!(error_on(&body, "status").is_some_and(|e| e.contains("back to CREATED")));
    assert!(error_on(&body, "context").is_some_and(|e| e.contains("must not end with /")));
    assert!(error_on(&body, "tiers").is_some_and(|e| e.contains("Platinum")));

    // The edit page offers only the statuses the API may take.
    let id = create_api(&admin, &api_fields("Offered", "/offered")).await;
    admin.walk_api(id, "PUBLISHED").await;
    let (_, page) = admin.page(&format!("{LIST}/{id}")).await;
    assert_eq!(
        texts(&page, "select[name=status] option"),
        vec!["PUBLISHED", "DEPRECATED", "RETIRED"]
    );
}

#[actix_web::test]
async fn an_openapi_document_in_json_lists_its_operations() {
    let (app, admin) = spawn_admin().await;
    let mut fields = api_fields("Pets", "/pets");
    fields.push(("openapi_document", PETSTORE_JSON));
    let id = create_api(&admin, &fields).await;
    assert_eq!(api_column(&app, id, "openapi_document"), PETSTORE_JSON);
    let stored: serde_json::Value =
        serde_json::from_str(&api_column(&app, id, "operations")).unwrap();
    assert_eq!(stored.as_array().unwrap().len(), 3);
    assert_eq!(
        stored[0],
        serde_json::json!({"method": "GET", "path": "/pets", "summary": "List pets"})
    );

    let (_, page) = admin.page(&format!("{LIST}/{id}")).await;
    assert_eq!(
        operations(&page),
        vec![
            "GET /pets | List pets",
            "POST /pets | Add a pet",
            "DELETE /pets/{petId} | ",
        ]
    );
    assert_eq!(
        texts(&page, "pre[data-field=openapi_document]"),
        vec![PETSTORE_JSON.to_string()]
    );
    assert_eq!(
        textarea_value(&page, "openapi_document").as_deref(),
        Some(""),
        "the field starts empty: empty keeps the stored document"
    );
    assert!(page.contains("Leave empty to keep the stored document."));
}

#[actix_web::test]
async fn an_openapi_document_in_yaml_lists_its_operations() {
    let (app, admin) = spawn_admin().await;
    let id = create_api(&admin, &api_fields("Orders", "/orders")).await;
    let mut fields = api_fields("Orders", "/orders");
    fields.push(("openapi_document", ORDERS_YAML));
    admin.post_ok(&format!("{LIST}/{id}"), &fields).await;
    assert_eq!(api_column(&app, id, "openapi_document"), ORDERS_YAML);
    assert_eq!(audit_count(&app, "update", id), 1);
    let (_, page) = admin.page(&format!("{LIST}/{id}")).await;
    assert!(page.contains("The API Orders 1.0.0 was saved."));
    assert_eq!(
        operations(&page),
        vec![
            "GET /orders | List orders",
            "HEAD /orders/{id} | ",
            "PATCH /orders/{id} | Change an order",
        ]
    );
}

#[actix_web::test]
async fn invalid_swagger_and_oversized_documents_are_refused() {
    let (app, admin) = spawn_admin().await;
    let big = format!(
        "{{\"openapi\":\"3.0.0\",\"paths\":{{}},\"info\":{{\"description\":\"{}\"}}}}",
        "a".repeat(61 * 1024)
    );
    let swagger = r#"{"swagger": "2.0", "info": {"title": "Old", "version": "1"}, "paths": {"/a": {"get": {}}}}"#;
    let cases: Vec<(&str, &str)> = vec![
        (
            "openapi: 3.0.0\npaths:\n  /a:\n    get: [\n",
            "not valid JSON or YAML (line 5, column 1:",
        ),
        (
            "{\"openapi\": \"3.0.0\",\n \"paths\": {",
            "not valid JSON or YAML (line 2, column 11:",
        ),
        (swagger, "must declare openapi 3.x"),
        ("openapi: 2.0.0\npaths: {}\n", "must declare openapi 3.x"),
        ("just some text", "must declare openapi 3.x"),
        ("openapi: 3.0.0\ninfo: {title: t}\n", "has no paths"),
        ("openapi: 3.0.0\npaths: [1, 2]\n", "has no paths"),
        (&big, "at most 60 KiB"),
    ];
    let existing = create_api(&admin, &api_fields("Kept", "/kept")).await;
    let mut with_document = api_fields("Kept", "/kept");
    with_document.push(("openapi_document", PETSTORE_JSON));
    admin
        .post(&format!("{LIST}/{existing}"), &with_document)
        .await;
    let before = catalog_snapshot(&app);
    for (document, message) in cases {
        let short = &document[..document.len().min(40)];
        // On create...
        let mut fields = api_fields("Pets", "/pets");
        fields.push(("openapi_document", document));
        let response = admin.post(LIST, &fields).await;
        let body = refused_on(response, "openapi_document", message, &format!("{short:?}")).await;
        assert_eq!(
            textarea_value(&body, "openapi_document").as_deref(),
            Some(document),
            "the document is kept"
        );
        // ...and on update, where the stored document stays.
        let mut fields = api_fields("Kept", "/kept");
        fields.push(("openapi_document", document));
        let response = admin.post(&format!("{LIST}/{existing}"), &fields).await;
        let body = unprocessable(response, &format!("{short:?}")).await;
        assert!(error_on(&body, "openapi_document").is_some_and(|e| e.contains(message)));
        assert_eq!(
            operations(&body).len(),
            3,
            "the stored operations are shown"
        );
    }
    assert_eq!(catalog_snapshot(&app), before, "nothing written");
}

#[actix_web::test]
async fn an_empty_document_field_keeps_the_stored_document_and_the_tick_box_removes_it() {
    let (app, admin) = spawn_admin().await;
    let mut fields = api_fields("Pets", "/pets");
    fields.push(("openapi_document", PETSTORE_JSON));
    let id = create_api(&admin, &fields).await;
    let path = format!("{LIST}/{id}");

    let fields = set(api_fields("Pets", "/pets"), "description", "New words");
    let fields = set(fields, "openapi_document", "  \n ");
    admin.post_ok(&path, &fields).await;
    assert_eq!(api_column(&app, id, "description"), "New words");
    assert_eq!(api_column(&app, id, "openapi_document"), PETSTORE_JSON);

    // A new document and the removal together are contradictory.
    let before = catalog_snapshot(&app);
    let mut fields = api_fields("Pets", "/pets");
    fields.push(("openapi_document", ORDERS_YAML));
    fields.push(("remove_openapi_document", "true"));
    let response = admin.post(&path, &fields).await;
    let body = unprocessable(response, "").await;
    assert!(error_on(&body, "remove_openapi_document").is_some_and(|e| e.contains("not both")));
    assert_eq!(catalog_snapshot(&app), before);

    let mut fields = api_fields("Pets", "/pets");
    fields.push(("remove_openapi_document", "true"));
    admin.post_ok(&path, &fields).await;
    assert_eq!(api_column(&app, id, "openapi_document"), "NULL");
    assert_eq!(api_column(&app, id, "operations"), "[]");
    let (_, page) = admin.page(&path).await;
    assert!(page.contains("No OpenAPI document yet"));
    assert!(
        !page.contains("name=\"remove_openapi_document\""),
        "nothing left to remove"
    );
    assert_eq!(audit_count(&app, "update", id), 2);
}

#[actix_web::test]
async fn updating_an_api_replaces_its_tiers() {
    let (app, admin) = spawn_admin().await;
    let id = create_api(&admin, &api_fields("Pets", "/pets")).await;
    let fields = set(api_fields("Pets", "/pets"), "tiers", "Silver");
    let mut fields = fields;
    fields.push(("tiers", "Unlimited"));
    fields.push(("tiers", "Silver"));
    admin.post_ok(&format!("{LIST}/{id}"), &fields).await;
    assert_eq!(tiers_of(&app, id), vec!["Silver", "Unlimited"]);
    let (_, page) = admin.page(&format!("{LIST}/{id}")).await;
    assert_eq!(checked_values(&page, "tiers"), vec!["Silver", "Unlimited"]);

    // Refusing every tier leaves the tiers as they were.
    let before = catalog_snapshot(&app);
    let fields = without_field(api_fields("Pets", "/pets"), "tiers");
    let response = admin.post(&format!("{LIST}/{id}"), &fields).await;
    let body = unprocessable(response, "").await;
    assert!(error_on(&body, "tiers").is_some_and(|e| e.contains("at least one")));
    assert_eq!(catalog_snapshot(&app), before);
}

#[actix_web::test]
async fn unknown_apis_are_404() {
    let (app, admin) = spawn_admin().await;
    for path in ["/admin/apis/9999", "/admin/apis/abc"] {
        assert_eq!(
            admin.get_status(path).await,
            StatusCode::NOT_FOUND,
            "{path}"
        );
        assert_eq!(
            admin
                .post_status(path, &api_fields("Ghost", "/ghost"))
                .await,
            StatusCode::NOT_FOUND,
            "{path}"
        );
    }
    assert_eq!(app.count("SELECT COUNT(*) FROM apis"), 0);
    assert_eq!(app.changes_audited(), 0);
}

#[actix_web::test]
async fn the_form_offers_a_file_reader_for_openapi_documents() {
    let (_app, admin) = spawn_admin().await;
    let id = create_api(&admin, &api_fields("Pets", "/pets")).await;
    for path in [format!("{LIST}/new"), format!("{LIST}/{id}")] {
        let (_, page) = admin.page(&path).await;
        assert!(
            page.contains("<input id=\"openapi_file\" type=\"file\" accept=\".json,.yaml,.yml\""),
            "{path}"
        );
        assert!(page.contains("<label for=\"openapi_file\">"), "{path}");
        assert!(
            page.contains("<script src=\"/static/js/openapi-upload.js\" defer></script>"),
            "{path}"
        );
        assert!(
            unlabelled_controls(&page).is_empty(),
            "{path}: {:?}",
            unlabelled_controls(&page)
        );
    }
    let script = admin.get("/static/js/openapi-upload.js").await;
    assert_eq!(script.status(), StatusCode::OK);
    assert!(header(&script, "content-type").starts_with("text/javascript"));
    assert!(script.text().await.unwrap().contains("FileReader"));
    // Other pages do not load it.
    let (_, list) = admin.page(LIST).await;
    assert!(!list.contains("openapi-upload.js"));
}

#[actix_web::test]
async fn hostile_text_in_api_fields_is_refused_or_kept_exactly() {
    let (app, admin) = spawn_admin().await;
    let form = HostileForm {
        action: LIST,
        table: "apis",
        stored_by: &[
            ("name", &["script", "sql"]),
            ("version", &[]),
            ("context", &[]),
            ("description", &["script", "sql"]),
            ("openapi_document", &[]),
            ("tiers", &[]),
            ("status", &[]),
        ],
        form: &|n, field, payload| {
            let (name, context) = (format!("Hostile {n}"), format!("/hostile/{n}"));
            owned(set(api_fields(&name, &context), field, payload))
        },
        created: &|_, _, location| location.trim_start_matches("/admin/apis/").parse().unwrap(),
        column: &api_column,
        state: &catalog_snapshot,
    };
    refused_or_kept_exactly(&app, &admin, &form).await;
    let script = "<script>alert(1)</script>";
    let sql = "x'); DROP TABLE apis; --";

    // Markup inside an OpenAPI document's summaries and paths is stored and shown escaped.
    let document = format!(
        r#"{{"openapi": "3.0.0", "paths": {{"/x": {{"get": {{"summary": "{script} {sql}"}}}}}}}}"#
    );
    let mut fields = api_fields("Documented", "/documented");
    fields.push(("openapi_document", &document));
    let id = create_api(&admin, &fields).await;
    assert_eq!(api_column(&app, id, "openapi_document"), document);
    let (status, page) = admin.page(&format!("{LIST}/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(shown_escaped(&page, script));
    assert_eq!(operations(&page), vec![format!("GET /x | {script} {sql}")]);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM apis"),
        5,
        "the table is intact"
    );
}
