//! The styled error pages (403, 404, 409, 413, 429, 500, ...), and how an `AppError` becomes
//! one.

use actix_web::http::StatusCode;
use actix_web::{HttpMessage, HttpRequest, HttpResponse, ResponseError};
use askama::Template;

use super::context::PageContext;
use crate::error::AppError;
/// Kept here while `security` and `oauth_server` still import it from `web`; its home is
/// `crate::error`.
pub use crate::error::ErrorKind;

impl ResponseError for AppError {
    fn status_code(&self) -> StatusCode {
        self.kind().status()
    }

    fn error_response(&self) -> HttpResponse {
        let kind = self.kind();
        if kind == ErrorKind::Internal {
            tracing::error!(error = %crate::error::chain(self), "request failed");
        }
        if let AppError::Database(e) = self {
            crate::db::note_reachability(Some(e));
        }
        error_page(kind, &self.message())
    }
}

#[derive(Template)]
#[template(path = "errors/error.html")]
pub struct ErrorPage<'a> {
    pub ctx: PageContext,
    pub code: u16,
    pub title: &'a str,
    pub message: &'a str,
}

/// A styled error page with the given status; an empty message uses the kind's default.
pub fn error_page(kind: ErrorKind, message: &str) -> HttpResponse {
    let message = if message.is_empty() {
        kind.default_message()
    } else {
        message
    };
    let mut response = render_error(PageContext::blank(), kind, message);
    // Kept so that `frame_errors` can draw the page again inside the visitor's own frame.
    response.extensions_mut().insert(ErrorInfo {
        kind,
        message: message.to_string(),
    });
    response
}

fn render_error(ctx: PageContext, kind: ErrorKind, message: &str) -> HttpResponse {
    let page = ErrorPage {
        ctx,
        code: kind.status().as_u16(),
        title: kind.title(),
        message,
    };
    super::render(kind.status(), &page)
}

/// What an error page said, for drawing it again with the signed-in person's navigation.
#[derive(Debug, Clone)]
pub struct ErrorInfo {
    kind: ErrorKind,
    message: String,
}

/// Middleware: error pages are made where no request is at hand (`AppError`, guards); this
/// draws them again with the visitor's frame (their name, the Admin link, sign-out).
pub async fn frame_errors(
    req: actix_web::dev::ServiceRequest,
    next: actix_web::middleware::Next<impl actix_web::body::MessageBody + 'static>,
) -> Result<
    actix_web::dev::ServiceResponse<actix_web::body::EitherBody<impl actix_web::body::MessageBody>>,
    actix_web::Error,
> {
    let response = next.call(req).await?;
    let info = response.response().extensions().get::<ErrorInfo>().cloned();
    let signed_in = response
        .request()
        .extensions()
        .get::<super::context::Viewer>()
        .is_some();
    match info {
        Some(info) if signed_in => {
            let (request, _) = response.into_parts();
            let ctx = PageContext::of(&request);
            let framed = render_error(ctx, info.kind, &info.message);
            Ok(actix_web::dev::ServiceResponse::new(request, framed).map_into_right_body())
        }
        _ => Ok(response.map_into_left_body()),
    }
}

/// The answer for every path no route matches.
pub async fn not_found(_req: HttpRequest) -> HttpResponse {
    error_page(ErrorKind::NotFound, "")
}
