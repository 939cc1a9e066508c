//! How a handler answers, written once: a page (200, or another status for a form drawn again),
//! a 303 See Other (Post/Redirect/Get) with or without a success message, and the answer to a
//! form POST — the redirect when the service did it, else the form again with its field errors.

use std::fmt;

use actix_session::Session;
use actix_web::HttpResponse;
use actix_web::http::{StatusCode, header};
use askama::Template;

use super::Url;
use super::context::flash;
use crate::domain::FieldErrors;
use crate::error::AppError;
use crate::services::ServiceError;

/// Renders a page with a status (forms re-rendered with errors answer 4xx).
pub fn render(status: StatusCode, page: &impl Template) -> HttpResponse {
    match page.render() {
        Ok(html) => HttpResponse::build(status)
            .content_type("text/html; charset=utf-8")
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .body(html),
        Err(e) => {
            tracing::error!(error = %e, "a template failed to render");
            HttpResponse::InternalServerError()
                .content_type("text/plain; charset=utf-8")
                .body("Something went wrong on our side.")
        }
    }
}

/// Renders a page with 200 OK.
pub fn ok(page: &impl Template) -> HttpResponse {
    render(StatusCode::OK, page)
}

/// 303 See Other to a local path (one built from a `Url`, with its query).
pub fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, location))
        .finish()
}

/// 303 See Other to one of Portico's pages.
pub fn redirect(to: Url) -> HttpResponse {
    see_other(&to.to_string())
}

/// 303 See Other to `to` (a `Url`, or a path built from one), whose page shows `message` as a
/// success.
pub fn success(
    session: &Session,
    to: impl fmt::Display,
    message: impl Into<String>,
) -> HttpResponse {
    flash(session, "success", message);
    see_other(&to.to_string())
}

/// The answer to a form POST: `done` with what the service made (a redirect, as a rule); when
/// the service refused the form's values, the page `again` draws with their field errors, at the
/// refusal's status (422, or 409 for a conflict). Any other error is its error page.
pub async fn form_answer<T, P: Template>(
    result: Result<T, ServiceError>,
    done: impl FnOnce(T) -> HttpResponse,
    again: impl AsyncFnOnce(FieldErrors) -> Result<P, AppError>,
) -> Result<HttpResponse, AppError> {
    match result {
        Ok(made) => Ok(done(made)),
        Err(error) => {
            let (status, errors) = AppError::from(error).into_form()?;
            Ok(render(status, &again(errors).await?))
        }
    }
}
