use super::{ListPage, NewPage, OverviewPage, SubscriptionsPage};
use crate::db::models::applications::ApplicationListItem;
use crate::db::models::audit_events::AuditEvent;
use crate::db::models::subscriptions::SubscriptionLine;
use crate::domain::FieldErrors;
use crate::domain::applications::{ApplicationForm, SubscriptionStatus};
use crate::domain::policies::PolicyLevel;
use crate::web::pagination::Pagination;
use crate::web::render_tests::{
    HOSTILE, HOSTILE_ESCAPED, application, assert_shows, policy, render, signed_in,
};

#[test]
fn the_list_links_each_application() {
    let html = render(&ListPage {
        ctx: signed_in(false),
        items: vec![ApplicationListItem {
            application: application(5, HOSTILE),
            policy_display_name: "Unlimited".into(),
            subscriptions: 2,
        }],
        pagination: Pagination::new(1, 20, 1, crate::web::Url::Applications.to_string()),
    });
    assert_shows(
        &html,
        &[
            r#"href="/applications/5""#,
            "Unlimited",
            r#"href="/applications/new""#,
            HOSTILE_ESCAPED,
        ],
    );
}

#[test]
fn the_new_form_shows_its_errors_by_the_fields() {
    let html = render(&NewPage {
        ctx: signed_in(false),
        form: ApplicationForm {
            name: HOSTILE.into(),
            ..ApplicationForm::default()
        },
        errors: FieldErrors::single("name", "Choose another name."),
        policies: vec![policy(1, PolicyLevel::Application, "Unlimited")],
    });
    assert_shows(
        &html,
        &[
            "Please correct the following",
            r##"<a href="#name">Choose another name.</a>"##,
            r#"<p class="field-error" id="name-note">Choose another name.</p>"#,
            r#"<p class="help" id="description-note">"#,
            r#"action="/applications""#,
            HOSTILE_ESCAPED,
        ],
    );
}

#[test]
fn the_overview_offers_edit_history_and_deletion() {
    let html = render(&OverviewPage {
        ctx: signed_in(false),
        application: application(5, HOSTILE),
        policy: Some(policy(1, PolicyLevel::Application, "Unlimited")),
        policies: vec![policy(1, PolicyLevel::Application, "Unlimited")],
        form: ApplicationForm::default(),
        errors: FieldErrors::new(),
        history: vec![AuditEvent {
            id: 1,
            actor_id: Some(crate::domain::ids::UserId(1)),
            actor_name: "alice".into(),
            action: "create".into(),
            object_type: "application".into(),
            object_id: Some(5),
            application_id: Some(crate::domain::ids::ApplicationId(5)),
            summary: HOSTILE.into(),
            created_at: 0,
            organisation_id: None,
        }],
        tab: "overview",
        may_change: true,
    });
    assert_shows(
        &html,
        &[
            r#"href="/applications/5" aria-current="page">Overview"#,
            r#"href="/applications/5/keys/sandbox""#,
            r#"action="/applications/5/delete""#,
            "Delete application",
            HOSTILE_ESCAPED,
        ],
    );
}

/// A rejected subscription with a hostile API name and reason.
fn rejected_line() -> SubscriptionLine {
    SubscriptionLine {
        id: 9,
        api_id: crate::domain::ids::ApiId(3),
        api_name: HOSTILE.into(),
        api_version: "1.0.0".into(),
        api_context: "/payments/v1".into(),
        tier: "Gold".into(),
        status: SubscriptionStatus::Rejected,
        decision_reason: Some(HOSTILE.into()),
        created_at: 0,
    }
}

/// The subscriptions tab of "Shop" with `rejected_line`, for a member who may change it or not.
fn subscriptions_tab(may_change: bool) -> String {
    render(&SubscriptionsPage {
        ctx: signed_in(false),
        application: application(5, "Shop"),
        subscriptions: vec![rejected_line()],
        tab: "subscriptions",
        may_change,
    })
}

#[test]
fn each_subscription_can_be_ended() {
    let html = subscriptions_tab(true);
    assert_shows(
        &html,
        &[
            r#"action="/applications/5/subscriptions/9/delete""#,
            ">Remove</button>",
            r#"href="/apis/3""#,
            HOSTILE_ESCAPED,
        ],
    );
}

#[test]
fn a_viewer_is_offered_no_change_of_the_application() {
    let html = render(&OverviewPage {
        ctx: signed_in(false),
        application: application(5, "Shop"),
        policy: Some(policy(1, PolicyLevel::Application, "Unlimited")),
        policies: vec![policy(1, PolicyLevel::Application, "Unlimited")],
        form: ApplicationForm::default(),
        errors: FieldErrors::new(),
        history: Vec::new(),
        tab: "overview",
        may_change: false,
    });
    assert!(
        !html.contains(r#"action="/applications/5/delete""#),
        "{html}"
    );
    assert!(!html.contains(r#"action="/applications/5""#), "{html}");
    assert!(html.contains(r#"data-field="read_only""#), "{html}");
    let html = subscriptions_tab(false);
    assert!(html.contains("/payments/v1"), "{html}");
    assert!(!html.contains("/subscriptions/9/delete"), "{html}");
}
