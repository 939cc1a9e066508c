//! `POST /oauth2/introspect` (RFC 7662). The caller authenticates as a client; it may
//! introspect its own tokens, and a gateway (resource-server client) any token. Anything
//! unknown, expired, revoked, not the caller's, of a locked account or of an application whose
//! owner is locked answers exactly `{"active":false}`. Active answers carry what the token
//! still grants (scopes and audience, as the application's subscriptions stand now: see
//! `grants::still_granted`), the application and its active subscriptions, so a gateway can
//! decide.

use crate::db::DbConnection;
use actix_web::{HttpResponse, web};
use diesel::prelude::*;
use serde_json::json;

use super::AuthorizationServer;
use super::client_auth::{ClientCall, Credentials};
use super::clients::ClientWithApplication;
use super::error::{OAuthError, no_store_json};
use super::tokens::{AccessClaims, RefreshToken};
use std::sync::Arc;

use super::grants;
use crate::db;
use crate::domain::accounts::AccountStatus;

pub async fn introspect(
    server: web::Data<AuthorizationServer>,
    call: ClientCall,
) -> Result<HttpResponse, OAuthError> {
    let (params, credentials) = call.into_parts();
    if matches!(credentials, Credentials::Public { .. }) {
        return Err(OAuthError::invalid_client());
    }
    let token = params.get("token").unwrap_or_default().to_string();
    let server = server.into_inner();
    let pool = server.pool.clone();
    let answer = move |conn: &mut DbConnection| {
        let caller = server.authenticate(conn, &credentials)?;
        if token.is_empty() {
            return Err(OAuthError::invalid_request(
                "The parameter token is missing.",
            ));
        }
        Ok::<_, OAuthError>(
            describe(conn, &server, &caller, &token)?.unwrap_or_else(|| json!({ "active": false })),
        )
    };
    // The gateway's hot path: on an idle pooled connection the answer (clients and what their
    // applications may have from the client cache, one signature check, one indexed read of
    // the deny-list) costs less than the hop to the blocking pool and back.
    if let Some(mut conn) = pool.try_get() {
        return Ok(no_store_json(&answer(&mut conn)?));
    }
    Ok(no_store_json(&db::run(&pool, answer).await?))
}

/// The token's description when it is active and the caller may see it.
fn describe(
    conn: &mut DbConnection,
    server: &AuthorizationServer,
    caller: &ClientWithApplication,
    token: &str,
) -> Result<Option<serde_json::Value>, OAuthError> {
    if token.is_empty() || token.len() > 8192 {
        return Ok(None);
    }
    let may_see =
        |client_id: &str| caller.client.resource_server || caller.client.client_id == client_id;
    if token.matches('.').count() == 2 {
        let Some((claims, client)) = server.verify_access_token_of(conn, token)? else {
            return Ok(None);
        };
        if !may_see(&claims.client_id) {
            return Ok(None);
        }
        // What the token carries, as the application's subscriptions stand now.
        let entitlement = &client.entitlement;
        let Some((scope, audience)) = grants::still_granted(
            entitlement,
            &server.issuer,
            &claims.client_id,
            &claims.scope,
            &claims.aud,
        ) else {
            return Ok(None);
        };
        let subscriptions: Vec<serde_json::Value> = entitlement
            .apis
            .iter()
            .map(|api| {
                json!({
                    "context": api.context,
                    "resource": api.resource(&server.issuer),
                    "api": api.name,
                    "version": api.version,
                    "tier": api.tier,
                })
            })
            .collect();
        return Ok(Some(json!({
            "active": true,
            "token_type": "Bearer",
            "client_id": claims.client_id,
            "scope": scope,
            "sub": claims.sub,
            "aud": audience,
            "iss": claims.iss,
            "exp": claims.exp,
            "iat": claims.iat,
            "jti": claims.jti,
            "key_type": claims.key_type,
            "application": claims.application,
            "org": claims.org,
            "subscriptions": subscriptions,
        })));
    }
    let Some((refresh, family, owner)) = RefreshToken::find(conn, token)? else {
        return Ok(None);
    };
    let now = db::now();
    if family.revoked_at.is_some()
        || refresh.used_at.is_some()
        || refresh.expires_at <= now
        || owner.status != AccountStatus::Active
        || !may_see(&family.client_id)
        || !server
            .client(conn, &family.client_id)?
            .is_some_and(|c| c.owner_active)
    {
        return Ok(None);
    }
    Ok(Some(json!({
        "active": true,
        "token_type": "refresh_token",
        "client_id": family.client_id,
        "scope": refresh.scope,
        "sub": grants::subject_of(family.user_id, owner.subject),
        "iss": server.issuer,
        "exp": refresh.expires_at,
        "iat": refresh.issued_at,
    })))
}

impl AuthorizationServer {
    /// The claims of one of our access tokens when its signature, issuer, audience, lifetime
    /// and revocation status all hold, its client still exists and the client's owner is
    /// active. A user token of a locked account is on the deny-list (the lock revoked its
    /// family), so no read of the person is needed here.
    pub fn verify_access_token(
        &self,
        conn: &mut DbConnection,
        token: &str,
    ) -> QueryResult<Option<AccessClaims>> {
        Ok(self
            .verify_access_token_of(conn, token)?
            .map(|(claims, _)| claims))
    }

    /// As `verify_access_token`, with the token's client (and what its application is
    /// entitled to now).
    pub fn verify_access_token_of(
        &self,
        conn: &mut DbConnection,
        token: &str,
    ) -> QueryResult<Option<(AccessClaims, Arc<ClientWithApplication>)>> {
        let Some(claims) = self.decode_access_token(token) else {
            return Ok(None);
        };
        // Keys removed at their key manager take their tokens with them; a locked owner's
        // application has its tokens suspended. Both come from the client cache.
        let Some(client) = self
            .client(conn, &claims.client_id)?
            .filter(|c| c.owner_active)
        else {
            return Ok(None);
        };
        if self.revocations.is_revoked(conn, &claims.jti)? {
            return Ok(None);
        }
        Ok(Some((claims, client)))
    }

    /// The claims of one of our access tokens when its signature, issuer and lifetime hold, whatever became of its client since (what revocation needs).
    pub fn decode_access_token(&self, token: &str) -> Option<AccessClaims> {
        let claims = self.keys.verify::<AccessClaims>(token, "at+jwt").ok()?;
        (claims.iss == self.issuer).then_some(claims)
    }
}
