//! `POST /oauth2/revoke` (RFC 7009). Access tokens go on the deny-list until they expire;
//! refresh tokens end their family and the access tokens it issued. Another client's token is
//! left alone, and unknown tokens get 200 like the rest.

use actix_web::{HttpRequest, HttpResponse, web};

use super::AuthorizationServer;
use super::client_auth::Credentials;
use super::error::OAuthError;
use super::params::Params;
use super::tokens::{Family, RefreshToken, deny};
use crate::db;

pub async fn revoke(
    req: HttpRequest,
    server: web::Data<AuthorizationServer>,
    body: web::Bytes,
) -> Result<HttpResponse, OAuthError> {
    let params = Params::parse(&body)?;
    let credentials = Credentials::from_request(&req, &params)?;
    let token = params.require("token")?.to_string();
    let server = server.into_inner();
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
