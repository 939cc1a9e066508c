//! Work that must not run twice at once, on either backend: an administrator's retry of a
//! key-manager task claims the task while it calls the key manager, so a second retry (at this
//! or another instance) is refused meanwhile, and a claim left by a stopped process lapses.

use reqwest::StatusCode;

use crate::helpers::*;

#[actix_web::test]
async fn a_task_being_retried_is_not_retried_again_until_its_claim_ends() {
    let (app, admin) = spawn_admin().await;
    app.execute(
        "INSERT INTO key_manager_tasks (key_manager_id, key_manager_name, consumer_key, application_name, error, created_at) \
         SELECT id, display_name, 'orphan-client', 'Gone', 'HTTP 503', 0 FROM key_managers WHERE name = 'resident'",
    );
    let task = app.count("SELECT id AS n FROM key_manager_tasks");
    let retry = format!("/admin/key-manager-tasks/{task}/retry");

    // Another retry holds the task (its call to the key manager has not finished).
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    app.execute(&format!(
        "UPDATE key_manager_tasks SET claimed_until = {} WHERE id = {task}",
        now + 60
    ));
    let response = admin.post(&retry, &[]).await;
    assert_eq!(response.status(), StatusCode::CONFLICT);
    let page = response.text().await.unwrap();
    assert!(page.contains("being retried already"), "{page}");
    assert_eq!(
        app.count("SELECT COUNT(*) FROM key_manager_tasks WHERE resolved_at IS NULL"),
        1,
        "nothing was resolved"
    );

    // A claim whose process stopped lapses: the next retry does the work, once.
    app.execute(&format!(
        "UPDATE key_manager_tasks SET claimed_until = {} WHERE id = {task}",
        now - 1
    ));
    admin.post_ok(&retry, &[]).await;
    assert_eq!(
        app.count("SELECT COUNT(*) FROM key_manager_tasks WHERE resolved_at IS NOT NULL"),
        1
    );
    assert_eq!(
        admin.post(&retry, &[]).await.status(),
        StatusCode::NOT_FOUND,
        "resolved: nothing left to retry"
    );
}
