//! Tokens: JWT access tokens (RFC 9068), ID tokens (OIDC Core), opaque rotating refresh tokens
//! in families, and the deny-list of revoked access tokens. Every authorization-code exchange
//! starts a family (with or without refresh tokens) and records the access tokens issued to
//! it, so that withdrawing a consent or locking an account denies every user token at once.

use crate::db::DbConnection;
use crate::domain::ids::UserId;
use std::collections::HashMap;
use std::sync::Mutex;

use diesel::prelude::*;
use serde::{Deserialize, Serialize};

use super::clients::{ApplicationClaim, ClientWithApplication, OrgClaim};
use super::error::OAuthError;
use super::grants::{Audience, Grant};
use crate::db::schema::{
    family_access_tokens, refresh_token_families, refresh_tokens, revoked_tokens, users,
};
use crate::domain::accounts::AccountStatus;
use crate::domain::apis::scopes::is_scope_char;
use crate::security::{random, sha256_hex};

/// The claims of a Portico access token.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AccessClaims {
    pub iss: String,
    pub sub: String,
    pub aud: Audience,
    pub exp: i64,
    pub iat: i64,
    pub jti: String,
    pub client_id: String,
    pub scope: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub application: Option<ApplicationClaim>,
    /// The organisation the application belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub org: Option<OrgClaim>,
}

/// The claims of an ID token.
#[derive(Debug, Serialize)]
pub struct IdClaims<'a> {
    pub iss: &'a str,
    pub sub: &'a str,
    pub aud: &'a str,
    pub exp: i64,
    pub iat: i64,
    pub auth_time: i64,
    pub azp: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nonce: Option<&'a str>,
}

/// Builds the access-token claims for a client (and a user's opaque subject, for user flows).
pub fn access_claims(
    issuer: &str,
    client: &ClientWithApplication,
    subject: &str,
    grant: &Grant,
    ttl: i64,
) -> AccessClaims {
    let now = crate::db::now();
    AccessClaims {
        iss: issuer.to_string(),
        sub: subject.to_string(),
        aud: grant.audience.clone(),
        exp: now + ttl,
        iat: now,
        jti: random::token(16),
        client_id: client.client.client_id.clone(),
        scope: grant.scope(),
        key_type: client.client.key_type.map(|k| k.as_str().to_string()),
        application: client.application.clone(),
        org: client.organisation.clone(),
    }
}

/// Checks a `scope` parameter (RFC 6749 §3.3): space-separated scope tokens, repeats dropped.
/// `None` when no scope was asked (absent, or only spaces).
pub fn parse_scope(scope: Option<&str>) -> Result<Option<Vec<String>>, OAuthError> {
    let Some(scope) = scope.filter(|s| !s.trim().is_empty()) else {
        return Ok(None);
    };
    if scope.len() > 1000 {
        return Err(OAuthError::invalid_scope("The scope is too long."));
    }
    let mut scopes: Vec<String> = Vec::new();
    for token in scope.split(' ').filter(|t| !t.is_empty()) {
        if !token.chars().all(is_scope_char) {
            return Err(OAuthError::invalid_scope(
                "A scope contains characters that are not allowed.",
            ));
        }
        if !scopes.iter().any(|s| s == token) {
            scopes.push(token.to_string());
        }
    }
    Ok(Some(scopes))
}

/// The scopes of a stored scope string.
pub fn split_scope(scope: &str) -> Vec<String> {
    scope
        .split(' ')
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

/// A new refresh token and its hash.
pub fn new_refresh_token() -> (String, String) {
    let token = random::token(32);
    let hash = sha256_hex(token.as_bytes());
    (token, hash)
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = refresh_token_families)]
pub struct Family {
    pub id: String,
    pub client_id: String,
    pub user_id: UserId,
    pub scope: String,
    pub auth_time: i64,
    pub revoked_at: Option<i64>,
    pub expires_at: i64,
    /// The resource the grant was narrowed to (RFC 8707); empty: none.
    pub resource: String,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = refresh_tokens)]
pub struct RefreshToken {
    pub token_hash: String,
    pub family_id: String,
    pub scope: String,
    pub issued_at: i64,
    pub expires_at: i64,
    pub used_at: Option<i64>,
}

impl Family {
    /// Starts a family for a user's grant to a client.
    pub fn create(
        conn: &mut DbConnection,
        client_id: &str,
        user_id: UserId,
        (scope, resource): (&str, &str),
        auth_time: i64,
        ttl: i64,
    ) -> QueryResult<Family> {
        let now = crate::db::now();
        crate::on_each!(conn, |c| diesel::insert_into(refresh_token_families::table)
            .values((
                refresh_token_families::id.eq(random::token(16)),
                refresh_token_families::client_id.eq(client_id),
                refresh_token_families::user_id.eq(user_id),
                refresh_token_families::scope.eq(scope),
                refresh_token_families::resource.eq(resource),
                refresh_token_families::auth_time.eq(auth_time),
                refresh_token_families::expires_at.eq(now + ttl),
                refresh_token_families::created_at.eq(now),
            ))
            .returning(Family::as_returning())
            .get_result(c))
    }

    pub fn find(conn: &mut DbConnection, id: &str) -> QueryResult<Option<Family>> {
        refresh_token_families::table
            .find(id)
            .select(Family::as_select())
            .first(conn)
            .optional()
    }

    /// Revokes the family: its refresh tokens stop working and its access tokens are denied.
    pub fn revoke(conn: &mut DbConnection, id: &str) -> QueryResult<()> {
        let now = crate::db::now();
        diesel::update(
            refresh_token_families::table
                .find(id)
                .filter(refresh_token_families::revoked_at.is_null()),
        )
        .set(refresh_token_families::revoked_at.eq(now))
        .execute(conn)?;
        let issued: Vec<(String, i64)> = family_access_tokens::table
            .filter(family_access_tokens::family_id.eq(id))
            .filter(family_access_tokens::expires_at.gt(now))
            .select((family_access_tokens::jti, family_access_tokens::expires_at))
            .load(conn)?;
        for (jti, expires_at) in issued {
            deny(conn, &jti, expires_at)?;
        }
        Ok(())
    }

    /// Revokes every family of a user with a client (when the user withdraws consent).
    pub fn revoke_for(
        conn: &mut DbConnection,
        user_id: UserId,
        client_id: &str,
    ) -> QueryResult<()> {
        Self::revoke_live(conn, user_id, Some(client_id))
    }

    /// Revokes every grant of a person (when an administrator locks or rejects the account):
    /// their refresh tokens stop and the access tokens issued to them are denied, for good.
    pub fn revoke_all_of_user(conn: &mut DbConnection, user_id: UserId) -> QueryResult<()> {
        Self::revoke_live(conn, user_id, None)
    }

    /// Revokes the user's live families, with one client or with all.
    fn revoke_live(
        conn: &mut DbConnection,
        user_id: UserId,
        client_id: Option<&str>,
    ) -> QueryResult<()> {
        let mut live = refresh_token_families::table
            .filter(refresh_token_families::user_id.eq(user_id))
            .filter(refresh_token_families::revoked_at.is_null())
            .select(refresh_token_families::id)
            .into_boxed();
        if let Some(client_id) = client_id {
            live = live.filter(refresh_token_families::client_id.eq(client_id));
        }
        for id in live.load::<String>(conn)? {
            Self::revoke(conn, &id)?;
        }
        Ok(())
    }

    /// Records an access token issued to the family, so that revoking the family denies it.
    pub fn record_access_token(
        conn: &mut DbConnection,
        family_id: &str,
        jti: &str,
        expires_at: i64,
    ) -> QueryResult<()> {
        diesel::insert_into(family_access_tokens::table)
            .values((
                family_access_tokens::jti.eq(jti),
                family_access_tokens::family_id.eq(family_id),
                family_access_tokens::expires_at.eq(expires_at),
            ))
            .execute(conn)?;
        Ok(())
    }
}

/// The account a grant belongs to, as a refresh token's read brings it along.
#[derive(Debug, Queryable)]
pub struct GrantOwner {
    pub status: AccountStatus,
    pub subject: Option<String>,
    /// The account's role (the roles an administrator gave are read apart).
    pub role: String,
}

impl RefreshToken {
    pub fn insert(
        conn: &mut DbConnection,
        hash: &str,
        family_id: &str,
        scope: &str,
        ttl: i64,
    ) -> QueryResult<()> {
        let now = crate::db::now();
        diesel::insert_into(refresh_tokens::table)
            .values((
                refresh_tokens::token_hash.eq(hash),
                refresh_tokens::family_id.eq(family_id),
                refresh_tokens::scope.eq(scope),
                refresh_tokens::issued_at.eq(now),
                refresh_tokens::expires_at.eq(now + ttl),
            ))
            .execute(conn)?;
        Ok(())
    }

    /// The token with its family and the account the grant belongs to, in one read.
    pub fn find(
        conn: &mut DbConnection,
        token: &str,
    ) -> QueryResult<Option<(RefreshToken, Family, GrantOwner)>> {
        refresh_tokens::table
            .inner_join(refresh_token_families::table)
            .inner_join(users::table.on(users::id.eq(refresh_token_families::user_id)))
            .filter(refresh_tokens::token_hash.eq(sha256_hex(token.as_bytes())))
            .select((
                RefreshToken::as_select(),
                Family::as_select(),
                (users::status, users::subject, users::role),
            ))
            .first(conn)
            .optional()
    }

    /// Marks the token used (rotated); false when it already was.
    pub fn mark_used(conn: &mut DbConnection, hash: &str) -> QueryResult<bool> {
        let changed = diesel::update(
            refresh_tokens::table
                .find(hash)
                .filter(refresh_tokens::used_at.is_null()),
        )
        .set(refresh_tokens::used_at.eq(crate::db::now()))
        .execute(conn)?;
        Ok(changed == 1)
    }
}

/// Adds an access token to the deny-list until it expires.
pub fn deny(conn: &mut DbConnection, jti: &str, expires_at: i64) -> QueryResult<()> {
    crate::on_each!(conn, |c| diesel::insert_into(revoked_tokens::table)
        .values((
            revoked_tokens::jti.eq(jti),
            revoked_tokens::expires_at.eq(expires_at),
        ))
        .on_conflict(revoked_tokens::jti)
        .do_nothing()
        .execute(c))?;
    conn.announce(crate::db::changes::Change::Revocations)
}

/// The deny-list in memory, with the database as the truth: each check first reads the rows
/// added since the last check (an indexed range that is nearly always empty), so every Portico
/// process sharing the database agrees.
#[derive(Default)]
pub struct RevocationList {
    inner: Mutex<Revoked>,
}

#[derive(Default)]
struct Revoked {
    last_id: i64,
    jtis: HashMap<String, i64>,
}

impl RevocationList {
    /// Forgets what was read: the next check reads every unexpired revocation again. On a
    /// shared PostgreSQL database ids may commit out of order, so a notice of a revocation
    /// re-reads them all instead of trusting the last id seen.
    pub fn forget(&self) {
        *self.inner.lock().expect("the revocation lock") = Revoked::default();
    }

    pub fn is_revoked(&self, conn: &mut DbConnection, jti: &str) -> QueryResult<bool> {
        let last_id = self.inner.lock().expect("the revocation lock").last_id;
        let fresh: Vec<(i64, String, i64)> = revoked_tokens::table
            .filter(revoked_tokens::id.gt(last_id))
            .filter(revoked_tokens::expires_at.gt(crate::db::now()))
            .order(revoked_tokens::id.asc())
            .select((
                revoked_tokens::id,
                revoked_tokens::jti,
                revoked_tokens::expires_at,
            ))
            .load(conn)?;
        let mut inner = self.inner.lock().expect("the revocation lock");
        let now = crate::db::now();
        for (id, jti, expires_at) in fresh {
            inner.last_id = inner.last_id.max(id);
            inner.jtis.insert(jti, expires_at);
        }
        if inner.jtis.len() > 100_000 {
            inner.jtis.retain(|_, expires_at| *expires_at > now);
        }
        Ok(inner.jtis.contains_key(jti))
    }
}
