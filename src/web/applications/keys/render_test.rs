use super::KeysPage;
use crate::db::models::key_managers::KeyManagerRow;
use crate::domain::keys::{KeyManagerKind, KeySettings, KeyType};
use crate::services::keys::{KeysView, SelectedKeyManager};
use crate::web::render_tests::{
    HOSTILE, HOSTILE_ESCAPED, application, assert_shows, key_manager, render, signed_in,
};

fn resident() -> KeyManagerRow {
    key_manager(1, "Resident", KeyManagerKind::Resident, true)
}

/// The resident key manager chosen, no keys there yet.
fn no_keys_yet() -> SelectedKeyManager {
    SelectedKeyManager {
        key_manager: resident(),
        config: serde_json::from_str(r#"{"grant_types": ["client_credentials"]}"#)
            .expect("a config"),
        spec: crate::key_managers::spec(KeyManagerKind::Resident),
        mapping: None,
        settings: KeySettings::default(),
        token_endpoint: "http://127.0.0.1/oauth2/token".into(),
        portal_provisioning: true,
    }
}

/// The sandbox tab of "Shop" with no keys yet, for a member who may change them or not.
fn no_keys_tab(may_change: bool) -> String {
    render(&KeysPage::new(
        signed_in(false),
        KeysView {
            application: application(5, "Shop"),
            may_change,
            key_type: KeyType::Sandbox,
            tabs: vec![resident()],
            selected: Some(no_keys_yet()),
        },
    ))
}

#[test]
fn without_a_key_manager_the_tab_says_whom_to_ask() {
    let html = render(&KeysPage::new(
        signed_in(false),
        KeysView {
            application: application(5, HOSTILE),
            may_change: true,
            key_type: KeyType::Production,
            tabs: Vec::new(),
            selected: None,
        },
    ));
    assert_shows(
        &html,
        &[
            "No key manager is available to you",
            r#"href="/applications/5/keys/production" aria-current="page""#,
            HOSTILE_ESCAPED,
        ],
    );
}

#[test]
fn without_keys_the_tab_offers_to_generate_them() {
    let html = no_keys_tab(true);
    assert_shows(
        &html,
        &[
            r#"href="/applications/5/keys/sandbox?key_manager=Resident""#,
            r#"action="/applications/5/keys/sandbox/generate""#,
            r#"id="grant_types-client_credentials""#,
            r#"name="key_manager" value="Resident""#,
            HOSTILE_ESCAPED,
        ],
    );
}

#[test]
fn a_viewer_is_told_why_no_key_form_is_offered() {
    let html = no_keys_tab(false);
    assert!(!html.contains("/keys/sandbox/generate"), "{html}");
    assert!(!html.contains("/keys/sandbox/map"), "{html}");
    assert!(html.contains("Viewers can read"), "{html}");
}
