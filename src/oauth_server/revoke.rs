//! `POST /oauth2/revoke` (RFC 7009). Access tokens go on the deny-list until they expire;
//! refresh tokens end their family and the access tokens it issued. Unknown tokens get 200 like
//! the rest (§2.2). A token issued to another client is refused (§2.1) and left alone: the
//! answer is RFC 6749's `invalid_grant` ("issued to another client"). A `token_type_hint`
//! outside the registered ones is `unsupported_token_type` (§2.2.1).

use actix_web::{HttpResponse, web};

use super::AuthorizationServer;
use super::client_auth::ClientCall;
use super::error::OAuthError;
use super::tokens::{Family, RefreshToken, deny};
use crate::db;

/// The `token_type_hint` values of the OAuth Token Type Hints registry (RFC 7009 §4.1.2).
const HINTS: [&str; 2] = ["access_token", "refresh_token"];

pub async fn revoke(
    server: web::Data<AuthorizationServer>,
    call: ClientCall,
) -> Result<HttpResponse, OAuthError> {
    let (params, credentials) = call.into_parts();
    let server = server.into_inner();
    let token = params.require("token")?.to_string();
    let hint = params.get("token_type_hint").map(str::to_string);
    db::run(&server.pool.clone(), move |conn| {
        let caller = server.authenticate(conn, &credentials)?;
        if let Some(hint) = hint.filter(|h| !HINTS.contains(&h.as_str())) {
            return Err(OAuthError::unsupported_token_type(format!(
                "token_type_hint {hint:?} is not one of access_token, refresh_token."
            )));
        }
        let others = || OAuthError::invalid_grant("The token was issued to another client.");
        db::write(conn, |conn| {
            if token.matches('.').count() == 2 {
                // Denied even while it is inactive for another reason (a locked owner):
                // it must not come back when that reason goes.
                if let Some(claims) = server.decode_access_token(&token) {
                    if claims.client_id != caller.client.client_id {
                        return Err(others());
                    }
                    deny(conn, &claims.jti, claims.exp)?;
                }
            } else if let Some((_, family, _)) = RefreshToken::find(conn, &token)? {
                if family.client_id != caller.client.client_id {
                    return Err(others());
                }
                Family::revoke(conn, &family.id)?;
            }
            Ok::<_, OAuthError>(())
        })
    })
    .await?;
    Ok(HttpResponse::Ok()
        .insert_header((actix_web::http::header::CACHE_CONTROL, "no-store"))
        .finish())
}
