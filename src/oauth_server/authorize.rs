//! `GET/POST /oauth2/authorize` (RFC 6749 §4.1, OIDC Core §3.1.2): the code flow. An
//! anonymous visitor signs in first; a signed-in one sees a consent page naming the
//! application, its owner's organisation and the scopes, unless an earlier consent covers them.
//! `prompt` and `max_age` may ask for a fresh sign-in, a silent answer or the consent page
//! again (`prompt`). The redirect URI must match a registered one exactly (a loopback one on
//! any port, RFC 8252 §7.3) — otherwise an error page, never a redirect. Every response to the
//! callback carries `iss` (RFC 9207).
//!
//! Callback addresses are registered by self-service TPPs, so Portico does not trust them enough
//! to send anyone there unasked (RFC 9700 §4.11.2): the browser goes to the callback
//! automatically only with a code (after a consent the person gave), after the person clicked
//! Allow or Deny, or with the answer `prompt=none` asked for. Every other error, whoever the
//! visitor, is a page that says what was wrong and offers a link back to the application, which
//! the person may follow or not.
//!
//! This module decides (`handle` answers a `Step`); `web::consent` draws the pages.

use crate::db::DbConnection;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};

use super::AuthorizationServer;
use super::clients::{ClientWithApplication, OAuthClient};
use super::codes::{AuthorizationCode, NewCode, check_challenge};
use super::error::OAuthError;
use super::grants::{self, Ask, Grant, Person};
use super::prompt::{self, Prompt};
use super::tokens::parse_scope;
use crate::db;
use crate::db::models::consents::Consent;
use crate::domain::ids::UserId;
use crate::domain::oauth::is_private_use;
use crate::error::AppError;

/// The parameters of an authorization request (a query on GET, a form on POST — OIDC Core
/// §3.1.2.1 — and the consent page's hidden fields).
#[derive(Debug, Default, Clone, Deserialize, Serialize)]
#[serde(default)]
pub struct AuthorizeRequest {
    #[serde(skip_serializing_if = "String::is_empty")]
    pub response_type: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub client_id: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub redirect_uri: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub scope: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub state: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub code_challenge: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub code_challenge_method: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub nonce: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub prompt: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub max_age: String,
    /// A request object (OIDC Core §6): not supported, refused.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub request: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub request_uri: String,
    /// The API the token is for (RFC 8707); empty: every subscribed API.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub resource: String,
}

impl AuthorizeRequest {
    /// The request as a query string (its GET form).
    pub fn to_query(&self) -> String {
        serde_urlencoded::to_string(self).unwrap_or_default()
    }

    /// The request to come back to once the person has signed in for it: what asked for the
    /// sign-in (`prompt=login`, `select_account`, `max_age`) is met by then.
    pub fn after_sign_in(&self) -> Self {
        Self {
            prompt: prompt::after_sign_in(&self.prompt),
            max_age: String::new(),
            ..self.clone()
        }
    }
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
    /// Whether the request named its redirect URI (the token request must then repeat it).
    redirect_uri_sent: bool,
    /// What the request asks for (`None`: the default).
    asked: Option<Vec<String>>,
    /// What the person would grant (`grant_for`); empty until the person is known.
    pub scopes: Vec<String>,
    /// The organisation (or user) that owns the application.
    pub owner: String,
    prompt: Prompt,
    max_age: Option<i64>,
    issuer: String,
}

impl Valid {
    /// The name the person knows the application by.
    pub fn application_name(&self) -> String {
        self.client.display_name()
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
        conn: &mut DbConnection,
        issuer: &str,
        request: &AuthorizeRequest,
        roles: &[String],
    ) -> QueryResult<Result<Grant, OAuthError>> {
        let resource = self.resource(request);
        let ask = Ask {
            scopes: self.asked.as_deref(),
            resource: resource.as_deref(),
            roles: Some(roles),
            fresh: true,
        };
        let client_id = &self.client.client.client_id;
        // A failed read of the scope catalog stays a database error, not the request's.
        let mut unread = None;
        let grant = grants::decide(&self.client.entitlement, issuer, client_id, &ask, |names| {
            grants::declared(conn, names).or_else(|e| {
                unread = Some(e);
                Ok(Vec::new())
            })
        });
        match unread {
            Some(e) => Err(e),
            None => Ok(grant),
        }
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
    pub issuer: String,
}

impl Returned {
    /// The callback address with the error (the link the person may follow).
    pub fn return_url(&self) -> Option<String> {
        callback_url(
            &self.redirect_uri,
            &[
                ("error", self.error),
                ("error_description", &self.description),
                ("state", &self.state),
                ("iss", &self.issuer),
            ],
        )
    }
}

/// Checks a request: first the client and its callback address (a failure there is a page
/// with no way to the callback), then everything else (a failure is carried back by a link).
fn validate(
    conn: &mut DbConnection,
    issuer: &str,
    request: &AuthorizeRequest,
) -> QueryResult<Result<Valid, Failure>> {
    let (client, redirect_uri) = match proven_client(conn, request)? {
        Ok(proven) => proven,
        Err(message) => return Ok(Err(Failure::Page(message.into()))),
    };
    let fail = |error: &'static str, description: String| {
        Ok(Err(Failure::Return(Returned {
            application_name: client.display_name(),
            redirect_uri: redirect_uri.clone(),
            error,
            description,
            state: if request.state.len() <= MAX_STATE {
                request.state.clone()
            } else {
                String::new()
            },
            issuer: issuer.to_string(),
        })))
    };
    if let Err((error, description)) = check_parameters(&client, request) {
        return fail(error, description);
    }
    let (prompt, max_age) = match (
        Prompt::parse(&request.prompt),
        prompt::parse_max_age(&request.max_age),
    ) {
        (Ok(prompt), Ok(max_age)) => (prompt, max_age),
        (Err(e), _) | (_, Err(e)) => return fail("invalid_request", e),
    };
    let asked = match parse_scope(Some(request.scope.as_str())) {
        Ok(asked) => asked,
        Err(e) => return fail("invalid_scope", e.description),
    };
    let owner = owner_of(&client);
    let valid = Valid {
        client: client.clone(),
        redirect_uri: redirect_uri.clone(),
        redirect_uri_sent: !request.redirect_uri.is_empty(),
        asked,
        scopes: Vec::new(),
        owner,
        prompt,
        max_age,
        issuer: issuer.to_string(),
    };
    // Unknown scopes and resources are the request's errors, whoever signs in.
    match valid.grant_for(conn, issuer, request, &[])? {
        Ok(_) => Ok(Ok(valid)),
        Err(e) => fail(e.code, e.description),
    }
}

/// The client and the callback address the request names, when the client is known and
/// active and the address is registered for it (exactly; a loopback one on any port; a
/// private-use scheme only for a public client); otherwise what the page says.
fn proven_client(
    conn: &mut DbConnection,
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
    let requested = (!request.redirect_uri.is_empty()).then_some(request.redirect_uri.as_str());
    let Some(redirect_uri) = client.client.redirect_uri_for(requested) else {
        return Ok(Err(
            "The application sent a callback address that is not registered for it. No access was given.",
        ));
    };
    if is_private_use(&redirect_uri) && !client.client.public_client {
        return Ok(Err(
            "The application's callback address is a native app's private-use scheme, which only a public client may use. No access was given.",
        ));
    }
    Ok(Ok((client, redirect_uri)))
}

/// Who the consent page says owns the application (Portico's own clients belong to the portal).
fn owner_of(client: &ClientWithApplication) -> String {
    match (&client.client.application_id, &client.organisation) {
        (None, _) => "this portal".to_string(),
        (Some(_), Some(organisation)) => organisation.name.clone(),
        (Some(_), None) => "an organisation".to_string(),
    }
}

/// The checks of everything but the client, the redirect URI and the scope: the error code and
/// its description when one fails.
fn check_parameters(
    client: &ClientWithApplication,
    request: &AuthorizeRequest,
) -> Result<(), (&'static str, String)> {
    let invalid = |description: &str| Err(("invalid_request", description.to_string()));
    if !request.request.is_empty() {
        return Err((
            "request_not_supported",
            "Request objects (the request parameter) are not supported: send the parameters themselves.".into(),
        ));
    }
    if !request.request_uri.is_empty() {
        return Err((
            "request_uri_not_supported",
            "request_uri is not supported: send the parameters themselves.".into(),
        ));
    }
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
    check_challenge(
        &request.code_challenge,
        &request.code_challenge_method,
        &client.client,
    )
    .or_else(invalid)
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

/// The browser to the callback with `pairs` and the issuer (RFC 9207).
fn redirect_with(valid: &Valid, pairs: &[(&str, &str)]) -> Outcome {
    let mut pairs = pairs.to_vec();
    pairs.push(("iss", &valid.issuer));
    match callback_url(&valid.redirect_uri, &pairs) {
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

/// Issues a code for the person signed in at `auth_time` and sends the browser back to the
/// client.
fn approve(
    conn: &mut DbConnection,
    valid: &Valid,
    request: &AuthorizeRequest,
    person: SignedIn,
) -> QueryResult<Outcome> {
    let pkce = !request.code_challenge.is_empty();
    let method = match request.code_challenge_method.as_str() {
        "" => "plain",
        method => method,
    };
    db::write(conn, |conn| {
        let client_id = &valid.client.client.client_id;
        Consent::remember(conn, person.user_id, client_id, &valid.scopes)?;
        let scope = valid.scopes.join(" ");
        let resource = valid.resource(request).unwrap_or_default();
        let code = AuthorizationCode::issue(
            conn,
            &NewCode {
                client_id,
                user_id: person.user_id,
                redirect_uri: &valid.redirect_uri,
                redirect_uri_sent: valid.redirect_uri_sent,
                scope: &scope,
                resource: &resource,
                nonce: (!request.nonce.is_empty()).then_some(request.nonce.as_str()),
                code_challenge: pkce.then_some(request.code_challenge.as_str()),
                code_challenge_method: pkce.then_some(method),
                auth_time: person.auth_time,
            },
        )?;
        Ok(redirect_with(
            valid,
            &[("code", &code), ("state", &request.state)],
        ))
    })
}

/// The person a request comes from: who, and when they signed in (their session's record;
/// `None` for a session that did not record it, which counts as too old for any `max_age`).
#[derive(Debug, Clone, Copy)]
pub struct Requester {
    pub user_id: UserId,
    pub auth_time: Option<i64>,
}

/// A person whose sign-in time is known.
#[derive(Debug, Clone, Copy)]
struct SignedIn {
    user_id: UserId,
    auth_time: i64,
}

/// What an authorization request leads to.
pub enum Step {
    Respond(Outcome),
    /// The consent page, for the signed-in person to allow or deny.
    Consent(Box<Valid>),
    /// The sign-in page, then the request again (`AuthorizeRequest::after_sign_in`); `again`
    /// when the person is signed in but must sign in anew.
    SignIn {
        again: bool,
    },
}

/// Checks a request and, for a signed-in person, acts on their `decision` (the consent
/// form's) or on the request's `prompt`, `max_age` and an earlier consent.
pub async fn handle(
    server: &AuthorizationServer,
    requester: Option<Requester>,
    request: AuthorizeRequest,
    decision: Option<String>,
) -> Result<Step, AppError> {
    let issuer = server.issuer.clone();
    db::run(&server.pool, move |conn| {
        let mut valid = match validate(conn, &issuer, &request)? {
            Ok(valid) => valid,
            Err(failure) => return Ok(Step::Respond(failure_outcome(failure))),
        };
        let signed_in = requester.and_then(|p| {
            p.auth_time.map(|auth_time| SignedIn {
                user_id: p.user_id,
                auth_time,
            })
        });
        if let Some(person) = signed_in {
            let roles = Person::load(conn, person.user_id)?.roles;
            valid.scopes = match valid.grant_for(conn, &issuer, &request, &roles)? {
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
        }
        match decision.as_deref() {
            Some(decision) => decide(conn, &valid, &request, signed_in, decision),
            None => ask(conn, valid, &request, requester, signed_in),
        }
    })
    .await
}

/// The person's Allow or Deny on the consent page.
fn decide(
    conn: &mut DbConnection,
    valid: &Valid,
    request: &AuthorizeRequest,
    signed_in: Option<SignedIn>,
    decision: &str,
) -> Result<Step, AppError> {
    let Some(person) = signed_in else {
        return Ok(Step::SignIn { again: false });
    };
    if decision == "approve" {
        return Ok(Step::Respond(approve(conn, valid, request, person)?));
    }
    // The person clicked Deny on a page naming the application: their choice to go back.
    let denied = error_to_callback(valid, request, "access_denied", "The user declined.");
    Ok(Step::Respond(denied))
}

/// A request without a decision: a sign-in, a consent page, a code, or `prompt=none`'s answer.
fn ask(
    conn: &mut DbConnection,
    valid: Valid,
    request: &AuthorizeRequest,
    requester: Option<Requester>,
    signed_in: Option<SignedIn>,
) -> Result<Step, AppError> {
    let fresh = signed_in.filter(|p| {
        !valid.prompt.wants_sign_in()
            && prompt::fresh_enough(Some(p.auth_time), valid.max_age, db::now())
    });
    let Some(person) = fresh else {
        if valid.prompt.none {
            return Ok(Step::Respond(error_to_callback(
                &valid,
                request,
                "login_required",
                "The person must sign in to Portico.",
            )));
        }
        return Ok(Step::SignIn {
            again: requester.is_some(),
        });
    };
    let remembered = Consent::find(conn, person.user_id, &valid.client.client.client_id)?
        .is_some_and(|c| c.covers(&valid.scopes));
    if remembered && !valid.prompt.consent {
        Ok(Step::Respond(approve(conn, &valid, request, person)?))
    } else if valid.prompt.none {
        Ok(Step::Respond(error_to_callback(
            &valid,
            request,
            "consent_required",
            "The person has not allowed this application yet.",
        )))
    } else {
        Ok(Step::Consent(Box::new(valid)))
    }
}

/// An error sent to the callback at once: the person's Deny, or what `prompt=none` asks for
/// when it cannot be answered silently (OIDC Core §3.1.2.6).
fn error_to_callback(
    valid: &Valid,
    request: &AuthorizeRequest,
    error: &str,
    description: &str,
) -> Outcome {
    redirect_with(
        valid,
        &[
            ("error", error),
            ("error_description", description),
            ("state", &request.state),
        ],
    )
}

/// An error of a valid request the person may carry back by a link (what the application may
/// not be granted).
fn returned(
    valid: &Valid,
    request: &AuthorizeRequest,
    error: &'static str,
    description: &str,
) -> Outcome {
    Outcome::Return(Returned {
        application_name: valid.client.display_name(),
        redirect_uri: valid.redirect_uri.clone(),
        error,
        description: description.to_string(),
        state: request.state.clone(),
        issuer: valid.issuer.clone(),
    })
}
