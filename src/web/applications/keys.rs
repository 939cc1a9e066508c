//! The Production Keys and Sandbox Keys tabs of an application.

use actix_web::{HttpResponse, web};
use askama::Template;

use crate::db::models::applications::Application;
use crate::db::{self, DbPool};
use crate::error::AppError;
use crate::web::{PageContext, SignedIn};

#[derive(Template)]
#[template(path = "applications/keys.html")]
struct KeysPage {
    ctx: PageContext,
    application: Application,
    tab: &'static str,
    environment: &'static str,
}

pub async fn show(
    ctx: PageContext,
    SignedIn(viewer): SignedIn,
    pool: web::Data<DbPool>,
    path: web::Path<(i64, String)>,
) -> Result<HttpResponse, AppError> {
    let (id, key_type) = path.into_inner();
    let (tab, environment) = match key_type.as_str() {
        "production" => ("production", "Production"),
        "sandbox" => ("sandbox", "Sandbox"),
        _ => return Err(AppError::NotFound),
    };
    let application = db::run(&pool, move |conn| {
        Application::find_owned(conn, id, viewer.id)?.ok_or(AppError::NotFound)
    })
    .await?;
    Ok(crate::web::ok(&KeysPage {
        ctx,
        application,
        tab,
        environment,
    }))
}
