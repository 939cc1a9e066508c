use super::{ConsentPage, ReturnPage};
use crate::oauth_server::authorize::AuthorizeRequest;
use crate::web::protocol::hidden_fields;
use crate::web::render_tests::{HOSTILE, HOSTILE_ESCAPED, assert_shows, render, signed_in};

#[test]
fn the_consent_page_names_the_application_its_owner_and_each_scope() {
    let html = render(&ConsentPage {
        ctx: signed_in(false),
        hidden: hidden_fields(&AuthorizeRequest {
            response_type: "code".into(),
            client_id: "wallet-client".into(),
            redirect_uri: "https://wallet.example/cb".into(),
            scope: "openid email".into(),
            state: HOSTILE.into(),
            ..AuthorizeRequest::default()
        }),
        application_name: HOSTILE.into(),
        owner: "Wallet Corp".into(),
        scopes: ["openid", "email", "payments:write"]
            .into_iter()
            .map(|s| {
                (
                    s.to_string(),
                    super::describe(s, Some("Make payments for you")),
                )
            })
            .collect(),
    });
    assert_shows(
        &html,
        &[
            "Wallet Corp",
            r#"action="/oauth2/authorize/decision""#,
            HOSTILE_ESCAPED,
        ],
    );
    for (scope, described) in [
        ("openid", "Confirm who you are"),
        ("email", "See your email address"),
        ("payments:write", "Make payments for you"),
    ] {
        let line = format!(r#"<span class="mono">{scope}</span> — {described}"#);
        assert!(html.contains(&line), "{scope} is described: {html}");
    }
    assert!(html.contains(r#"name="client_id" value="wallet-client""#));
}

#[test]
fn the_return_page_says_what_went_wrong_and_where_the_link_leads() {
    let html = render(&ReturnPage {
        ctx: signed_in(false),
        application_name: HOSTILE.into(),
        error: "invalid_scope",
        description: "The scope “x” is not known.".into(),
        callback_host: "wallet.example".into(),
        return_url: "https://wallet.example/cb?error=invalid_scope".into(),
    });
    assert_shows(
        &html,
        &[
            "invalid_scope",
            "wallet.example",
            r#"href="https://wallet.example/cb?error=invalid_scope""#,
            HOSTILE_ESCAPED,
        ],
    );
}
