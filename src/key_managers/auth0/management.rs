//! The Auth0 Management API client: the management token (client_credentials of Portico's
//! machine-to-machine client toward the audience), cached process-wide per key manager and
//! configuration until shortly before it expires so that requests share it; the calls made with
//! it (a token Auth0 no longer accepts is replaced once); and Auth0's own error shape.

use std::collections::HashMap;
use std::sync::{LazyLock, Mutex};
use std::time::{Duration, Instant};

use reqwest::Method;
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;

use super::super::client_auth::{self, ClientAuth, Refused};
use super::super::remote::{Auth, Body, Reply};
use super::super::{KeyManagerError, KmResult};
use super::Auth0KeyManager;

/// A management token is renewed this long before it expires (at most a tenth of its life).
const RENEW_BEFORE: Duration = Duration::from_secs(60);

struct CachedToken {
    token: SecretString,
    fresh_until: Instant,
}

/// Management tokens by key manager and configuration fingerprint (a changed secret, audience
/// or endpoint is a new entry; the secret appears only hashed in the key).
static MANAGEMENT_TOKENS: LazyLock<Mutex<HashMap<String, CachedToken>>> =
    LazyLock::new(|| Mutex::new(HashMap::new()));

fn tokens() -> std::sync::MutexGuard<'static, HashMap<String, CachedToken>> {
    // A panic while holding the lock leaves a map that is still valid.
    MANAGEMENT_TOKENS
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// How long a management token is used: its life less a margin (a tenth, at most a minute).
fn fresh_for(expires_in: u64) -> Duration {
    let life = Duration::from_secs(expires_in);
    life - (life / 10).min(RENEW_BEFORE)
}

impl Auth0KeyManager {
    fn cache_key(&self) -> String {
        let fingerprint = [
            self.key_manager_id.to_string().as_str(),
            &self.token_endpoint,
            &self.audience,
            &self.client_id,
            self.client_secret.expose_secret(),
        ]
        .join("\n");
        hex::encode(aws_lc_rs::digest::digest(
            &aws_lc_rs::digest::SHA256,
            fingerprint.as_bytes(),
        ))
    }

    /// The cached management token, or a new one.
    async fn management_token(&self) -> KmResult<SecretString> {
        let key = self.cache_key();
        if let Some(cached) = tokens().get(&key)
            && cached.fresh_until > Instant::now()
        {
            return Ok(cached.token.clone());
        }
        let audience = [("audience", self.audience.as_str())];
        let request = self.credentials(
            &self.client_id,
            &self.client_secret,
            ClientAuth::Post,
            &[],
            &audience,
        );
        let granted = client_auth::client_credentials(&self.remote, &request)
            .await?
            .map_err(
                |Refused {
                     error, description, ..
                 }| {
                    KeyManagerError::Unavailable(format!(
                        "Auth0 refused Portico's Management API client: {error} {}",
                        shown(&description)
                    ))
                },
            )?;
        // Auth0 always says; a day is its default.
        let fresh_until = Instant::now() + fresh_for(granted.expires_in.unwrap_or(86_400));
        let mut cache = tokens();
        let now = Instant::now();
        cache.retain(|_, cached| cached.fresh_until > now);
        cache.insert(
            key,
            CachedToken {
                token: granted.access_token.clone(),
                fresh_until,
            },
        );
        Ok(granted.access_token)
    }

    fn forget_management_token(&self) {
        tokens().remove(&self.cache_key());
    }

    /// A Management API call (`path` below the audience) with the management token; a token
    /// Auth0 no longer accepts is replaced once. 2xx answers their JSON (`Null` when empty).
    pub(super) async fn management(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> KmResult<Value> {
        let url = format!("{}/{path}", self.audience.trim_end_matches('/'));
        let mut retried = false;
        loop {
            let token = self.management_token().await?;
            let reply = self
                .remote
                .send(
                    method.clone(),
                    &url,
                    Auth::Bearer(token.expose_secret()),
                    body.map_or(Body::Empty, Body::Json),
                )
                .await?;
            if reply.status == 401 && !retried {
                self.forget_management_token();
                retried = true;
                continue;
            }
            return judge(&reply);
        }
    }
}

/// The Management API's answer as a result. Auth0's error shape is
/// `{statusCode, error, message, errorCode}`: its `message` names the field of a refused value
/// (400, 422) and says what a conflict is (409); every other answer means what it means from any
/// key manager (`Reply::error_with`).
pub(super) fn judge(reply: &Reply) -> KmResult<Value> {
    if reply.is_success() {
        if reply.body.iter().all(u8::is_ascii_whitespace) {
            return Ok(Value::Null);
        }
        return reply.json();
    }
    Err(reply.error_with(|reply| {
        let message = serde_json::from_slice::<Value>(&reply.body)
            .ok()
            .and_then(|v| v.get("message").and_then(Value::as_str).map(shown))
            .unwrap_or_default();
        match reply.status {
            400 | 422 if !message.is_empty() => Some(KeyManagerError::Invalid {
                field: field_of(&message),
                message: format!("Auth0 refused this: {message}"),
            }),
            409 => Some(KeyManagerError::Conflict(format!(
                "Auth0 refused this: {message}"
            ))),
            _ => None,
        }
    }))
}

/// At most 200 characters of a message from the key manager.
pub(super) fn shown(message: &str) -> String {
    message.chars().take(200).collect()
}

/// The keys form field an Auth0 validation message is about (`keys` when none fits).
fn field_of(message: &str) -> &'static str {
    let message = message.to_ascii_lowercase();
    if message.contains("callbacks") {
        "callback_url"
    } else if message.contains("grant_types") {
        "grant_types"
    } else if message.contains("token_endpoint_auth_method") {
        "public_client"
    } else {
        "keys"
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn auth0_messages_name_the_keys_field_they_are_about() {
        assert_eq!(
            field_of(
                "Payload validation error: 'Object didn't pass validation for format absolute-uri-or-empty: x' on property callbacks[0]"
            ),
            "callback_url"
        );
        assert_eq!(field_of("... on property grant_types[1]"), "grant_types");
        assert_eq!(field_of("Something else"), "keys");
    }

    #[test]
    fn a_management_token_is_renewed_before_it_expires() {
        assert_eq!(fresh_for(86_400), Duration::from_secs(86_340));
        assert_eq!(fresh_for(10), Duration::from_secs(9));
        assert_eq!(fresh_for(0), Duration::ZERO);
    }

    #[test]
    fn management_answers_are_judged_by_auth0s_error_shape_then_the_generic_rules() {
        let reply = |status: u16, body: &str| {
            Reply::json_answer("https://tenant.example/api/v2/clients", status, body)
        };
        let auth0 = |status: u16, message: &str| {
            reply(
                status,
                &json!({"statusCode": status, "error": "Bad Request", "message": message})
                    .to_string(),
            )
        };
        assert_eq!(judge(&reply(204, " ")).unwrap(), Value::Null);
        assert!(matches!(
            judge(&auth0(400, "... on property callbacks[0]")),
            Err(KeyManagerError::Invalid {
                field: "callback_url",
                ..
            })
        ));
        assert!(matches!(
            judge(&auth0(409, "exists")),
            Err(KeyManagerError::Conflict(_))
        ));
        // Auth0's `error` is a status text, not an RFC 7591 code: never a field error.
        for status in [400, 429] {
            assert!(matches!(
                judge(&auth0(status, "")),
                Err(KeyManagerError::Unavailable(_))
            ));
        }
        assert!(matches!(
            judge(&auth0(404, "Not found")),
            Err(KeyManagerError::NotFound)
        ));
        assert!(matches!(
            judge(&auth0(403, "Insufficient scope")),
            Err(KeyManagerError::Unavailable(_))
        ));
        assert!(matches!(
            judge(&reply(200, "<html>")),
            Err(KeyManagerError::Unavailable(_))
        ));
    }
}
