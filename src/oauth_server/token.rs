//! `POST /oauth2/token` (RFC 6749): client_credentials, authorization_code with PKCE
//! (RFC 7636), and refresh_token with rotation — a rotated token presented again revokes its
//! whole family. client_credentials is the hot path: the client from the client cache (or one
//! indexed lookup), one constant-time SHA-256 comparison, one signature, no write. What each
//! token carries (scopes, audience) is decided in `grants`.

use crate::db::DbConnection;
use actix_web::{HttpResponse, web};
use serde_json::json;

use super::AuthorizationServer;
use super::client_auth::ClientCall;
use super::clients::{ClientWithApplication, OAuthClient};
use super::codes::{AuthorizationCode, is_pkce_value, verify_pkce};
use super::error::{OAuthError, no_store_json};
use super::grants::{self, Ask, Grant, Person};
use super::params::Params;
use super::tokens::{
    self, Family, IdClaims, RefreshToken, access_claims, parse_scope, split_scope,
};
use crate::db;
use crate::domain::accounts::AccountStatus;

pub async fn token(
    server: web::Data<AuthorizationServer>,
    call: ClientCall,
) -> Result<HttpResponse, OAuthError> {
    let (params, credentials) = call.into_parts();
    let grant_type = params.require("grant_type")?.to_string();
    let server = server.into_inner();
    // The hot path: with the client at hand (cached, or one read on an idle pooled connection)
    // a client_credentials grant is answered right here; the hop to the blocking pool and back
    // would cost more than the work. Everything else goes to the blocking pool.
    if grant_type == "client_credentials"
        && let Some(client) = server.client_at_hand(&credentials)?
        && let Some(body) = client_credentials(&server, &client, &params, None)?
    {
        return Ok(no_store_json(&body));
    }
    let body = db::run(&server.pool.clone(), move |conn| {
        let client = server.authenticate(conn, &credentials)?;
        match grant_type.as_str() {
            "client_credentials" => client_credentials(&server, &client, &params, Some(conn))
                .map(|body| body.expect("with a connection there is always an answer")),
            "authorization_code" => authorization_code(conn, &server, &client, &params),
            "refresh_token" => refresh_token(conn, &server, &client, &params),
            _ => Err(OAuthError::unsupported_grant_type()),
        }
    })
    .await?;
    Ok(no_store_json(&body))
}

type Answer = Result<serde_json::Value, OAuthError>;

/// Refuses a client whose owner's account is locked, rejected or pending: a cached fact, so
/// the hot path pays nothing for it. The client cache is emptied by the administrator's
/// decision, so the next request after a lock is refused.
fn require_active_owner(client: &ClientWithApplication) -> Result<(), OAuthError> {
    if client.owner_active {
        Ok(())
    } else {
        Err(OAuthError::unauthorized_client(
            "The account that owns this application is not active; it gets no tokens.",
        ))
    }
}

fn require_grant(client: &OAuthClient, grant: &str) -> Result<(), OAuthError> {
    if client.allows_grant(grant) {
        Ok(())
    } else {
        Err(OAuthError::unauthorized_client(format!(
            "This client may not use the {grant} grant."
        )))
    }
}

/// The application's own token. Without a connection (the hot path) it answers `None` when the
/// request names a scope that only the database can tell known or unknown.
fn client_credentials(
    server: &AuthorizationServer,
    client: &ClientWithApplication,
    params: &Params,
    conn: Option<&mut DbConnection>,
) -> Result<Option<serde_json::Value>, OAuthError> {
    if client.client.public_client {
        return Err(OAuthError::unauthorized_client(
            "A public client cannot use client_credentials.",
        ));
    }
    require_grant(&client.client, "client_credentials")?;
    require_active_owner(client)?;
    let asked = parse_scope(params.get("scope"))?;
    let ask = Ask {
        scopes: asked.as_deref(),
        resource: params.get("resource"),
        roles: None,
        fresh: true,
    };
    let mut needs_database = false;
    let client_id = &client.client.client_id;
    let grant = grants::decide(
        &client.entitlement,
        &server.issuer,
        client_id,
        &ask,
        |names| match conn {
            Some(conn) => grants::declared(conn, names),
            None => {
                needs_database = true;
                Ok(Vec::new())
            }
        },
    );
    if needs_database {
        return Ok(None);
    }
    let grant = grant?;
    let ttl = i64::from(client.client.application_token_ttl);
    let claims = access_claims(&server.issuer, client, client_id, &grant, ttl);
    let token = server.keys.sign("at+jwt", &claims);
    Ok(Some(json!({
        "access_token": token,
        "token_type": "Bearer",
        "expires_in": ttl,
        "scope": claims.scope,
    })))
}

/// The resource of a code exchange or refresh: the grant's own (a request may repeat it), or,
/// for a grant that named none, the one the request names.
fn chosen_resource<'a>(
    granted: &'a str,
    asked: Option<&'a str>,
) -> Result<Option<&'a str>, OAuthError> {
    match (granted, asked) {
        ("", asked) => Ok(asked),
        (granted, None) => Ok(Some(granted)),
        (granted, Some(asked)) if asked == granted => Ok(Some(granted)),
        (_, Some(_)) => Err(OAuthError::invalid_target(
            "The resource must be the one the authorization request named.",
        )),
    }
}

/// Decides a user grant again, as it stands now: `scope` is what the person allowed (or a part
/// of it), `resource` what the grant is for.
fn regrant(
    conn: &mut DbConnection,
    server: &AuthorizationServer,
    client: &ClientWithApplication,
    person: &Person,
    scope: &str,
    resource: Option<&str>,
) -> Result<Grant, OAuthError> {
    let scopes = split_scope(scope);
    let ask = Ask {
        scopes: Some(&scopes),
        resource,
        roles: Some(&person.roles),
        fresh: false,
    };
    let client_id = &client.client.client_id;
    grants::decide(
        &client.entitlement,
        &server.issuer,
        client_id,
        &ask,
        |names| grants::declared(conn, names),
    )
}

/// The code exchange. Every refusal but a replayed code (which revokes what the code issued,
/// RFC 6749 §4.1.2) rolls back: the code stays as it was.
fn authorization_code(
    conn: &mut DbConnection,
    server: &AuthorizationServer,
    client: &ClientWithApplication,
    params: &Params,
) -> Answer {
    require_grant(&client.client, "authorization_code")?;
    require_active_owner(client)?;
    let code_text = params.require("code")?.to_string();
    let redirect_uri = params.get("redirect_uri").map(str::to_string);
    let verifier = params.get("code_verifier").map(str::to_string);
    let resource = params.get("resource").map(str::to_string);
    db::write::<_, OAuthError, _>(conn, |conn| {
        let (code, status) = AuthorizationCode::find(conn, &code_text)?
            .ok_or_else(|| OAuthError::invalid_grant("The code is not valid."))?;
        if code.client_id != client.client.client_id {
            return Err(OAuthError::invalid_grant(
                "The code was issued to another client.",
            ));
        }
        if code.used_at.is_some() {
            return Ok(Err(replayed(conn, &code_text)?));
        }
        if code.expires_at <= db::now() {
            return Err(OAuthError::invalid_grant("The code has expired."));
        }
        if status != AccountStatus::Active {
            return Err(OAuthError::invalid_grant(
                "The account that approved this code is not active.",
            ));
        }
        // Required only when the authorization request named it (RFC 6749 §4.1.3).
        if (code.redirect_uri_sent || redirect_uri.is_some())
            && redirect_uri.as_deref() != Some(code.redirect_uri.as_str())
        {
            return Err(OAuthError::invalid_grant(
                "redirect_uri does not match the authorization request.",
            ));
        }
        check_verifier(&code, verifier.as_deref(), client.client.public_client)?;
        let resource = chosen_resource(&code.resource, resource.as_deref())?;
        if !AuthorizationCode::claim(conn, &code.code_hash)? {
            // Exchanged by a parallel request between the read and now: a replay as well.
            return Ok(Err(replayed(conn, &code_text)?));
        }
        let person = Person::load(conn, code.user_id)?;
        let grant = regrant(conn, server, client, &person, &code.scope, resource)?;
        // A family even without refresh tokens: it records the access token, so that
        // withdrawing the consent or locking the account denies it.
        let family = Family::create(
            conn,
            &client.client.client_id,
            code.user_id,
            (&code.scope, resource.unwrap_or_default()),
            code.auth_time,
            i64::from(client.client.refresh_token_ttl),
        )?;
        AuthorizationCode::consume(conn, &code.code_hash, Some(family.id.as_str()))?;
        let issue = Issue {
            family: &family,
            grant: &grant,
            subject: &person.subject,
            bound: &code.scope,
            with_refresh: client.client.allows_grant("refresh_token"),
            nonce: code.nonce.as_deref(),
        };
        Ok(Ok(user_tokens(conn, server, client, &issue)?))
    })?
}

/// The PKCE check of a code exchange (RFC 7636 §4.6).
fn check_verifier(
    code: &AuthorizationCode,
    verifier: Option<&str>,
    public_client: bool,
) -> Result<(), OAuthError> {
    match (&code.code_challenge, verifier) {
        (Some(challenge), Some(verifier)) => {
            let method = code.code_challenge_method.as_deref().unwrap_or("plain");
            if !is_pkce_value(verifier) || !verify_pkce(challenge, method, verifier) {
                return Err(OAuthError::invalid_grant(
                    "The code_verifier does not match the code_challenge.",
                ));
            }
            Ok(())
        }
        (Some(_), None) => Err(OAuthError::invalid_grant("The code_verifier is missing.")),
        (None, Some(_)) => Err(OAuthError::invalid_grant(
            "A code_verifier was sent but the authorization request had no code_challenge.",
        )),
        (None, None) if public_client => {
            Err(OAuthError::invalid_grant("A public client must use PKCE."))
        }
        (None, None) => Ok(()),
    }
}

/// Rotation. Every check comes before the token is marked used and every refusal rolls back,
/// so a refused refresh leaves the token as it was; only a rotated token presented again
/// writes (it revokes its whole family, RFC 9700 §4.14.2).
fn refresh_token(
    conn: &mut DbConnection,
    server: &AuthorizationServer,
    client: &ClientWithApplication,
    params: &Params,
) -> Answer {
    require_grant(&client.client, "refresh_token")?;
    require_active_owner(client)?;
    let presented = params.require("refresh_token")?.to_string();
    let requested = parse_scope(params.get("scope"))?.unwrap_or_default();
    let resource = params.get("resource").map(str::to_string);
    db::write::<_, OAuthError, _>(conn, |conn| {
        let (token, family, owner) = RefreshToken::find(conn, &presented)?
            .ok_or_else(|| OAuthError::invalid_grant("The refresh token is not valid."))?;
        if family.client_id != client.client.client_id {
            return Err(OAuthError::invalid_grant(
                "The refresh token was issued to another client.",
            ));
        }
        if family.revoked_at.is_some() {
            return Err(OAuthError::invalid_grant(
                "The refresh token has been revoked.",
            ));
        }
        if token.used_at.is_some() {
            return Ok(Err(reuse(conn, &family)?));
        }
        let now = db::now();
        if token.expires_at <= now || family.expires_at <= now {
            return Err(OAuthError::invalid_grant("The refresh token has expired."));
        }
        if owner.status != AccountStatus::Active {
            return Err(OAuthError::invalid_grant(
                "The account this grant belongs to is not active.",
            ));
        }
        let scope = narrowed(&token.scope, &requested)?;
        let resource = chosen_resource(&family.resource, resource.as_deref())?;
        let person = Person::with_account(conn, family.user_id, owner.subject, owner.role)?;
        let grant = regrant(conn, server, client, &person, &scope, resource)?;
        if !RefreshToken::mark_used(conn, &token.token_hash)? {
            // Rotated by a parallel request between the read and now: a reuse as well.
            return Ok(Err(reuse(conn, &family)?));
        }
        let issue = Issue {
            family: &family,
            grant: &grant,
            subject: &person.subject,
            bound: &scope,
            with_refresh: true,
            nonce: None,
        };
        Ok(Ok(user_tokens(conn, server, client, &issue)?))
    })?
}

/// A rotated refresh token presented again: someone holds a copy. Ends the whole family.
fn reuse(conn: &mut DbConnection, family: &Family) -> Result<OAuthError, OAuthError> {
    Family::revoke(conn, &family.id)?;
    Ok(OAuthError::invalid_grant(
        "The refresh token has already been used; its grant is revoked.",
    ))
}

/// The scope of a refreshed token: the original one, or a part of it.
fn narrowed(original: &str, requested: &[String]) -> Result<String, OAuthError> {
    let original_scopes: Vec<&str> = original.split(' ').collect();
    if requested.is_empty() {
        Ok(original.to_string())
    } else if requested
        .iter()
        .all(|s| original_scopes.contains(&s.as_str()))
    {
        Ok(requested.join(" "))
    } else {
        Err(OAuthError::invalid_scope(
            "A refreshed token may only narrow the scope.",
        ))
    }
}

/// The tokens of a user's grant about to be issued.
struct Issue<'a> {
    family: &'a Family,
    grant: &'a Grant,
    /// The person's opaque subject.
    subject: &'a str,
    /// What the refresh token may give at most (the scope allowed, or the part asked for).
    bound: &'a str,
    with_refresh: bool,
    nonce: Option<&'a str>,
}

/// The access token (+ a refresh token when `with_refresh`, + an ID token for `openid`) of a
/// user's grant; the access token is recorded in the family.
fn user_tokens(
    conn: &mut DbConnection,
    server: &AuthorizationServer,
    client: &ClientWithApplication,
    issue: &Issue,
) -> Result<serde_json::Value, diesel::result::Error> {
    let Issue {
        family,
        grant,
        subject,
        ..
    } = issue;
    let ttl = i64::from(client.client.user_token_ttl);
    let claims = access_claims(&server.issuer, client, subject, grant, ttl);
    let mut body = json!({
        "access_token": server.keys.sign("at+jwt", &claims),
        "token_type": "Bearer",
        "expires_in": ttl,
        "scope": claims.scope,
    });
    Family::record_access_token(conn, &family.id, &claims.jti, claims.exp)?;
    if issue.with_refresh {
        let (refresh, hash) = tokens::new_refresh_token();
        RefreshToken::insert(
            conn,
            &hash,
            &family.id,
            issue.bound,
            i64::from(client.client.refresh_token_ttl),
        )?;
        body["refresh_token"] = json!(refresh);
    }
    if grant.scopes.iter().any(|s| s == "openid") {
        let now = db::now();
        let nonce = issue.nonce;
        let id_claims = IdClaims {
            iss: &server.issuer,
            sub: subject,
            aud: &client.client.client_id,
            exp: now + i64::from(client.client.id_token_ttl),
            iat: now,
            auth_time: family.auth_time,
            azp: &client.client.client_id,
            nonce,
        };
        body["id_token"] = json!(
            server
                .keys
                .sign_id_token(client.client.id_token_signed_response_alg, &id_claims)
        );
    }
    Ok(body)
}

/// A code presented again: whatever it was exchanged for is revoked (RFC 6749 §4.1.2).
fn replayed(conn: &mut DbConnection, code: &str) -> Result<OAuthError, OAuthError> {
    let exchanged = AuthorizationCode::find(conn, code)?.and_then(|(code, _)| code.family_id);
    if let Some(family) = exchanged {
        Family::revoke(conn, &family)?;
    }
    Ok(OAuthError::invalid_grant("The code has already been used."))
}
