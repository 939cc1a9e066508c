use super::{ApiFormPage, ApisPage};
use crate::db::models::apis::AdminApiRow;
use crate::domain::FieldErrors;
use crate::domain::apis::ApiForm;
use crate::domain::policies::PolicyLevel;
use crate::services::apis::ApiDetail;
use crate::web::render_tests::{
    HOSTILE, HOSTILE_ESCAPED, api, api_summary, assert_shows, policy, render, signed_in,
};

#[test]
fn the_list_links_each_api() {
    let html = render(&ApisPage {
        ctx: signed_in(true),
        rows: vec![AdminApiRow {
            api: api_summary(3, HOSTILE),
            subscriptions: 4,
        }],
    });
    assert_shows(
        &html,
        &[
            r#"href="/admin/apis/3""#,
            r#"href="/admin/apis/new""#,
            "badge-success",
            HOSTILE_ESCAPED,
        ],
    );
}

#[test]
fn the_edit_form_keeps_the_stored_document() {
    let mut stored = api(3, HOSTILE);
    stored.openapi_document = Some(HOSTILE.into());
    let html = render(&ApiFormPage {
        ctx: signed_in(true),
        form: ApiForm::default(),
        errors: FieldErrors::single("tiers", "Choose at least one tier."),
        choices: vec![policy(2, PolicyLevel::Subscription, "Gold")],
        current: Some(ApiDetail {
            api: stored,
            tiers: Vec::new(),
            subscriptions: 1,
            scopes: Vec::new(),
        }),
    });
    assert_shows(
        &html,
        &[
            r#"action="/admin/apis/3""#,
            r#"<fieldset id="tiers" class="has-error""#,
            r#"id="tier-Gold""#,
            "Leave empty to keep the stored document.",
            r#"id="remove_openapi_document""#,
            "/static/js/openapi-upload.js",
            HOSTILE_ESCAPED,
        ],
    );
}
