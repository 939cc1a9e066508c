//! Every refused token request leaves the authorization server's tables as they were
//! (SECURITY.md, "after every rejected request the database is unchanged"): each grant type
//! against each reason the token endpoint refuses for, with the tables compared before and
//! after, and the code and refresh token it tried still working afterwards. The two refusals
//! that write on purpose (a replayed code, a rotated refresh token presented again: both revoke
//! their grant) are the subject of their own tests in `oauth.rs`.

use reqwest::StatusCode;

use crate::helpers::*;
use crate::oauth::{CALLBACK, VERIFIER, app_with_client, basic, code_for, exchange, post_token};

/// Every row of the authorization server's tables, as text.
pub(crate) fn server_tables(app: &TestApp) -> Vec<String> {
    let mut lines = Vec::new();
    for sql in [
        "SELECT 'rt|' || token_hash || '|' || family_id || '|' || scope || '|' || issued_at || '|' || expires_at || '|' || coalesce(CAST(used_at AS TEXT), '') AS line FROM refresh_tokens ORDER BY token_hash",
        "SELECT 'fam|' || id || '|' || client_id || '|' || user_id || '|' || scope || '|' || coalesce(CAST(revoked_at AS TEXT), '') || '|' || expires_at AS line FROM refresh_token_families ORDER BY id",
        "SELECT 'fat|' || jti || '|' || family_id || '|' || expires_at AS line FROM family_access_tokens ORDER BY jti",
        "SELECT 'code|' || code_hash || '|' || client_id || '|' || user_id || '|' || coalesce(CAST(used_at AS TEXT), '') || '|' || coalesce(CAST(family_id AS TEXT), '') || '|' || expires_at AS line FROM authorization_codes ORDER BY code_hash",
        "SELECT 'rev|' || id || '|' || jti || '|' || expires_at AS line FROM revoked_tokens ORDER BY id",
        "SELECT 'client|' || client_id || '|' || coalesce(CAST(secret_hash AS TEXT), '') || '|' || grant_types || '|' || redirect_uris || '|' || updated_at AS line FROM oauth_clients ORDER BY id",
        "SELECT 'consent|' || user_id || '|' || client_id || '|' || scope || '|' || updated_at AS line FROM consents ORDER BY id",
    ] {
        lines.extend(app.lines(sql));
    }
    lines
}

/// A refused request: its name, its client authentication, its form, and the answer it gets.
type Refusal<'a> = (
    &'a str,
    Option<&'a str>,
    Vec<(&'a str, &'a str)>,
    StatusCode,
    &'a str,
);

fn basic_raw(id: &str, secret: &str) -> String {
    use base64::Engine;
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}"))
    )
}

#[actix_web::test]
async fn every_refused_token_request_leaves_the_database_as_it_was() {
    let (app, _, client) = app_with_client().await;
    let other = app.register_client(ClientSpec::default());
    let no_grants = app.register_client(ClientSpec {
        grants: &[],
        ..Default::default()
    });
    let public = app.register_client(ClientSpec {
        public: true,
        ..Default::default()
    });
    let person = app.tpp("person").await;
    // A code not yet exchanged, a live refresh token, and a revoked one.
    let code = code_for(&app, &person, &client, "read write").await;
    let live = code_for(&app, &person, &client, "read write").await;
    let (_, tokens) = exchange(&app, &client, &live, VERIFIER).await;
    let refresh = tokens["refresh_token"].as_str().unwrap().to_string();
    let doomed = code_for(&app, &person, &client, "read").await;
    let (_, doomed) = exchange(&app, &client, &doomed, VERIFIER).await;
    let revoked = doomed["refresh_token"].as_str().unwrap().to_string();
    let response = crate::oauth::http()
        .post(app.url("/oauth2/revoke"))
        .header("authorization", basic(&client))
        .form(&[("token", revoked.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);

    let (auth, other_auth, no_grants_auth) = (basic(&client), basic(&other), basic(&no_grants));
    let wrong_secret = basic_raw(&client.client_id, "not-the-secret");
    let unknown = basic_raw("nobody", "nothing");
    let (auth, other_auth, no_grants_auth, wrong_secret, unknown) = (
        auth.as_str(),
        other_auth.as_str(),
        no_grants_auth.as_str(),
        wrong_secret.as_str(),
        unknown.as_str(),
    );
    let pkce_challenge = crate::oauth::challenge(VERIFIER);
    let secret = client.secret.clone().unwrap();
    let long_scope = "s".repeat(1001);
    let wrong_verifier = "b".repeat(43);
    let bad_verifier = format!("{}+", "a".repeat(43));
    let cc = ("grant_type", "client_credentials");
    let ac = ("grant_type", "authorization_code");
    let rt = ("grant_type", "refresh_token");
    let c = ("code", code.as_str());
    let r = ("refresh_token", refresh.as_str());
    let cb = ("redirect_uri", CALLBACK);
    let v = ("code_verifier", VERIFIER);
    #[rustfmt::skip]
    let cases: Vec<Refusal> = vec![
        // Any grant: the request itself or the client's authentication.
        ("no grant_type", Some(auth), vec![], StatusCode::BAD_REQUEST, "invalid_request"),
        ("unknown grant_type", Some(auth), vec![("grant_type", "password")], StatusCode::BAD_REQUEST, "unsupported_grant_type"),
        ("implicit is no grant", Some(auth), vec![("grant_type", "implicit")], StatusCode::BAD_REQUEST, "unsupported_grant_type"),
        ("repeated parameter", Some(auth), vec![rt, r, r], StatusCode::BAD_REQUEST, "invalid_request"),
        ("two authentication methods", Some(auth), vec![rt, r, ("client_id", &client.client_id), ("client_secret", &secret)], StatusCode::BAD_REQUEST, "invalid_request"),
        ("client_id differs from Basic", Some(auth), vec![rt, r, ("client_id", &other.client_id)], StatusCode::BAD_REQUEST, "invalid_request"),
        ("malformed Basic", Some("Basic !!!"), vec![rt, r], StatusCode::UNAUTHORIZED, "invalid_client"),
        ("no client authentication", None, vec![ac, c, cb, v], StatusCode::UNAUTHORIZED, "invalid_client"),
        // client_credentials
        ("cc: wrong secret", Some(wrong_secret), vec![cc], StatusCode::UNAUTHORIZED, "invalid_client"),
        ("cc: unknown client", Some(unknown), vec![cc], StatusCode::UNAUTHORIZED, "invalid_client"),
        ("cc: grant not allowed", Some(no_grants_auth), vec![cc], StatusCode::BAD_REQUEST, "unauthorized_client"),
        ("cc: public client", None, vec![cc, ("client_id", &public.client_id)], StatusCode::BAD_REQUEST, "unauthorized_client"),
        ("cc: scope with a backslash", Some(auth), vec![cc, ("scope", "a\\b")], StatusCode::BAD_REQUEST, "invalid_scope"),
        ("cc: scope too long", Some(auth), vec![cc, ("scope", &long_scope)], StatusCode::BAD_REQUEST, "invalid_scope"),
        // authorization_code
        ("ac: wrong secret", Some(wrong_secret), vec![ac, c, cb, v], StatusCode::UNAUTHORIZED, "invalid_client"),
        ("ac: unknown client", Some(unknown), vec![ac, c, cb, v], StatusCode::UNAUTHORIZED, "invalid_client"),
        ("ac: grant not allowed", Some(no_grants_auth), vec![ac, c, cb, v], StatusCode::BAD_REQUEST, "unauthorized_client"),
        ("ac: no code", Some(auth), vec![ac, cb, v], StatusCode::BAD_REQUEST, "invalid_request"),
        ("ac: unknown code", Some(auth), vec![ac, ("code", "no-such-code"), cb, v], StatusCode::BAD_REQUEST, "invalid_grant"),
        ("ac: another client's code", Some(other_auth), vec![ac, c, cb, v], StatusCode::BAD_REQUEST, "invalid_grant"),
        ("ac: no redirect_uri", Some(auth), vec![ac, c, v], StatusCode::BAD_REQUEST, "invalid_grant"),
        ("ac: another redirect_uri", Some(auth), vec![ac, c, ("redirect_uri", "https://client.example/other"), v], StatusCode::BAD_REQUEST, "invalid_grant"),
        ("ac: no verifier", Some(auth), vec![ac, c, cb], StatusCode::BAD_REQUEST, "invalid_grant"),
        ("ac: wrong verifier", Some(auth), vec![ac, c, cb, ("code_verifier", &wrong_verifier)], StatusCode::BAD_REQUEST, "invalid_grant"),
        ("ac: verifier with a bad character", Some(auth), vec![ac, c, cb, ("code_verifier", &bad_verifier)], StatusCode::BAD_REQUEST, "invalid_grant"),
        ("ac: the challenge sent as verifier", Some(auth), vec![ac, c, cb, ("code_verifier", &pkce_challenge)], StatusCode::BAD_REQUEST, "invalid_grant"),
        // refresh_token
        ("rt: wrong secret", Some(wrong_secret), vec![rt, r], StatusCode::UNAUTHORIZED, "invalid_client"),
        ("rt: unknown client", Some(unknown), vec![rt, r], StatusCode::UNAUTHORIZED, "invalid_client"),
        ("rt: grant not allowed", Some(no_grants_auth), vec![rt, r], StatusCode::BAD_REQUEST, "unauthorized_client"),
        ("rt: no refresh_token", Some(auth), vec![rt], StatusCode::BAD_REQUEST, "invalid_request"),
        ("rt: unknown refresh_token", Some(auth), vec![rt, ("refresh_token", "no-such-token")], StatusCode::BAD_REQUEST, "invalid_grant"),
        ("rt: another client's refresh_token", Some(other_auth), vec![rt, r], StatusCode::BAD_REQUEST, "invalid_grant"),
        ("rt: a revoked refresh_token", Some(auth), vec![rt, ("refresh_token", &revoked)], StatusCode::BAD_REQUEST, "invalid_grant"),
        ("rt: a wider scope", Some(auth), vec![rt, r, ("scope", "read write admin")], StatusCode::BAD_REQUEST, "invalid_scope"),
        ("rt: another scope", Some(auth), vec![rt, r, ("scope", "admin")], StatusCode::BAD_REQUEST, "invalid_scope"),
        ("rt: scope with a backslash", Some(auth), vec![rt, r, ("scope", "read\\")], StatusCode::BAD_REQUEST, "invalid_scope"),
        ("rt: public client for a confidential client's token", None, vec![rt, r, ("client_id", &public.client_id)], StatusCode::BAD_REQUEST, "invalid_grant"),
    ];
    let before = server_tables(&app);
    for (case, auth, form, status, error) in &cases {
        let (got, body, headers) = post_token(&app, *auth, form).await;
        assert_eq!(
            (got, body["error"].as_str()),
            (*status, Some(*error)),
            "{case}: {body}"
        );
        assert_eq!(headers["cache-control"], "no-store", "{case}");
        assert_eq!(server_tables(&app), before, "{case} changed the database");
    }

    // What the refused requests tried still works: the code exchanges, the refresh token
    // rotates, and narrowing its scope is allowed.
    let (status, body) = exchange(&app, &client, &code, VERIFIER).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body, _) = post_token(&app, Some(auth), &[rt, r, ("scope", "read")]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["scope"], "read");
}
