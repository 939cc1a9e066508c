//! Sign-up, sign-in, lockout, approval mode and the first administrator.

use reqwest::StatusCode;

use crate::helpers::*;

#[actix_web::test]
async fn a_tpp_signs_up_accepting_the_terms_and_signs_in() {
    let app = spawn_app().await;
    let browser = app.browser();

    let (status, terms) = browser.page("/terms").await;
    assert_eq!(status, StatusCode::OK);
    assert!(terms.contains("Terms and conditions"));

    let response = browser.sign_up("Alice").await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), "/login");
    // Signed in straight away: `/login` sends the new account on to its applications.
    assert_eq!(location(&browser.get("/login").await), "/applications");
    let (_, applications) = browser.page("/applications").await;
    assert!(
        applications.contains("Your account is ready"),
        "a flash message confirms the sign-up"
    );

    assert_eq!(app.count("SELECT COUNT(*) FROM users WHERE username = 'Alice' AND role = 'tpp' AND status = 'active' AND terms_accepted_at IS NOT NULL"), 1);

    let response = browser.sign_in("alice", PASSWORD).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), "/applications");
    let (_, home) = browser.page("/").await;
    assert!(
        home.contains("Alice"),
        "the navigation shows who is signed in"
    );
    assert!(home.contains("Sign out"));
}

#[actix_web::test]
async fn sign_up_without_accepting_the_terms_is_refused_and_keeps_the_values() {
    let app = spawn_app().await;
    let browser = app.browser();
    let fields = with_field(
        without_field(signup_fields("bob"), "accept_terms"),
        "organization",
        "Analytical Engines Ltd",
    );
    let response = browser.post("/signup", &fields).await;
    let body = unprocessable(response, "").await;
    assert!(
        field_errors(&body)
            .iter()
            .any(|e| e.contains("accept the terms"))
    );
    assert_eq!(input_value(&body, "username").as_deref(), Some("bob"));
    assert_eq!(
        input_value(&body, "organization").as_deref(),
        Some("Analytical Engines Ltd")
    );
    assert_eq!(
        input_value(&body, "password").as_deref(),
        Some(""),
        "a password is never sent back"
    );
    assert!(!body.contains(PASSWORD));
    assert_eq!(
        app.count("SELECT COUNT(*) FROM users WHERE role = 'tpp'"),
        0
    );
}

#[actix_web::test]
async fn every_sign_up_rule_names_its_field() {
    let app = spawn_app().await;
    let browser = app.browser();
    let long = "x".repeat(65);
    let cases: Vec<(&str, &str, &str, &str)> = vec![
        ("username", "ab", "username", "3 to 64"),
        ("username", &long, "username", "3 to 64"),
        ("username", "has space", "username", "only letters"),
        ("username", "ünïcode", "username", "only letters"),
        ("username", "", "username", "required"),
        ("email", "not-an-email", "email", "email address"),
        ("email", "", "email", "required"),
        ("first_name", "", "first_name", "First name is required"),
        ("last_name", "   ", "last_name", "Last name is required"),
        ("password", "short", "password", "at least 12"),
        ("password", "xx-case1user-xx", "password", "username"),
        (
            "password_confirm",
            "something else entirely",
            "password_confirm",
            "do not match",
        ),
    ];
    for (field, value, error_field, message) in cases {
        let mut fields = signup_fields("case1user");
        if field == "password" {
            fields = with_field(fields, "password_confirm", value);
        }
        let fields = with_field(fields, field, value);
        let response = browser.post("/signup", &fields).await;
        let case = format!("{field}={value:?}");
        refused_on(response, error_field, message, &case).await;
    }
    assert_eq!(
        app.count("SELECT COUNT(*) FROM users WHERE role = 'tpp'"),
        0
    );
}

#[actix_web::test]
async fn usernames_are_unique_case_insensitively() {
    let app = spawn_app().await;
    assert_eq!(
        app.browser().sign_up("Carol").await.status(),
        StatusCode::SEE_OTHER
    );
    let response = app.browser().sign_up("cAROL").await;
    assert_eq!(response.status(), StatusCode::CONFLICT);
    let body = response.text().await.unwrap();
    assert!(field_errors(&body).iter().any(|e| e.contains("taken")));
    assert_eq!(input_value(&body, "username").as_deref(), Some("cAROL"));
    assert_eq!(
        app.count("SELECT COUNT(*) FROM users WHERE username_key = 'carol'"),
        1
    );
}

#[actix_web::test]
async fn extra_fields_cannot_make_an_admin() {
    let app = spawn_app().await;
    let fields = signup_fields("mallory");
    let mut fields = fields;
    fields.extend([
        ("role", "admin"),
        ("status", "active"),
        ("owner_id", "1"),
        ("id", "1"),
    ]);
    let response = app.browser().post("/signup", &fields).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        app.text("SELECT role AS line FROM users WHERE username = 'mallory'"),
        "tpp"
    );
    let mallory = app.browser();
    mallory.sign_in("mallory", PASSWORD).await;
    assert_eq!(
        mallory.get_status("/admin/users").await,
        StatusCode::FORBIDDEN
    );
}

#[actix_web::test]
async fn passwords_are_stored_as_argon2id_only() {
    let app = spawn_app().await;
    app.tpp("dave").await;
    let hash = app.text("SELECT password_hash AS line FROM users WHERE username = 'dave'");
    assert!(
        hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
        "{hash}"
    );
    let other = app.text("SELECT password_hash AS line FROM users WHERE username = 'admin'");
    assert_ne!(
        hash.split('$').nth(4),
        other.split('$').nth(4),
        "every hash has its own salt"
    );
    // No byte of the password anywhere in the database.
    let bytes = app.stored_bytes();
    assert!(
        !bytes
            .windows(PASSWORD.len())
            .any(|w| w == PASSWORD.as_bytes())
    );
    assert!(
        !bytes
            .windows(ADMIN_PASSWORD.len())
            .any(|w| w == ADMIN_PASSWORD.as_bytes())
    );
}

#[actix_web::test]
async fn an_unknown_user_gets_the_same_answer_as_a_wrong_password() {
    let app = spawn_app().await;
    app.browser().sign_up("erin").await;
    let wrong = app
        .browser()
        .sign_in("erin", "not the right password")
        .await;
    let unknown = app
        .browser()
        .sign_in("nobody-here", "not the right password")
        .await;
    assert_eq!(wrong.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(wrong.status(), unknown.status());
    let strip = |body: String, name: &str| {
        let token = input_value(&body, "csrf_token").unwrap_or_default();
        body.replace(&token, "").replace(name, "")
    };
    let wrong = strip(wrong.text().await.unwrap(), "erin");
    let unknown = strip(unknown.text().await.unwrap(), "nobody-here");
    assert_eq!(wrong, unknown);
    assert!(wrong.contains("username or password is not right"));
}

#[actix_web::test]
async fn repeated_failures_lock_the_account_even_for_the_right_password() {
    let app = spawn_app().await;
    app.browser().sign_up("frank").await;
    let attacker = app.browser();
    for _ in 0..5 {
        let response = attacker.sign_in("frank", "guess guess guess").await;
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    }
    let response = attacker.sign_in("frank", PASSWORD).await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(
        body_of(response)
            .await
            .contains("Too many failed sign-in attempts")
    );
    // The lock is in the database: a restarted Portico still refuses.
    let app = restart(app, &[]).await;
    let response = app.browser().sign_in("frank", PASSWORD).await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(app.count("SELECT COUNT(*) FROM login_throttles WHERE throttle_key = 'account-address:127.0.0.1 frank' AND locked_until IS NOT NULL"), 1);
    // An unknown account locks the same way: no difference to learn from.
    for _ in 0..5 {
        app.browser()
            .sign_in("ghost-user", "guess guess guess")
            .await;
    }
    assert_eq!(
        app.browser().sign_in("ghost-user", "guess").await.status(),
        StatusCode::TOO_MANY_REQUESTS
    );
}

#[actix_web::test]
async fn many_failures_from_one_address_lock_that_address() {
    let app = spawn_app().await;
    app.browser().sign_up("grace").await;
    let attacker = app.browser();
    for i in 0..20 {
        let name = format!("spray{i}");
        let response = attacker.sign_in(&name, "guess guess guess").await;
        assert_eq!(
            response.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "attempt {i}"
        );
    }
    // Every account is now refused from this address, even with the right password.
    let response = app.browser().sign_in("grace", PASSWORD).await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(app.count("SELECT COUNT(*) FROM login_throttles WHERE throttle_key = 'address:127.0.0.1' AND locked_until IS NOT NULL"), 1);
}

#[actix_web::test]
async fn after_sign_in_only_local_next_paths_are_followed() {
    let app = spawn_app().await;
    app.browser().sign_up("heidi").await;
    let cases = [
        ("/admin/users?status=pending", "/admin/users?status=pending"),
        ("https://evil.example", "/applications"),
        ("//evil.example", "/applications"),
        ("/\\evil.example", "/applications"),
        ("/%2F%2Fevil.example", "/applications"),
        ("javascript:alert(1)", "/applications"),
    ];
    for (next, expected) in cases {
        let browser = app.browser();
        let response = browser
            .post(
                "/login",
                &[
                    ("username", "heidi"),
                    ("password", PASSWORD),
                    ("next", next),
                ],
            )
            .await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "next={next}");
        assert_eq!(location(&response), expected, "next={next}");
    }
    // The sign-in page keeps a local `next` in its form, and drops a foreign one.
    let (_, page) = app.browser().page("/login?next=%2Fadmin").await;
    assert_eq!(input_value(&page, "next").as_deref(), Some("/admin"));
    let (_, page) = app.browser().page("/login?next=%2F%2Fevil.example").await;
    assert_eq!(input_value(&page, "next").as_deref(), Some(""));
}

#[actix_web::test]
async fn in_approval_mode_new_accounts_wait_for_an_admin() {
    let app = spawn_app_with(&[("PORTICO_SIGNUP_APPROVAL", "true")]).await;
    let ivan = app.browser();
    let response = ivan.sign_up("ivan").await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), "/signup/pending");
    let (_, page) = ivan.page("/signup/pending").await;
    assert!(page.contains("waiting for approval"));

    let response = ivan.sign_in("ivan", PASSWORD).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert!(body_of(response).await.contains("waiting for approval"));
    assert!(!ivan.is_signed_in().await);

    let admin = app.admin().await;
    let (_, users) = admin.page("/admin/users?status=pending").await;
    assert!(users.contains("ivan"));
    let id = app.user_id("ivan");
    admin
        .post_ok(&format!("/admin/users/{id}/approve"), &[])
        .await;
    let (_, users) = admin.page("/admin/users").await;
    assert!(users.contains("ivan is now approved"));

    let response = ivan.sign_in("ivan", PASSWORD).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert!(ivan.is_signed_in().await);
}

#[actix_web::test]
async fn a_rejected_account_cannot_sign_in_and_is_told_why() {
    let app = spawn_app_with(&[("PORTICO_SIGNUP_APPROVAL", "true")]).await;
    app.browser().sign_up("judy").await;
    let admin = app.admin().await;
    let id = app.user_id("judy");
    // A rejection needs its reason: refused on the page, with nothing changed.
    let before = app.snapshot();
    let response = admin
        .post(&format!("/admin/users/{id}/reject"), &[("reason", "  ")])
        .await;
    let page = unprocessable(response, "").await;
    assert!(
        error_on(&page, &format!("reason-{id}")).is_some_and(|e| e.contains("Give the reason")),
        "the reason field says what is missing"
    );
    assert_eq!(app.snapshot(), before, "nothing changed");

    let reason = "We could not verify Judy's company registration.";
    admin
        .post_ok(&format!("/admin/users/{id}/reject"), &[("reason", reason)])
        .await;
    assert_eq!(
        app.text("SELECT status AS line FROM users WHERE username = 'judy'"),
        "rejected"
    );
    let (_, users) = admin.page("/admin/users?status=rejected").await;
    assert_eq!(
        data_field(&users, "decision_reason").as_deref(),
        Some(reason)
    );
    assert_eq!(
        app.text(&format!(
            "SELECT summary AS line FROM audit_events WHERE action = 'reject' AND object_type = 'account' AND object_id = {id}"
        )),
        format!("Rejected the sign-up of judy: {reason}")
    );

    // The person learns the decision and its reason only with the right password.
    let response = app.browser().sign_in("judy", PASSWORD).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let page = response.text().await.unwrap();
    assert!(page.contains("not approved"));
    assert_eq!(
        data_field(&page, "decision_reason").as_deref(),
        Some(reason)
    );
    let response = app
        .browser()
        .sign_in("judy", "not the password at all")
        .await;
    assert!(!response.text().await.unwrap().contains(reason));

    // Rejecting twice is a conflict, not a silent success.
    assert_eq!(
        admin
            .post_status(&format!("/admin/users/{id}/reject"), &[("reason", reason)])
            .await,
        StatusCode::CONFLICT
    );
}

#[actix_web::test]
async fn administrators_land_on_their_dashboard_and_tpps_on_their_applications() {
    let app = spawn_app().await;
    let admin = app.browser();
    let response = admin.sign_in(ADMIN, ADMIN_PASSWORD).await;
    assert_eq!(location(&response), "/admin");
    let tpp = app.tpp("lena").await;
    tpp.post("/logout", &[]).await;
    let response = tpp.sign_in("lena", PASSWORD).await;
    assert_eq!(location(&response), "/applications");
    // A `next` wins for both.
    let admin = app.browser();
    let response = admin
        .post(
            "/login",
            &[
                ("username", ADMIN),
                ("password", ADMIN_PASSWORD),
                ("next", "/apis"),
            ],
        )
        .await;
    assert_eq!(location(&response), "/apis");
}

#[actix_web::test]
async fn locking_an_account_ends_all_its_sessions() {
    let app = spawn_app().await;
    let kim_laptop = app.tpp("kim").await;
    let kim_phone = app.browser();
    kim_phone.sign_in("kim", PASSWORD).await;
    assert!(kim_laptop.is_signed_in().await && kim_phone.is_signed_in().await);
    let id = app.user_id("kim");
    assert_eq!(app.sessions_of(id), 2);

    let admin = app.admin().await;
    admin.post_ok(&format!("/admin/users/{id}/lock"), &[]).await;
    assert_eq!(app.sessions_of(id), 0);
    assert!(!kim_laptop.is_signed_in().await);
    assert!(!kim_phone.is_signed_in().await);
    let response = kim_laptop.sign_in("kim", PASSWORD).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert!(response.text().await.unwrap().contains("locked"));

    admin
        .post_ok(&format!("/admin/users/{id}/unlock"), &[])
        .await;
    assert_eq!(
        kim_laptop.sign_in("kim", PASSWORD).await.status(),
        StatusCode::SEE_OTHER
    );
}

#[actix_web::test]
async fn an_admin_cannot_lock_themselves_and_unknown_users_are_404() {
    let (app, admin) = spawn_admin().await;
    let own = app.user_id(ADMIN).to_string();
    for (user, status) in [
        (own.as_str(), StatusCode::CONFLICT),
        ("9999", StatusCode::NOT_FOUND),
        ("not-a-number", StatusCode::NOT_FOUND),
    ] {
        let lock = format!("/admin/users/{user}/lock");
        assert_eq!(admin.post_status(&lock, &[]).await, status, "{lock}");
    }
    assert!(admin.is_signed_in().await);
}

#[actix_web::test]
async fn the_first_admin_comes_from_the_environment_once() {
    let app = spawn_app().await;
    assert_eq!(
        app.count("SELECT COUNT(*) FROM users WHERE role = 'admin'"),
        1
    );
    let admin = app.admin().await;
    let (status, page) = admin.page("/admin").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Administration"));
    // A restart with other credentials does not add a second administrator.
    let app = restart(
        app,
        &[
            ("PORTICO_ADMIN_USERNAME", "second"),
            ("PORTICO_ADMIN_PASSWORD", "another long password"),
        ],
    )
    .await;
    assert_eq!(
        app.count("SELECT COUNT(*) FROM users WHERE role = 'admin'"),
        1
    );
}

#[actix_web::test]
async fn create_admin_reads_the_password_from_stdin() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("cli.db");
    let unstarted = TestApp::unstarted(dir, db);
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_portico"))
        .args(["create-admin", "--username", "root-admin"])
        .envs(unstarted.db_env())
        .env_remove("PORTICO_ADMIN_USERNAME")
        .env_remove("PORTICO_ADMIN_PASSWORD")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"a password typed in a shell\n")
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(String::from_utf8_lossy(&output.stdout).contains("Created administrator root-admin"));

    let app = restart(unstarted, &[]).await;
    let browser = app.browser();
    assert_eq!(
        browser
            .sign_in("root-admin", "a password typed in a shell")
            .await
            .status(),
        StatusCode::SEE_OTHER
    );
    assert_eq!(browser.get_status("/admin/users").await, StatusCode::OK);

    // A short password is refused with the rule it breaks.
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_portico"))
        .args(["create-admin", "--username", "weak-admin"])
        .envs(app.db_env())
        .stdin(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(b"short\n").unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("at least 12"));
}

#[actix_web::test]
async fn hostile_text_in_sign_up_fields_is_refused_or_kept_exactly() {
    let app = spawn_app().await;
    let ten_thousand = "é".repeat(10_000);
    let refused = [
        ("first_name", "Ada\u{202E}evil"),
        ("first_name", "Ada\u{200B}"),
        ("last_name", "Love\0lace"),
        ("organization", ten_thousand.as_str()),
    ];
    for (field, value) in refused {
        let response = app
            .browser()
            .post(
                "/signup",
                &with_field(signup_fields("hostile"), field, value),
            )
            .await;
        assert_eq!(
            response.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{field}"
        );
    }
    assert_eq!(
        app.count("SELECT COUNT(*) FROM users WHERE role = 'tpp'"),
        0
    );

    // Markup and SQL metacharacters are stored exactly and shown escaped.
    let organization = "<script>alert(1)</script>' OR 1=1; -- \"quoted\"";
    let fields = with_field(signup_fields("hostile"), "organization", organization);
    assert_eq!(
        app.browser().post_status("/signup", &fields).await,
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        app.text("SELECT organization AS line FROM users WHERE username = 'hostile'"),
        organization
    );
    let (status, page) = app.admin().await.page("/admin/users").await;
    assert_eq!(status, StatusCode::OK);
    assert!(!page.contains("<script>alert(1)</script>"));
    assert!(
        page.contains("&lt;script&gt;alert(1)&lt;/script&gt;")
            || page.contains("&#60;script&#62;alert(1)&#60;/script&#62;"),
        "the organization is shown, escaped"
    );

    // A body that is not UTF-8 is a clear 400, never a 5xx.
    let browser = app.browser();
    let token = browser.csrf_token().await;
    let body = format!("csrf_token={token}&username=%FF%FE&email=a%40b.c");
    let response = browser
        .client
        .post(app.url("/signup"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .unwrap();
    assert!(response.status().is_client_error(), "{}", response.status());
}
