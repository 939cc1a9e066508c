//! Server-side sessions: cookie flags, fixation, sign-out, idle and absolute expiry.

use reqwest::StatusCode;

use crate::helpers::*;

fn session_cookie(response: &reqwest::Response) -> Option<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.contains("portico_session="))
        .map(str::to_string)
}

/// A client that sends exactly the cookie it is given.
fn raw_client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

fn cookie_pair(set_cookie: &str) -> String {
    set_cookie.split(';').next().unwrap().to_string()
}

async fn signed_in_as(app: &TestApp, cookie: &str) -> bool {
    let body = text_of(raw_client().get(app.url("/")).header("cookie", cookie)).await;
    body.contains("action=\"/logout\"")
}

/// The body a request answers, as text.
async fn text_of(request: reqwest::RequestBuilder) -> String {
    request.send().await.unwrap().text().await.unwrap()
}

/// The anonymous CSRF cookie a form page sets, and the token its form carries.
async fn anonymous_form(app: &TestApp, path: &str) -> (String, String) {
    let page = raw_client().get(app.url(path)).send().await.unwrap();
    assert!(
        session_cookie(&page).is_none(),
        "GET {path} starts no session"
    );
    let cookie = set_cookie(&page, "portico_csrf=").expect("the form page sets the CSRF cookie");
    let token = input_value(&page.text().await.unwrap(), "csrf_token").unwrap();
    (cookie_pair(&cookie), token)
}

fn set_cookie(response: &reqwest::Response, prefix: &str) -> Option<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.contains(prefix))
        .map(str::to_string)
}

/// Signs in with a raw client; the response of the sign-in POST.
async fn raw_sign_in(app: &TestApp, username: &str) -> reqwest::Response {
    let (csrf_cookie, token) = anonymous_form(app, "/login").await;
    raw_client()
        .post(app.url("/login"))
        .header("cookie", csrf_cookie)
        .form(&[
            ("username", username),
            ("password", PASSWORD),
            ("csrf_token", &token),
        ])
        .send()
        .await
        .unwrap()
}

#[actix_web::test]
async fn the_cookies_are_http_only_and_same_site_lax() {
    let app = spawn_app().await;
    app.browser().sign_up("kim").await;
    let page = raw_client().get(app.url("/login")).send().await.unwrap();
    let csrf = set_cookie(&page, "portico_csrf=").expect("the sign-in form sets a CSRF cookie");
    let response = raw_sign_in(&app, "kim").await;
    let session = session_cookie(&response).expect("signing in starts a session");
    assert!(session.starts_with("portico_session="));
    assert!(csrf.starts_with("portico_csrf="));
    for cookie in [csrf, session] {
        assert!(cookie.contains("HttpOnly"), "{cookie}");
        assert!(cookie.contains("SameSite=Lax"), "{cookie}");
        assert!(cookie.contains("Path=/"), "{cookie}");
        assert!(
            !cookie.contains("Secure"),
            "plain http on loopback: no Secure flag"
        );
    }
}

#[actix_web::test]
async fn over_https_the_cookies_are_secure_with_the_host_prefix() {
    let app = spawn_app_with(&[("PORTICO_PUBLIC_URL", "https://portal.example.test")]).await;
    app.browser().sign_up("kai").await;
    let page = raw_client().get(app.url("/login")).send().await.unwrap();
    let csrf = set_cookie(&page, "portico_csrf=").expect("a CSRF cookie");
    let token = input_value(&page.text().await.unwrap(), "csrf_token").unwrap();
    let response = raw_client()
        .post(app.url("/login"))
        .header("cookie", cookie_pair(&csrf))
        .form(&[
            ("username", "kai"),
            ("password", PASSWORD),
            ("csrf_token", &token),
        ])
        .send()
        .await
        .unwrap();
    let session = session_cookie(&response).expect("a session cookie");
    assert!(session.starts_with("__Host-portico_session="), "{session}");
    assert!(csrf.starts_with("__Host-portico_csrf="), "{csrf}");
    for cookie in [csrf, session] {
        assert!(cookie.contains("Secure"), "{cookie}");
        assert!(cookie.contains("HttpOnly"), "{cookie}");
        assert!(cookie.contains("Path=/"), "{cookie}");
        assert!(!cookie.to_ascii_lowercase().contains("domain="), "{cookie}");
    }
}

#[actix_web::test]
async fn anonymous_pages_without_forms_start_no_session() {
    let app = spawn_app().await;
    let response = app.browser().get("/").await;
    assert!(session_cookie(&response).is_none());
    assert!(set_cookie(&response, "portico_csrf=").is_none());
    assert_eq!(app.count("SELECT COUNT(*) FROM sessions"), 0);
}

#[actix_web::test]
async fn a_flood_of_anonymous_visits_stores_no_session_and_health_still_answers() {
    use futures_util::StreamExt;
    let app = spawn_app().await;
    let client = app.register_client(ClientSpec::default());
    let authorize = format!(
        "/oauth2/authorize?response_type=code&client_id={}&redirect_uri=https%3A%2F%2Fclient.example%2Fcallback&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256&state=s",
        client.client_id
    );
    let paths = ["/login", "/signup", "/", authorize.as_str()];
    let per_path = 750;
    let http = raw_client();
    let requests = paths
        .iter()
        .flat_map(|path| std::iter::repeat_n(app.url(path), per_path));
    let statuses: Vec<u16> = futures_util::stream::iter(requests)
        .map(|url| {
            let http = http.clone();
            async move { http.get(url).send().await.unwrap().status().as_u16() }
        })
        .buffer_unordered(16)
        .collect()
        .await;
    assert_eq!(statuses.len(), paths.len() * per_path);
    assert!(
        statuses.iter().all(|s| *s == 200 || *s == 303),
        "every page answered"
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM sessions"),
        0,
        "{} anonymous visits stored no session",
        statuses.len()
    );
    // The authorization request of a visitor still leads to sign-in.
    let response = http.get(app.url(&authorize)).send().await.unwrap();
    assert!(location(&response).starts_with("/login?next=%2Foauth2%2Fauthorize"));

    let started = std::time::Instant::now();
    let health = http.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), StatusCode::OK);
    assert!(started.elapsed() < std::time::Duration::from_secs(1));
    println!("anonymous flood: {} GETs, 0 session rows", statuses.len());
}

#[actix_web::test]
async fn signing_in_gives_a_new_session_id_and_a_planted_one_stays_anonymous() {
    let app = spawn_app().await;
    app.browser().sign_up("lena").await;
    app.browser().sign_up("mallory").await;
    // The attacker's own session, ended, then planted in the victim's browser.
    let mallory = raw_sign_in(&app, "mallory").await;
    let planted = cookie_pair(&session_cookie(&mallory).unwrap());
    // Ended on the server (as the idle limit would end it), in SQL.
    app.execute("DELETE FROM sessions");

    let (csrf_cookie, anonymous_token) = anonymous_form(&app, "/login").await;
    let response = raw_client()
        .post(app.url("/login"))
        .header("cookie", format!("{csrf_cookie}; {planted}"))
        .form(&[
            ("username", "lena"),
            ("password", PASSWORD),
            ("csrf_token", &anonymous_token),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let fresh = cookie_pair(&session_cookie(&response).expect("a new session cookie at sign-in"));
    // The signed-in session has its own token: the anonymous one no longer does.
    let refused = raw_client()
        .post(app.url("/logout"))
        .header("cookie", format!("{csrf_cookie}; {fresh}"))
        .form(&[("csrf_token", &anonymous_token)])
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert_ne!(fresh, planted);
    assert!(signed_in_as(&app, &fresh).await);
    assert!(
        !signed_in_as(&app, &planted).await,
        "the planted session is anonymous"
    );
    assert_eq!(app.count("SELECT COUNT(*) FROM sessions"), 1);
}

#[actix_web::test]
async fn a_cookie_replayed_after_sign_out_is_anonymous() {
    let app = spawn_app().await;
    let browser = app.tpp("mike").await;
    let id = app.user_id("mike");
    // Capture the signed-in cookie by signing in again with a raw client.
    let response = raw_sign_in(&app, "mike").await;
    let cookie = cookie_pair(&session_cookie(&response).unwrap());
    assert!(signed_in_as(&app, &cookie).await);

    let home = text_of(raw_client().get(app.url("/")).header("cookie", &cookie)).await;
    let token = input_value(&home, "csrf_token").unwrap();
    let response = raw_client()
        .post(app.url("/logout"))
        .header("cookie", &cookie)
        .form(&[("csrf_token", &token)])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert!(
        !signed_in_as(&app, &cookie).await,
        "the replayed cookie is anonymous"
    );
    // The other browser's session is untouched; only one row is left for mike.
    assert!(browser.is_signed_in().await);
    assert_eq!(app.sessions_of(id), 1);
}

#[actix_web::test]
async fn sign_out_shows_the_sign_in_page() {
    let app = spawn_app().await;
    let browser = app.tpp("nina").await;
    let response = browser.post("/logout", &[]).await;
    assert_eq!(location(&response), "/login?signed_out=true");
    let (_, page) = browser.page(&location(&response)).await;
    assert!(page.contains("You have signed out"));
    assert!(!browser.is_signed_in().await);
}

#[actix_web::test]
async fn sessions_expire_when_idle_and_at_their_absolute_limit() {
    let app = spawn_app().await;
    let idle = app.tpp("olga").await;
    expire_sessions(&app, "olga");
    assert!(
        !idle.is_signed_in().await,
        "30 minutes without a request end the session"
    );

    let old = app.browser();
    old.sign_in("olga", PASSWORD).await;
    assert!(old.is_signed_in().await);
    let limit = epoch_now() - 12 * 3600 - 1;
    age_sessions(&app, "olga", &format!("created_at = {limit}"));
    assert!(
        !old.is_signed_in().await,
        "12 hours after sign-in the session ends, however active"
    );
}

#[actix_web::test]
async fn activity_pushes_the_idle_deadline_forward() {
    let app = spawn_app().await;
    let browser = app.tpp("pat").await;
    let id = app.user_id("pat");
    // Ten minutes left: a request extends the session to a full 30 minutes again.
    age_sessions(&app, "pat", &format!("expires_at = {}", epoch_now() + 600));
    assert!(browser.is_signed_in().await);
    let left = app.count(&format!(
        "SELECT expires_at AS n FROM sessions WHERE user_id = {id}"
    )) - epoch_now();
    assert!(left > 1700, "{left} seconds left");
}

#[actix_web::test]
async fn the_database_keeps_only_a_hash_of_the_session_key() {
    let app = spawn_app().await;
    app.tpp("quinn").await;
    let id = app.text("SELECT id AS line FROM sessions WHERE user_id IS NOT NULL LIMIT 1");
    assert_eq!(id.len(), 64, "a SHA-256 hex digest");
    assert!(id.chars().all(|c| c.is_ascii_hexdigit()));
}

/// Sends a form of the page at `page` (its CSRF token read first) after sam's session expired.
async fn post_after_expiry(
    app: &TestApp,
    browser: &Browser,
    page: &str,
    action: &str,
    fields: &[(&str, &str)],
) -> reqwest::Response {
    let (_, html) = browser.page(page).await;
    let token = input_value(&html, "csrf_token").unwrap();
    expire_sessions(app, "sam");
    let mut all = fields.to_vec();
    all.push(("csrf_token", &token));
    browser.post_raw(action, &all).await
}

/// Ends every session of `username` as the idle limit does.
fn expire_sessions(app: &TestApp, username: &str) {
    age_sessions(app, username, &format!("expires_at = {}", epoch_now() - 1));
}

/// Time passing for every session of `username` (`assignment` sets its clock columns): SQL, as
/// no page can make time pass.
fn age_sessions(app: &TestApp, username: &str, assignment: &str) {
    let id = app.user_id(username);
    app.execute(&format!(
        "UPDATE sessions SET {assignment} WHERE user_id = {id}"
    ));
}

#[actix_web::test]
async fn a_form_sent_after_the_session_expired_is_kept_for_after_sign_in() {
    let app = spawn_app().await;
    let browser = app.tpp("rosa").await;
    let (_, form) = browser.page("/applications/new").await;
    let token = input_value(&form, "csrf_token").unwrap();
    expire_sessions(&app, "rosa");
    let before = app.snapshot();
    let fields = [
        ("name", "Budgetly Web"),
        ("throttling_policy", "20PerMin"),
        ("description", "Budgets for small teams"),
        ("csrf_token", token.as_str()),
    ];
    let cross_site = browser
        .post_with_header("/applications", ("origin", "https://evil.example"), &fields)
        .await;
    assert_eq!(
        cross_site.status(),
        StatusCode::FORBIDDEN,
        "cross-site stays 403"
    );

    let response = browser
        .client
        .post(app.url("/applications"))
        .header("referer", app.url("/applications/new"))
        .form(&fields)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        location(&response),
        "/login?next=%2Faccount%2Funsent-form&expired=true"
    );
    assert_eq!(app.snapshot(), before, "nothing written");
    let (_, login) = browser.page(&location(&response)).await;
    assert!(login.contains("Your session has expired; sign in again."));
    let response = browser.sign_in_on(&login, "rosa", PASSWORD).await;
    assert_eq!(location(&response), "/account/unsent-form");

    let (status, page) = browser.page("/account/unsent-form").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        data_field(&page, "unsent_name").as_deref(),
        Some("Budgetly Web")
    );
    assert_eq!(
        data_field(&page, "unsent_description").as_deref(),
        Some("Budgets for small teams")
    );
    assert!(
        page.contains("href=\"/applications/new\""),
        "a way back to the form"
    );
    let kept = hidden_fields(&page, "/applications");
    let kept: Vec<(&str, &str)> = kept.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
    let response = browser.post_raw("/applications", &kept).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert!(location(&response).starts_with("/applications/"));
    assert_eq!(
        app.count(
            "SELECT COUNT(*) FROM applications WHERE name = 'Budgetly Web' \
             AND description = 'Budgets for small teams'"
        ),
        1
    );
    let again = browser.get("/account/unsent-form").await;
    assert_eq!(
        location(&again),
        "/applications",
        "a kept form is offered once"
    );
}

#[actix_web::test]
async fn a_kept_form_leaves_out_secrets_and_is_never_shown_to_another_person() {
    let app = spawn_app().await;
    app.browser().sign_up("tess").await;
    let browser = app.tpp("sam").await;
    let id = browser.create_application("Sam's app").await;
    let keys = format!("/applications/{id}/keys/production");
    let map = format!("{keys}/map");
    let fields = [
        ("key_manager", "resident"),
        ("consumer_key", "ck-kept-123"),
        ("consumer_secret", "TopSecret-987"),
    ];
    let response = post_after_expiry(&app, &browser, &keys, &map, &fields).await;
    assert!(location(&response).starts_with("/login?next=%2Faccount%2Funsent-form"));
    browser.sign_in("sam", PASSWORD).await;
    let (_, page) = browser.page("/account/unsent-form").await;
    assert_eq!(
        data_field(&page, "unsent_consumer_key").as_deref(),
        Some("ck-kept-123")
    );
    assert!(!page.contains("TopSecret-987"), "a secret is never kept");
    assert!(page.contains("Passwords, secrets and very long values are never kept"));

    // The same browser, the session expired again; someone else signs in there.
    let response = post_after_expiry(&app, &browser, &keys, &map, &fields).await;
    assert!(location(&response).contains("expired=true"));
    let response = browser.sign_in("tess", PASSWORD).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let response = browser.get("/account/unsent-form").await;
    assert_eq!(location(&response), "/applications", "not tess's form");
    let (_, page) = browser.page("/applications").await;
    assert!(!page.contains("ck-kept-123"));
}

#[actix_web::test]
async fn a_page_visited_after_the_session_expired_says_why_sign_in_is_needed() {
    let app = spawn_app().await;
    let browser = app.tpp("uma").await;
    expire_sessions(&app, "uma");
    let response = browser.get("/applications/new").await;
    assert_eq!(
        location(&response),
        "/login?next=%2Fapplications%2Fnew&expired=true"
    );
    let (_, page) = browser.page(&location(&response)).await;
    assert!(page.contains("Your session has expired; sign in again."));
    let response = browser.get("/applications").await;
    assert_eq!(
        location(&response),
        "/login?next=%2Fapplications",
        "said once: the dead cookie is gone"
    );
}
