//! The HTML side of Portico: one module per area, each handler short — extract, call one
//! service or model function, render a page or redirect (Post/Redirect/Get).

pub mod account;
pub mod accounts;
pub mod admin;
pub mod apis;
pub mod applications;
pub mod assets;
pub mod consent;
pub mod context;
pub mod errors;
pub mod home;
pub mod one_time;
pub mod pagination;
#[cfg(test)]
pub(crate) mod render_tests;
pub mod unsent_form;
pub mod urls;

use actix_web::http::{StatusCode, header};
use actix_web::{HttpResponse, web};
use askama::Template;

pub use context::{PageContext, SignedIn, flash};
pub use urls::Url;

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

/// A stored time (Unix seconds) as people read it: `2026-11-24 02:35 UTC`.
pub fn datetime(unix: &i64) -> String {
    let format = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute] UTC");
    time::OffsetDateTime::from_unix_timestamp(*unix)
        .ok()
        .and_then(|t| t.format(&format).ok())
        .unwrap_or_default()
}

/// Renders a page with 200 OK.
pub fn ok(page: &impl Template) -> HttpResponse {
    render(StatusCode::OK, page)
}

/// 303 See Other to a local path.
pub fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, location))
        .finish()
}

/// `GET /healthz`: 200 when the database answers.
pub async fn healthz(pool: web::Data<crate::db::DbPool>) -> HttpResponse {
    use diesel::RunQueryDsl;
    let answered = crate::db::run(&pool, |conn| {
        diesel::sql_query("SELECT 1")
            .execute(conn)
            .map_err(crate::db::DbError::from)
    })
    .await
    .is_ok();
    if answered {
        HttpResponse::Ok().content_type("text/plain").body("ok")
    } else {
        HttpResponse::ServiceUnavailable()
            .content_type("text/plain")
            .body("database unavailable")
    }
}
