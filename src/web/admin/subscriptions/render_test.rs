use super::ApprovalsPage;
use crate::db::models::subscriptions::ApprovalLine;
use crate::domain::applications::SubscriptionStatus;
use crate::web::admin::FailedRejection;
use crate::web::render_tests::{HOSTILE, HOSTILE_ESCAPED, assert_shows, render, signed_in};

#[test]
fn a_waiting_subscription_is_approved_or_rejected_with_a_reason() {
    let html = render(&ApprovalsPage {
        ctx: signed_in(true),
        status: SubscriptionStatus::OnHold,
        pending: vec![ApprovalLine {
            id: 7,
            application_name: HOSTILE.into(),
            owner: "alice".into(),
            organization: "Acme".into(),
            api_name: "Payments".into(),
            api_version: "1.0.0".into(),
            tier: "Gold".into(),
            status: SubscriptionStatus::OnHold,
            decision_reason: None,
            created_at: 0,
        }],
        failed: FailedRejection::default(),
    });
    assert_shows(
        &html,
        &[
            "<th scope=\"col\">Decision</th>",
            r#"action="/admin/subscriptions/7/approve""#,
            r#"action="/admin/subscriptions/7/reject""#,
            r#"href="/admin/subscriptions?status=ACTIVE""#,
            HOSTILE_ESCAPED,
        ],
    );
}
