//! Client authentication at an external key manager's token endpoint: the client_credentials
//! request the `dcr`, `fs` and `auth0` connectors send (RFC 6749 §4.4, the client's credentials
//! as HTTP Basic or in the form, §2.3.1), and what its answer proves about a client — the proof
//! out-of-band provisioning rests on (SECURITY.md rows 17 and 37).
//!
//! Servers answer a failed client authentication in different dialects: oidc-provider and WSO2
//! IS with 401 `invalid_client`, Keycloak with 401 `unauthorized_client` for a wrong secret (and
//! 400 `unauthorized_client` for an unknown client in older versions), Auth0 with 401
//! `access_denied`. So only a token proves a client outright. An error proves it only when it
//! can follow a successful authentication alone: it is not a 401 nor `invalid_client`, and the
//! same request with a secret nobody has (a control) is answered with a failed authentication —
//! the server told the secret apart. Anything else (a public client that any secret passes, a
//! server that refuses before it authenticates) cannot be verified and counts as wrong
//! credentials, with the one message that never tells an unknown client from a wrong secret.

use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;

use super::remote::{Auth, Body, Remote, Reply};
use super::{AccessToken, KeyManagerError, KmResult};

/// How a client presents its credentials at the token endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientAuth {
    /// `client_secret_basic`: form-urlencoded id and secret in HTTP Basic.
    Basic,
    /// `client_secret_post`: `client_id` and `client_secret` in the form.
    Post,
}

/// A client_credentials request.
pub struct Credentials<'a> {
    pub token_endpoint: &'a str,
    pub client_id: &'a str,
    pub secret: &'a SecretString,
    pub auth: ClientAuth,
    pub scopes: &'a [String],
    /// Parameters a key manager adds (Auth0's `audience`).
    pub extra: &'a [(&'a str, &'a str)],
}

/// A token the endpoint issued (no `Debug`: it holds the token).
pub struct Granted {
    pub access_token: SecretString,
    pub scope: Option<String>,
    pub expires_in: Option<u64>,
}

impl Granted {
    /// The token as the contract answers it; `scope_unsaid` when the endpoint did not say
    /// which scopes it granted.
    pub fn into_access_token(self, scope_unsaid: String) -> AccessToken {
        let expires_in = self.expires_in.map_or(0, |s| s.min(i64::MAX as u64) as i64);
        AccessToken {
            access_token: self.access_token,
            token_type: "Bearer".into(),
            scope: self.scope.unwrap_or(scope_unsaid),
            expires_in,
            expires_at: crate::db::now() + expires_in,
        }
    }
}

/// The OAuth2 error the endpoint answered instead of a token.
#[derive(Debug, Clone)]
pub struct Refused {
    pub status: u16,
    pub error: String,
    pub description: String,
}

impl Refused {
    /// A failed client authentication in any server's dialect: every 401, and `invalid_client`
    /// whatever its status.
    pub fn is_authentication_failure(&self) -> bool {
        self.status == 401 || self.error == "invalid_client"
    }
}

/// What the endpoint proved about a client.
pub enum Proof {
    /// It issued a token.
    Granted(Granted),
    /// It refused the grant after authenticating the client (`Refused` says why).
    Authenticated(Refused),
}

/// The client_credentials request: a token, the OAuth2 error answered instead, or (transport,
/// 5xx, 429, nonsense) the `KeyManagerError` of a key manager that gave no verdict.
pub async fn client_credentials(
    remote: &Remote,
    request: &Credentials<'_>,
) -> KmResult<Result<Granted, Refused>> {
    let mut form: Vec<(&str, &str)> = vec![("grant_type", "client_credentials")];
    let scope = request.scopes.join(" ");
    if !scope.is_empty() {
        form.push(("scope", &scope));
    }
    form.extend_from_slice(request.extra);
    // RFC 6749 §2.3.1: Basic credentials are form-urlencoded before they are joined.
    let encode = |value: &str| url::form_urlencoded::byte_serialize(value.as_bytes()).collect();
    let (username, password): (String, String) = (
        encode(request.client_id),
        encode(request.secret.expose_secret()),
    );
    let auth = match request.auth {
        ClientAuth::Basic => Auth::Basic {
            username: &username,
            password: &password,
        },
        ClientAuth::Post => {
            form.push(("client_id", request.client_id));
            form.push(("client_secret", request.secret.expose_secret()));
            Auth::None
        }
    };
    let reply = remote
        .send(
            reqwest::Method::POST,
            request.token_endpoint,
            auth,
            Body::Form(&form),
        )
        .await?;
    read_answer(&reply)
}

/// A token endpoint's answer: 2xx with an `access_token`, or an RFC 6749 §5.2 error (400, 401 or
/// 403; a 401 without one is a failed authentication all the same).
fn read_answer(reply: &Reply) -> KmResult<Result<Granted, Refused>> {
    let unreadable = || {
        KeyManagerError::Unavailable(format!(
            "{} answered {} without a token or an OAuth2 error.",
            reply.url, reply.status
        ))
    };
    let json: Option<Value> = serde_json::from_slice(&reply.body).ok();
    let text = |name: &str| {
        json.as_ref()
            .and_then(|j| j.get(name))
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    if reply.is_success() {
        let access_token = text("access_token").ok_or_else(unreadable)?;
        return Ok(Ok(Granted {
            access_token: SecretString::from(access_token),
            scope: text("scope"),
            expires_in: json
                .as_ref()
                .and_then(|j| j.get("expires_in"))
                .and_then(Value::as_u64),
        }));
    }
    match (reply.status, text("error")) {
        (400 | 401 | 403, Some(error)) => Ok(Err(Refused {
            status: reply.status,
            error: error.chars().take(60).collect(),
            description: text("error_description")
                .unwrap_or_default()
                .chars()
                .filter(|c| !c.is_control())
                .take(200)
                .collect(),
        })),
        (401, None) => Ok(Err(Refused {
            status: 401,
            error: String::new(),
            description: String::new(),
        })),
        _ if reply.status >= 500 || reply.status == 429 => Err(KeyManagerError::Unavailable(
            format!("{} answered {}.", reply.url, reply.status),
        )),
        _ => Err(unreadable()),
    }
}

/// Proves that `request.secret` is the client's secret (see the module's rules): a wrong
/// secret, an unknown client and a client that cannot be verified are all
/// `InvalidCredentials`.
pub async fn prove(remote: &Remote, request: &Credentials<'_>) -> KmResult<Proof> {
    let refused = match client_credentials(remote, request).await? {
        Ok(granted) => return Ok(Proof::Granted(granted)),
        Err(refused) if refused.is_authentication_failure() => {
            return Err(KeyManagerError::InvalidCredentials);
        }
        Err(refused) => refused,
    };
    let nobodys = SecretString::from(format!(
        "portico-control-{}",
        crate::security::random::token(24)
    ));
    let control = Credentials {
        secret: &nobodys,
        ..*request
    };
    match client_credentials(remote, &control).await? {
        Err(control) if control.is_authentication_failure() => Ok(Proof::Authenticated(refused)),
        answer => {
            tracing::warn!(
                client_id = request.client_id,
                error = %refused.error,
                status = refused.status,
                control_granted = answer.is_ok(),
                "a key manager answered a made-up secret as it answered the one given: the client cannot be verified"
            );
            Err(KeyManagerError::InvalidCredentials)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(status: u16, body: &str) -> Reply {
        Reply::json_answer("http://127.0.0.1:1/token", status, body)
    }

    fn refused(status: u16, body: &str) -> Refused {
        match read_answer(&reply(status, body)) {
            Ok(Err(refused)) => refused,
            Ok(Ok(_)) => panic!("{status} {body}: a token"),
            Err(error) => panic!("{status} {body}: {error:?}"),
        }
    }

    #[test]
    fn every_dialect_of_a_failed_client_authentication_is_one() {
        for (status, body) in [
            // oidc-provider, WSO2 IS
            (
                401,
                r#"{"error":"invalid_client","error_description":"client authentication failed"}"#,
            ),
            // Keycloak, wrong secret
            (
                401,
                r#"{"error":"unauthorized_client","error_description":"Invalid client or Invalid client credentials"}"#,
            ),
            // Keycloak, a right secret without service accounts: not provable
            (
                401,
                r#"{"error":"unauthorized_client","error_description":"Client not enabled to retrieve service account"}"#,
            ),
            // Auth0
            (
                401,
                r#"{"error":"access_denied","error_description":"Unauthorized"}"#,
            ),
            (400, r#"{"error":"invalid_client"}"#),
            (401, ""),
        ] {
            assert!(
                refused(status, body).is_authentication_failure(),
                "{status} {body}"
            );
        }
        for (status, body) in [
            (
                400,
                r#"{"error":"unauthorized_client","error_description":"The authenticated client is not authorized to use this authorization grant type"}"#,
            ),
            (
                400,
                r#"{"error":"invalid_request","error_description":"requested grant type is not allowed for this client"}"#,
            ),
            (
                403,
                r#"{"error":"access_denied","error_description":"Client is not authorized to access \"x\""}"#,
            ),
        ] {
            assert!(
                !refused(status, body).is_authentication_failure(),
                "{status} {body}"
            );
        }
    }

    #[test]
    fn answers_without_a_verdict_are_the_key_managers_failure() {
        for (status, body) in [
            (500, r#"{"error":"invalid_client"}"#),
            (429, r#"{"error":"slow_down"}"#),
            (200, r#"{"token_type":"Bearer"}"#),
            (200, "<html>"),
            (400, "<html>"),
            (404, r#"{"error":"not_found"}"#),
        ] {
            assert!(
                matches!(
                    read_answer(&reply(status, body)),
                    Err(KeyManagerError::Unavailable(_))
                ),
                "{status} {body}"
            );
        }
        match read_answer(&reply(
            200,
            r#"{"access_token":"t","expires_in":60,"scope":"a b"}"#,
        )) {
            Ok(Ok(granted)) => {
                assert_eq!(granted.expires_in, Some(60));
                assert_eq!(granted.scope.as_deref(), Some("a b"));
            }
            _ => panic!("a token"),
        }
    }
}
