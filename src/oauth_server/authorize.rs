//! `GET/POST /oauth2/authorize` (RFC 6749 §4.1): the code flow. An anonymous visitor signs in
//! first; a signed-in one sees a consent page naming the application, its owner's organisation
//! and the scopes, unless an earlier consent covers them. The redirect URI must match a
//! registered one exactly — otherwise an error page, never a redirect.
//!
//! Callback addresses are registered by self-service TPPs, so Portico does not trust them enough
//! to send anyone there unasked (RFC 9700 §4.11.2): the browser goes to the callback
//! automatically only with a code (after a consent the person gave) or after the person clicked
//! Allow or Deny. Every other error, whoever the visitor, is a page that says what was wrong and
//! offers a link back to the application, which the person may follow or not.
//!
//! This module decides (`handle` answers a `Step`); `web::consent` draws the pages.

use diesel::prelude::*;
use serde::Deserialize;

use super::clients::{ClientWithApplication, OAuthClient};
use super::codes::{AuthorizationCode, NewCode, is_pkce_value};
use super::error::OAuthError;
use super::grants::{self, Ask, Grant, Person};
use super::tokens::parse_scope;
use crate::db::models::applications::Application;
use crate::db::models::consents::Consent;
use crate::db::{self, DbPool};
use crate::domain::ids::UserId;
use crate::error::AppError;

/// The parameters of an authorization request (query on GET, hidden fields on POST).
#[derive(Debug, Default, Clone, Deserialize)]
pub struct AuthorizeRequest {
    #[serde(default)]
    pub response_type: String,
    #[serde(default)]
    pub client_id: String,
    #[serde(default)]
    pub redirect_uri: String,
    #[serde(default)]
    pub scope: String,
    #[serde(default)]
    pub state: String,
    #[serde(default)]
    pub code_challenge: String,
    #[serde(default)]
    pub code_challenge_method: String,
    #[serde(default)]
    pub nonce: String,
    #[serde(default)]
    pub prompt: String,
    /// The API the token is for (RFC 8707); empty: every subscribed API.
    #[serde(default)]
    pub resource: String,
}

/// The longest `state` Portico carries back (it travels in a URL).
pub const MAX_STATE: usize = 1024;

#[derive(Debug, Deserialize)]
pub struct DecisionForm {
    #[serde(flatten)]
    pub request: AuthorizeRequest,
    #[serde(default)]
    pub decision: String,
}

/// A request that passed every check.
pub struct Valid {
    client: ClientWithApplication,
    redirect_uri: String,
    /// What the request asks for (`None`: the default).
    asked: Option<Vec<String>>,
    /// What the person would grant (`grant_for`); empty until the person is known.
    pub scopes: Vec<String>,
    /// The organisation (or user) that owns the application.
    pub owner: String,
}

impl Valid {
    /// The name the person knows the application by.
    pub fn application_name(&self) -> String {
        application_name(&self.client)
    }

    /// What an API scope lets the application do, as its API describes it.
    pub fn scope_description(&self, name: &str) -> Option<&str> {
        self.client
            .entitlement
            .scope(name)
            .map(|s| s.description.as_str())
            .filter(|d| !d.is_empty())
    }

    fn resource(&self, request: &AuthorizeRequest) -> Option<String> {
        Some(request.resource.clone()).filter(|r| !r.is_empty())
    }

    /// What the request gets, for a person with `roles` (`Some(&[])`: the check before anyone
    /// is known, whose errors are the request's).
    fn grant_for(
        &self,
        conn: &mut SqliteConnection,
        issuer: &str,
        request: &AuthorizeRequest,
        roles: &[String],
    ) -> Result<Grant, OAuthError> {
        let resource = self.resource(request);
        let ask = Ask {
            scopes: self.asked.as_deref(),
            resource: resource.as_deref(),
            roles: Some(roles),
            fresh: true,
        };
        let client_id = &self.client.client.client_id;
        grants::decide(&self.client.entitlement, issuer, client_id, &ask, |names| {
            grants::declared(conn, names)
        })
    }
}

/// Why a request failed: before the client and the redirect URI are both proven, a page with no
/// way to the callback; after, a page with a link back to it (never an automatic redirect).
enum Failure {
    Page(String),
    Return(Returned),
}

/// An error the person may carry back to the application by following a link.
pub struct Returned {
    pub application_name: String,
    pub redirect_uri: String,
    pub error: &'static str,
    pub description: String,
    /// The request's `state`, unless the state itself was what was wrong.
    pub state: String,
}

/// Checks a request: first the client and its callback address (a failure there is a page
/// with no way to the callback), then everything else (a failure is carried back by a link).
fn validate(
    conn: &mut SqliteConnection,
    issuer: &str,
    request: &AuthorizeRequest,
) -> QueryResult<Result<Valid, Failure>> {
    let (client, redirect_uri) = match proven_client(conn, request)? {
        Ok(proven) => proven,
        Err(message) => return Ok(Err(Failure::Page(message.into()))),
    };
    let fail = |error: &'static str, description: String| {
        Ok(Err(Failure::Return(Returned {
            application_name: application_name(&client),
            redirect_uri: redirect_uri.clone(),
            error,
            description,
            state: if request.state.len() <= MAX_STATE {
                request.state.clone()
            } else {
                String::new()
            },
        })))
    };
    if let Err((error, description)) = check_parameters(&client, request) {
        return fail(error, description);
    }
    let asked = match parse_scope(Some(request.scope.as_str())) {
        Ok(asked) => asked,
        Err(e) => return fail("invalid_scope", e.description),
    };
    let owner = owner_of(conn, &client)?;
    let valid = Valid {
        client: client.clone(),
        redirect_uri: redirect_uri.clone(),
        asked,
        scopes: Vec::new(),
        owner,
    };
    // Unknown scopes and resources are the request's errors, whoever signs in.
    match valid.grant_for(conn, issuer, request, &[]) {
        Ok(_) => Ok(Ok(valid)),
        Err(e) if e.code == "server_error" => Err(diesel::result::Error::QueryBuilderError(
            "the scopes of the APIs could not be read".into(),
        )),
        Err(e) => fail(e.code, e.description),
    }
}

/// The client and the callback address the request names, when the client is known and
/// active and the address is registered for it exactly; otherwise what the page says.
fn proven_client(
    conn: &mut SqliteConnection,
    request: &AuthorizeRequest,
) -> QueryResult<Result<(ClientWithApplication, String), &'static str>> {
    let Some(client) = OAuthClient::find_with_application(conn, &request.client_id)? else {
        return Ok(Err(
            "The application asking for access is not known here. Contact its developer.",
        ));
    };
    if !client.owner_active {
        return Ok(Err(
            "The application asking for access is not available: its owner's account is not active.",
        ));
    }
    let registered = client.client.redirect_uris();
    let redirect_uri = if request.redirect_uri.is_empty() && registered.len() == 1 {
        registered[0].clone()
    } else if registered.contains(&request.redirect_uri) {
        request.redirect_uri.clone()
    } else {
        return Ok(Err(
            "The application sent a callback address that is not registered for it. No access was given.",
        ));
    };
    Ok(Ok((client, redirect_uri)))
}

/// Who the consent page says owns the application (Portico's own clients belong to the portal).
fn owner_of(conn: &mut SqliteConnection, client: &ClientWithApplication) -> QueryResult<String> {
    match client.client.application_id {
        Some(id) => {
            let owner_id: UserId = crate::db::schema::applications::table
                .find(id)
                .select(crate::db::schema::applications::owner_id)
                .first(conn)?;
            Application::owner_label(conn, owner_id)
        }
        None => Ok("this portal".to_string()),
    }
}

/// The name the person knows the application by.
fn application_name(client: &ClientWithApplication) -> String {
    client
        .application
        .as_ref()
        .map(|a| a.name.clone())
        .unwrap_or_else(|| client.client.client_name.clone())
}

/// The checks of everything but the client, the redirect URI and the scope: the error code and
/// its description when one fails.
fn check_parameters(
    client: &ClientWithApplication,
    request: &AuthorizeRequest,
) -> Result<(), (&'static str, String)> {
    let invalid = |description: &str| Err(("invalid_request", description.to_string()));
    if request.response_type != "code" {
        return Err((
            "unsupported_response_type",
            "Only response_type=code is supported.".into(),
        ));
    }
    if !client.client.allows_grant("authorization_code") {
        return Err((
            "unauthorized_client",
            "This client may not use the authorization code grant.".into(),
        ));
    }
    if request.state.len() > MAX_STATE {
        return invalid(&format!("The state is longer than {MAX_STATE} characters."));
    }
    if !matches!(request.prompt.as_str(), "" | "none" | "consent") {
        return invalid("prompt may only be none or consent.");
    }
    let method = if request.code_challenge_method.is_empty() {
        "plain"
    } else {
        request.code_challenge_method.as_str()
    };
    if request.code_challenge.is_empty() {
        if !request.code_challenge_method.is_empty() {
            return invalid("code_challenge_method was sent without a code_challenge.");
        }
        if client.client.pkce_mandatory || client.client.public_client {
            return invalid("This client must use PKCE: send a code_challenge.");
        }
        return Ok(());
    }
    if !is_pkce_value(&request.code_challenge) {
        return invalid(
            "The code_challenge must be 43 to 128 characters of A-Z, a-z, 0-9, '-', '.', '_', '~'.",
        );
    }
    match method {
        "S256" => Ok(()),
        "plain" if client.client.pkce_plain_allowed => Ok(()),
        "plain" => invalid("This client must use the S256 code_challenge_method."),
        _ => invalid("The code_challenge_method must be S256 or plain."),
    }
}

/// Where the browser goes next, or the error page it sees.
pub enum Outcome {
    Redirect(String),
    Page(String),
    Return(Returned),
}

/// The callback address with `pairs` added to its query (empty values left out).
pub fn callback_url(redirect_uri: &str, pairs: &[(&str, &str)]) -> Option<String> {
    let mut url = url::Url::parse(redirect_uri).ok()?;
    {
        let mut query = url.query_pairs_mut();
        for (key, value) in pairs {
            if !value.is_empty() {
                query.append_pair(key, value);
            }
        }
    }
    Some(url.into())
}

fn redirect_with(redirect_uri: &str, pairs: &[(&str, &str)]) -> Outcome {
    match callback_url(redirect_uri, pairs) {
        Some(url) => Outcome::Redirect(url),
        None => Outcome::Page("The callback address is not valid.".into()),
    }
}

fn failure_outcome(failure: Failure) -> Outcome {
    match failure {
        Failure::Page(message) => Outcome::Page(message),
        Failure::Return(returned) => Outcome::Return(returned),
    }
}

/// Issues a code and sends the browser back to the client.
fn approve(
    conn: &mut SqliteConnection,
    valid: &Valid,
    request: &AuthorizeRequest,
    user_id: UserId,
) -> QueryResult<Outcome> {
    db::write(conn, |conn| {
        Consent::remember(conn, user_id, &valid.client.client.client_id, &valid.scopes)?;
        let scope = valid.scopes.join(" ");
        let resource = valid.resource(request).unwrap_or_default();
        let code = AuthorizationCode::issue(
            conn,
            &NewCode {
                client_id: &valid.client.client.client_id,
                user_id,
                redirect_uri: &valid.redirect_uri,
                scope: &scope,
                resource: &resource,
                nonce: (!request.nonce.is_empty()).then_some(request.nonce.as_str()),
                code_challenge: (!request.code_challenge.is_empty())
                    .then_some(request.code_challenge.as_str()),
                code_challenge_method: (!request.code_challenge.is_empty()).then_some(
                    if request.code_challenge_method.is_empty() {
                        "plain"
                    } else {
                        request.code_challenge_method.as_str()
                    },
                ),
                auth_time: crate::db::now(),
            },
        )?;
        Ok(redirect_with(
            &valid.redirect_uri,
            &[("code", &code), ("state", &request.state)],
        ))
    })
}

/// What an authorization request leads to.
pub enum Step {
    Respond(Outcome),
    /// The consent page, for the signed-in person to allow or deny.
    Consent(Box<Valid>),
    SignIn,
}

/// Checks a request and, for a signed-in person (`user_id`), acts on their `decision` (the
/// consent form's) or on an earlier consent that covers it.
pub async fn handle(
    pool: &DbPool,
    issuer: String,
    user_id: Option<UserId>,
    request: AuthorizeRequest,
    decision: Option<String>,
) -> Result<Step, AppError> {
    db::run(pool, move |conn| {
        let mut valid = match validate(conn, &issuer, &request)? {
            Ok(valid) => valid,
            Err(failure) => return Ok(Step::Respond(failure_outcome(failure))),
        };
        let silent = request.prompt == "none";
        let Some(user_id) = user_id else {
            if silent {
                return Ok(Step::Respond(returned(
                    &valid,
                    &request,
                    "login_required",
                    "The person is not signed in to Portico.",
                )));
            }
            return Ok(Step::SignIn);
        };
        let person = Person::load(conn, user_id)?;
        valid.scopes = match valid.grant_for(conn, &issuer, &request, &person.roles) {
            Ok(grant) => grant.scopes,
            Err(e) => {
                return Ok(Step::Respond(returned(
                    &valid,
                    &request,
                    e.code,
                    &e.description,
                )));
            }
        };
        match decision.as_deref() {
            Some("approve") => Ok(Step::Respond(approve(conn, &valid, &request, user_id)?)),
            // The person clicked Deny on a page naming the application: their choice to go
            // back.
            Some(_) => Ok(Step::Respond(redirect_with(
                &valid.redirect_uri,
                &[
                    ("error", "access_denied"),
                    ("error_description", "The user declined."),
                    ("state", &request.state),
                ],
            ))),
            None => {
                let remembered = Consent::find(conn, user_id, &valid.client.client.client_id)?
                    .is_some_and(|c| c.covers(&valid.scopes));
                if remembered && request.prompt != "consent" {
                    Ok(Step::Respond(approve(conn, &valid, &request, user_id)?))
                } else if silent {
                    Ok(Step::Respond(returned(
                        &valid,
                        &request,
                        "consent_required",
                        "The person has not allowed this application yet.",
                    )))
                } else {
                    Ok(Step::Consent(Box::new(valid)))
                }
            }
        }
    })
    .await
}

/// An error of a valid request (`prompt=none` that cannot be answered silently).
fn returned(
    valid: &Valid,
    request: &AuthorizeRequest,
    error: &'static str,
    description: &str,
) -> Outcome {
    Outcome::Return(Returned {
        application_name: application_name(&valid.client),
        redirect_uri: valid.redirect_uri.clone(),
        error,
        description: description.to_string(),
        state: request.state.clone(),
    })
}
