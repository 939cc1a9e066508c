use super::LoginPage;
use crate::web::render_tests::{HOSTILE, HOSTILE_ESCAPED, assert_shows, render, visitor};

#[test]
fn an_expired_session_says_the_form_is_kept() {
    let html = render(&LoginPage {
        ctx: visitor(),
        username: HOSTILE.into(),
        next: "/account/unsent-form".into(),
        error: Some("Wrong username or password.".into()),
        signed_out: false,
        expired: true,
        again: false,
    });
    assert_shows(
        &html,
        &[
            "Your session has expired",
            "What you typed in the form is kept for you.",
            "Wrong username or password.",
            r#"action="/login""#,
            r#"autocomplete="current-password""#,
            HOSTILE_ESCAPED,
        ],
    );
}

#[test]
fn a_fresh_sign_in_says_the_application_asked_for_it() {
    let html = render(&LoginPage {
        ctx: visitor(),
        username: "ada".into(),
        next: "/oauth2/authorize?client_id=x".into(),
        error: None,
        signed_out: false,
        expired: false,
        again: true,
    });
    assert_shows(
        &html,
        &[
            "The application asks you to sign in again",
            r#"value="ada""#,
        ],
    );
}
