use super::GatewaysPage;
use crate::domain::FieldErrors;
use crate::oauth_server::clients::OAuthClient;
use crate::web::render_tests::{HOSTILE, HOSTILE_ESCAPED, assert_shows, render, signed_in};

#[test]
fn a_new_gateways_secret_is_shown_once_and_each_gateway_can_be_removed() {
    let gateway = OAuthClient {
        id: 6,
        client_id: "gw-client".into(),
        secret_hash: None,
        client_name: HOSTILE.into(),
        application_id: None,
        key_type: None,
        grant_types: String::new(),
        redirect_uris: String::new(),
        pkce_mandatory: false,
        pkce_plain_allowed: false,
        public_client: false,
        resource_server: true,
        application_token_ttl: 0,
        user_token_ttl: 0,
        refresh_token_ttl: 0,
        id_token_ttl: 0,
        created_at: 0,
        updated_at: 0,
        id_token_signed_response_alg: None,
    };
    let html = render(&GatewaysPage {
        ctx: signed_in(true),
        gateways: vec![gateway],
        typed_name: HOSTILE.into(),
        errors: FieldErrors::single("name", "Name it."),
        created: Some(("gw-client".into(), "gw-secret".into())),
        introspection_endpoint: "http://127.0.0.1/oauth2/introspect".into(),
    });
    assert_shows(
        &html,
        &[
            "gw-secret",
            r#"action="/admin/gateways/6/delete""#,
            r#"action="/admin/gateways""#,
            r#"<p class="field-error" id="name-note">Name it.</p>"#,
            HOSTILE_ESCAPED,
        ],
    );
}
