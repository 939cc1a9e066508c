//! `GET/POST /oauth2/userinfo` (OIDC Core §5.3): the signed-in person behind a user access
//! token that carries the `openid` scope.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::json;

use super::AuthorizationServer;
use super::error::OAuthError;
use super::grants::Person;
use crate::db;
use crate::db::models::users::User;
use crate::domain::accounts::AccountStatus;

pub async fn userinfo(
    req: HttpRequest,
    server: web::Data<AuthorizationServer>,
) -> Result<HttpResponse, OAuthError> {
    let token = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(|t| t.trim().to_string())
        .ok_or_else(|| OAuthError::invalid_token("A Bearer access token is required."))?;
    let server = server.into_inner();
    let body = db::run(&server.pool.clone(), move |conn| {
        let claims = server
            .verify_access_token(conn, &token)?
            .ok_or_else(|| OAuthError::invalid_token("The access token is not valid."))?;
        if !claims.scope.split(' ').any(|s| s == "openid") {
            return Err(OAuthError::invalid_token(
                "The access token lacks the openid scope.",
            ));
        }
        let user_id = Person::find_by_subject(conn, &claims.sub)?
            .ok_or_else(|| OAuthError::invalid_token("The access token is not a user's."))?;
        let user = User::find(conn, user_id)?
            .ok_or_else(|| OAuthError::invalid_token("The user no longer exists."))?;
        if user.status != AccountStatus::Active {
            return Err(OAuthError::invalid_token("The account is not active."));
        }
        let scopes: Vec<&str> = claims.scope.split(' ').collect();
        let mut body = json!({ "sub": claims.sub, "preferred_username": user.username });
        if scopes.contains(&"profile") {
            body["name"] = json!(user.display_name());
            body["given_name"] = json!(user.first_name);
            body["family_name"] = json!(user.last_name);
        }
        if scopes.contains(&"email") {
            body["email"] = json!(user.email);
        }
        Ok::<_, OAuthError>(body)
    })
    .await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(body))
}
