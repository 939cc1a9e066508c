//! The administrator's key managers: create, edit, enable, disable and delete, with their
//! rules, the audit trail and secrets kept encrypted.

use reqwest::StatusCode;

use crate::helpers::*;

fn dcr_form<'a>(name: &'a str, issuer: &'a str) -> Vec<(&'a str, &'a str)> {
    dcr_form_with(&[
        ("name", name),
        ("issuer", issuer),
        (
            "connector_initial_access_token",
            "iat-very-secret-value-4711",
        ),
    ])
}

/// Asks the admin form to discover a key manager from its well-known URL.
async fn discover(admin: &Browser, url: &str) -> reqwest::Response {
    admin
        .post("/admin/key-managers/discover", &discover_form(url))
        .await
}

/// Creates a DCR key manager at idp.example.com through the admin form: its page.
async fn create_dcr(admin: &Browser, name: &str) -> String {
    let form = dcr_form(name, "https://idp.example.com");
    location(&admin.post_ok("/admin/key-managers", &form).await)
}

#[actix_web::test]
async fn an_admin_creates_edits_disables_and_deletes_a_key_manager_with_audit() {
    let (app, admin) = spawn_admin().await;
    let (status, page) = admin.page("/admin/key-managers/new?type=dcr").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("name=\"connector_initial_access_token\""));

    let path = create_dcr(&admin, "partner-idp").await;
    let (_, list) = admin.page("/admin/key-managers").await;
    let resident = list.find("data-key-manager=\"resident\"").unwrap();
    let partner = list.find("data-key-manager=\"partner-idp\"").unwrap();
    assert!(resident < partner, "the resident key manager comes first");

    // The masked secret is encrypted at rest and never shown; an empty field keeps it.
    let bytes = app.stored_bytes();
    assert!(
        !bytes
            .windows(26)
            .any(|w| w == b"iat-very-secret-value-4711")
    );
    let (_, edit) = admin.page(&path).await;
    assert!(!edit.contains("iat-very-secret-value-4711"));
    let form = without_field(
        dcr_form("renamed", "https://idp.example.com"),
        "connector_initial_access_token",
    );
    let form = with_field(form, "display_name", "Partner IdP (EU)");
    admin.post_ok(&path, &form).await;
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
    let (_app, admin) = spawn_admin().await;
    let form = with_field(
        dcr_form("bad name!", "https://idp.example.com"),
        "token_endpoint",
        "http://169.254.169.254/token",
    );
    let response = admin.post("/admin/key-managers", &form).await;
    let page = unprocessable(response, "").await;
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
    let page = unprocessable(response, "").await;
    assert!(error_on(&page, "connector_client_secret").is_some());
    assert!(error_on(&page, "connector_client_id").is_some());
}

#[actix_web::test]
async fn name_and_issuer_are_unique_and_the_resident_key_manager_is_never_deleted() {
    let (app, admin) = spawn_admin().await;
    create_dcr(&admin, "one").await;
    // The same name elsewhere, another name at the same issuer: each refused on its field.
    for (name, issuer, field) in [
        ("one", "https://other.example.com", "name"),
        ("two", "https://idp.example.com", "issuer"),
    ] {
        let response = admin
            .post("/admin/key-managers", &dcr_form(name, issuer))
            .await;
        assert_eq!(response.status(), StatusCode::CONFLICT, "{name} {issuer}");
        assert!(
            error_on(&body_of(response).await, field).is_some(),
            "{field}"
        );
    }

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

const KEYS_POSTS: &[&str] = &[
    "generate",
    "map",
    "update",
    "regenerate-secret",
    "token",
    "remove",
];

/// Every keys POST route of one application answers 403 for the resident key manager.
async fn every_keys_post_is_forbidden(tpp: &Browser, id: i64) {
    for action in KEYS_POSTS {
        let response = tpp
            .post(
                &format!("/applications/{id}/keys/production/{action}"),
                &[
                    ("key_manager", "resident"),
                    ("grant_types", "client_credentials"),
                    ("consumer_key", "k"),
                    ("consumer_secret", "s"),
                ],
            )
            .await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "POST {action}");
    }
}

fn resident_form<'a>(
    permission: &'a str,
    roles: &'a str,
    enabled: bool,
) -> Vec<(&'a str, &'a str)> {
    let mut form = vec![
        ("display_name", "Resident Key Manager"),
        ("grant_types", "client_credentials"),
        ("grant_types", "authorization_code"),
        ("grant_types", "refresh_token"),
        ("enable_token_generation", "true"),
        ("enable_oob_provisioning", "true"),
        ("enable_oauth_app_creation", "true"),
        ("permission_type", permission),
        ("permission_roles", roles),
    ];
    if enabled {
        form.push(("enabled", "true"));
    }
    form
}

#[actix_web::test]
async fn a_disabled_resident_key_manager_offers_no_new_keys_until_enabled_again() {
    let (app, admin) = spawn_admin().await;
    let resident = app.count("SELECT id AS n FROM key_managers WHERE kind = 'resident'");
    let tpp = app.tpp("tpp-one").await;
    let id = tpp.create_application("Payments").await;

    let switch = |action: &str| format!("/admin/key-managers/{resident}/{action}");
    admin.post_ok(&switch("disable"), &[]).await;
    assert!(!offers_generation(&tpp, id).await, "no generate form");
    every_keys_post_is_forbidden(&tpp, id).await;

    admin.post_ok(&switch("enable"), &[]).await;
    assert!(
        offers_generation(&tpp, id).await,
        "the generate form is back"
    );
}

/// Whether the TPP's production keys page offers to generate keys.
async fn offers_generation(tpp: &Browser, id: i64) -> bool {
    let (_, page) = tpp
        .page(&format!("/applications/{id}/keys/production"))
        .await;
    page.contains("/keys/production/generate\"")
}

#[actix_web::test]
async fn a_key_manager_with_keys_cannot_be_deleted_and_the_refusal_lists_them() {
    let (app, admin) = spawn_admin().await;
    let km = create_dcr(&admin, "partner-idp").await;
    let km: i64 = km.rsplit('/').next().unwrap().parse().unwrap();
    let tpp = app.tpp("tpp-owner").await;
    let id = tpp.create_application("Ledger").await;
    // Keys the IdP behind partner-idp issued: SQL, as no IdP answers at idp.example.com here.
    app.execute(&format!(
        "INSERT INTO key_mappings (application_id, key_type, key_manager_id, consumer_key, create_mode, state, created_at, updated_at) \
         VALUES ({id}, 'PRODUCTION', {km}, 'ext-client', 'MAPPED', 'ACTIVE', 0, 0)"
    ));
    let (_, list) = admin.page("/admin/key-managers").await;
    assert!(list.contains("data-key-manager=\"partner-idp\""));
    let response = admin
        .post(&format!("/admin/key-managers/{km}/delete"), &[])
        .await;
    let page = body_with(response, StatusCode::CONFLICT).await;
    assert!(
        data_field(&page, "problem")
            .unwrap()
            .contains("1 application")
    );
    let users = data_field(&page, "key_users").unwrap();
    assert!(users.contains("Ledger") && users.contains("tpp-owner"));
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) FROM key_managers WHERE id = {km}"
        )),
        1
    );
}

#[actix_web::test]
async fn allow_and_deny_permissions_follow_the_roles_admins_assign() {
    let (app, admin) = spawn_admin().await;
    let tpp = app.tpp("tpp-role").await;
    let id = tpp.create_application("Open Banking").await;
    let user = app.user_id("tpp-role");
    let resident = app.count("SELECT id AS n FROM key_managers WHERE kind = 'resident'");
    let permission = |permission, roles| resident_form(permission, roles, true);
    let edit = format!("/admin/key-managers/{resident}");

    // ALLOW regulated-tpp: a TPP without the role may not use it.
    let allow = permission("ALLOW", "regulated-tpp");
    admin.post_ok(&edit, &allow).await;
    assert!(!offers_generation(&tpp, id).await);
    every_keys_post_is_forbidden(&tpp, id).await;

    // The admin gives the role on /admin/users: now it may.
    let roles = format!("/admin/users/{user}/roles");
    let both = [("roles", "regulated-tpp"), ("roles", "partner")];
    admin.post_ok(&roles, &both).await;
    let (_, users) = admin.page("/admin/users").await;
    assert!(users.contains("value=\"partner, regulated-tpp\""));
    assert!(offers_generation(&tpp, id).await);

    // DENY partner: the role now keeps it out.
    let deny = permission("DENY", "partner");
    admin.post_ok(&edit, &deny).await;
    assert!(!offers_generation(&tpp, id).await);
    every_keys_post_is_forbidden(&tpp, id).await;

    // Bad roles are refused.
    let bad = [("roles", "Not A Role")];
    assert_eq!(
        admin.post_status(&roles, &bad).await,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) FROM user_roles WHERE user_id = {user}"
        )),
        2
    );
}

/// A tiny loopback HTTP server that answers every request by `respond` (writing to the socket).
fn local_server(respond: fn(&mut std::net::TcpStream, u16)) -> String {
    use std::io::Read;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut buffer = [0u8; 4096];
            let _ = stream.read(&mut buffer);
            respond(&mut stream, port);
        }
    });
    format!("http://127.0.0.1:{port}")
}

fn discover_form(url: &str) -> Vec<(&str, &str)> {
    vec![
        ("type", "dcr"),
        ("name", "discovered"),
        ("display_name", "Discovered IdP"),
        ("well_known_url", url),
        ("connector_initial_access_token", "iat-never-echoed-0815"),
    ]
}

#[actix_web::test]
async fn discovery_fills_the_form_from_the_real_oidc_provider() {
    let server = crate::external_server::ExternalServer::start(&[]);
    let app = spawn_app_with(&[("PORTICO_ALLOW_PRIVATE_KM_URLS", "true")]).await;
    let admin = app.admin().await;
    let url = server.url("/.well-known/openid-configuration");
    let response = discover(&admin, &url).await;
    let page = body_with(response, StatusCode::OK).await;
    assert_eq!(
        input_value(&page, "issuer").as_deref(),
        Some(server.issuer.as_str())
    );
    assert!(
        input_value(&page, "token_endpoint")
            .unwrap()
            .starts_with(&server.issuer)
    );
    assert!(
        input_value(&page, "client_registration_endpoint")
            .unwrap()
            .starts_with(&server.issuer)
    );
    assert!(
        textarea_value(&page, "certificate_value")
            .unwrap()
            .starts_with(&server.issuer)
    );
    assert_eq!(
        input_value(&page, "display_name").as_deref(),
        Some("Discovered IdP")
    );
    assert!(!page.contains("iat-never-echoed-0815"));

    // The document offers implicit; the form never ticks it (nor password), and says what it
    // filled in.
    let document: serde_json::Value = reqwest::get(&url).await.unwrap().json().await.unwrap();
    let offered: Vec<&str> = document["grant_types_supported"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|g| g.as_str())
        .collect();
    assert!(offered.contains(&"implicit"), "{offered:?}");
    let ticked = checked_values(&page, "grant_types");
    assert!(
        ticked.contains(&"authorization_code".to_string()),
        "{ticked:?}"
    );
    assert!(
        !ticked.iter().any(|g| g == "implicit" || g == "password"),
        "{ticked:?}"
    );
    let filled = data_field(&page, "discovery_filled").expect("a confirmation of what was filled");
    for item in ["issuer", "token endpoint", "JWKS", "grant types"] {
        assert!(filled.contains(item), "{item} in {filled}");
    }
}

/// Hosts of SECURITY.md row 13 that are not on the public Internet, IPv6 transition addresses
/// carrying a non-public IPv4 address among them.
const NON_PUBLIC_HOSTS: &[&str] = &[
    "127.0.0.1",
    "0x7f.1",
    "2130706433",
    "[::ffff:127.0.0.1]",
    "169.254.169.254",
    "10.0.0.8",
    "localhost",
    "[::ffff:0:127.0.0.1]",         // SIIT
    "[::ffff:0:a9fe:a9fe]",         // SIIT, cloud metadata
    "[64:ff9b::10.0.0.1]",          // well-known NAT64
    "[64:ff9b:1::7f00:1]",          // local-use NAT64
    "[64:ff9b:1:a00:1::]",          // local-use NAT64, /48 layout
    "[2002:7f00:1::1]",             // 6to4, loopback
    "[2002:a9fe:a9fe::]",           // 6to4, cloud metadata
    "[2001:0:808:808::80ff:fffe]",  // Teredo, client 127.0.0.1 (obfuscated)
    "[2001:0:a00:1::f7f7:f7f7]",    // Teredo, server 10.0.0.1
    "[::127.0.0.1]",                // IPv4-compatible
    "[2a00:1450:4001::5efe:a00:1]", // ISATAP, 10.0.0.1
];

#[actix_web::test]
async fn discovery_refuses_every_non_public_address_when_private_urls_are_off() {
    let (_app, admin) = spawn_admin().await;
    for host in NON_PUBLIC_HOSTS {
        let url = format!("https://{host}/.well-known/openid-configuration");
        let response = discover(&admin, &url).await;
        let page = unprocessable(response, host).await;
        // Refused for its address, not attempted (an attempt would say it was unreachable).
        let error = error_on(&page, "well_known_url").unwrap_or_default();
        assert!(error.contains("public host"), "{host}: {error}");
    }
    let url = "http://idp.example.com/.well-known/openid-configuration";
    let response = admin
        .post("/admin/key-managers/discover", &discover_form(url))
        .await;
    assert_eq!(
        response.status(),
        StatusCode::UNPROCESSABLE_ENTITY,
        "plain http"
    );
}

#[actix_web::test]
async fn the_admin_form_refuses_every_non_public_endpoint_and_stores_nothing() {
    let (app, admin) = spawn_admin().await;
    let before = app.count("SELECT COUNT(*) FROM key_managers");
    for host in NON_PUBLIC_HOSTS {
        let endpoint = format!("https://{host}/token");
        let form = with_field(
            dcr_form("partner", "https://idp.example.com"),
            "token_endpoint",
            &endpoint,
        );
        let response = admin.post("/admin/key-managers", &form).await;
        let page = refused_on(response, "token_endpoint", "public host", host).await;
        assert_eq!(
            input_value(&page, "token_endpoint").as_deref(),
            Some(endpoint.as_str()),
            "{host}: the value is kept"
        );
    }
    assert_eq!(app.count("SELECT COUNT(*) FROM key_managers"), before);
}

#[actix_web::test]
async fn discovery_refuses_a_redirect_an_issuer_mismatch_and_an_oversized_body() {
    use std::io::Write;
    let app = spawn_app_with(&[("PORTICO_ALLOW_PRIVATE_KM_URLS", "true")]).await;
    let admin = app.admin().await;
    let redirect = local_server(|stream, _| {
        let _ = stream.write_all(b"HTTP/1.1 302 Found\r\nLocation: http://127.0.0.1:1/\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    });
    let mismatch = local_server(|stream, _| {
        let body = br#"{"issuer":"https://someone-else.example","jwks_uri":"https://someone-else.example/jwks"}"#;
        let _ = write!(
            stream,
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        );
        let _ = stream.write_all(body);
    });
    let huge = local_server(|stream, _| {
        let _ = stream.write_all(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n[",
        );
        let chunk = vec![b' '; 64 * 1024];
        for _ in 0..800 {
            if stream.write_all(&chunk).is_err() {
                return;
            }
        }
    });
    for (case, base, words) in [
        ("redirect", redirect, "redirect"),
        ("issuer mismatch", mismatch, "does not match"),
        ("50 MB body", huge, "1 MiB"),
    ] {
        let url = format!("{base}/.well-known/openid-configuration");
        let response = discover(&admin, &url).await;
        let page = unprocessable(response, case).await;
        let error = error_on(&page, "well_known_url").unwrap_or_default();
        assert!(error.contains(words), "{case}: {error}");
    }
}

#[actix_web::test]
async fn an_edit_with_errors_keeps_values_and_a_new_secret_replaces_the_stored_one() {
    let (app, admin) = spawn_admin().await;
    let path = create_dcr(&admin, "edited").await;
    let sealed =
        || app.blob("SELECT connector_secrets AS bytes FROM key_managers WHERE name = 'edited'");
    let before = sealed();

    let form = with_field(
        dcr_form("edited", "https://idp.example.com"),
        "issuer",
        "not a url",
    );
    let form = with_field(
        form,
        "connector_initial_access_token",
        "a-new-secret-value-9999",
    );
    let form = with_field(form, "display_name", "Kept Name");
    let response = admin.post(&path, &form).await;
    let page = unprocessable(response, "").await;
    assert!(error_on(&page, "issuer").is_some());
    assert_eq!(
        input_value(&page, "display_name").as_deref(),
        Some("Kept Name")
    );
    assert_eq!(data_field(&page, "name").as_deref(), Some("edited"));
    assert!(!page.contains("a-new-secret-value-9999"));
    assert!(page.contains("stored; leave empty to keep"));
    assert_eq!(sealed(), before, "nothing written");

    let form = with_field(
        dcr_form("edited", "https://idp.example.com"),
        "connector_initial_access_token",
        "a-new-secret-value-9999",
    );
    admin.post_ok(&path, &form).await;
    assert_ne!(
        sealed(),
        before,
        "the new secret is sealed in place of the old"
    );
    let bytes = app.stored_bytes();
    assert!(!bytes.windows(23).any(|w| w == b"a-new-secret-value-9999"));
}
