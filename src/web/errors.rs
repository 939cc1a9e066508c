//! The styled error pages (403, 404, 409, 413, 429, 500, ...).

use actix_web::http::StatusCode;
use actix_web::{HttpMessage, HttpRequest, HttpResponse};
use askama::Template;

use super::context::PageContext;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    BadRequest,
    Forbidden,
    NotFound,
    Conflict,
    Unprocessable,
    PayloadTooLarge,
    TooManyRequests,
    Internal,
    BadGateway,
    GatewayTimeout,
}

impl ErrorKind {
    pub fn status(self) -> StatusCode {
        match self {
            ErrorKind::BadRequest => StatusCode::BAD_REQUEST,
            ErrorKind::Forbidden => StatusCode::FORBIDDEN,
            ErrorKind::NotFound => StatusCode::NOT_FOUND,
            ErrorKind::Conflict => StatusCode::CONFLICT,
            ErrorKind::Unprocessable => StatusCode::UNPROCESSABLE_ENTITY,
            ErrorKind::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ErrorKind::TooManyRequests => StatusCode::TOO_MANY_REQUESTS,
            ErrorKind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
            ErrorKind::BadGateway => StatusCode::BAD_GATEWAY,
            ErrorKind::GatewayTimeout => StatusCode::GATEWAY_TIMEOUT,
        }
    }

    fn title(self) -> &'static str {
        match self {
            ErrorKind::BadRequest => "That request could not be understood",
            ErrorKind::Forbidden => "You do not have access to this page",
            ErrorKind::NotFound => "Page not found",
            ErrorKind::Conflict => "That conflicts with something that exists",
            ErrorKind::Unprocessable => "That could not be done",
            ErrorKind::PayloadTooLarge => "That was too large",
            ErrorKind::TooManyRequests => "Too many attempts",
            ErrorKind::Internal => "Something went wrong on our side",
            ErrorKind::BadGateway => "The key manager could not do that",
            ErrorKind::GatewayTimeout => "The key manager did not answer in time",
        }
    }

    fn default_message(self) -> &'static str {
        match self {
            ErrorKind::BadRequest => "Check what you sent and try again.",
            ErrorKind::Forbidden => {
                "Your account is not allowed to do this. If you think it should be, ask an administrator."
            }
            ErrorKind::NotFound => {
                "The page you asked for does not exist, or you do not have access to it."
            }
            ErrorKind::Conflict => "Reload the page to see the current state, then try again.",
            ErrorKind::Unprocessable => "Check what you sent and try again.",
            ErrorKind::PayloadTooLarge => {
                "The form you sent is larger than 64 KiB. Shorten the values and try again."
            }
            ErrorKind::TooManyRequests => "Wait a few minutes, then try again.",
            ErrorKind::Internal => "The error has been logged. Try again in a moment.",
            ErrorKind::BadGateway => {
                "The key manager is unavailable or answered with an error. Nothing was changed; try again in a moment."
            }
            ErrorKind::GatewayTimeout => {
                "The key manager did not answer in time. Nothing was changed; try again in a moment."
            }
        }
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
