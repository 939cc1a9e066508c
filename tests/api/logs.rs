//! The logs of a real `portico` process never contain a password, a cookie or a token.

use reqwest::StatusCode;

use crate::helpers::*;
use crate::process::Portico;

#[actix_web::test]
async fn logs_carry_no_passwords_cookies_or_tokens() {
    let mut portico = Portico::start(&[("RUST_LOG", "debug")]);
    let browser = portico.app.tpp("logged-user").await;
    assert_eq!(
        browser
            .sign_in("logged-user", "a wrong password typed")
            .await
            .status(),
        StatusCode::UNPROCESSABLE_ENTITY
    );
    let token = browser.csrf_token().await;
    let response = browser
        .get("/login?next=%2Fapplications%3Fsecret%3Dquery-value")
        .await;
    let cookie = response
        .headers()
        .get("set-cookie")
        .map(|v| v.to_str().unwrap().to_string());
    browser.post("/logout", &[]).await;
    std::thread::sleep(std::time::Duration::from_millis(300));
    portico.kill();
    let all = portico.logs();
    assert!(all.contains("path=/login"), "the request log is there");
    for secret in [
        PASSWORD,
        ADMIN_PASSWORD,
        "a wrong password typed",
        token.as_str(),
        "query-value",
    ] {
        assert!(!all.contains(secret), "the logs contain {secret:?}");
    }
    if let Some(cookie) = cookie {
        let value = cookie.split(';').next().unwrap().split('=').nth(1).unwrap();
        assert!(!all.contains(value), "the logs contain the session cookie");
    }
}
