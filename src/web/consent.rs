//! The pages of `GET/POST /oauth2/authorize`: the consent page (the application, its owner's
//! organisation and the scopes, in words), the page of an error the person may carry back to
//! the application by a link, and the sign-in detour. What a request means — its checks, the
//! remembered consent, the code — is `oauth_server::authorize`'s; this module only draws it.

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;

use crate::error::AppError;
use crate::oauth_server::authorize::{
    AuthorizeRequest, DecisionForm, Outcome, Person, Returned, Step, Valid, handle,
};
use crate::security::session_store::AUTH_TIME;
use crate::web::errors::{ErrorKind, error_page};
use crate::web::protocol::{ProtocolRequest, Visit, hidden_fields};
use crate::web::{PageContext, Url, render, see_other};

/// The signed-in person and when they signed in (their session's record).
fn person(ctx: &PageContext, session: &Session) -> Option<Person> {
    ctx.viewer.as_ref().map(|viewer| Person {
        user_id: viewer.id,
        auth_time: session.get::<i64>(AUTH_TIME).ok().flatten(),
    })
}

/// `GET/POST /oauth2/authorize`: the consent page, a redirect, or an error page. A POST is
/// outside the CSRF guard: other sites send it (OIDC Core §3.1.2.1).
pub async fn start(
    visit: Visit,
    request: ProtocolRequest<AuthorizeRequest>,
) -> Result<HttpResponse, AppError> {
    let Visit {
        ctx,
        session,
        server,
    } = visit;
    let request = request.params;
    match handle(&server, person(&ctx, &session), request.clone(), None).await? {
        Step::Respond(outcome) => Ok(respond(ctx, outcome)),
        Step::SignIn { again } => Ok(sign_in_first(&request, again)),
        Step::Consent(valid) => Ok(consent_page(ctx, request, *valid)),
    }
}

/// `POST /oauth2/authorize/decision`: the person's Allow or Deny (CSRF-checked).
pub async fn decide(visit: Visit, form: web::Form<DecisionForm>) -> Result<HttpResponse, AppError> {
    let DecisionForm { request, decision } = form.into_inner();
    let Some(person) = person(&visit.ctx, &visit.session) else {
        return Ok(error_page(
            ErrorKind::Forbidden,
            "Sign in, then start again from the application.",
        ));
    };
    match handle(&visit.server, Some(person), request.clone(), Some(decision)).await? {
        Step::Respond(outcome) => Ok(respond(visit.ctx, outcome)),
        Step::SignIn { .. } => Ok(sign_in_first(&request, true)),
        Step::Consent(_) => Ok(error_page(ErrorKind::BadRequest, "")),
    }
}

fn respond(ctx: PageContext, outcome: Outcome) -> HttpResponse {
    match outcome {
        Outcome::Redirect(url) => see_other(&url),
        Outcome::Page(message) => error_page(ErrorKind::BadRequest, &message),
        Outcome::Return(returned) => return_page(ctx, returned),
    }
}

/// The sign-in page, then the request again; `again` shows the form to a signed-in person.
fn sign_in_first(request: &AuthorizeRequest, again: bool) -> HttpResponse {
    let next = format!("{}?{}", Url::Authorize, request.after_sign_in().to_query());
    let again = if again { "true" } else { "" };
    let pairs = [("next", next.as_str()), ("again", again)];
    see_other(&Url::Login.with_query(pairs.into_iter().filter(|(_, v)| !v.is_empty())))
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
    let Some(return_url) = returned.return_url() else {
        return error_page(ErrorKind::BadRequest, "The callback address is not valid.");
    };
    // A native app's private-use callback has no host: its scheme names the app.
    let callback_host = url::Url::parse(&returned.redirect_uri)
        .ok()
        .map(|u| u.host_str().unwrap_or(u.scheme()).to_string())
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
    /// The request, carried to the decision.
    hidden: Vec<(String, String)>,
    application_name: String,
    owner: String,
    /// Each scope asked for, with what it lets the application do.
    scopes: Vec<(String, String)>,
}

/// What a scope lets the application do, in words: the OpenID scopes Portico's, an API scope
/// its API's description.
fn describe(scope: &str, description: Option<&str>) -> String {
    match (scope, description) {
        ("openid", _) => "Confirm who you are".to_string(),
        ("profile", _) => "See your name and username".to_string(),
        ("email", _) => "See your email address".to_string(),
        ("offline_access", _) => "Keep this access while you are away".to_string(),
        (_, Some(description)) => description.to_string(),
        (other, None) => format!("Use the “{other}” permission"),
    }
}

#[cfg(test)]
mod render_test;

fn consent_page(ctx: PageContext, request: AuthorizeRequest, valid: Valid) -> HttpResponse {
    let application_name = valid.application_name();
    let scopes = valid
        .scopes
        .iter()
        .map(|s| (s.clone(), describe(s, valid.scope_description(s))))
        .collect();
    render(
        StatusCode::OK,
        &ConsentPage {
            ctx,
            hidden: hidden_fields(&request),
            application_name,
            owner: valid.owner,
            scopes,
        },
    )
}
