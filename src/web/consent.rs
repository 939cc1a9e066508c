//! The pages of `GET/POST /oauth2/authorize`: the consent page (the application, its owner's
//! organisation and the scopes, in words), the page of an error the person may carry back to
//! the application by a link, and the sign-in detour. What a request means — its checks, the
//! remembered consent, the code — is `oauth_server::authorize`'s; this module only draws it.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

use crate::db::DbPool;
use crate::error::AppError;
use crate::oauth_server::authorize::{
    AuthorizeRequest, DecisionForm, Outcome, Returned, Step, Valid, callback_url, handle,
};
use crate::web::errors::{ErrorKind, error_page};
use crate::web::{PageContext, Url, render, see_other};

/// `GET /oauth2/authorize`: the consent page, a redirect, or an error page.
pub async fn start(
    req: HttpRequest,
    ctx: PageContext,
    pool: web::Data<DbPool>,
    query: web::Query<AuthorizeRequest>,
) -> Result<HttpResponse, AppError> {
    let request = query.into_inner();
    let user_id = ctx.viewer.as_ref().map(|v| v.id);
    let issuer = ctx.base_url();
    match handle(&pool, issuer, user_id, request.clone(), None).await? {
        Step::Respond(outcome) => Ok(respond(ctx, outcome)),
        Step::SignIn => Ok(sign_in_first(&req)),
        Step::Consent(valid) => Ok(consent_page(ctx, request, *valid)),
    }
}

/// `POST /oauth2/authorize`: the person's Allow or Deny.
pub async fn decide(
    ctx: PageContext,
    pool: web::Data<DbPool>,
    form: web::Form<DecisionForm>,
) -> Result<HttpResponse, AppError> {
    let DecisionForm { request, decision } = form.into_inner();
    let Some(user_id) = ctx.viewer.as_ref().map(|v| v.id) else {
        return Ok(error_page(
            ErrorKind::Forbidden,
            "Sign in, then start again from the application.",
        ));
    };
    let issuer = ctx.base_url();
    match handle(&pool, issuer, Some(user_id), request, Some(decision)).await? {
        Step::Respond(outcome) => Ok(respond(ctx, outcome)),
        Step::Consent(_) | Step::SignIn => Ok(error_page(ErrorKind::BadRequest, "")),
    }
}

fn respond(ctx: PageContext, outcome: Outcome) -> HttpResponse {
    match outcome {
        Outcome::Redirect(url) => see_other(&url),
        Outcome::Page(message) => error_page(ErrorKind::BadRequest, &message),
        Outcome::Return(returned) => return_page(ctx, returned),
    }
}

fn sign_in_first(req: &HttpRequest) -> HttpResponse {
    let next = format!("{}?{}", req.path(), req.query_string());
    see_other(&Url::Login.query("next", &next))
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
            request,
            application_name,
            owner: valid.owner,
            scopes,
        },
    )
}
