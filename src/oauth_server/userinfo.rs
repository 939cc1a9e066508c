//! `GET/POST /oauth2/userinfo` (OIDC Core §5.3): the signed-in person behind a user access
//! token that carries the `openid` scope, with only the claims its scopes cover (§5.4): `sub`
//! always, `profile` the names, `email` the address. The token comes in the `Authorization`
//! header, its scheme in any case (RFC 7235 §2.1); failures carry RFC 6750's challenge.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::json;

use super::AuthorizationServer;
use super::cors::{RequestOrigin, not_allowed};
use super::error::OAuthError;
use super::grants::Person;
use crate::db;
use crate::db::models::users::User;
use crate::domain::accounts::AccountStatus;

pub async fn userinfo(
    req: HttpRequest,
    server: web::Data<AuthorizationServer>,
) -> Result<HttpResponse, OAuthError> {
    let token = bearer_token(&req)?;
    let origin = RequestOrigin::of(&req);
    let server = server.into_inner();
    let body = db::run(&server.pool.clone(), move |conn| {
        let claims = server
            .verify_access_token(conn, &token)?
            .ok_or_else(|| OAuthError::invalid_token("The access token is not valid."))?;
        if let Some(origin) = origin
            && !server
                .client(conn, &claims.client_id)?
                .is_some_and(|c| c.client.allows_origin(&origin))
        {
            return Err(not_allowed(&origin));
        }
        let user_id = Person::find_by_subject(conn, &claims.sub)?
            .ok_or_else(|| OAuthError::invalid_token("The access token is not a user's."))?;
        let user = User::find(conn, user_id)?
            .ok_or_else(|| OAuthError::invalid_token("The user no longer exists."))?;
        if user.status != AccountStatus::Active {
            return Err(OAuthError::invalid_token("The account is not active."));
        }
        let scopes: Vec<&str> = claims.scope.split(' ').collect();
        if !scopes.contains(&"openid") {
            return Err(OAuthError::insufficient_scope(
                "The access token lacks the openid scope.",
            ));
        }
        Ok::<_, OAuthError>(claims_of(&user, &claims.sub, &scopes))
    })
    .await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(body))
}

/// The access token of `Authorization: Bearer <token>`, the scheme in any case.
fn bearer_token(req: &HttpRequest) -> Result<String, OAuthError> {
    let Some(value) = req.headers().get(header::AUTHORIZATION) else {
        return Err(OAuthError::token_required());
    };
    let value = value
        .to_str()
        .map_err(|_| OAuthError::invalid_token("The Authorization header is not readable."))?;
    match value.trim().split_once(' ') {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => {
            let token = token.trim();
            if token.is_empty() {
                Err(OAuthError::invalid_token("The Bearer token is empty."))
            } else {
                Ok(token.to_string())
            }
        }
        // Another scheme (Basic...): no Bearer authentication was attempted.
        _ => Err(OAuthError::token_required()),
    }
}

/// The claims the granted scopes cover (OIDC Core §5.4).
fn claims_of(user: &User, subject: &str, scopes: &[&str]) -> serde_json::Value {
    let mut body = json!({ "sub": subject });
    if scopes.contains(&"profile") {
        body["preferred_username"] = json!(user.username);
        body["name"] = json!(user.display_name());
        body["given_name"] = json!(user.first_name);
        body["family_name"] = json!(user.last_name);
    }
    if scopes.contains(&"email") {
        body["email"] = json!(user.email);
        // Portico does not prove that a person receives mail at the address they gave.
        body["email_verified"] = json!(false);
    }
    body
}
