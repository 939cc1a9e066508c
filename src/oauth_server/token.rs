//! `POST /oauth2/token` (RFC 6749): client_credentials, authorization_code with PKCE
//! (RFC 7636), and refresh_token with rotation — a rotated token presented again revokes its
//! whole family. client_credentials is the hot path: the client from the client cache (or one
//! indexed lookup), one constant-time SHA-256 comparison, one signature, no write.

use actix_web::{HttpRequest, HttpResponse, web};
use diesel::prelude::*;
use serde_json::json;

use super::AuthorizationServer;
use super::client_auth::Credentials;
use super::clients::{ClientWithApplication, OAuthClient};
use super::codes::{AuthorizationCode, is_pkce_value, verify_pkce};
use super::error::{OAuthError, no_store_json};
use super::params::Params;
use super::tokens::{self, Family, IdClaims, RefreshToken, access_claims, granted, parse_scope};
use crate::db;

pub async fn token(
    req: HttpRequest,
    server: web::Data<AuthorizationServer>,
    body: web::Bytes,
) -> Result<HttpResponse, OAuthError> {
    let params = Params::parse(&body)?;
    let credentials = Credentials::from_request(&req, &params)?;
    let grant_type = params.require("grant_type")?.to_string();
    let server = server.into_inner();
    // The hot path: with the client at hand (cached, or one read on an idle pooled connection)
    // a client_credentials grant is answered right here; the hop to the blocking pool and back
    // would cost more than the work. Everything else goes to the blocking pool.
    if grant_type == "client_credentials"
        && let Some(client) = server.client_at_hand(&credentials)?
    {
        return Ok(no_store_json(&client_credentials(
            &server, &client, &params,
        )?));
    }
    let body = db::run(&server.pool.clone(), move |conn| {
        let client = server.authenticate(conn, &credentials)?;
        match grant_type.as_str() {
            "client_credentials" => client_credentials(&server, &client, &params),
            "authorization_code" => authorization_code(conn, &server, &client, &params),
            "refresh_token" => refresh_token(conn, &server, &client, &params),
            _ => Err(OAuthError::unsupported_grant_type()),
        }
    })
    .await?;
    Ok(no_store_json(&body))
}

type Answer = Result<serde_json::Value, OAuthError>;

fn require_grant(client: &OAuthClient, grant: &str) -> Result<(), OAuthError> {
    if client.allows_grant(grant) {
        Ok(())
    } else {
        Err(OAuthError::unauthorized_client(format!(
            "This client may not use the {grant} grant."
        )))
    }
}

fn client_credentials(
    server: &AuthorizationServer,
    client: &ClientWithApplication,
    params: &Params,
) -> Answer {
    if client.client.public_client {
        return Err(OAuthError::unauthorized_client(
            "A public client cannot use client_credentials.",
        ));
    }
    require_grant(&client.client, "client_credentials")?;
    let scope = granted(&parse_scope(params.get("scope"))?);
    let ttl = i64::from(client.client.application_token_ttl);
    let claims = access_claims(
        &server.issuer,
        client,
        &client.client.client_id,
        &scope,
        ttl,
    );
    let token = server.keys.sign("at+jwt", &claims);
    Ok(json!({
        "access_token": token,
        "token_type": "Bearer",
        "expires_in": ttl,
        "scope": scope,
    }))
}

fn authorization_code(
    conn: &mut SqliteConnection,
    server: &AuthorizationServer,
    client: &ClientWithApplication,
    params: &Params,
) -> Answer {
    require_grant(&client.client, "authorization_code")?;
    let code_text = params.require("code")?.to_string();
    let redirect_uri = params.get("redirect_uri").map(str::to_string);
    let verifier = params.get("code_verifier").map(str::to_string);
    db::write::<_, OAuthError, _>(conn, |conn| {
        let code = AuthorizationCode::find(conn, &code_text)?
            .ok_or_else(|| OAuthError::invalid_grant("The code is not valid."))?;
        if code.client_id != client.client.client_id {
            return Err(OAuthError::invalid_grant(
                "The code was issued to another client.",
            ));
        }
        if code.used_at.is_some() {
            // A replayed code: whatever it issued is revoked (RFC 6749 §4.1.2).
            if let Some(family) = &code.family_id {
                Family::revoke(conn, family)?;
            }
            return Ok(Err(OAuthError::invalid_grant(
                "The code has already been used.",
            )));
        }
        if code.expires_at <= db::now() {
            return Err(OAuthError::invalid_grant("The code has expired."));
        }
        if redirect_uri.as_deref() != Some(code.redirect_uri.as_str()) {
            return Err(OAuthError::invalid_grant(
                "redirect_uri does not match the authorization request.",
            ));
        }
        match (&code.code_challenge, &verifier) {
            (Some(challenge), Some(verifier)) => {
                let method = code.code_challenge_method.as_deref().unwrap_or("plain");
                if !is_pkce_value(verifier) || !verify_pkce(challenge, method, verifier) {
                    return Err(OAuthError::invalid_grant(
                        "The code_verifier does not match the code_challenge.",
                    ));
                }
            }
            (Some(_), None) => {
                return Err(OAuthError::invalid_grant("The code_verifier is missing."));
            }
            (None, Some(_)) => {
                return Err(OAuthError::invalid_grant(
                    "A code_verifier was sent but the authorization request had no code_challenge.",
                ));
            }
            (None, None) if client.client.public_client => {
                return Err(OAuthError::invalid_grant("A public client must use PKCE."));
            }
            (None, None) => {}
        }
        let family = if client.client.allows_grant("refresh_token") {
            Some(Family::create(
                conn,
                &client.client.client_id,
                code.user_id,
                &code.scope,
                code.auth_time,
                i64::from(client.client.refresh_token_ttl),
            )?)
        } else {
            None
        };
        AuthorizationCode::consume(
            conn,
            &code.code_hash,
            family.as_ref().map(|f| f.id.as_str()),
        )?;
        Ok(Ok(user_tokens(
            conn,
            server,
            client,
            code.user_id,
            &code.scope,
            family.as_ref(),
            code.nonce.as_deref(),
            code.auth_time,
        )?))
    })?
}

fn refresh_token(
    conn: &mut SqliteConnection,
    server: &AuthorizationServer,
    client: &ClientWithApplication,
    params: &Params,
) -> Answer {
    require_grant(&client.client, "refresh_token")?;
    let presented = params.require("refresh_token")?.to_string();
    let requested = parse_scope(params.get("scope"))?;
    db::write::<_, OAuthError, _>(conn, |conn| {
        let (token, family) = RefreshToken::find(conn, &presented)?
            .ok_or_else(|| OAuthError::invalid_grant("The refresh token is not valid."))?;
        if family.client_id != client.client.client_id {
            return Ok(Err(OAuthError::invalid_grant(
                "The refresh token was issued to another client.",
            )));
        }
        if family.revoked_at.is_some() {
            return Ok(Err(OAuthError::invalid_grant(
                "The refresh token has been revoked.",
            )));
        }
        if token.used_at.is_some() || !RefreshToken::mark_used(conn, &token.token_hash)? {
            // Reuse of a rotated token: someone holds a copy. End the whole family.
            Family::revoke(conn, &family.id)?;
            return Ok(Err(OAuthError::invalid_grant(
                "The refresh token has already been used; its grant is revoked.",
            )));
        }
        let now = db::now();
        if token.expires_at <= now || family.expires_at <= now {
            return Ok(Err(OAuthError::invalid_grant(
                "The refresh token has expired.",
            )));
        }
        let original: Vec<&str> = token.scope.split(' ').collect();
        let scope = if requested.is_empty() {
            token.scope.clone()
        } else if requested.iter().all(|s| original.contains(&s.as_str())) {
            requested.join(" ")
        } else {
            return Ok(Err(OAuthError::invalid_scope(
                "A refreshed token may only narrow the scope.",
            )));
        };
        Ok(Ok(user_tokens(
            conn,
            server,
            client,
            family.user_id,
            &scope,
            Some(&family),
            None,
            family.auth_time,
        )?))
    })?
}

/// The access token (+ refresh token in the family, + ID token for `openid`) of a user flow.
#[allow(clippy::too_many_arguments)]
fn user_tokens(
    conn: &mut SqliteConnection,
    server: &AuthorizationServer,
    client: &ClientWithApplication,
    user_id: i64,
    scope: &str,
    family: Option<&Family>,
    nonce: Option<&str>,
    auth_time: i64,
) -> Result<serde_json::Value, diesel::result::Error> {
    let subject = user_id.to_string();
    let ttl = i64::from(client.client.user_token_ttl);
    let claims = access_claims(&server.issuer, client, &subject, scope, ttl);
    let mut body = json!({
        "access_token": server.keys.sign("at+jwt", &claims),
        "token_type": "Bearer",
        "expires_in": ttl,
        "scope": scope,
    });
    if let Some(family) = family {
        let (refresh, hash) = tokens::new_refresh_token();
        RefreshToken::insert(
            conn,
            &hash,
            &family.id,
            scope,
            i64::from(client.client.refresh_token_ttl),
        )?;
        Family::record_access_token(conn, &family.id, &claims.jti, claims.exp)?;
        body["refresh_token"] = json!(refresh);
    }
    if scope.split(' ').any(|s| s == "openid") {
        let now = db::now();
        let id_claims = IdClaims {
            iss: &server.issuer,
            sub: &subject,
            aud: &client.client.client_id,
            exp: now + i64::from(client.client.id_token_ttl),
            iat: now,
            auth_time,
            azp: &client.client.client_id,
            nonce,
        };
        body["id_token"] = json!(server.keys.sign("JWT", &id_claims));
    }
    Ok(body)
}
