//! What a relying party reads in discovery and in the tokens: RS256 always there for ID tokens
//! (OIDC Discovery §3) beside the configured algorithm, a client's registered ID-token
//! algorithm honoured, request objects refused and said so, RFC 9207 advertised, and
//! `redirect_uri` at the token endpoint required only when the authorization request sent it.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{FetchJson, *};
use crate::oauth::{
    VERIFIER, assert_oauth_error, authorize, basic, challenge, client_credentials_token, code_for,
    exchange, http, jwks_field, pair, redeem, verify_with_jwks,
};

#[actix_web::test]
async fn discovery_advertises_rs256_iss_logout_and_no_request_objects() {
    let app = spawn_app().await;
    let rsa = spawn_app_with(&[("PORTICO_SIGNING_ALGORITHM", "RS256")]).await;
    // RS256 beside the configured algorithm (its key published second); alone when configured.
    for (portal, algorithms) in [(&app, vec!["ES256", "RS256"]), (&rsa, vec!["RS256"])] {
        let doc: Value = http()
            .get(portal.url("/.well-known/openid-configuration"))
            .fetch_json()
            .await;
        assert_eq!(
            doc["id_token_signing_alg_values_supported"],
            json!(algorithms)
        );
        assert_eq!(jwks_field(portal, "alg").await, algorithms);
        for (field, value) in [
            ("request_parameter_supported", json!(false)),
            ("request_uri_parameter_supported", json!(false)),
            (
                "authorization_response_iss_parameter_supported",
                json!(true),
            ),
            (
                "end_session_endpoint",
                json!(format!("{}/oauth2/logout", portal.address)),
            ),
            (
                "prompt_values_supported",
                json!(["none", "login", "consent", "select_account"]),
            ),
        ] {
            assert_eq!(doc[field], value, "{field}");
        }
    }
}

#[actix_web::test]
async fn a_client_that_registered_rs256_gets_rs256_id_tokens_and_the_rest_stay_as_configured() {
    let app = spawn_app_with(&[("PORTICO_SIGNING_ALGORITHM", "EdDSA")]).await;
    let rs256 = app.register_client(ClientSpec {
        id_token_algorithm: Some("RS256"),
        ..Default::default()
    });
    let default = app.register_client(ClientSpec::default());
    let person = app.tpp("person").await;
    for (client, expected) in [(&rs256, "RS256"), (&default, "EdDSA")] {
        let code = code_for(&app, &person, client, "openid").await;
        let (status, tokens) = exchange(&app, client, &code, VERIFIER).await;
        assert_eq!(status, StatusCode::OK, "{tokens}");
        let (header, claims) = verify_with_jwks(&app, tokens["id_token"].as_str().unwrap()).await;
        assert_eq!(format!("{:?}", header.alg), expected);
        assert_eq!(claims["aud"], client.client_id.as_str());
        // Access tokens keep the configured algorithm whatever the client's ID-token choice.
        let (header, _) = verify_with_jwks(&app, tokens["access_token"].as_str().unwrap()).await;
        assert_eq!(format!("{:?}", header.alg), "EdDSA");
    }
    let token = client_credentials_token(&app, &rs256, None).await;
    let (header, _) = verify_with_jwks(&app, &token).await;
    assert_eq!(format!("{:?}", header.alg), "EdDSA");
}

#[actix_web::test]
async fn rotation_renews_the_rs256_key_with_the_configured_one() {
    let fixed = [("PORTICO_PUBLIC_URL", "http://portal.test")];
    let app = spawn_app_with(&fixed).await;
    let kids = |jwks: &Value, alg: &str| -> Vec<String> {
        jwks["keys"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|k| k["alg"] == alg)
            .map(|k| k["kid"].as_str().unwrap().to_string())
            .collect()
    };
    let before: Value = http().get(app.url("/oauth2/jwks")).fetch_json().await;
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_portico"))
        .arg("rotate-signing-key")
        .envs(app.db_env())
        .output()
        .unwrap();
    assert!(output.status.success());
    let printed = String::from_utf8_lossy(&output.stdout);
    assert!(
        printed.contains("New active ES256 signing key") && printed.contains("New active RS256"),
        "{printed}"
    );
    let app = restart(app, &fixed).await;
    let after: Value = http().get(app.url("/oauth2/jwks")).fetch_json().await;
    for alg in ["ES256", "RS256"] {
        let (old, new) = (kids(&before, alg), kids(&after, alg));
        assert_eq!(old.len(), 1, "{alg}");
        assert_eq!(
            new.len(),
            2,
            "{alg}: the new key and the old one, still published"
        );
        assert!(new.contains(&old[0]), "{alg}");
    }
}

#[actix_web::test]
async fn redirect_uri_at_the_token_endpoint_is_required_only_when_the_request_sent_it() {
    let app = spawn_app().await;
    let client = app.register_client(ClientSpec::default());
    let person = app.tpp("person").await;
    let challenge = challenge(VERIFIER);
    let code_without_redirect_uri = || async {
        let pairs = authorize(
            &app,
            &person,
            &[
                ("response_type", "code"),
                ("client_id", client.client_id.as_str()),
                ("code_challenge", challenge.as_str()),
                ("code_challenge_method", "S256"),
            ],
        )
        .await;
        pair(&pairs, "code").unwrap().to_string()
    };
    let auth = basic(&client);
    let verifier_only = [("code_verifier", VERIFIER)];
    // Not sent to /authorize (the one registered URI was used): not needed, and if sent, it
    // must be that one.
    let code = code_without_redirect_uri().await;
    let (status, body) = redeem(&app, Some(&auth), &code, &verifier_only).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let code = code_without_redirect_uri().await;
    let other = [
        ("redirect_uri", "https://client.example/other"),
        ("code_verifier", VERIFIER),
    ];
    let refused = redeem(&app, Some(&auth), &code, &other).await;
    assert_oauth_error(refused, "invalid_grant", "another redirect_uri");
    let (status, body) = exchange(&app, &client, &code, VERIFIER).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // Sent to /authorize: required, and the code stays usable after the refusal.
    let code = code_for(&app, &person, &client, "openid").await;
    let refused = redeem(&app, Some(&auth), &code, &verifier_only).await;
    assert_oauth_error(refused, "invalid_grant", "missing redirect_uri");
    let (status, body) = exchange(&app, &client, &code, VERIFIER).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}
