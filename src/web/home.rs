//! The home page: what the portal offers and where a newcomer starts.

use actix_web::HttpResponse;
use askama::Template;

use super::PageContext;

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage {
    ctx: PageContext,
}

#[cfg(test)]
mod render_test;

pub async fn show(ctx: PageContext) -> HttpResponse {
    super::ok(&HomePage { ctx })
}
