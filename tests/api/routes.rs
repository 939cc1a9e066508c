//! Rules checked for EVERY route of the route table, so a new route cannot slip past them:
//! CSRF on every POST, administrators only under /admin, sign-in required where declared.

use portico::startup::{Access, ROUTES};
use reqwest::StatusCode;

use crate::helpers::*;

/// A real object id for the routes that take one: the id of a TPP account.
async fn target_id(app: &TestApp) -> i64 {
    app.browser().sign_up("target-user").await;
    app.user_id("target-user")
}

#[actix_web::test]
async fn every_post_route_refuses_a_missing_wrong_foreign_or_cross_site_token() {
    let app = spawn_app().await;
    let id = target_id(&app).await;
    let admin = app.admin().await;
    let other = app.tpp("other-session").await;
    let other_token = other.csrf_token().await;
    let own_token = admin.csrf_token().await;
    let before = app.snapshot();

    // The protocol endpoints other sites post to by design are outside the guard (their own
    // tests show they change nothing a GET would not: tests/api/oidc_*.rs).
    let posts: Vec<_> = ROUTES
        .iter()
        .filter(|r| r.method == "POST" && !portico::security::csrf::EXEMPT.contains(&r.path))
        .collect();
    assert!(posts.len() >= 7, "the route table lists the POST routes");
    let mut cases = 0;
    let routes = posts.len();
    for route in posts {
        let path = fill_route(route.path, id);
        let form = [("username", "target-user"), ("password", PASSWORD)];

        let missing = admin.post_raw(&path, &form).await;
        let wrong = admin
            .post_raw(&path, &[form[0], form[1], ("csrf_token", "not-the-token")])
            .await;
        let foreign = admin
            .post_raw(&path, &[form[0], form[1], ("csrf_token", &other_token)])
            .await;
        let own = [form[0], form[1], ("csrf_token", &own_token)];
        let cross_site = admin
            .post_with_header(&path, ("origin", "https://evil.example"), &own)
            .await;
        let fetch_cross_site = admin
            .post_with_header(&path, ("sec-fetch-site", "cross-site"), &own)
            .await;
        for (case, response) in [
            ("missing", missing),
            ("wrong", wrong),
            ("other session's", foreign),
            ("cross-site Origin", cross_site),
            ("Sec-Fetch-Site cross-site", fetch_cross_site),
        ] {
            assert_eq!(
                response.status(),
                StatusCode::FORBIDDEN,
                "POST {path} with a {case} token"
            );
            let body = response.text().await.unwrap();
            assert!(
                body.contains("form has expired"),
                "POST {path}: a styled explanation"
            );
            cases += 1;
        }
        assert_eq!(app.snapshot(), before, "POST {path}: nothing written");
    }
    assert!(
        admin.is_signed_in().await,
        "a refused POST does not end the session"
    );
    println!(
        "csrf: {routes} POST routes × 5 forged requests = {cases} cases refused with 403, nothing written"
    );
}

#[actix_web::test]
async fn every_form_on_every_page_carries_the_csrf_token() {
    let app = spawn_app().await;
    target_id(&app).await;
    let admin = app.admin().await;
    let anonymous = app.browser();
    for route in ROUTES
        .iter()
        .filter(|r| r.method == "GET" && !r.path.contains('{'))
    {
        for (who, browser) in [("admin", &admin), ("anonymous", &anonymous)] {
            let (status, body) = browser.page(route.path).await;
            if status != StatusCode::OK {
                continue;
            }
            let document = scraper::Html::parse_document(&body);
            let forms = scraper::Selector::parse("form[method=post]").unwrap();
            let token = scraper::Selector::parse("input[type=hidden][name=csrf_token]").unwrap();
            for form in document.select(&forms) {
                let value = form
                    .select(&token)
                    .next()
                    .and_then(|i| i.value().attr("value"));
                assert!(
                    value.is_some_and(|v| v.len() >= 40),
                    "{who} GET {}: a POST form without csrf_token",
                    route.path
                );
            }
        }
    }
}

#[actix_web::test]
async fn every_admin_route_refuses_tpps_and_sends_visitors_to_sign_in() {
    let app = spawn_app().await;
    let id = target_id(&app).await;
    let tpp = app.tpp("curious-tpp").await;
    let anonymous = app.browser();
    let before = app.snapshot();
    let admin_routes: Vec<_> = ROUTES
        .iter()
        .filter(|r| r.path.starts_with("/admin"))
        .collect();
    assert!(!admin_routes.is_empty());
    let routes = admin_routes.len();
    for route in admin_routes {
        assert_eq!(
            route.access,
            Access::Admin,
            "{} is under /admin but not admin-only",
            route.path
        );
        let path = fill_route(route.path, id);
        let (as_tpp, as_anonymous) = if route.method == "GET" {
            (tpp.get(&path).await, anonymous.get(&path).await)
        } else {
            (tpp.post(&path, &[]).await, anonymous.post(&path, &[]).await)
        };
        assert_eq!(
            as_tpp.status(),
            StatusCode::FORBIDDEN,
            "TPP {} {path}",
            route.method
        );
        assert_eq!(
            as_anonymous.status(),
            StatusCode::SEE_OTHER,
            "anonymous {} {path}",
            route.method
        );
        assert!(
            location(&as_anonymous).starts_with("/login?next="),
            "anonymous {} {path}",
            route.method
        );
    }
    assert_eq!(app.snapshot(), before, "nothing written");
    println!(
        "admin access: {routes} /admin routes × (TPP, visitor) = {} cases refused",
        routes * 2
    );
}

#[actix_web::test]
async fn every_signed_in_route_sends_visitors_to_sign_in() {
    let app = spawn_app().await;
    let anonymous = app.browser();
    for route in ROUTES.iter().filter(|r| r.access == Access::SignedIn) {
        let path = fill_route(route.path, 1);
        let response = anonymous.send(route.method, &path, &[]).await;
        assert_eq!(
            response.status(),
            StatusCode::SEE_OTHER,
            "{} {path}",
            route.method
        );
        assert!(location(&response).starts_with("/login?next="));
    }
}

#[actix_web::test]
async fn a_visitor_sent_to_sign_in_comes_back_after() {
    let app = spawn_app().await;
    let browser = app.browser();
    let response = browser.get("/admin/users?status=pending").await;
    assert_eq!(
        location(&response),
        "/login?next=%2Fadmin%2Fusers%3Fstatus%3Dpending"
    );
    let (_, page) = browser.page(&location(&response)).await;
    let response = browser.sign_in_on(&page, ADMIN, ADMIN_PASSWORD).await;
    assert_eq!(location(&response), "/admin/users?status=pending");
}

/// A raw client that sends exactly the cookies it is given.
fn raw_client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// An anonymous visitor's CSRF cookie value (`nonce.mac`) and its form token, from the
/// sign-in page.
async fn anonymous_pair(app: &TestApp) -> (String, String) {
    let page = raw_client().get(app.url("/login")).send().await.unwrap();
    let cookie = page
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|c| c.strip_prefix("portico_csrf="))
        .map(|c| c.split(';').next().unwrap().to_string())
        .expect("the sign-in page sets the anonymous CSRF cookie");
    let token = input_value(&page.text().await.unwrap(), "csrf_token").unwrap();
    (cookie, token)
}

#[actix_web::test]
async fn every_post_route_refuses_a_forged_anonymous_token() {
    let app = spawn_app().await;
    let id = target_id(&app).await;
    let (cookie_a, token_a) = anonymous_pair(&app).await;
    let (cookie_b, token_b) = anonymous_pair(&app).await;
    assert_ne!(token_a, token_b);
    let (nonce_a, _) = cookie_a.split_once('.').unwrap();
    let (_, mac_b) = cookie_b.split_once('.').unwrap();
    let unsigned = nonce_a.to_string();
    let forged = format!("{nonce_a}.{mac_b}");
    let send = |path: String, cookie: Option<String>, token: Option<&str>, origin: bool| {
        let mut request = raw_client().post(app.url(&path));
        if let Some(cookie) = cookie {
            request = request.header("cookie", format!("portico_csrf={cookie}"));
        }
        if origin {
            request = request.header("origin", "https://evil.example");
        }
        let mut form = vec![("username", "target-user"), ("password", "wrong password")];
        if let Some(token) = token {
            form.push(("csrf_token", token));
        }
        let request = request.form(&form);
        async move { request.send().await.unwrap() }
    };
    // The genuine pair is accepted: the sign-in form answers on the password, not with 403.
    let genuine = send(
        "/login".into(),
        Some(cookie_a.clone()),
        Some(&token_a),
        false,
    )
    .await;
    assert_eq!(genuine.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let before = app.snapshot();
    let sessions = app.count("SELECT COUNT(*) FROM sessions");

    // The protocol endpoints other sites post to by design are outside the guard (their own
    // tests show they change nothing a GET would not: tests/api/oidc_*.rs).
    let posts: Vec<_> = ROUTES
        .iter()
        .filter(|r| r.method == "POST" && !portico::security::csrf::EXEMPT.contains(&r.path))
        .collect();
    let mut cases = 0;
    for route in &posts {
        let path = fill_route(route.path, id);
        for (case, cookie, token, origin) in [
            ("no cookie", None, Some(token_a.as_str()), false),
            (
                "token of another cookie",
                Some(cookie_a.clone()),
                Some(token_b.as_str()),
                false,
            ),
            (
                "unsigned cookie",
                Some(unsigned.clone()),
                Some(token_a.as_str()),
                false,
            ),
            (
                "forged cookie signature",
                Some(forged.clone()),
                Some(token_a.as_str()),
                false,
            ),
            (
                "made-up cookie",
                Some("bm9uY2U.c2ln".to_string()),
                Some("c2ln"),
                false,
            ),
            (
                "wrong token",
                Some(cookie_a.clone()),
                Some("not-the-token"),
                false,
            ),
            ("missing token", Some(cookie_a.clone()), None, false),
            (
                "cross-site Origin",
                Some(cookie_a.clone()),
                Some(token_a.as_str()),
                true,
            ),
        ] {
            let response = send(path.clone(), cookie, token, origin).await;
            assert_eq!(
                response.status(),
                StatusCode::FORBIDDEN,
                "anonymous POST {path} with a {case}"
            );
            cases += 1;
        }
        assert_eq!(app.snapshot(), before, "POST {path}: nothing written");
    }
    assert_eq!(app.count("SELECT COUNT(*) FROM sessions"), sessions);
    println!(
        "anonymous csrf: {} POST routes × 8 forged requests = {cases} cases refused with 403",
        posts.len()
    );
}

#[actix_web::test]
async fn every_post_route_refuses_invalid_utf8_naming_the_field() {
    let app = spawn_app().await;
    let id = target_id(&app).await;
    let admin = app.admin().await;
    let token = admin.csrf_token().await;
    let before = app.snapshot();
    // The protocol endpoints other sites post to by design are outside the guard (their own
    // tests show they change nothing a GET would not: tests/api/oidc_*.rs).
    let posts: Vec<_> = ROUTES
        .iter()
        .filter(|r| r.method == "POST" && !portico::security::csrf::EXEMPT.contains(&r.path))
        .collect();
    let mut cases = 0;
    for route in &posts {
        let path = fill_route(route.path, id);
        for (field, body) in [
            (
                "description",
                format!("csrf_token={token}&name=ok&description=caf%E9"),
            ),
            ("name", format!("name=%C3%28&csrf_token={token}")),
        ] {
            let response = admin
                .client
                .post(app.url(&path))
                .header("content-type", "application/x-www-form-urlencoded")
                .body(body)
                .send()
                .await
                .unwrap();
            assert_eq!(
                response.status(),
                StatusCode::BAD_REQUEST,
                "POST {path}: invalid UTF-8 in {field}"
            );
            let page = response.text().await.unwrap();
            assert!(
                page.contains(&format!("The form field “{field}” could not be read")),
                "POST {path}: the message names {field}"
            );
            cases += 1;
        }
        assert_eq!(app.snapshot(), before, "POST {path}: nothing written");
    }
    assert!(admin.is_signed_in().await);
    println!(
        "utf-8: {} POST routes × 2 fields = {cases} cases refused with 400",
        posts.len()
    );
}
