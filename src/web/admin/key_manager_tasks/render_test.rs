use super::TasksPage;
use crate::db::models::key_manager_tasks::KeyManagerTask;
use crate::web::render_tests::{HOSTILE, HOSTILE_ESCAPED, assert_shows, render, signed_in};

#[test]
fn an_open_task_is_retried_or_resolved() {
    let html = render(&TasksPage {
        ctx: signed_in(true),
        tasks: vec![KeyManagerTask {
            id: 8,
            key_manager_id: Some(crate::domain::ids::KeyManagerId(2)),
            key_manager_name: "partner-idp".into(),
            consumer_key: "ck".into(),
            application_name: HOSTILE.into(),
            error: HOSTILE.into(),
            created_at: 0,
            resolved_at: None,
        }],
    });
    assert_shows(
        &html,
        &[
            r#"action="/admin/key-manager-tasks/8/retry""#,
            r#"action="/admin/key-manager-tasks/8/resolve""#,
            "partner-idp",
            HOSTILE_ESCAPED,
        ],
    );
}
