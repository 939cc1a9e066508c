use super::{PoliciesPage, PolicyFormPage};
use crate::domain::FieldErrors;
use crate::domain::policies::{PolicyForm, PolicyLevel, PolicyUses};
use crate::services::policies::{PolicyOverview, PolicyRow};
use crate::web::render_tests::{HOSTILE, HOSTILE_ESCAPED, assert_shows, policy, render, signed_in};

fn row(id: i64, level: PolicyLevel, name: &str, uses: i64) -> PolicyRow {
    PolicyRow {
        policy: policy(id, level, name),
        uses: PolicyUses {
            applications: uses,
            ..PolicyUses::default()
        },
    }
}

#[test]
fn subscription_policies_show_their_approval_and_unused_ones_can_go() {
    let html = render(&PoliciesPage {
        ctx: signed_in(true),
        overview: PolicyOverview {
            application: vec![row(1, PolicyLevel::Application, "Unlimited", 2)],
            subscription: vec![row(2, PolicyLevel::Subscription, "Gold", 0)],
        },
        problem: HOSTILE.into(),
    });
    assert_shows(
        &html,
        &[
            "<th scope=\"col\">Approval</th>",
            "Requires approval",
            r#"action="/admin/throttling-policies/2/delete""#,
            r#"href="/admin/throttling-policies/1""#,
            HOSTILE_ESCAPED,
        ],
    );
    assert!(
        !html.contains("/admin/throttling-policies/1/delete"),
        "a policy in use stays"
    );
}

#[test]
fn the_new_form_asks_for_level_and_name() {
    let html = render(&PolicyFormPage {
        ctx: signed_in(true),
        errors: FieldErrors::single("unit_time", "From 1 to 1000."),
        form: PolicyForm {
            name: HOSTILE.into(),
            ..PolicyForm::default()
        },
        current: None,
    });
    assert_shows(
        &html,
        &[
            r#"<select id="level" name="level" required"#,
            r#"<p class="field-error" id="unit_time-note">From 1 to 1000.</p>"#,
            r#"action="/admin/throttling-policies""#,
            HOSTILE_ESCAPED,
        ],
    );
}

#[test]
fn an_unused_policy_can_be_deleted_from_its_form() {
    let html = render(&PolicyFormPage {
        ctx: signed_in(true),
        form: PolicyForm::default(),
        errors: FieldErrors::new(),
        current: Some(row(2, PolicyLevel::Subscription, "Gold", 0)),
    });
    assert_shows(
        &html,
        &[
            r#"action="/admin/throttling-policies/2""#,
            r#"action="/admin/throttling-policies/2/delete""#,
            HOSTILE_ESCAPED,
        ],
    );
}
