//! The test harness: `spawn_app()` starts Portico on a free loopback port with a fresh database
//! (a SQLite file, or a PostgreSQL database of its own: `pg.rs`); a `Browser` keeps cookies,
//! never follows redirects, and reads `csrf_token` from pages. Scenarios with data are seeded
//! through the pages by the builder in `builder.rs`; the page readers and shared checks below
//! keep the tests to what they check.

use std::path::PathBuf;
use std::sync::OnceLock;

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};
use portico::Application;
use portico::config::{FileSettings, Settings};
use portico::db::DbConnection;
use reqwest::{Response, StatusCode};
use scraper::{Html, Selector};
use tempfile::TempDir;

pub use crate::builder::{Scenario, TestAppBuilder};

pub const ADMIN: &str = "admin";
pub const ADMIN_PASSWORD: &str = "correct horse battery staple";
pub const PASSWORD: &str = "a long test passphrase";

pub struct TestApp {
    pub address: String,
    /// The SQLite file (on PostgreSQL, where it would be: nothing is there).
    pub db_path: PathBuf,
    /// What `PORTICO_DATABASE_URL` is: the SQLite file or this test's PostgreSQL database.
    pub db_url: String,
    pub(crate) pg: Option<std::sync::Arc<crate::pg::TestDatabase>>,
    pub dir: TempDir,
    /// The administrator's session that seeds data through the admin pages, once signed in.
    pub(crate) seeder: OnceLock<Browser>,
}

/// A listener on a free loopback port for a stand-in server, and its base URL.
pub fn loopback() -> (std::net::TcpListener, String) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free loopback port");
    let port = listener.local_addr().expect("a bound port").port();
    (listener, format!("http://127.0.0.1:{port}"))
}

/// A stand-in server on a free loopback port that answers every request with `handler`, which
/// may read `state` as app data; its base URL.
pub fn stand_in<T, F, Args>(state: actix_web::web::Data<T>, handler: F) -> String
where
    T: ?Sized + Send + Sync + 'static,
    F: actix_web::Handler<Args> + Send,
    Args: actix_web::FromRequest + 'static,
    F::Output: actix_web::Responder + 'static,
{
    let (listener, base) = loopback();
    let server = actix_web::HttpServer::new(move || {
        actix_web::App::new()
            .app_data(state.clone())
            .default_service(actix_web::web::to(handler.clone()))
    })
    .workers(1)
    .listen(listener)
    .expect("the stand-in listens")
    .run();
    actix_web::rt::spawn(server);
    base
}

/// Now as Unix seconds: the clock the stored times use, read here so SQL stays portable.
pub fn epoch_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("the clock is after 1970")
        .as_secs() as i64
}

/// Extra environment for one test's Portico (`PORTICO_SIGNUP_APPROVAL=true`, ...).
pub async fn spawn_app() -> TestApp {
    spawn_app_with(&[]).await
}

/// A fresh Portico and its first administrator, signed in.
pub async fn spawn_admin() -> (TestApp, Browser) {
    let app = spawn_app().await;
    let admin = app.admin().await;
    (app, admin)
}

/// A fresh Portico and a signed-in TPP.
pub async fn spawn_tpp(username: &str) -> (TestApp, Browser) {
    let app = spawn_app().await;
    let tpp = app.tpp(username).await;
    (app, tpp)
}

pub async fn spawn_app_with(env: &[(&str, &str)]) -> TestApp {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let db_path = dir.path().join("portico.db");
    spawn_on(dir, db_path, env).await
}

/// Starts another Portico on an existing database (a restart).
pub async fn restart(app: TestApp, env: &[(&str, &str)]) -> TestApp {
    let TestApp {
        dir,
        db_path,
        db_url,
        pg,
        ..
    } = app;
    start_on(
        TestApp {
            address: String::new(),
            db_path,
            db_url,
            pg,
            dir,
            seeder: OnceLock::new(),
        },
        env,
    )
    .await
}

async fn spawn_on(dir: TempDir, db_path: PathBuf, env: &[(&str, &str)]) -> TestApp {
    start_on(TestApp::unstarted(dir, db_path), env).await
}

async fn start_on(app: TestApp, env: &[(&str, &str)]) -> TestApp {
    let settings = settings_for(&app.db_url, env);
    let server = Application::build(settings).await.expect("Portico starts");
    let port = server.port();
    actix_web::rt::spawn(server.run_until_stopped());
    TestApp {
        address: format!("http://127.0.0.1:{port}"),
        ..app
    }
}

/// The settings of a test's Portico on the database `db_url` (a PostgreSQL one gets the shared
/// test secret key, which every instance on it must have).
pub fn settings_for(db_url: &str, env: &[(&str, &str)]) -> Settings {
    let mut vars: Vec<(String, String)> = vec![
        ("PORTICO_LISTEN".into(), "127.0.0.1:0".into()),
        ("PORTICO_DATABASE_URL".into(), db_url.to_string()),
        ("PORTICO_ADMIN_USERNAME".into(), ADMIN.into()),
        ("PORTICO_ADMIN_PASSWORD".into(), ADMIN_PASSWORD.into()),
    ];
    if db_url.starts_with("postgres") {
        vars.push(("PORTICO_SECRET_KEY".into(), crate::pg::SECRET_KEY.into()));
    }
    for (k, v) in env {
        vars.retain(|(name, _)| name != k);
        vars.push((k.to_string(), v.to_string()));
    }
    Settings::resolve(FileSettings::default(), |name| {
        vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
    })
    .expect("test settings are valid")
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

#[derive(QueryableByName)]
struct Line {
    #[diesel(sql_type = Text)]
    line: String,
}

impl TestApp {
    /// A Portico not (yet) listening on this database: for `restart` and external processes.
    /// On PostgreSQL the database is a new one of the test's own.
    pub fn unstarted(dir: TempDir, db_path: PathBuf) -> TestApp {
        let pg = crate::pg::on_postgres()
            .then(|| std::sync::Arc::new(crate::pg::TestDatabase::create()));
        TestApp {
            address: String::new(),
            db_url: pg.as_ref().map_or_else(
                || db_path.to_string_lossy().into_owned(),
                |db| db.url.clone(),
            ),
            pg,
            db_path,
            dir,
            seeder: OnceLock::new(),
        }
    }

    /// The environment a `portico` process needs to run on this test's database.
    pub fn db_env(&self) -> Vec<(&'static str, String)> {
        let mut env = vec![("PORTICO_DATABASE_URL", self.db_url.clone())];
        if self.pg.is_some() {
            env.push(("PORTICO_SECRET_KEY", crate::pg::SECRET_KEY.into()));
        }
        env
    }

    pub fn browser(&self) -> Browser {
        Browser {
            address: self.address.clone(),
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .cookie_store(true)
                .build()
                .expect("a client"),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    pub fn db(&self) -> DbConnection {
        if self.pg.is_some() {
            return DbConnection::Postgres(
                PgConnection::establish(&self.db_url).expect("the database answers"),
            );
        }
        let mut conn = SqliteConnection::establish(&self.db_url).expect("the database opens");
        diesel::sql_query("PRAGMA busy_timeout = 10000")
            .execute(&mut conn)
            .expect("pragma");
        DbConnection::Sqlite(conn)
    }

    /// `SELECT COUNT(*) ...` (or any query answering one integer named n).
    pub fn count(&self, sql: &str) -> i64 {
        let sql = sql.replacen("COUNT(*)", "COUNT(*) AS n", 1);
        diesel::sql_query(sql)
            .get_result::<Count>(&mut self.db())
            .expect("a count")
            .n
    }

    pub fn execute(&self, sql: &str) {
        diesel::sql_query(sql)
            .execute(&mut self.db())
            .expect("the statement runs");
    }

    /// One text value (`SELECT x AS line ...`).
    pub fn text(&self, sql: &str) -> String {
        diesel::sql_query(sql)
            .get_result::<Line>(&mut self.db())
            .expect("a value")
            .line
    }

    /// How many sessions the user with this id has.
    pub fn sessions_of(&self, user: i64) -> i64 {
        self.count(&format!(
            "SELECT COUNT(*) FROM sessions WHERE user_id = {user}"
        ))
    }

    /// How many audit events record changes (sign-ups and sign-ins aside).
    pub fn changes_audited(&self) -> i64 {
        self.count("SELECT COUNT(*) FROM audit_events WHERE object_type <> 'account'")
    }

    /// Every row of the tables a refused request must leave alone, as text.
    pub fn snapshot(&self) -> String {
        let queries = [
            "SELECT id || '|' || username || '|' || status || '|' || role || '|' || updated_at AS line FROM users ORDER BY id",
            "SELECT throttle_key || '|' || failures || '|' || coalesce(CAST(locked_until AS TEXT), '') AS line FROM login_throttles ORDER BY throttle_key",
            "SELECT name || '|' || updated_at AS line FROM throttling_policies ORDER BY id",
            "SELECT name || '|' || enabled || '|' || updated_at AS line FROM key_managers ORDER BY id",
            "SELECT id || '|' || owner_id || '|' || name || '|' || description || '|' || policy_id || '|' || updated_at AS line FROM applications ORDER BY id",
            "SELECT id || '|' || application_id || '|' || api_id || '|' || status || '|' || updated_at AS line FROM subscriptions ORDER BY id",
            "SELECT id || '|' || name || '|' || context || '|' || status || '|' || updated_at AS line FROM apis ORDER BY id",
            "SELECT COUNT(*) || ' audit events' AS line FROM audit_events",
        ];
        let mut conn = self.db();
        queries
            .iter()
            .flat_map(|q| {
                diesel::sql_query(*q)
                    .load::<Line>(&mut conn)
                    .expect("snapshot")
            })
            .map(|l| l.line)
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// A signed-in browser for a new active TPP.
    pub async fn tpp(&self, username: &str) -> Browser {
        // No organisation name: each TPP founds one named after them (names are unique).
        self.tpp_of(username, "").await
    }

    /// A signed-in browser for a new active TPP of a named organization.
    pub async fn tpp_of(&self, username: &str, organization: &str) -> Browser {
        let browser = self.browser();
        let fields = with_field(signup_fields(username), "organization", organization);
        let response = browser.post("/signup", &fields).await;
        assert_eq!(
            response.status(),
            StatusCode::SEE_OTHER,
            "sign-up of {username}"
        );
        let response = browser.sign_in(username, PASSWORD).await;
        assert_eq!(
            response.status(),
            StatusCode::SEE_OTHER,
            "sign-in of {username}"
        );
        browser
    }

    /// A signed-in browser for the first administrator.
    pub async fn admin(&self) -> Browser {
        let browser = self.browser();
        let response = browser.sign_in(ADMIN, ADMIN_PASSWORD).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "admin sign-in");
        browser
    }

    pub fn user_id(&self, username: &str) -> i64 {
        self.count(&format!(
            "SELECT id AS n FROM users WHERE username_key = '{}'",
            username.to_ascii_lowercase()
        ))
    }

    /// The organisation the person founded (the one they own; their first).
    pub fn organisation_of(&self, username: &str) -> i64 {
        self.count(&format!(
            "SELECT min(m.organisation_id) AS n FROM memberships m \
             JOIN users u ON u.id = m.user_id \
             WHERE u.username_key = '{}' AND m.role = 'owner'",
            username.to_ascii_lowercase()
        ))
    }
}

pub struct Browser {
    pub address: String,
    pub client: reqwest::Client,
}

impl Browser {
    pub async fn get(&self, path: &str) -> Response {
        self.client
            .get(format!("{}{}", self.address, path))
            .send()
            .await
            .expect("GET answers")
    }

    /// A GET, or a POST of these fields (with the CSRF token), as `method` says.
    pub async fn send(&self, method: &str, path: &str, fields: &[(&str, &str)]) -> Response {
        if method == "GET" {
            self.get(path).await
        } else {
            self.post(path, fields).await
        }
    }

    /// The status a GET answers.
    pub async fn get_status(&self, path: &str) -> StatusCode {
        self.get(path).await.status()
    }

    /// The status a POST of this form (with the CSRF token) answers.
    pub async fn post_status(&self, path: &str, fields: &[(&str, &str)]) -> StatusCode {
        self.post(path, fields).await.status()
    }

    /// GET and read the body as text.
    pub async fn page(&self, path: &str) -> (StatusCode, String) {
        let response = self.get(path).await;
        let status = response.status();
        (status, response.text().await.expect("a body"))
    }

    /// The session's CSRF token, read from a page that has a form.
    pub async fn csrf_token(&self) -> String {
        for path in ["/", "/login"] {
            let (_, body) = self.page(path).await;
            if let Some(token) = input_value(&body, "csrf_token") {
                return token;
            }
        }
        panic!("no page carries a csrf_token");
    }

    /// POSTs a form with this session's CSRF token added.
    pub async fn post(&self, path: &str, fields: &[(&str, &str)]) -> Response {
        let token = self.csrf_token().await;
        let mut all: Vec<(&str, &str)> = fields.to_vec();
        all.push(("csrf_token", &token));
        self.post_raw(path, &all).await
    }

    /// POSTs exactly these fields with one more header (`origin`, `sec-fetch-site`...).
    pub async fn post_with_header<T: serde::Serialize + ?Sized>(
        &self,
        path: &str,
        (name, value): (&str, &str),
        fields: &T,
    ) -> Response {
        self.client
            .post(format!("{}{}", self.address, path))
            .header(name, value)
            .form(fields)
            .send()
            .await
            .expect("POST answers")
    }

    /// POSTs a form (with the CSRF token) that must succeed with 303; the answer.
    pub async fn post_ok(&self, path: &str, fields: &[(&str, &str)]) -> Response {
        let response = self.post(path, fields).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "POST {path}");
        response
    }

    /// POSTs exactly these fields (no CSRF token added).
    pub async fn post_raw<T: serde::Serialize + ?Sized>(&self, path: &str, fields: &T) -> Response {
        self.client
            .post(format!("{}{}", self.address, path))
            .form(fields)
            .send()
            .await
            .expect("POST answers")
    }

    pub async fn sign_up(&self, username: &str) -> Response {
        self.post("/signup", &signup_fields(username)).await
    }

    pub async fn sign_in(&self, username: &str, password: &str) -> Response {
        self.post("/login", &[("username", username), ("password", password)])
            .await
    }

    /// Signs in through the sign-in page `login` drew, as a person would: with the `next` its
    /// form carries.
    pub async fn sign_in_on(&self, login: &str, username: &str, password: &str) -> Response {
        let next = input_value(login, "next").expect("the sign-in form carries next");
        let fields = [
            ("username", username),
            ("password", password),
            ("next", &next),
        ];
        self.post("/login", &fields).await
    }

    /// True when the home page shows this browser as signed in.
    pub async fn is_signed_in(&self) -> bool {
        let (_, body) = self.page("/").await;
        body.contains("action=\"/logout\"")
    }
}

pub fn signup_fields(username: &str) -> Vec<(&str, &str)> {
    vec![
        ("username", username),
        ("email", "dev@example.com"),
        ("first_name", "Ada"),
        ("last_name", "Lovelace"),
        // Empty: the organisation the sign-up founds is named after the username.
        ("organization", ""),
        ("password", PASSWORD),
        ("password_confirm", PASSWORD),
        ("accept_terms", "true"),
    ]
}

/// The admin's form for a DCR key manager "partner" at idp.example.com (nothing answers there).
pub const DCR_FORM: &[(&str, &str)] = &[
    ("type", "dcr"),
    ("name", "partner"),
    ("display_name", "Partner IdP"),
    ("issuer", "https://idp.example.com"),
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
    ("connector_initial_access_token", "iat-4711"),
];

/// A public, enabled key manager that validates JWTs itself and offers every kind of keys.
pub const KEY_MANAGER_SWITCHES: &[(&str, &str)] = &[
    ("token_validation", "self_validate_jwt"),
    ("permission_type", "PUBLIC"),
    ("enabled", "true"),
    ("enable_token_generation", "true"),
    ("enable_oob_provisioning", "true"),
    ("enable_oauth_app_creation", "true"),
];

/// `DCR_FORM` with other values for some of its fields.
pub fn dcr_form_with<'a>(changes: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    changes
        .iter()
        .fold(DCR_FORM.to_vec(), |form, (name, value)| {
            with_field(form, name, value)
        })
}

/// A form's fields as owned strings (for a form built inside a closure).
pub fn owned(fields: Vec<(&str, &str)>) -> Vec<(String, String)> {
    fields
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// Replaces (or adds) one field of a form.
pub fn with_field<'a>(
    mut fields: Vec<(&'a str, &'a str)>,
    name: &'a str,
    value: &'a str,
) -> Vec<(&'a str, &'a str)> {
    fields.retain(|(k, _)| *k != name);
    fields.push((name, value));
    fields
}

pub fn without_field<'a>(
    mut fields: Vec<(&'a str, &'a str)>,
    name: &str,
) -> Vec<(&'a str, &'a str)> {
    fields.retain(|(k, _)| *k != name);
    fields
}

/// The question the form posting to `action` asks before it posts (its `data-confirm`), when
/// it asks one: every destructive form does.
pub fn confirm_question(html: &str, action: &str) -> Option<String> {
    first_attribute(html, &format!("form[action=\"{action}\"]"), "data-confirm")
}

/// The hidden fields of the form posting to `action`, in order.
pub fn hidden_fields(html: &str, action: &str) -> Vec<(String, String)> {
    let document = Html::parse_document(html);
    let selector = format!("form[action=\"{action}\"] input[type=hidden]");
    let selector = Selector::parse(&selector).expect("a selector");
    document
        .select(&selector)
        .map(|input| {
            let value = input.value();
            (
                value.attr("name").unwrap_or_default().to_string(),
                value.attr("value").unwrap_or_default().to_string(),
            )
        })
        .collect()
}

/// The value of the first `<input name=...>` on a page.
pub fn input_value(html: &str, name: &str) -> Option<String> {
    first_attribute(html, &format!("input[name=\"{name}\"]"), "value")
}

/// An attribute of the first element a CSS selector matches.
fn first_attribute(html: &str, selector: &str, attribute: &str) -> Option<String> {
    let document = Html::parse_document(html);
    let selector = Selector::parse(selector).expect("a selector");
    let element = document.select(&selector).next()?;
    element.value().attr(attribute).map(str::to_string)
}

/// The texts of the inline field errors on a page.
pub fn field_errors(html: &str) -> Vec<String> {
    texts(html, ".field-error")
}

/// A header of an answer, which must be there, as text.
pub fn header(response: &Response, name: &str) -> String {
    response.headers()[name]
        .to_str()
        .expect("a header of visible characters")
        .to_string()
}

pub fn location(response: &Response) -> String {
    response
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string()
}

/// An application's keys page for one key type (`production`, `sandbox`).
pub fn keys_path(id: i64, key_type: &str) -> String {
    format!("/applications/{id}/keys/{key_type}")
}

/// Fills `{id}` in a route pattern.
pub fn fill_route(path: &str, id: i64) -> String {
    path.replace("{id}", &id.to_string())
}

/// Fills every placeholder of a route pattern.
pub fn fill_route_with(path: &str, id: i64, sub_id: i64, key_type: &str) -> String {
    path.replace("{id}", &id.to_string())
        .replace("{sub_id}", &sub_id.to_string())
        .replace("{key_type}", key_type)
}

impl Browser {
    /// Creates an application through the form; returns its id.
    pub async fn create_application(&self, name: &str) -> i64 {
        let response = self
            .post(
                "/applications",
                &[
                    ("name", name),
                    ("throttling_policy", "10PerMin"),
                    ("description", ""),
                ],
            )
            .await;
        assert_eq!(
            response.status(),
            StatusCode::SEE_OTHER,
            "create application {name}"
        );
        location(&response)
            .rsplit('/')
            .next()
            .unwrap()
            .parse()
            .expect("the application id")
    }
}

/// A client registered in the resident authorization server's registry for a test.
pub struct TestClient {
    pub client_id: String,
    pub secret: Option<String>,
}

/// How a test client is registered.
pub struct ClientSpec<'a> {
    pub application_id: Option<i64>,
    pub grants: &'a [&'a str],
    pub redirect_uris: &'a [&'a str],
    pub public: bool,
    pub pkce_mandatory: bool,
    pub pkce_plain_allowed: bool,
    pub resource_server: bool,
    /// The ID-token algorithm it registers (`RS256`...); `None`: the server's.
    pub id_token_algorithm: Option<&'a str>,
}

impl<'a> ClientSpec<'a> {
    /// A public client (a browser or native app: no secret, PKCE) with these redirect URIs.
    pub fn public(redirect_uris: &'a [&'a str]) -> Self {
        Self {
            public: true,
            redirect_uris,
            ..Default::default()
        }
    }
}

impl Default for ClientSpec<'_> {
    fn default() -> Self {
        Self {
            application_id: None,
            grants: &["client_credentials", "authorization_code", "refresh_token"],
            redirect_uris: &["https://client.example/callback"],
            public: false,
            pkce_mandatory: true,
            pkce_plain_allowed: false,
            resource_server: false,
            id_token_algorithm: None,
        }
    }
}

impl TestApp {
    /// Registers a client directly in the registry (the keys pages have their own tests).
    pub fn register_client(&self, spec: ClientSpec) -> TestClient {
        use portico::domain::keys::KeyType;
        use portico::oauth_server::clients::{ClientSettings, Lifetimes, OAuthClient};
        let settings = ClientSettings {
            client_name: "test client".into(),
            application_id: spec.application_id,
            key_type: spec.application_id.map(|_| KeyType::Production),
            grant_types: spec.grants.iter().map(|g| g.to_string()).collect(),
            redirect_uris: spec.redirect_uris.iter().map(|u| u.to_string()).collect(),
            pkce_mandatory: spec.pkce_mandatory,
            pkce_plain_allowed: spec.pkce_plain_allowed,
            public_client: spec.public,
            resource_server: spec.resource_server,
            lifetimes: Lifetimes::default(),
            id_token_algorithm: spec
                .id_token_algorithm
                .map(|a| a.parse().expect("an algorithm")),
        };
        let (client, secret) =
            OAuthClient::register(&mut self.db(), &settings).expect("the client registers");
        TestClient {
            client_id: client.client_id,
            secret,
        }
    }
}
impl TestApp {
    /// Every text value of a query (`SELECT x AS line ...`), in order.
    pub fn lines(&self, sql: &str) -> Vec<String> {
        diesel::sql_query(sql)
            .load::<Line>(&mut self.db())
            .expect("the query runs")
            .into_iter()
            .map(|l| l.line)
            .collect()
    }
}

fn select_first(html: &str, selector: &str) -> Option<String> {
    texts(html, selector).into_iter().next()
}

/// The inline error shown on one field (`<p class="field-error" id="FIELD-note">`).
pub fn error_on(html: &str, field: &str) -> Option<String> {
    select_first(html, &format!("#{field}-note.field-error"))
}

/// The body of an answer that must be 422 (a form refused for its values); `case` names the
/// try in a failure.
pub async fn unprocessable(response: Response, case: &str) -> String {
    assert_eq!(
        response.status(),
        StatusCode::UNPROCESSABLE_ENTITY,
        "{case}"
    );
    body_of(response).await
}

/// The body of an answer that must have `status`.
pub async fn body_with(response: Response, status: StatusCode) -> String {
    assert_eq!(response.status(), status);
    body_of(response).await
}

/// The body of an answer, as text.
pub async fn body_of(response: Response) -> String {
    response.text().await.expect("a body")
}

/// A form refused with 422 and an inline error on `field` that contains `message`: the page,
/// for the checks of the values it kept. `case` names the try in a failure.
pub async fn refused_on(response: Response, field: &str, message: &str, case: &str) -> String {
    let body = unprocessable(response, case).await;
    let error = error_on(&body, field);
    assert!(
        error.as_deref().is_some_and(|e| e.contains(message)),
        "{case}: expected {message:?} on {field}, got {error:?}"
    );
    body
}

/// The text of the first `<textarea name=...>` on a page.
pub fn textarea_value(html: &str, name: &str) -> Option<String> {
    select_first(html, &format!("textarea[name=\"{name}\"]"))
}

/// The value of the selected option of `<select name=...>`.
pub fn selected_value(html: &str, name: &str) -> Option<String> {
    first_attribute(
        html,
        &format!("select[name=\"{name}\"] option[selected]"),
        "value",
    )
}

/// The values of the ticked check boxes named `name`.
pub fn checked_values(html: &str, name: &str) -> Vec<String> {
    let document = Html::parse_document(html);
    let selector =
        Selector::parse(&format!("input[name=\"{name}\"][checked]")).expect("a selector");
    document
        .select(&selector)
        .filter_map(|e| e.value().attr("value").map(str::to_string))
        .collect()
}

/// The text of every element matching a CSS selector.
pub fn texts(html: &str, selector: &str) -> Vec<String> {
    let document = Html::parse_document(html);
    let selector = Selector::parse(selector).expect("a selector");
    document
        .select(&selector)
        .map(|e| e.text().collect::<String>())
        .collect()
}

/// The ids of form controls (not hidden) that no `<label for>` names.
pub fn unlabelled_controls(html: &str) -> Vec<String> {
    let document = Html::parse_document(html);
    let controls =
        Selector::parse("input:not([type=hidden]), select, textarea").expect("a selector");
    let labels = Selector::parse("label[for]").expect("a selector");
    let labelled: Vec<&str> = document
        .select(&labels)
        .filter_map(|l| l.value().attr("for"))
        .collect();
    document
        .select(&controls)
        .filter(|c| {
            c.value()
                .attr("id")
                .is_none_or(|id| !labelled.contains(&id))
        })
        .map(|c| c.html())
        .collect()
}

/// Asserts each (column, value) of a stored row, read by `column`.
pub fn assert_row(column: impl Fn(&str) -> String, expected: &[(&str, &str)]) {
    for (name, value) in expected {
        assert_eq!(column(name), *value, "{name}");
    }
}

/// Asserts that a page shows each of these texts.
pub fn assert_shows(page: &str, texts: &[&str]) {
    for text in texts {
        assert!(page.contains(text), "the page shows {text:?}");
    }
}

/// True when the text appears on the page only escaped (never as raw markup).
pub fn shown_escaped(html: &str, markup: &str) -> bool {
    let escaped_named = markup.replace('<', "&lt;").replace('>', "&gt;");
    let escaped_numeric = markup.replace('<', "&#60;").replace('>', "&#62;");
    !html.contains(markup) && (html.contains(&escaped_named) || html.contains(&escaped_numeric))
}

/// The text of `<... data-field="name">`.
pub fn data_field(html: &str, name: &str) -> Option<String> {
    select_first(html, &format!("[data-field=\"{name}\"]"))
}

/// A test's request whose answer is JSON: `request.fetch_json().await` sends it and reads the
/// body, failing the test when either fails.
pub trait FetchJson {
    fn fetch_json<T: serde::de::DeserializeOwned>(self) -> impl Future<Output = T>;
}

impl FetchJson for reqwest::RequestBuilder {
    async fn fetch_json<T: serde::de::DeserializeOwned>(self) -> T {
        self.send().await.unwrap().json().await.unwrap()
    }
}
