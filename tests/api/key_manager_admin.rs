//! The administrator's key managers: create, edit, enable, disable and delete, with their
//! rules, the audit trail and secrets kept encrypted.

use reqwest::StatusCode;

use crate::helpers::*;

fn dcr_form<'a>(name: &'a str, issuer: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("type", "dcr"),
        ("name", name),
        ("display_name", "Partner IdP"),
        ("issuer", issuer),
        ("token_endpoint", "https://idp.example.com/token"),
        (
            "client_registration_endpoint",
            "https://idp.example.com/register",
        ),
        ("grant_types", "client_credentials"),
        ("certificate_type", "JWKS"),
        ("certificate_value", "https://idp.example.com/jwks"),
        ("token_validation", "self_validate_jwt"),
        ("permission_type", "PUBLIC"),
        ("enabled", "true"),
        (
            "connector_initial_access_token",
            "iat-very-secret-value-4711",
        ),
    ]
}

#[actix_web::test]
async fn an_admin_creates_edits_disables_and_deletes_a_key_manager_with_audit() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let (status, page) = admin.page("/admin/key-managers/new?type=dcr").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("name=\"connector_initial_access_token\""));

    let response = admin
        .post(
            "/admin/key-managers",
            &dcr_form("partner-idp", "https://idp.example.com"),
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let path = location(&response);
    let (_, list) = admin.page("/admin/key-managers").await;
    let resident = list.find("data-key-manager=\"resident\"").unwrap();
    let partner = list.find("data-key-manager=\"partner-idp\"").unwrap();
    assert!(resident < partner, "the resident key manager comes first");

    // The masked secret is encrypted at rest and never shown; an empty field keeps it.
    let bytes = std::fs::read(&app.db_path).unwrap();
    let wal = std::fs::read(app.db_path.with_extension("db-wal")).unwrap_or_default();
    for file in [&bytes, &wal] {
        assert!(!file.windows(26).any(|w| w == b"iat-very-secret-value-4711"));
    }
    let (_, edit) = admin.page(&path).await;
    assert!(!edit.contains("iat-very-secret-value-4711"));
    let form = without_field(
        dcr_form("renamed", "https://idp.example.com"),
        "connector_initial_access_token",
    );
    let form = with_field(form, "display_name", "Partner IdP (EU)");
    let response = admin.post(&path, &form).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        app.text("SELECT name AS line FROM key_managers WHERE display_name = 'Partner IdP (EU)'"),
        "partner-idp",
        "the name is fixed once created"
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM key_managers WHERE name = 'partner-idp' AND connector_secrets IS NOT NULL"),
        1
    );

    let id = path.rsplit('/').next().unwrap();
    for action in ["disable", "enable", "delete"] {
        let response = admin
            .post(&format!("/admin/key-managers/{id}/{action}"), &[])
            .await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "{action}");
    }
    assert_eq!(
        app.count("SELECT COUNT(*) FROM key_managers WHERE name = 'partner-idp'"),
        0
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM audit_events WHERE object_type = 'key_manager'"),
        5,
        "create, update, disable, enable, delete"
    );
}

#[actix_web::test]
async fn rules_name_their_field_keep_values_and_never_echo_secrets() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let form = with_field(
        dcr_form("bad name!", "https://idp.example.com"),
        "token_endpoint",
        "http://169.254.169.254/token",
    );
    let response = admin.post("/admin/key-managers", &form).await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = response.text().await.unwrap();
    assert!(error_on(&page, "name").is_some());
    assert!(error_on(&page, "token_endpoint").is_some());
    assert_eq!(
        input_value(&page, "display_name").as_deref(),
        Some("Partner IdP")
    );
    assert!(!page.contains("iat-very-secret-value-4711"));

    let auth0 = vec![
        ("type", "auth0"),
        ("name", "auth0"),
        ("display_name", "Auth0"),
        ("issuer", "https://t.eu.auth0.com"),
        ("token_endpoint", "https://t.eu.auth0.com/oauth/token"),
        ("grant_types", "client_credentials"),
    ];
    let response = admin.post("/admin/key-managers", &auth0).await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = response.text().await.unwrap();
    assert!(error_on(&page, "connector_client_secret").is_some());
    assert!(error_on(&page, "connector_client_id").is_some());
}

#[actix_web::test]
async fn name_and_issuer_are_unique_and_the_resident_key_manager_is_never_deleted() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let response = admin
        .post(
            "/admin/key-managers",
            &dcr_form("one", "https://idp.example.com"),
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let response = admin
        .post(
            "/admin/key-managers",
            &dcr_form("one", "https://other.example.com"),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CONFLICT);
    assert!(error_on(&response.text().await.unwrap(), "name").is_some());
    let response = admin
        .post(
            "/admin/key-managers",
            &dcr_form("two", "https://idp.example.com"),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CONFLICT);
    assert!(error_on(&response.text().await.unwrap(), "issuer").is_some());

    let resident = app.count("SELECT id AS n FROM key_managers WHERE kind = 'resident'");
    let response = admin
        .post(&format!("/admin/key-managers/{resident}/delete"), &[])
        .await;
    assert_eq!(response.status(), StatusCode::CONFLICT);
    let (_, page) = admin.page(&format!("/admin/key-managers/{resident}")).await;
    assert!(
        page.contains("/oauth2/token"),
        "the resident endpoints are shown, read-only"
    );
    assert!(input_value(&page, "token_endpoint").is_none());
}
