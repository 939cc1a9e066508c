use super::{FormPage, ListPage};
use crate::db::models::key_managers::KeyUser;
use crate::domain::FieldErrors;
use crate::domain::key_managers::KeyManagerForm;
use crate::domain::keys::KeyManagerKind;
use crate::services::key_managers::KeyManagerEntry;
use crate::web::render_tests::{
    HOSTILE, HOSTILE_ESCAPED, assert_shows, key_manager, render, signed_in,
};

fn entry(id: i64, name: &str, kind: KeyManagerKind, enabled: bool) -> KeyManagerEntry {
    KeyManagerEntry {
        key_manager: key_manager(id, name, kind, enabled),
        keys: 1,
    }
}

#[test]
fn the_list_says_why_a_key_manager_stays() {
    let html = render(&ListPage {
        ctx: signed_in(true),
        entries: vec![
            entry(1, "Resident", KeyManagerKind::Resident, true),
            entry(2, "partner-idp", KeyManagerKind::Dcr, false),
        ],
        problem: HOSTILE.into(),
        users: vec![KeyUser {
            application_id: crate::domain::ids::ApplicationId(5),
            application_name: HOSTILE.into(),
            owner: "alice".into(),
        }],
    });
    assert_shows(
        &html,
        &[
            r#"href="/admin/key-managers/new?type=dcr""#,
            r#"href="/admin/audit?application_id=5""#,
            r#"action="/admin/key-managers/1/disable""#,
            r#"action="/admin/key-managers/2/enable""#,
            r#"action="/admin/key-managers/2/delete""#,
            HOSTILE_ESCAPED,
        ],
    );
    assert!(
        !html.contains("/admin/key-managers/1/delete"),
        "the resident one stays"
    );
}

#[test]
fn the_new_form_discovers_and_names_its_connector_fields() {
    let mut errors = FieldErrors::new();
    errors.add("issuer", HOSTILE);
    let html = render(&FormPage {
        ctx: signed_in(true),
        form: KeyManagerForm::default(),
        errors,
        kind: KeyManagerKind::Auth0,
        current: None,
        stored_secrets: Vec::new(),
        resident_endpoints: Vec::new(),
        filled: vec![HOSTILE.into()],
    });
    assert_shows(
        &html,
        &[
            r#"action="/admin/key-managers""#,
            r#"formaction="/admin/key-managers/discover""#,
            r#"<p class="field-error" id="issuer-note">"#,
            r#"<fieldset id="grant_types""#,
            "Connector configuration",
            HOSTILE_ESCAPED,
        ],
    );
}

#[test]
fn the_edit_form_posts_to_the_key_manager() {
    let current = entry(2, "partner-idp", KeyManagerKind::Dcr, true);
    let html = render(&FormPage {
        ctx: signed_in(true),
        form: KeyManagerForm::default(),
        errors: FieldErrors::new(),
        kind: KeyManagerKind::Dcr,
        current: Some(current),
        stored_secrets: Vec::new(),
        resident_endpoints: Vec::new(),
        filled: Vec::new(),
    });
    assert_shows(
        &html,
        &[
            r#"action="/admin/key-managers/2""#,
            "Save key manager",
            HOSTILE_ESCAPED,
        ],
    );
    assert!(
        !html.contains("formaction"),
        "discovery is for new key managers"
    );
}
