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
    let body = raw_client()
        .get(app.url("/"))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    body.contains("action=\"/logout\"")
}

#[actix_web::test]
async fn the_session_cookie_is_http_only_and_same_site_lax() {
    let app = spawn_app().await;
    let response = app.browser().get("/login").await;
    let cookie = session_cookie(&response).expect("the sign-in form starts a session");
    assert!(cookie.starts_with("portico_session="));
    assert!(cookie.contains("HttpOnly"));
    assert!(cookie.contains("SameSite=Lax"));
    assert!(cookie.contains("Path=/"));
    assert!(
        !cookie.contains("Secure"),
        "plain http on loopback: no Secure flag"
    );
}

#[actix_web::test]
async fn over_https_the_cookie_is_secure_with_the_host_prefix() {
    let app = spawn_app_with(&[("PORTICO_PUBLIC_URL", "https://portal.example.test")]).await;
    let response = app.browser().get("/login").await;
    let cookie = session_cookie(&response).expect("a session cookie");
    assert!(cookie.starts_with("__Host-portico_session="), "{cookie}");
    assert!(cookie.contains("Secure"));
    assert!(cookie.contains("HttpOnly"));
    assert!(cookie.contains("Path=/"));
    assert!(!cookie.to_ascii_lowercase().contains("domain="));
}

#[actix_web::test]
async fn anonymous_pages_without_forms_start_no_session() {
    let app = spawn_app().await;
    let response = app.browser().get("/").await;
    assert!(session_cookie(&response).is_none());
    assert_eq!(app.count("SELECT COUNT(*) FROM sessions"), 0);
}

#[actix_web::test]
async fn signing_in_gives_a_new_session_id_and_the_old_one_stays_anonymous() {
    let app = spawn_app().await;
    app.browser().sign_up("lena").await;
    // The attacker's planted, pre-login session.
    let first = raw_client().get(app.url("/login")).send().await.unwrap();
    let planted = cookie_pair(&session_cookie(&first).unwrap());
    let body = first.text().await.unwrap();
    let token = input_value(&body, "csrf_token").unwrap();

    let response = raw_client()
        .post(app.url("/login"))
        .header("cookie", &planted)
        .form(&[
            ("username", "lena"),
            ("password", PASSWORD),
            ("csrf_token", &token),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let fresh = cookie_pair(&session_cookie(&response).expect("a new session cookie at sign-in"));
    assert_ne!(fresh, planted);
    assert!(signed_in_as(&app, &fresh).await);
    assert!(
        !signed_in_as(&app, &planted).await,
        "the pre-login session is anonymous"
    );
}

#[actix_web::test]
async fn a_cookie_replayed_after_sign_out_is_anonymous() {
    let app = spawn_app().await;
    let browser = app.tpp("mike").await;
    let id = app.user_id("mike");
    // Capture the signed-in cookie by signing in again with a raw client.
    let page = raw_client().get(app.url("/login")).send().await.unwrap();
    let anon = cookie_pair(&session_cookie(&page).unwrap());
    let token = input_value(&page.text().await.unwrap(), "csrf_token").unwrap();
    let response = raw_client()
        .post(app.url("/login"))
        .header("cookie", &anon)
        .form(&[
            ("username", "mike"),
            ("password", PASSWORD),
            ("csrf_token", &token),
        ])
        .send()
        .await
        .unwrap();
    let cookie = cookie_pair(&session_cookie(&response).unwrap());
    assert!(signed_in_as(&app, &cookie).await);

    let home = raw_client()
        .get(app.url("/"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
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
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) FROM sessions WHERE user_id = {id}"
        )),
        1
    );
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
    let id = app.user_id("olga");
    app.execute(&format!(
        "UPDATE sessions SET expires_at = strftime('%s','now') - 1 WHERE user_id = {id}"
    ));
    assert!(
        !idle.is_signed_in().await,
        "30 minutes without a request end the session"
    );

    let old = app.browser();
    old.sign_in("olga", PASSWORD).await;
    assert!(old.is_signed_in().await);
    app.execute(&format!(
        "UPDATE sessions SET created_at = strftime('%s','now') - 12 * 3600 - 1 WHERE user_id = {id}"
    ));
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
    app.execute(&format!(
        "UPDATE sessions SET expires_at = strftime('%s','now') + 600 WHERE user_id = {id}"
    ));
    assert!(browser.is_signed_in().await);
    let left = app.count(&format!(
        "SELECT expires_at - strftime('%s','now') AS n FROM sessions WHERE user_id = {id}"
    ));
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
