//! The look and the frame: headers on every response, error pages, health, static files, limits.

use reqwest::StatusCode;

use crate::helpers::*;

fn assert_security_headers(response: &reqwest::Response, what: &str) {
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    };
    let csp = header("content-security-policy");
    assert!(csp.contains("script-src 'self'"), "{what}: {csp}");
    assert!(csp.contains("frame-ancestors 'none'"), "{what}: {csp}");
    assert_eq!(header("x-content-type-options"), "nosniff", "{what}");
    assert!(!header("referrer-policy").is_empty(), "{what}");
}

#[actix_web::test]
async fn every_page_carries_the_security_headers() {
    let (app, admin) = spawn_admin().await;
    let tpp = app.tpp("viewer").await;
    let paths = [
        "/",
        "/terms",
        "/signup",
        "/login",
        "/signup/pending",
        "/admin",
        "/admin/users",
        "/no-such-page",
        "/healthz",
        "/static/css/portico.css",
    ];
    for path in paths {
        for browser in [&admin, &tpp, &app.browser()] {
            let response = browser.get(path).await;
            assert_security_headers(&response, path);
        }
    }
    let refused = tpp.post_raw("/logout", &[] as &[(&str, &str)]).await;
    assert_security_headers(&refused, "a refused POST");
}

#[actix_web::test]
async fn the_home_page_tells_a_newcomer_where_to_start() {
    let app = spawn_app().await;
    let (status, page) = app.browser().page("/").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("<title>Welcome · Portico</title>"));
    assert!(page.contains("href=\"/signup\""));
    assert!(page.contains("href=\"/apis\""));
    assert!(page.contains("How it works"));
    assert!(
        !page.contains("href=\"/admin\""),
        "no Admin link for visitors"
    );

    let (_, page) = app.admin().await.page("/").await;
    assert!(
        page.contains("href=\"/admin\""),
        "administrators see the Admin link"
    );
    let (_, page) = app.tpp("newcomer").await.page("/").await;
    assert!(!page.contains("href=\"/admin\""), "TPPs do not");
    assert!(page.contains("Go to your applications"));
}

#[actix_web::test]
async fn unknown_pages_get_a_styled_404() {
    let app = spawn_app().await;
    let (status, page) = app.browser().page("/this/does/not/exist").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(page.contains("Page not found"));
    assert!(page.contains("/static/css/portico.css"));
}

#[actix_web::test]
async fn a_tpp_in_the_admin_area_gets_a_styled_403() {
    let app = spawn_app().await;
    let (status, page) = app.tpp("nosy").await.page("/admin/users").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(page.contains("This area is for administrators"));
    assert!(page.contains("class=\"error-page\""));
}

#[actix_web::test]
async fn liveness_answers_and_readiness_answers_when_the_database_does() {
    let app = spawn_app().await;
    let (status, body) = app.browser().page("/healthz").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, "ok");
    let (status, body) = app.browser().page("/readyz").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, "ready");
}

#[actix_web::test]
async fn static_files_and_favicon_are_served_from_the_binary() {
    let app = spawn_app().await;
    let browser = app.browser();
    let css = browser.get("/static/css/portico.css").await;
    assert_eq!(css.status(), StatusCode::OK);
    assert!(header(&css, "content-type").starts_with("text/css"));
    let etag = header(&css, "etag").to_string();
    assert!(css.text().await.unwrap().contains("--color-primary"));
    let again = browser
        .client
        .get(app.url("/static/css/portico.css"))
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
    for path in [
        "/static/js/portico.js",
        "/static/img/favicon.svg",
        "/static/img/logo.svg",
    ] {
        assert_eq!(browser.get_status(path).await, StatusCode::OK, "{path}");
    }
    assert_eq!(
        browser.get_status("/static/../Cargo.toml").await,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        browser.get_status("/static/nothing.css").await,
        StatusCode::NOT_FOUND
    );
    let (_, page) = browser.page("/").await;
    assert!(page.contains("rel=\"icon\" href=\"/static/img/favicon.svg\""));
}

#[actix_web::test]
async fn a_form_larger_than_64_kib_is_refused_and_nothing_is_written() {
    let app = spawn_app().await;
    let browser = app.browser();
    let huge = "a".repeat(70 * 1024);
    let fields = with_field(signup_fields("bigform"), "organization", &huge);
    let response = browser.post("/signup", &fields).await;
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert!(response.text().await.unwrap().contains("too large"));
    assert_eq!(
        app.count("SELECT COUNT(*) FROM users WHERE username = 'bigform'"),
        0
    );
}

#[actix_web::test]
async fn forms_have_labels_for_every_input() {
    let (app, admin) = spawn_admin().await;
    for (browser, path) in [
        (&app.browser(), "/signup"),
        (&app.browser(), "/login"),
        (&admin, "/admin/users"),
    ] {
        let (_, body) = browser.page(path).await;
        let document = scraper::Html::parse_document(&body);
        let inputs =
            scraper::Selector::parse("input:not([type=hidden]), select, textarea").unwrap();
        for input in document.select(&inputs) {
            let id = input.value().attr("id").unwrap_or_default();
            let label = scraper::Selector::parse(&format!("label[for=\"{id}\"]")).unwrap();
            assert!(
                !id.is_empty() && document.select(&label).next().is_some(),
                "{path}: an input without a label"
            );
        }
    }
}

#[actix_web::test]
async fn error_pages_keep_the_signed_in_frame() {
    let (app, tpp) = spawn_tpp("framed").await;
    for (path, status) in [
        ("/no/such/page", StatusCode::NOT_FOUND),
        ("/admin/users", StatusCode::FORBIDDEN),
        ("/applications/999", StatusCode::NOT_FOUND),
    ] {
        let (got, page) = tpp.page(path).await;
        assert_eq!(got, status, "{path}");
        assert!(page.contains("class=\"error-page\""), "{path}");
        assert!(
            page.contains("<summary>framed</summary>"),
            "{path}: the header shows who is signed in"
        );
        assert!(
            page.contains("action=\"/logout\""),
            "{path}: sign-out stays at hand"
        );
    }
    let (_, page) = app.browser().page("/no/such/page").await;
    assert!(page.contains("href=\"/login\""), "visitors see sign-in");
}
