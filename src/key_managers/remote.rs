//! HTTP toward external key managers, with the outbound rules of SECURITY.md row 13 in one
//! place: the URL and every address its host resolves to are checked (`security::outbound`) and
//! the connection goes to exactly those addresses; no redirects, no proxy; 5 s to connect, 10 s
//! in all; at most 1 MiB read, chunk by chunk. Connectors send JSON or form requests with an
//! optional Bearer or Basic credential, and turn the answers into `KeyManagerError`s the same
//! way: unreachable, 5xx or nonsense → `Unavailable` (502 page), too slow → `Timeout` (504 page),
//! an RFC 7591 error → `Invalid` naming the form field (a connector whose key manager has its own
//! error shape reads it with `Reply::error_with` and keeps the rest). `OAuthHttp` lends the same
//! client to the `oauth2` crate for the token, introspection and revocation endpoints, and is the
//! one place where a 5xx or 429 answer there counts as the key manager's failure, not as an
//! OAuth2 error of the client's.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use reqwest::Method;
use serde::de::DeserializeOwned;
use url::Url;

use super::KeyManagerError;
use crate::security::outbound;

/// The most bytes read from a key manager's answer.
pub const MAX_BODY: usize = 1024 * 1024;
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
const TOTAL_TIMEOUT: Duration = Duration::from_secs(10);

/// Why a call to a key manager did not get an answer. The texts are sentences an administrator
/// may read (they name the URL, never a credential).
#[derive(Debug, Clone, thiserror::Error)]
pub enum RemoteError {
    /// The URL breaks the outbound rules (or does not parse).
    #[error("{0}")]
    Refused(String),
    #[error("{0} could not be reached.")]
    Unreachable(String),
    #[error("{0} did not answer in time.")]
    Timeout(String),
    #[error("{0} answered with a redirect; redirects are not followed.")]
    Redirect(String),
    #[error("{0} answered with more than 1 MiB.")]
    TooLarge(String),
    #[error("{0} broke off its answer.")]
    BrokenOff(String),
    /// An OAuth2 endpoint answered a server error or 429: no verdict on the client.
    #[error("{url} answered {status}.")]
    Failed { url: String, status: u16 },
    #[error("Portico could not prepare the request: {0}")]
    Client(String),
}

impl From<RemoteError> for KeyManagerError {
    fn from(error: RemoteError) -> Self {
        match error {
            RemoteError::Timeout(_) => KeyManagerError::Timeout,
            other => KeyManagerError::Unavailable(other.to_string()),
        }
    }
}

/// The credential a request carries.
#[derive(Clone, Copy)]
pub enum Auth<'a> {
    None,
    Bearer(&'a str),
    Basic {
        username: &'a str,
        password: &'a str,
    },
}

/// What a request sends.
pub enum Body<'a> {
    Empty,
    Json(&'a serde_json::Value),
    Form(&'a [(&'a str, &'a str)]),
}

/// An answer, read whole (up to `MAX_BODY`).
#[derive(Debug)]
pub struct Reply {
    pub url: String,
    pub status: u16,
    pub content_type: String,
    pub body: Vec<u8>,
}

impl Reply {
    /// A JSON answer of `url`, for the tests of what reads answers.
    #[cfg(test)]
    pub fn json_answer(url: &str, status: u16, body: &str) -> Self {
        Reply {
            url: url.into(),
            status,
            content_type: "application/json".into(),
            body: body.as_bytes().to_vec(),
        }
    }

    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    pub fn is_json(&self) -> bool {
        let v = self.content_type.to_ascii_lowercase();
        v.starts_with("application/json") || (v.starts_with("application/") && v.contains("+json"))
    }

    /// The JSON of a successful answer; any other answer becomes the error it means.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, KeyManagerError> {
        if !self.is_success() {
            return Err(self.error());
        }
        serde_json::from_slice(&self.body).map_err(|_| {
            KeyManagerError::Unavailable(format!(
                "{} answered {} with something that is not the JSON expected.",
                self.url, self.status
            ))
        })
    }

    /// The RFC 6749 / 7591 `error` and `error_description` of an error answer, when it has them.
    pub fn oauth_error(&self) -> Option<(String, String)> {
        #[derive(serde::Deserialize)]
        struct OAuthError {
            error: String,
            #[serde(default)]
            error_description: String,
        }
        let parsed: OAuthError = serde_json::from_slice(&self.body).ok()?;
        Some((parsed.error, parsed.error_description))
    }

    /// What an unsuccessful answer means for the portal.
    pub fn error(&self) -> KeyManagerError {
        self.error_with(|reply| {
            reply
                .oauth_error()
                .map(|(code, description)| registration_error(&code, &description))
        })
    }

    /// What an unsuccessful answer means, `read` reading the key manager's own error shape: 5xx,
    /// 404 and 401/403 mean the same from every key manager; any other answer is what `read`
    /// makes of it, or `Unavailable` when it makes nothing.
    pub fn error_with(
        &self,
        read: impl FnOnce(&Reply) -> Option<KeyManagerError>,
    ) -> KeyManagerError {
        let status = self.status;
        if status >= 500 {
            return KeyManagerError::Unavailable(format!("{} answered {status}.", self.url));
        }
        if status == 404 {
            return KeyManagerError::NotFound;
        }
        if matches!(status, 401 | 403) {
            return KeyManagerError::Unavailable(format!(
                "{} refused Portico's credentials (HTTP {status}); check the key manager's connector configuration.",
                self.url
            ));
        }
        read(self).unwrap_or_else(|| {
            KeyManagerError::Unavailable(format!(
                "{} answered {status} without an error Portico can read.",
                self.url
            ))
        })
    }
}

/// An RFC 7591 §3.2.2 error, on the form field it is about.
pub fn registration_error(code: &str, description: &str) -> KeyManagerError {
    let description: String = description
        .chars()
        .filter(|c| !c.is_control())
        .take(300)
        .collect();
    let lower = description.to_ascii_lowercase();
    let field = match code {
        "invalid_redirect_uri" => "callback_url",
        "invalid_software_statement" | "unapproved_software_statement" => "regulatory",
        _ if lower.contains("redirect_uri") => "callback_url",
        _ if lower.contains("jwks")
            || lower.contains("tls_client_auth")
            || lower.contains("certificate") =>
        {
            "application_certificate"
        }
        _ if lower.contains("scope") => "scopes",
        _ => "grant_types",
    };
    let said = if description.is_empty() {
        code.chars().take(60).collect()
    } else {
        description
    };
    KeyManagerError::Invalid {
        field,
        message: format!("The key manager refused this: {said}."),
    }
}

/// Sends requests to key managers under the outbound rules.
#[derive(Debug, Clone, Copy)]
pub struct Remote {
    allow_private: bool,
}

impl Remote {
    /// `allow_private`: the `allow_private_km_urls` setting (loopback/private http allowed).
    pub fn new(allow_private: bool) -> Self {
        Self { allow_private }
    }

    /// Checks the URL, resolves and checks its host, and builds a client that connects only to
    /// the checked addresses.
    async fn pinned(&self, url: &str) -> Result<(Url, reqwest::Client), RemoteError> {
        let url = outbound::parse_url(url, self.allow_private).map_err(RemoteError::Refused)?;
        let addrs = outbound::resolve(&url, self.allow_private)
            .await
            .map_err(RemoteError::Refused)?;
        let mut builder = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(TOTAL_TIMEOUT)
            .no_proxy();
        if let Some(url::Host::Domain(host)) = url.host() {
            builder = builder.resolve_to_addrs(host, &addrs);
        }
        let client = builder
            .build()
            .map_err(|e| RemoteError::Client(e.to_string()))?;
        Ok((url, client))
    }

    /// One request; the answer read whole, whatever its status (redirects are errors).
    pub async fn send(
        &self,
        method: Method,
        url: &str,
        auth: Auth<'_>,
        body: Body<'_>,
    ) -> Result<Reply, RemoteError> {
        let (url, client) = self.pinned(url).await?;
        let mut request = client
            .request(method, url.clone())
            .header(reqwest::header::ACCEPT, "application/json");
        request = match auth {
            Auth::None => request,
            Auth::Bearer(token) => request.bearer_auth(token),
            Auth::Basic { username, password } => request.basic_auth(username, Some(password)),
        };
        request = match body {
            Body::Empty => request,
            Body::Json(value) => request.json(value),
            Body::Form(pairs) => request.form(pairs),
        };
        self.read(url.as_str(), request).await
    }

    /// GETs a JSON document: a 2xx JSON answer, or an error sentence.
    pub async fn get_json_bytes(&self, url: &str) -> Result<Vec<u8>, String> {
        let reply = self
            .send(Method::GET, url, Auth::None, Body::Empty)
            .await
            .map_err(|e| e.to_string())?;
        if !reply.is_success() {
            return Err(format!(
                "{} answered {}.",
                reply.url,
                status_text(reply.status)
            ));
        }
        if !reply.is_json() {
            return Err(format!("{} did not answer with JSON.", reply.url));
        }
        Ok(reply.body)
    }

    /// JSON request, JSON answer: the answer's JSON when it succeeded, else the error it means.
    pub async fn json<T: DeserializeOwned>(
        &self,
        method: Method,
        url: &str,
        auth: Auth<'_>,
        body: Body<'_>,
    ) -> Result<T, KeyManagerError> {
        self.send(method, url, auth, body).await?.json()
    }

    async fn read(
        &self,
        shown: &str,
        request: reqwest::RequestBuilder,
    ) -> Result<Reply, RemoteError> {
        let mut response = request.send().await.map_err(|e| {
            // reqwest's errors name the URL, never the credentials sent.
            tracing::warn!(url = shown, error = ?e, "a key manager request failed");
            if e.is_timeout() {
                RemoteError::Timeout(shown.to_string())
            } else if e.is_builder() {
                RemoteError::Client(e.to_string())
            } else {
                RemoteError::Unreachable(shown.to_string())
            }
        })?;
        let status = response.status();
        if status.is_redirection() {
            return Err(RemoteError::Redirect(shown.to_string()));
        }
        if response
            .content_length()
            .is_some_and(|n| n > MAX_BODY as u64)
        {
            return Err(RemoteError::TooLarge(shown.to_string()));
        }
        let content_type = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| {
            if e.is_timeout() {
                RemoteError::Timeout(shown.to_string())
            } else {
                RemoteError::BrokenOff(shown.to_string())
            }
        })? {
            if body.len() + chunk.len() > MAX_BODY {
                return Err(RemoteError::TooLarge(shown.to_string()));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Reply {
            url: shown.to_string(),
            status: status.as_u16(),
            content_type,
            body,
        })
    }

    /// The `oauth2` crate's HTTP client over these rules.
    pub fn oauth(&self) -> OAuthHttp {
        OAuthHttp { remote: *self }
    }
}

fn status_text(status: u16) -> String {
    reqwest::StatusCode::from_u16(status)
        .map(|s| s.to_string())
        .unwrap_or_else(|_| status.to_string())
}

/// `oauth2::AsyncHttpClient` over `Remote`: the crate's requests (token, introspection,
/// revocation) go through the same checks, pinning, timeouts and size cap. A 5xx or 429 answer
/// is a `RemoteError::Failed`: the crate would read its JSON as an OAuth2 error of the client's
/// (RFC 6749 §5.2 errors are 400 and 401), and a busy key manager would then seem to judge it.
pub struct OAuthHttp {
    remote: Remote,
}

type OAuthFuture<'c> =
    Pin<Box<dyn Future<Output = Result<oauth2::HttpResponse, RemoteError>> + Send + 'c>>;

impl<'c> oauth2::AsyncHttpClient<'c> for OAuthHttp {
    type Error = RemoteError;
    type Future = OAuthFuture<'c>;

    fn call(&'c self, request: oauth2::HttpRequest) -> Self::Future {
        Box::pin(async move {
            let (parts, body) = request.into_parts();
            let url = parts.uri.to_string();
            let (checked, client) = self.remote.pinned(&url).await?;
            let mut builder = client.request(parts.method, checked.clone()).body(body);
            for (name, value) in &parts.headers {
                builder = builder.header(name, value);
            }
            let reply = self.remote.read(checked.as_str(), builder).await?;
            if reply.status >= 500 || reply.status == 429 {
                return Err(RemoteError::Failed {
                    url: reply.url,
                    status: reply.status,
                });
            }
            let mut response = oauth2::http::Response::builder().status(reply.status);
            if !reply.content_type.is_empty() {
                response = response.header(oauth2::http::header::CONTENT_TYPE, reply.content_type);
            }
            response
                .body(reply.body)
                .map_err(|e| RemoteError::Client(e.to_string()))
        })
    }
}

/// Turns an `oauth2` request error into the contract's: a transport failure keeps its meaning,
/// an answer that is not the JSON of RFC 6749 is `Unavailable`. Server errors are the caller's
/// to judge and come back as `Ok(error)`.
pub fn oauth_failure<T: oauth2::ErrorResponse + 'static>(
    error: oauth2::RequestTokenError<RemoteError, T>,
) -> Result<T, KeyManagerError> {
    match error {
        oauth2::RequestTokenError::ServerResponse(answer) => Ok(answer),
        oauth2::RequestTokenError::Request(remote) => Err(remote.into()),
        oauth2::RequestTokenError::Parse(_, _) => Err(KeyManagerError::Unavailable(
            "the key manager answered with something that is not OAuth2 JSON".into(),
        )),
        oauth2::RequestTokenError::Other(what) => Err(KeyManagerError::Unavailable(format!(
            "the key manager's answer was refused: {}",
            what.chars().take(200).collect::<String>()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(status: u16, body: &str) -> Reply {
        Reply::json_answer("http://127.0.0.1:1/reg", status, body)
    }

    #[test]
    fn answers_become_the_errors_they_mean() {
        assert!(matches!(
            reply(500, "{}").error(),
            KeyManagerError::Unavailable(_)
        ));
        assert!(matches!(reply(404, "").error(), KeyManagerError::NotFound));
        assert!(matches!(
            reply(401, r#"{"error":"invalid_token"}"#).error(),
            KeyManagerError::Unavailable(_)
        ));
        match reply(
            400,
            r#"{"error":"invalid_redirect_uri","error_description":"redirect_uris must be https"}"#,
        )
        .error()
        {
            KeyManagerError::Invalid { field, message } => {
                assert_eq!(field, "callback_url");
                assert!(message.contains("redirect_uris must be https"));
            }
            other => panic!("{other:?}"),
        }
        match reply(
            400,
            r#"{"error":"invalid_client_metadata","error_description":"grant_types can only contain 'authorization_code'"}"#,
        )
        .error()
        {
            KeyManagerError::Invalid { field, .. } => assert_eq!(field, "grant_types"),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            reply(400, "<html>").error(),
            KeyManagerError::Unavailable(_)
        ));
        assert!(matches!(
            reply(200, "not json").json::<serde_json::Value>(),
            Err(KeyManagerError::Unavailable(_))
        ));
    }

    #[tokio::test]
    async fn urls_outside_the_rules_are_refused_before_any_connection() {
        let strict = Remote::new(false);
        for url in [
            "http://127.0.0.1:9/reg",
            "https://127.0.0.1:9/reg",
            "https://169.254.169.254/latest",
            "https://[::ffff:127.0.0.1]/",
        ] {
            assert!(
                matches!(
                    strict.send(Method::GET, url, Auth::None, Body::Empty).await,
                    Err(RemoteError::Refused(_))
                ),
                "{url}"
            );
        }
        // Allowed, the request is made (and here finds nobody listening).
        assert!(matches!(
            Remote::new(true)
                .send(
                    Method::GET,
                    "http://127.0.0.1:9/",
                    Auth::Bearer("t"),
                    Body::Empty
                )
                .await,
            Err(RemoteError::Unreachable(_))
        ));
    }
}
