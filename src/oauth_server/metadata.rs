//! `GET /oauth2/jwks` (RFC 7517) and the discovery documents: OpenID Connect Discovery and
//! RFC 8414, listing exactly what this server supports — RFC 9207's `iss` in authorization
//! responses, RP-Initiated Logout, no request objects.

use actix_web::http::header;
use actix_web::{HttpResponse, web};
use serde_json::json;

use super::AuthorizationServer;
use super::error::OAuthError;
use crate::db;
use crate::db::models::api_scopes::ApiScope;
use crate::domain::apis::scopes::OPENID_SCOPES;

pub async fn jwks(server: web::Data<AuthorizationServer>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/jwk-set+json")
        .insert_header((header::CACHE_CONTROL, "public, max-age=60"))
        .body(server.keys.jwks())
}

/// The discovery document; `scopes_supported` lists the OpenID scopes and the scopes of the APIs
/// in the catalog, read at each request.
pub async fn discovery(server: web::Data<AuthorizationServer>) -> Result<HttpResponse, OAuthError> {
    let api_scopes = db::run(&server.pool, |conn| {
        ApiScope::listed_names(conn).map_err(OAuthError::from)
    })
    .await?;
    let mut scopes: Vec<String> = OPENID_SCOPES.iter().map(|s| s.to_string()).collect();
    scopes.extend(api_scopes);
    let base = &server.issuer;
    let auth_methods = ["client_secret_basic", "client_secret_post"];
    let id_token_algorithms: Vec<&str> = server
        .keys
        .id_token_algorithms()
        .iter()
        .map(|a| a.as_str())
        .collect();
    let document = json!({
        "issuer": base,
        "authorization_endpoint": format!("{base}/oauth2/authorize"),
        "token_endpoint": format!("{base}/oauth2/token"),
        "jwks_uri": format!("{base}/oauth2/jwks"),
        "userinfo_endpoint": format!("{base}/oauth2/userinfo"),
        "introspection_endpoint": format!("{base}/oauth2/introspect"),
        "revocation_endpoint": format!("{base}/oauth2/revoke"),
        "end_session_endpoint": format!("{base}/oauth2/logout"),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "client_credentials", "refresh_token"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "introspection_endpoint_auth_methods_supported": auth_methods,
        "revocation_endpoint_auth_methods_supported": auth_methods,
        "code_challenge_methods_supported": ["S256", "plain"],
        "scopes_supported": scopes,
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": id_token_algorithms,
        "token_endpoint_auth_signing_alg_values_supported": [],
        "claims_supported": ["sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "preferred_username", "name", "given_name", "family_name", "email", "email_verified"],
        "prompt_values_supported": ["none", "login", "consent", "select_account"],
        "request_parameter_supported": false,
        "request_uri_parameter_supported": false,
        "authorization_response_iss_parameter_supported": true,
    });
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "public, max-age=60"))
        .json(document))
}
