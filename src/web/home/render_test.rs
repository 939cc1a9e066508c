use super::HomePage;
use crate::web::render_tests::{HOSTILE_ESCAPED, assert_shows, render, signed_in, visitor};

#[test]
fn a_visitor_is_offered_an_account() {
    let html = render(&HomePage { ctx: visitor() });
    assert_shows(
        &html,
        &["Build on our APIs", r#"href="/signup""#, "Sign in"],
    );
}

#[test]
fn a_signed_in_person_is_sent_to_their_applications() {
    let html = render(&HomePage {
        ctx: signed_in(false),
    });
    assert_shows(
        &html,
        &[
            "Go to your applications",
            HOSTILE_ESCAPED,
            r#"action="/logout""#,
        ],
    );
    assert!(
        !html.contains(r#"href="/admin""#),
        "a TPP sees no Admin link"
    );
}
