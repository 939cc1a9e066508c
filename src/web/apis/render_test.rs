use super::{ApiPage, CatalogPage};
use crate::domain::FieldErrors;
use crate::domain::apis::Operation;
use crate::domain::policies::PolicyLevel;
use crate::services::subscriptions::SubscribeForm;
use crate::web::pagination::Pagination;
use crate::web::render_tests::{
    HOSTILE, HOSTILE_ESCAPED, api, api_summary, application, assert_shows, policy, render,
    signed_in, visitor,
};

#[test]
fn the_catalog_lists_what_matches_the_search() {
    let html = render(&CatalogPage {
        ctx: visitor(),
        q: HOSTILE.into(),
        apis: vec![api_summary(3, "Payments")],
        pagination: Pagination::new(1, 20, 1, crate::web::Url::Apis.to_string()),
    });
    assert_shows(
        &html,
        &[
            "1 API matching",
            r#"href="/apis/3""#,
            "Payments",
            HOSTILE_ESCAPED,
        ],
    );
}

#[test]
fn a_visitor_is_asked_to_sign_in_to_subscribe() {
    let html = render(&ApiPage {
        ctx: visitor(),
        api: api(3, HOSTILE),
        operations: Vec::new(),
        tiers: vec![policy(2, PolicyLevel::Subscription, "Gold")],
        scopes: Vec::new(),
        applications: Vec::new(),
        form: SubscribeForm::default(),
        errors: FieldErrors::new(),
    });
    assert_shows(
        &html,
        &[
            "Sign in to subscribe",
            r#"href="/login?next=%2Fapis%2F3""#,
            "Needs an administrator",
            HOSTILE_ESCAPED,
        ],
    );
}

#[test]
fn a_tpp_subscribes_an_application_under_a_tier() {
    let html = render(&ApiPage {
        ctx: signed_in(false),
        api: api(3, "Payments"),
        operations: vec![Operation {
            method: "GET".into(),
            path: "/payments".into(),
            summary: HOSTILE.into(),
            scopes: vec!["payments:read".into()],
        }],
        tiers: vec![policy(2, PolicyLevel::Subscription, "Gold")],
        scopes: Vec::new(),
        applications: vec![application(5, HOSTILE)],
        form: SubscribeForm::default(),
        errors: FieldErrors::single("throttling_policy", "Choose a tier."),
    });
    assert_shows(
        &html,
        &[
            r#"action="/apis/3/subscribe""#,
            r#"<select id="throttling_policy" name="throttling_policy""#,
            r#"<p class="field-error" id="throttling_policy-note">Choose a tier.</p>"#,
            r#"<option value="5""#,
            "/payments",
            "payments:read",
            HOSTILE_ESCAPED,
        ],
    );
}
