//! The HTML side of Portico: one module per area, each handler short — extract, call one
//! service or model function, render a page or redirect (Post/Redirect/Get).

pub mod account;
pub mod accounts;
pub mod admin;
pub mod answer;
pub mod apis;
pub mod applications;
pub mod assets;
pub mod consent;
pub mod context;
pub mod end_session;
pub mod errors;
pub mod home;
pub mod invitations;
pub mod one_time;
pub mod organisations;
pub mod pagination;
pub mod protocol;
#[cfg(test)]
pub(crate) mod render_tests;
pub mod signed_in_request;
pub mod unsent_form;
pub mod urls;

use actix_web::{HttpResponse, web};

pub use answer::{form_answer, ok, redirect, render, see_other, success};
pub use context::{PageContext, SignedIn, flash};
pub use signed_in_request::{OnObject, SignedInRequest};
pub use urls::Url;

/// A stored time (Unix seconds) as people read it: `2026-11-24 02:35 UTC`.
pub fn datetime(unix: &i64) -> String {
    let format = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute] UTC");
    time::OffsetDateTime::from_unix_timestamp(*unix)
        .ok()
        .and_then(|t| t.format(&format).ok())
        .unwrap_or_default()
}

/// `GET /healthz`: liveness, 200 while the process serves requests.
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().content_type("text/plain").body("ok")
}

/// `GET /readyz`: 200 when the database answers (its migrations ran before Portico listened),
/// else 503, so that a load balancer sends requests elsewhere meanwhile.
pub async fn readyz(pool: web::Data<crate::db::DbPool>) -> HttpResponse {
    use diesel::RunQueryDsl;
    let answered = crate::db::run(&pool, |conn| {
        diesel::sql_query("SELECT 1")
            .execute(conn)
            .map_err(crate::db::DbError::from)
    })
    .await;
    match answered {
        Ok(_) => HttpResponse::Ok().content_type("text/plain").body("ready"),
        Err(error) => {
            crate::db::note_reachability(Some(&error));
            HttpResponse::ServiceUnavailable()
                .content_type("text/plain")
                .body("database unavailable")
        }
    }
}
