//! The end-session endpoint (OpenID Connect RP-Initiated Logout 1.0): an application sends the
//! person to `/oauth2/logout` to end their Portico session, and names where they go next.
//!
//! - `id_token_hint` must be an ID token Portico signed (expired ones count, §2); it names the
//!   application (its `aud`) and the person (its `sub`).
//! - `client_id`, when sent with a hint, must be the hint's audience.
//! - `post_logout_redirect_uri` must be a redirect URI registered for that application (the same
//!   matching as the authorization endpoint's); `state` is carried back to it.
//! - The session ends at once only when the hint names the person signed in; otherwise the
//!   person is asked first (§2: "MUST ask the End-User"), on a confirmation that is an ordinary,
//!   CSRF-guarded form.
//!
//! A request that breaks a rule is refused with a page and sends no one anywhere.

use serde::{Deserialize, Serialize};

use super::AuthorizationServer;
use super::authorize::{MAX_STATE, callback_url};
use super::clients::{ClientWithApplication, OAuthClient};
use crate::db;
use crate::domain::ids::UserId;
use crate::error::AppError;

/// The parameters of a logout request (a query on GET, a form on POST and on the confirmation).
#[derive(Debug, Default, Clone, Deserialize, Serialize)]
#[serde(default)]
pub struct LogoutRequest {
    #[serde(skip_serializing_if = "String::is_empty")]
    pub id_token_hint: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub client_id: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub post_logout_redirect_uri: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub state: String,
}

/// What a logout request leads to.
#[derive(Debug, PartialEq, Eq)]
pub enum LogoutStep {
    /// End the session, then go to the application's post-logout address (with `state`), or
    /// to Portico's signed-out page when it named none.
    End { to: Option<String> },
    /// Ask the person first; the application's name when the request proved which it is.
    Confirm { application_name: Option<String> },
    /// Refused: what the page says.
    Refuse(String),
}

/// The claims of an ID token hint that matter here.
#[derive(Deserialize)]
struct Hint {
    iss: String,
    sub: String,
    aud: String,
}

/// The longest `id_token_hint` read.
const MAX_HINT: usize = 8192;

/// Checks a logout request for the person signed in (`None`: nobody); `confirmed` when the
/// person has just said yes on the confirmation page.
pub async fn check(
    server: &AuthorizationServer,
    signed_in: Option<UserId>,
    request: LogoutRequest,
    confirmed: bool,
) -> Result<LogoutStep, AppError> {
    let hint = match request.id_token_hint.as_str() {
        "" => None,
        token if token.len() > MAX_HINT => return Ok(refuse("The id_token_hint is too long.")),
        token => match server.keys.verify_hint::<Hint>(token) {
            Ok(hint) if hint.iss == server.issuer => Some(hint),
            _ => {
                return Ok(refuse(
                    "The id_token_hint is not an ID token this portal issued.",
                ));
            }
        },
    };
    if request.state.len() > MAX_STATE {
        return Ok(refuse(&format!(
            "The state is longer than {MAX_STATE} characters."
        )));
    }
    let client_id = match (&hint, request.client_id.as_str()) {
        (Some(hint), "") => Some(hint.aud.clone()),
        (Some(hint), id) if id != hint.aud => {
            return Ok(refuse(
                "client_id is not the application the id_token_hint was issued to.",
            ));
        }
        (_, "") => None,
        (_, id) => Some(id.to_string()),
    };
    let client = match client_id {
        Some(id) => match db::run(&server.pool, move |conn| {
            OAuthClient::find_with_application(conn, &id).map_err(AppError::from)
        })
        .await?
        {
            Some(client) => Some(client),
            None => return Ok(refuse("The application is not known here.")),
        },
        None => None,
    };
    let to = match destination(client.as_ref(), &request) {
        Ok(to) => to,
        Err(message) => return Ok(refuse(message)),
    };
    // The hint names the person signed in when its subject is theirs (opaque, see `grants`).
    let hint_names_person = match (&hint, signed_in) {
        (Some(hint), Some(user_id)) => {
            let person = db::run(&server.pool, move |conn| {
                super::grants::Person::load(conn, user_id).map_err(AppError::from)
            })
            .await?;
            hint.sub == person.subject
        }
        _ => false,
    };
    if signed_in.is_none() || confirmed || hint_names_person {
        return Ok(LogoutStep::End { to });
    }
    Ok(LogoutStep::Confirm {
        application_name: client.map(|c| c.display_name()),
    })
}

/// Where the browser goes after the logout: the post-logout address with `state`, when the
/// application registered it.
fn destination(
    client: Option<&ClientWithApplication>,
    request: &LogoutRequest,
) -> Result<Option<String>, &'static str> {
    if request.post_logout_redirect_uri.is_empty() {
        return Ok(None);
    }
    let Some(client) = client else {
        return Err(
            "post_logout_redirect_uri needs client_id or id_token_hint to name the application.",
        );
    };
    let registered = client
        .client
        .redirect_uri_for(Some(&request.post_logout_redirect_uri))
        .ok_or(
            "post_logout_redirect_uri is not an address registered for the application. You were not signed out.",
        )?;
    callback_url(&registered, &[("state", &request.state)])
        .map(Some)
        .ok_or("post_logout_redirect_uri is not a valid address.")
}

fn refuse(message: &str) -> LogoutStep {
    LogoutStep::Refuse(message.to_string())
}
