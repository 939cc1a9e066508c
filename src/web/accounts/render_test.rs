use super::{PendingPage, TermsPage};
use crate::web::render_tests::{HOSTILE, HOSTILE_ESCAPED, assert_shows, render, visitor};

#[test]
fn the_terms_name_their_parts() {
    let html = render(&TermsPage { ctx: visitor() });
    assert_shows(
        &html,
        &[
            "Terms and conditions",
            "1. Your account",
            "5. Changes and termination",
        ],
    );
}

#[test]
fn a_rejected_account_reads_the_administrators_reason() {
    let html = render(&PendingPage {
        ctx: visitor(),
        rejected: true,
        reason: Some(HOSTILE.into()),
    });
    assert_shows(
        &html,
        &["Your registration was not approved", HOSTILE_ESCAPED],
    );
    let waiting = render(&PendingPage {
        ctx: visitor(),
        rejected: false,
        reason: None,
    });
    assert_shows(
        &waiting,
        &["Your account is waiting for approval", r#"href="/apis""#],
    );
}
