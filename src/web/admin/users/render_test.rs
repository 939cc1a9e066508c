use std::collections::HashMap;

use super::UsersPage;
use crate::domain::accounts::AccountStatus;
use crate::web::admin::FailedRejection;
use crate::web::pagination::Pagination;
use crate::web::render_tests::{HOSTILE, HOSTILE_ESCAPED, assert_shows, render, signed_in, user};

#[test]
fn each_user_has_the_actions_of_their_status() {
    let html = render(&UsersPage {
        ctx: signed_in(true),
        users: vec![
            user(2, "pending-tpp", AccountStatus::Pending),
            user(3, "active-tpp", AccountStatus::Active),
            user(4, "locked-tpp", AccountStatus::Locked),
        ],
        status: String::new(),
        pagination: Pagination::new(1, 50, 3, crate::web::Url::AdminUsers.to_string()),
        roles: HashMap::from([(crate::domain::ids::UserId(3), vec![HOSTILE.to_string()])]),
        failed: FailedRejection {
            id: 2,
            reason: HOSTILE.into(),
            message: "Give a reason.".into(),
        },
    });
    assert_shows(
        &html,
        &[
            r#"action="/admin/users/2/approve""#,
            r#"action="/admin/users/2/reject""#,
            r#"<p class="field-error" id="reason-2-note">Give a reason.</p>"#,
            r#"action="/admin/users/3/lock""#,
            r#"action="/admin/users/4/unlock""#,
            r#"action="/admin/users/3/roles""#,
            r#"href="/admin/users?status=pending""#,
            HOSTILE_ESCAPED,
        ],
    );
}
