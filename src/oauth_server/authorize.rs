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

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use diesel::prelude::*;
use serde::Deserialize;

use super::clients::{ClientWithApplication, OAuthClient};
use super::codes::{AuthorizationCode, NewCode, is_pkce_value};
use super::tokens::parse_scope;
use crate::db::models::applications::Application;
use crate::db::models::consents::Consent;
use crate::db::{self, DbPool};
use crate::error::AppError;
use crate::web::errors::{ErrorKind, error_page};
use crate::web::{PageContext, render, see_other};

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
}

/// The longest `state` Portico carries back (it travels in a URL).
pub const MAX_STATE: usize = 1024;

#[derive(Debug, Deserialize)]
pub struct DecisionForm {
    #[serde(flatten)]
    request: AuthorizeRequest,
    #[serde(default)]
    decision: String,
}

/// A request that passed every check.
struct Valid {
    client: ClientWithApplication,
    redirect_uri: String,
    scopes: Vec<String>,
    owner: String,
}

/// Why a request failed: before the client and the redirect URI are both proven, a page with no
/// way to the callback; after, a page with a link back to it (never an automatic redirect).
enum Failure {
    Page(String),
    Return(Returned),
}

/// An error the person may carry back to the application by following a link.
struct Returned {
    application_name: String,
    redirect_uri: String,
    error: &'static str,
    description: String,
    /// The request's `state`, unless the state itself was what was wrong.
    state: String,
}

fn validate(
    conn: &mut SqliteConnection,
    request: &AuthorizeRequest,
) -> QueryResult<Result<Valid, Failure>> {
    let Some(client) = OAuthClient::find_with_application(conn, &request.client_id)? else {
        return Ok(Err(Failure::Page(
            "The application asking for access is not known here. Contact its developer.".into(),
        )));
    };
    if !client.owner_active {
        return Ok(Err(Failure::Page(
            "The application asking for access is not available: its owner's account is not active.".into(),
        )));
    }
    let registered = client.client.redirect_uris();
    let redirect_uri = if request.redirect_uri.is_empty() && registered.len() == 1 {
        registered[0].clone()
    } else if registered.contains(&request.redirect_uri) {
        request.redirect_uri.clone()
    } else {
        return Ok(Err(Failure::Page(
            "The application sent a callback address that is not registered for it. No access was given.".into(),
        )));
    };
    let application_name = application_name(&client);
    let state_ok = request.state.len() <= MAX_STATE;
    let fail = |error: &'static str, description: &str| {
        Ok(Err(Failure::Return(Returned {
            application_name: application_name.clone(),
            redirect_uri: redirect_uri.clone(),
            error,
            description: description.to_string(),
            state: if state_ok {
                request.state.clone()
            } else {
                String::new()
            },
        })))
    };
    if let Err((error, description)) = check_parameters(&client, request) {
        return fail(error, &description);
    }
    let scopes = match parse_scope((!request.scope.is_empty()).then_some(request.scope.as_str())) {
        Ok(scopes) => scopes,
        Err(e) => return fail("invalid_scope", &e.description),
    };
    let owner = match client.client.application_id {
        Some(id) => {
            let owner_id: i64 = crate::db::schema::applications::table
                .find(id)
                .select(crate::db::schema::applications::owner_id)
                .first(conn)?;
            Application::owner_label(conn, owner_id)?
        }
        None => "this portal".to_string(),
    };
    Ok(Ok(Valid {
        client,
        redirect_uri,
        scopes,
        owner,
    }))
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
enum Outcome {
    Redirect(String),
    Page(String),
    Return(Returned),
}

impl Outcome {
    fn into_response(self, ctx: PageContext) -> HttpResponse {
        match self {
            Outcome::Redirect(url) => see_other(&url),
            Outcome::Page(message) => error_page(ErrorKind::BadRequest, &message),
            Outcome::Return(returned) => return_page(ctx, returned),
        }
    }
}

/// The callback address with `pairs` added to its query (empty values left out).
fn callback_url(redirect_uri: &str, pairs: &[(&str, &str)]) -> Option<String> {
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

/// An error of a request from a proven client and callback: what went wrong, and a link that
/// carries it back to the application when the person chooses to follow it.
#[derive(Template)]
#[template(path = "oauth/error.html")]
struct ReturnPage {
    ctx: PageContext,
    application_name: String,
    error: &'static str,
    description: String,
    callback_host: String,
    return_url: String,
}

fn return_page(ctx: PageContext, returned: Returned) -> HttpResponse {
    let Some(return_url) = callback_url(
        &returned.redirect_uri,
        &[
            ("error", returned.error),
            ("error_description", &returned.description),
            ("state", &returned.state),
        ],
    ) else {
        return error_page(ErrorKind::BadRequest, "The callback address is not valid.");
    };
    let callback_host = url::Url::parse(&returned.redirect_uri)
        .ok()
        .and_then(|u| u.host_str().map(str::to_string))
        .unwrap_or_default();
    render(
        StatusCode::BAD_REQUEST,
        &ReturnPage {
            ctx,
            application_name: returned.application_name,
            error: returned.error,
            description: returned.description,
            callback_host,
            return_url,
        },
    )
}

#[derive(Template)]
#[template(path = "oauth/consent.html")]
struct ConsentPage {
    ctx: PageContext,
    request: AuthorizeRequest,
    application_name: String,
    owner: String,
    scopes: Vec<String>,
}

impl ConsentPage {
    /// What a scope lets the application do, in words.
    fn describe(&self, scope: &str) -> String {
        match scope {
            "openid" => "Confirm who you are (your account id)".to_string(),
            "profile" => "See your name and username".to_string(),
            "email" => "See your email address".to_string(),
            "default" => "Call the APIs it is subscribed to, as you".to_string(),
            other => format!("Use the “{other}” permission"),
        }
    }
}

/// Issues a code and sends the browser back to the client.
fn approve(
    conn: &mut SqliteConnection,
    valid: &Valid,
    request: &AuthorizeRequest,
    user_id: i64,
) -> QueryResult<Outcome> {
    db::write(conn, |conn| {
        Consent::remember(conn, user_id, &valid.client.client.client_id, &valid.scopes)?;
        let scope = super::tokens::granted(&valid.scopes);
        let code = AuthorizationCode::issue(
            conn,
            &NewCode {
                client_id: &valid.client.client.client_id,
                user_id,
                redirect_uri: &valid.redirect_uri,
                scope: &scope,
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

enum Step {
    Respond(Outcome),
    Consent(Box<Valid>),
    SignIn,
}

async fn handle(
    ctx: &PageContext,
    pool: &DbPool,
    request: AuthorizeRequest,
    decision: Option<String>,
) -> Result<Step, AppError> {
    let user_id = ctx.viewer.as_ref().map(|v| v.id);
    db::run(pool, move |conn| {
        let valid = match validate(conn, &request)? {
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

fn sign_in_first(req: &HttpRequest) -> HttpResponse {
    let next = format!("{}?{}", req.path(), req.query_string());
    see_other(&format!(
        "/login?{}",
        url::form_urlencoded::Serializer::new(String::new())
            .append_pair("next", &next)
            .finish()
    ))
}

pub async fn start(
    req: HttpRequest,
    ctx: PageContext,
    pool: web::Data<DbPool>,
    query: web::Query<AuthorizeRequest>,
) -> Result<HttpResponse, AppError> {
    let request = query.into_inner();
    match handle(&ctx, &pool, request.clone(), None).await? {
        Step::Respond(outcome) => Ok(outcome.into_response(ctx)),
        Step::SignIn => Ok(sign_in_first(&req)),
        Step::Consent(valid) => Ok(consent_page(ctx, request, *valid)),
    }
}

pub async fn decide(
    ctx: PageContext,
    pool: web::Data<DbPool>,
    form: web::Form<DecisionForm>,
) -> Result<HttpResponse, AppError> {
    let DecisionForm { request, decision } = form.into_inner();
    if ctx.viewer.is_none() {
        return Ok(error_page(
            ErrorKind::Forbidden,
            "Sign in, then start again from the application.",
        ));
    }
    match handle(&ctx, &pool, request, Some(decision)).await? {
        Step::Respond(outcome) => Ok(outcome.into_response(ctx)),
        Step::Consent(_) | Step::SignIn => Ok(error_page(ErrorKind::BadRequest, "")),
    }
}

fn consent_page(ctx: PageContext, request: AuthorizeRequest, valid: Valid) -> HttpResponse {
    let application_name = application_name(&valid.client);
    let scopes = if valid.scopes.is_empty() {
        vec!["default".to_string()]
    } else {
        valid.scopes
    };
    render(
        StatusCode::OK,
        &ConsentPage {
            ctx,
            request,
            application_name,
            owner: valid.owner,
            scopes,
        },
    )
}
