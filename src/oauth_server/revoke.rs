//! `POST /oauth2/revoke` (RFC 7009). Access tokens go on the deny-list until they expire;
//! refresh tokens end their family and the access tokens it issued. Another client's token is
//! left alone, and unknown tokens get 200 like the rest.

use actix_web::{HttpResponse, web};

use super::AuthorizationServer;
use super::client_auth::ClientCall;
use super::error::OAuthError;
use super::tokens::{Family, RefreshToken, deny};
use crate::db;

pub async fn revoke(
    server: web::Data<AuthorizationServer>,
    call: ClientCall,
) -> Result<HttpResponse, OAuthError> {
    let (params, credentials) = call.into_parts();
    let server = server.into_inner();
    let token = params.require("token")?.to_string();
    db::run(&server.pool.clone(), move |conn| {
        let caller = server.authenticate(conn, &credentials)?;
        db::write(conn, |conn| {
            if token.matches('.').count() == 2 {
                // Denied even while it is inactive for another reason (a locked owner):
                // it must not come back when that reason goes.
                if let Some(claims) = server.decode_access_token(&token)
                    && claims.client_id == caller.client.client_id
                {
                    deny(conn, &claims.jti, claims.exp)?;
                }
            } else if let Some((_, family, _)) = RefreshToken::find(conn, &token)?
                && family.client_id == caller.client.client_id
            {
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
