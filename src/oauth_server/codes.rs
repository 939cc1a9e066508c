//! Authorization codes: single-use, ten minutes, bound to the client, the redirect URI (and
//! whether the request named it) and the PKCE challenge, carrying the person's sign-in time.
//! Only their SHA-256 is stored.

use crate::db::DbConnection;
use diesel::prelude::*;

use crate::db::schema::{authorization_codes, users};
use crate::domain::accounts::AccountStatus;
use crate::domain::ids::UserId;
use crate::security::{random, sha256_hex};

pub const CODE_TTL: i64 = 600;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = authorization_codes)]
pub struct AuthorizationCode {
    pub code_hash: String,
    pub client_id: String,
    pub user_id: UserId,
    pub redirect_uri: String,
    pub scope: String,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    pub code_challenge_method: Option<String>,
    pub auth_time: i64,
    pub expires_at: i64,
    pub used_at: Option<i64>,
    pub family_id: Option<String>,
    /// The resource the request named (RFC 8707); empty: none.
    pub resource: String,
    /// Whether the authorization request named its redirect_uri (RFC 6749 §4.1.3).
    pub redirect_uri_sent: bool,
}

/// What a new code is bound to.
pub struct NewCode<'a> {
    pub client_id: &'a str,
    pub user_id: UserId,
    pub redirect_uri: &'a str,
    pub redirect_uri_sent: bool,
    pub scope: &'a str,
    pub resource: &'a str,
    pub nonce: Option<&'a str>,
    pub code_challenge: Option<&'a str>,
    pub code_challenge_method: Option<&'a str>,
    /// When the person signed in (their session's sign-in time).
    pub auth_time: i64,
}

impl AuthorizationCode {
    /// Stores a new code and returns it (the only time it exists in clear).
    pub fn issue(conn: &mut DbConnection, new: &NewCode) -> QueryResult<String> {
        let code = random::token(32);
        let now = crate::db::now();
        diesel::insert_into(authorization_codes::table)
            .values((
                authorization_codes::code_hash.eq(sha256_hex(code.as_bytes())),
                authorization_codes::client_id.eq(new.client_id),
                authorization_codes::user_id.eq(new.user_id),
                authorization_codes::redirect_uri.eq(new.redirect_uri),
                authorization_codes::redirect_uri_sent.eq(new.redirect_uri_sent),
                authorization_codes::scope.eq(new.scope),
                authorization_codes::resource.eq(new.resource),
                authorization_codes::nonce.eq(new.nonce),
                authorization_codes::code_challenge.eq(new.code_challenge),
                authorization_codes::code_challenge_method.eq(new.code_challenge_method),
                authorization_codes::auth_time.eq(new.auth_time),
                authorization_codes::expires_at.eq(now + CODE_TTL),
                authorization_codes::created_at.eq(now),
            ))
            .execute(conn)?;
        // Expired codes are useless: clear them as new ones are made.
        diesel::delete(
            authorization_codes::table.filter(authorization_codes::expires_at.lt(now - CODE_TTL)),
        )
        .execute(conn)?;
        Ok(code)
    }

    /// The code with the status of the account that approved it (one read: a code of an
    /// account locked since is refused at the exchange).
    pub fn find(
        conn: &mut DbConnection,
        code: &str,
    ) -> QueryResult<Option<(AuthorizationCode, AccountStatus)>> {
        authorization_codes::table
            .inner_join(users::table.on(users::id.eq(authorization_codes::user_id)))
            .filter(authorization_codes::code_hash.eq(sha256_hex(code.as_bytes())))
            .select((AuthorizationCode::as_select(), users::status))
            .first(conn)
            .optional()
    }

    /// Ends every code a person approved that has not been exchanged yet (their account was
    /// locked): such a code must not work again after an unlock.
    pub fn expire_all_of_user(conn: &mut DbConnection, user_id: UserId) -> QueryResult<usize> {
        let now = crate::db::now();
        diesel::update(
            authorization_codes::table
                .filter(authorization_codes::user_id.eq(user_id))
                .filter(authorization_codes::used_at.is_null())
                .filter(authorization_codes::expires_at.gt(now)),
        )
        .set(authorization_codes::expires_at.eq(now))
        .execute(conn)
    }

    /// Marks the code used, unless it already was: false when a parallel exchange (on another
    /// instance, say) took it between the read and now.
    pub fn claim(conn: &mut DbConnection, hash: &str) -> QueryResult<bool> {
        let claimed = diesel::update(
            authorization_codes::table
                .find(hash)
                .filter(authorization_codes::used_at.is_null()),
        )
        .set(authorization_codes::used_at.eq(crate::db::now()))
        .execute(conn)?;
        Ok(claimed == 1)
    }

    /// Marks the code used and remembers the family it was exchanged for.
    pub fn consume(
        conn: &mut DbConnection,
        hash: &str,
        family_id: Option<&str>,
    ) -> QueryResult<()> {
        diesel::update(authorization_codes::table.find(hash))
            .set((
                authorization_codes::used_at.eq(crate::db::now()),
                authorization_codes::family_id.eq(family_id),
            ))
            .execute(conn)?;
        Ok(())
    }
}

/// Checks a PKCE verifier against the code's challenge (RFC 7636 §4.6).
pub fn verify_pkce(challenge: &str, method: &str, verifier: &str) -> bool {
    let computed = match method {
        "S256" => {
            use base64::Engine;
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(aws_lc_rs::digest::digest(
                &aws_lc_rs::digest::SHA256,
                verifier.as_bytes(),
            ))
        }
        "plain" => verifier.to_string(),
        _ => return false,
    };
    crate::security::constant_time_eq(computed.as_bytes(), challenge.as_bytes())
}

/// The PKCE part of an authorization request (RFC 7636 §4.3) against what the client
/// registered: the description of what is wrong, if anything.
pub fn check_challenge(
    challenge: &str,
    method: &str,
    client: &super::clients::OAuthClient,
) -> Result<(), &'static str> {
    if challenge.is_empty() {
        if !method.is_empty() {
            return Err("code_challenge_method was sent without a code_challenge.");
        }
        if client.pkce_mandatory || client.public_client {
            return Err("This client must use PKCE: send a code_challenge.");
        }
        return Ok(());
    }
    if !is_pkce_value(challenge) {
        return Err(
            "The code_challenge must be 43 to 128 characters of A-Z, a-z, 0-9, '-', '.', '_', '~'.",
        );
    }
    match method {
        "S256" => Ok(()),
        "plain" | "" if client.pkce_plain_allowed => Ok(()),
        "plain" | "" => Err("This client must use the S256 code_challenge_method."),
        _ => Err("The code_challenge_method must be S256 or plain."),
    }
}

/// A verifier or challenge: 43–128 characters of `[A-Za-z0-9-._~]` (RFC 7636 §4.1).
pub fn is_pkce_value(value: &str) -> bool {
    (43..=128).contains(&value.len())
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_' | '~'))
}
