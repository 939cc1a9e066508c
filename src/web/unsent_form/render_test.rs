use super::UnsentFormPage;
use crate::security::expired_form::FormDraft;
use crate::web::render_tests::{HOSTILE, HOSTILE_ESCAPED, assert_shows, render, signed_in};

#[test]
fn the_kept_values_are_shown_and_sent_again() {
    let draft: FormDraft = serde_json::from_value(serde_json::json!({
        "user_id": 1,
        "expires_at": 0,
        "action": "/applications",
        "back": "/applications/new",
        "fields": [["name", HOSTILE], ["throttling_policy", "Gold"]],
        "left_out": true,
    }))
    .expect("a draft");
    let html = render(&UnsentFormPage {
        ctx: signed_in(false),
        draft,
    });
    assert_shows(
        &html,
        &[
            "Your form was not sent",
            "Throttling policy",
            "Passwords, secrets and very long values are never kept",
            r#"action="/applications""#,
            r#"href="/applications/new""#,
            HOSTILE_ESCAPED,
        ],
    );
}
