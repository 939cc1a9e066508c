use super::SignupPage;
use crate::domain::FieldErrors;
use crate::domain::accounts::SignupForm;
use crate::web::render_tests::{HOSTILE, HOSTILE_ESCAPED, assert_shows, render, visitor};

#[test]
fn the_form_keeps_what_was_typed_and_says_what_is_wrong() {
    let html = render(&SignupPage {
        ctx: visitor(),
        form: SignupForm {
            username: HOSTILE.into(),
            next: "/apis/3".into(),
            ..SignupForm::default()
        },
        errors: FieldErrors::single("username", HOSTILE),
        notice: None,
        approval: true,
    });
    assert_shows(
        &html,
        &[
            "Create your account",
            "An administrator reviews every new account",
            r#"<p class="field-error" id="username-note">"#,
            r#"aria-invalid="true""#,
            r#"name="csrf_token""#,
            r#"href="/login?next=%2Fapis%2F3""#,
            HOSTILE_ESCAPED,
        ],
    );
}
