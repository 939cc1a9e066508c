use super::{AuditPage, AuditQuery};
use crate::db::models::audit_events::AuditEvent;
use crate::web::pagination::Pagination;
use crate::web::render_tests::{HOSTILE, HOSTILE_ESCAPED, assert_shows, render, signed_in};

#[test]
fn a_bad_date_is_shown_by_its_field() {
    let html = render(&AuditPage {
        ctx: signed_in(true),
        query: AuditQuery {
            actor: HOSTILE.into(),
            action: "create".into(),
            object_type: String::new(),
            from: "2026-01-01".into(),
            to: "yesterday".into(),
            page: None,
        },
        events: vec![AuditEvent {
            id: 1,
            actor_id: None,
            actor_name: "alice".into(),
            action: "create".into(),
            object_type: "api".into(),
            object_id: Some(3),
            application_id: None,
            summary: HOSTILE.into(),
            created_at: 0,
            organisation_id: None,
        }],
        pagination: Pagination::new(1, 50, 1, crate::web::Url::Audit.to_string()),
        date_error: Some("“yesterday” is not a date like 2026-11-24.".into()),
    });
    assert_shows(
        &html,
        &[
            r#"<p class="field-error" id="to-note">"#,
            r#"<option value="create" selected>"#,
            "api #3",
            r#"action="/admin/audit""#,
            HOSTILE_ESCAPED,
        ],
    );
    assert!(
        !html.contains(r#"id="from-note""#),
        "the good date has no error"
    );
}
