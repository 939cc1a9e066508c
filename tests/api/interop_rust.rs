//! The interop suite's Rust client: the `openidconnect` crate discovers Portico, runs the code
//! flow with PKCE (the browser part as a signed-in person's session), verifies the ID token with
//! the keys discovery pointed it to, reads userinfo, and asks for client_credentials tokens.

use openidconnect::core::{CoreAuthenticationFlow, CoreClient, CoreProviderMetadata};
use openidconnect::{
    AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl, Nonce, OAuth2TokenResponse,
    PkceCodeChallenge, RedirectUrl, Scope, TokenResponse,
};

use crate::interop::shop_with_clients;
use crate::oauth::{CALLBACK, authorize, http, pair};

#[actix_web::test]
async fn the_openidconnect_crate_discovers_portico_and_runs_its_flows() {
    let (world, registered, _) = shop_with_clients().await;
    let app = &world.app;
    let person = app.tpp("person").await;
    let http_client = http();

    // Discovery: the metadata and the JWKS, the issuer checked against the one asked for.
    let issuer = IssuerUrl::new(app.address.clone()).unwrap();
    let metadata = CoreProviderMetadata::discover_async(issuer, &http_client)
        .await
        .expect("discovery");
    assert_eq!(metadata.issuer().as_str(), app.address);
    assert!(!metadata.jwks().keys().is_empty(), "the JWKS was fetched");
    let client = CoreClient::from_provider_metadata(
        metadata,
        ClientId::new(registered.client_id.clone()),
        registered.secret.clone().map(ClientSecret::new),
    )
    .set_redirect_uri(RedirectUrl::new(CALLBACK.into()).unwrap());

    // Code + PKCE: the person consents in the browser, the crate exchanges the code.
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, state, nonce) = client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scope(Scope::new("profile".into()))
        .add_scope(Scope::new("email".into()))
        .set_pkce_challenge(challenge)
        .url();
    assert!(url.as_str().starts_with(&app.url("/oauth2/authorize?")));
    let query: Vec<(String, String)> = url.query_pairs().into_owned().collect();
    let query: Vec<(&str, &str)> = query
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let callback = authorize(&person, &query).await;
    assert_eq!(pair(&callback, "state"), Some(state.secret().as_str()));
    let code = pair(&callback, "code").expect("a code").to_string();
    let tokens = client
        .exchange_code(AuthorizationCode::new(code))
        .expect("a token endpoint")
        .set_pkce_verifier(verifier)
        .request_async(&http_client)
        .await
        .expect("the code exchange");

    // The ID token: signature against the JWKS, issuer, audience, expiry, nonce, at_hash.
    let id_token = tokens.id_token().expect("an ID token");
    let claims = id_token
        .claims(&client.id_token_verifier(), &nonce)
        .expect("the ID token verifies");
    assert_eq!(claims.issuer().as_str(), app.address);
    assert_eq!(
        claims
            .audiences()
            .iter()
            .map(|a| a.as_str())
            .collect::<Vec<_>>(),
        [registered.client_id.as_str()]
    );
    if let Some(hash) = claims.access_token_hash() {
        let expected = openidconnect::AccessTokenHash::from_token(
            tokens.access_token(),
            id_token.signing_alg().unwrap(),
            id_token.signing_key(&client.id_token_verifier()).unwrap(),
        )
        .unwrap();
        assert_eq!(hash, &expected, "at_hash matches the access token");
    }

    // Userinfo, for the ID token's subject only.
    let info: openidconnect::core::CoreUserInfoClaims = client
        .user_info(
            tokens.access_token().clone(),
            Some(claims.subject().clone()),
        )
        .expect("a userinfo endpoint")
        .request_async(&http_client)
        .await
        .expect("userinfo answers for the subject");
    assert_eq!(
        info.preferred_username().map(|u| u.as_str()),
        Some("person")
    );
    assert_eq!(info.email().map(|e| e.as_str()), Some("dev@example.com"));

    // client_credentials, authenticated with the secret (client_secret_basic).
    let token = client
        .exchange_client_credentials()
        .expect("a token endpoint")
        .request_async(&http_client)
        .await
        .expect("client_credentials");
    assert!(token.access_token().secret().split('.').count() == 3);
    assert!(token.expires_in().is_some_and(|d| d.as_secs() > 0));
    let wrong = CoreClient::from_provider_metadata(
        CoreProviderMetadata::discover_async(
            IssuerUrl::new(app.address.clone()).unwrap(),
            &http_client,
        )
        .await
        .unwrap(),
        ClientId::new(registered.client_id.clone()),
        Some(ClientSecret::new("not the secret".into())),
    );
    let refused = wrong
        .exchange_client_credentials()
        .expect("a token endpoint")
        .request_async(&http_client)
        .await;
    assert!(
        matches!(&refused, Err(openidconnect::RequestTokenError::ServerResponse(e)) if e.error().to_string() == "invalid_client"),
        "a wrong secret is refused with invalid_client: {refused:?}"
    );
}
