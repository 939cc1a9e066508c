use super::ConsentsPage;
use crate::db::models::consents::ConsentLine;
use crate::web::render_tests::{HOSTILE, HOSTILE_ESCAPED, assert_shows, render, signed_in};

#[test]
fn each_consent_can_be_withdrawn() {
    let html = render(&ConsentsPage {
        ctx: signed_in(false),
        consents: vec![ConsentLine {
            id: 4,
            client_name: "client".into(),
            application_name: Some(HOSTILE.into()),
            scope: "openid profile".into(),
            updated_at: 0,
        }],
    });
    assert_shows(
        &html,
        &[
            "openid profile",
            r#"action="/account/consents/4/revoke""#,
            "data-confirm=",
            HOSTILE_ESCAPED,
        ],
    );
}
