//! SECURITY.md rows 10, 30 and 31 for every route of the route table: hostile text in every
//! field of every form is refused or stored exactly, never a 5xx, and every page shows it
//! escaped.

use portico::startup::{Access, ROUTES};
use reqwest::StatusCode;

use crate::helpers::*;

/// Every form field name the portal's forms use.
const FIELDS: &[&str] = &[
    "name",
    "description",
    "throttling_policy",
    "application_id",
    "username",
    "email",
    "first_name",
    "last_name",
    "organization",
    "password",
    "password_confirm",
    "accept_terms",
    "reason",
    "version",
    "context",
    "tiers",
    "status",
    "level",
    "display_name",
    "request_count",
    "unit_time",
    "time_unit",
    "requires_approval",
    "openapi_document",
    "decision",
    "client_id",
    "redirect_uri",
    "scope",
    "state",
    "prompt",
    "max_age",
    "nonce",
    "request",
    "request_uri",
    "response_type",
    "code_challenge",
    "code_challenge_method",
    "id_token_hint",
    "post_logout_redirect_uri",
    "next",
    "key_manager",
    "grant_types",
    "callback_url",
    "consumer_key",
    "consumer_secret",
    "scopes",
    "validity_period",
    "application_certificate",
    "roles",
];

const SCRIPT: &str = "<script>alert('portico')</script>";
const ATTRIBUTE: &str = "\" onmouseover=\"alert('portico')\" x=\"";

fn payloads() -> Vec<String> {
    vec![
        SCRIPT.to_string(),
        ATTRIBUTE.to_string(),
        "right\u{202E}to left".to_string(),
        "nul\0byte".to_string(),
        "zero\u{200B}width".to_string(),
        "x".repeat(10_000),
        "'; DROP TABLE users; -- %_\\".to_string(),
    ]
}

/// Destructive routes go last, so that the others still find their objects.
fn destructive(path: &str) -> bool {
    [
        "/delete", "/lock", "/reject", "/remove", "/revoke", "/logout",
    ]
    .iter()
    .any(|s| path.ends_with(s))
}

#[actix_web::test]
async fn hostile_text_in_every_field_of_every_form_never_breaks_a_page() {
    let app = TestApp::new()
        .with_api("Payments", "/payments", &["Bronze"])
        .with_subscriber("hostile-tpp", "Target", "Payments", "Bronze")
        .build()
        .await;
    let (api, application) = (app.api("Payments"), app.application("Target"));
    let tpp = app.session("hostile-tpp");
    let subscription = app.count("SELECT id AS n FROM subscriptions");
    let admin = app.admin().await;
    let policy = app.count("SELECT id AS n FROM throttling_policies WHERE name = '50PerMin'");
    let user = app.user_id("hostile-tpp");

    let mut posts: Vec<_> = ROUTES.iter().filter(|r| r.method == "POST").collect();
    posts.sort_by_key(|r| destructive(r.path));
    let (mut tried, mut broken) = (0, Vec::new());
    for route in posts {
        let id = if route.path.starts_with("/applications") {
            application
        } else if route.path.starts_with("/apis") || route.path.starts_with("/admin/apis") {
            api
        } else if route.path.starts_with("/admin/users") {
            user
        } else if route.path.starts_with("/admin/subscriptions") {
            subscription
        } else if route.path.starts_with("/admin/throttling-policies") {
            policy
        } else {
            1
        };
        let path = fill_route_with(route.path, id, subscription, "production");
        let browser = if route.access == Access::Admin {
            &admin
        } else {
            tpp
        };
        for payload in payloads() {
            let fields: Vec<(&str, &str)> = FIELDS.iter().map(|f| (*f, payload.as_str())).collect();
            let status = browser.post(&path, &fields).await.status();
            if status.as_u16() >= 500 {
                broken.push(format!("POST {path} with {payload:.20?} answered {status}"));
            }
            tried += 1;
        }
    }
    assert!(broken.is_empty(), "{broken:#?}");
    assert!(tried >= 20 * payloads().len());
    let mut pages = 0;

    // Every page, for the TPP, the administrator and a visitor: no 5xx, nothing unescaped.
    let tpp = app.tpp("crawler").await;
    for route in ROUTES.iter().filter(|r| r.method == "GET") {
        let path = fill_route_with(
            route.path,
            if route.path.starts_with("/apis") {
                api
            } else {
                application
            },
            subscription,
            "production",
        );
        for browser in [&admin, &tpp, &app.browser()] {
            let (status, body) = browser.page(&path).await;
            assert!(status.as_u16() < 500, "GET {path} answered {status}");
            assert!(
                !body.contains("<script>alert"),
                "GET {path} shows a script unescaped"
            );
            assert!(
                !body.contains("onmouseover=\"alert"),
                "GET {path} breaks out of an attribute"
            );
            pages += 1;
        }
    }
    assert_eq!(app.browser().get_status("/healthz").await, StatusCode::OK);
    println!(
        "hostile: {tried} POSTs ({} routes × {} payloads, each in all {} fields), no 5xx; {pages} page views escaped",
        tried / payloads().len(),
        payloads().len(),
        FIELDS.len()
    );
}

/// The searches and filters pages read from their query, with every hostile text: no 5xx
/// (a NUL is no text PostgreSQL can compare), nothing unescaped.
#[actix_web::test]
async fn hostile_text_in_every_search_and_filter_never_breaks_a_page() {
    let (app, admin) = spawn_admin().await;
    let tpp = app.tpp("searcher").await;
    let keys = keys_path(tpp.create_application("Target").await, "production");
    for payload in payloads() {
        let q = |name: &str| {
            url::form_urlencoded::Serializer::new(String::new())
                .append_pair(name, &payload)
                .finish()
        };
        let audit = format!("{}&{}&{}", q("actor"), q("action"), q("object_type"));
        let visits = [
            (&tpp, format!("/apis?{}", q("q"))),
            (&tpp, format!("{keys}?{}", q("key_manager"))),
            (&admin, format!("/admin/audit?{audit}")),
            (&admin, format!("/admin/users?{}", q("status"))),
            (&admin, format!("/admin/subscriptions?{}", q("status"))),
        ];
        for (browser, path) in visits {
            let (status, body) = browser.page(&path).await;
            let shown = format!("GET {path:.40}");
            assert!(status.as_u16() < 500, "{shown} answered {status}");
            assert!(!body.contains("<script>alert"), "{shown} shows a script");
            assert!(!body.contains("onmouseover=\"alert"), "{shown} breaks out");
        }
    }
}

/// The hostile texts an admin form is tried with, by kind; `table` names the form's table in
/// the SQL one.
pub fn form_payloads(table: &str) -> Vec<(&'static str, String)> {
    vec![
        ("script", "<script>alert(1)</script>".to_string()),
        ("sql", format!("x'); DROP TABLE {table}; --")),
        ("rtl", "abc\u{202E}fed".to_string()),
        ("nul", "a\0b".to_string()),
        ("long", "é".repeat(10_000)),
    ]
}

/// Builds the n-th try's form with one field set to a payload.
pub type FormFor = dyn Fn(usize, &str, &str) -> Vec<(String, String)>;

/// An admin create form, tried with each payload in each field (SECURITY.md row 10).
pub struct HostileForm<'a> {
    /// Where the form posts; its list is there too, and the edit page at `{action}/{id}`.
    pub action: &'a str,
    /// The table behind the form (for the SQL payload).
    pub table: &'a str,
    /// Which payload kinds each field stores exactly; the others are refused with 422.
    pub stored_by: &'a [(&'a str, &'a [&'a str])],
    /// A valid form for the n-th try (unique names) with one field set to the payload.
    pub form: &'a FormFor,
    /// The id of what the n-th try created, from the answer's Location.
    pub created: &'a dyn Fn(&TestApp, usize, &str) -> i64,
    /// One column of a stored row, as text.
    pub column: &'a dyn Fn(&TestApp, i64, &str) -> String,
    /// What a refused try must leave alone.
    pub state: &'a dyn Fn(&TestApp) -> Vec<String>,
}

/// Tries every payload in every field of the form: a stored one is kept exactly and shown back
/// in its edit page's field; a refused one answers 422 naming the field and writes nothing;
/// the list shows the markup escaped.
pub async fn refused_or_kept_exactly(app: &TestApp, admin: &Browser, form: &HostileForm<'_>) {
    let mut n = 0;
    for (field, stored) in form.stored_by {
        for (kind, payload) in form_payloads(form.table) {
            n += 1;
            let fields = (form.form)(n, field, &payload);
            let fields: Vec<(&str, &str)> = fields
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            let before = (form.state)(app);
            let response = admin.post(form.action, &fields).await;
            if stored.contains(&kind) {
                assert_eq!(response.status(), StatusCode::SEE_OTHER, "{field} {kind}");
                let id = (form.created)(app, n, &location(&response));
                assert_eq!((form.column)(app, id, field), payload, "{field} {kind}");
                let (status, page) = admin.page(&format!("{}/{id}", form.action)).await;
                assert_eq!(status, StatusCode::OK);
                let shown = if *field == "description" {
                    textarea_value(&page, field)
                } else {
                    input_value(&page, field)
                };
                assert_eq!(shown.as_deref(), Some(payload.as_str()), "{field} {kind}");
            } else {
                let body = unprocessable(response, &format!("{field} {kind}")).await;
                assert!(error_on(&body, field).is_some(), "{field} {kind}");
                assert_eq!((form.state)(app), before, "{field} {kind}");
            }
        }
    }
    let (status, list) = admin.page(form.action).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        shown_escaped(&list, "<script>alert(1)</script>"),
        "the list escapes the markup"
    );
}

/// The net under every lookup: text with a NUL, which PostgreSQL text cannot hold, is the
/// sender's mistake wherever it reaches the database — a 400 page (or OAuth `invalid_request`)
/// saying so, not a 500. (SQLite takes such text and finds nothing.)
#[actix_web::test]
async fn a_nul_that_reaches_postgresql_is_bad_input_not_a_failure() {
    use actix_web::ResponseError;
    use diesel::prelude::*;
    use portico::db::schema::users;
    if !crate::pg::on_postgres() {
        return; // SQLite stores a NUL; there is nothing to refuse.
    }
    let database = crate::pg::TestDatabase::create();
    let settings = settings_for(&database.url, &[]);
    let pool = portico::db::connect(settings.database).expect("the test database");
    let mut conn = pool.get().unwrap();
    let conn: &mut portico::db::DbConnection = &mut conn;
    let failed = users::table
        .filter(users::username.eq("a\0b"))
        .select(users::id)
        .load::<i64>(conn)
        .expect_err("PostgreSQL refuses a NUL in text");
    let error = portico::db::DbError::from(failed);
    assert!(error.is_nul_in_text(), "{error}");
    assert!(!error.is_unavailable());
    let page = portico::error::AppError::from(error);
    assert_eq!(page.status_code().as_u16(), 400);
    assert!(page.message().contains("NUL"), "{}", page.message());
    let again = users::table
        .filter(users::email.eq("x\0"))
        .select(users::id)
        .load::<i64>(conn)
        .unwrap_err();
    let oauth = portico::oauth_server::error::OAuthError::from(again);
    assert_eq!(oauth.status_code().as_u16(), 400);
    let body = actix_web::body::to_bytes(oauth.error_response().into_body())
        .await
        .unwrap();
    assert!(
        String::from_utf8_lossy(&body).contains("\"invalid_request\""),
        "{body:?}"
    );
}
