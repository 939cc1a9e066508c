//! `/admin/gateways`: the API gateways (resource servers) that may introspect any token at the
//! resident authorization server. A gateway is a confidential client marked as a resource
//! server; registering one answers 303 to the list, which shows its secret once (a one-time
//! result, see `web::one_time`).

use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use crate::db::DbPool;
use crate::domain::FieldErrors;
use crate::error::AppError;
use crate::oauth_server::clients::OAuthClient;
use crate::services::gateways;
use crate::web::OnObject;
use crate::web::one_time::OneTime;
use crate::web::{PageContext, SignedIn, Url, form_answer, redirect, success};

#[derive(Template)]
#[template(path = "admin/gateways.html")]
struct GatewaysPage {
    ctx: PageContext,
    gateways: Vec<OAuthClient>,
    typed_name: String,
    errors: FieldErrors,
    /// The client id and secret of a gateway just made: shown this once.
    created: Option<(String, String)>,
    introspection_endpoint: String,
}

#[cfg(test)]
mod render_test;

#[derive(Deserialize)]
pub struct GatewayForm {
    #[serde(default)]
    name: String,
}

async fn page(
    ctx: PageContext,
    pool: &DbPool,
    settings: &crate::config::Settings,
    name: String,
    errors: FieldErrors,
    created: Option<(String, String)>,
) -> Result<GatewaysPage, AppError> {
    let gateways = gateways::list(pool).await?;
    let introspection_endpoint = format!("{}/oauth2/introspect", settings.base_url());
    Ok(GatewaysPage {
        ctx,
        gateways,
        typed_name: name,
        errors,
        created,
        introspection_endpoint,
    })
}

/// `GET /admin/gateways`: with, this once, the secret of the gateway just registered.
pub async fn list(
    ctx: PageContext,
    one_time: OneTime,
    pool: web::Data<DbPool>,
    settings: web::Data<crate::config::Settings>,
) -> Result<HttpResponse, AppError> {
    let created = one_time
        .take::<gateways::Registered>(&Url::Gateways.to_string())
        .map(|r| (r.client_id, r.client_secret));
    Ok(crate::web::ok(
        &page(
            ctx,
            &pool,
            &settings,
            String::new(),
            FieldErrors::new(),
            created,
        )
        .await?,
    ))
}

/// `POST /admin/gateways`: 303 to the list, which shows the secret once.
pub async fn create(
    ctx: PageContext,
    SignedIn(admin): SignedIn,
    one_time: OneTime,
    pool: web::Data<DbPool>,
    settings: web::Data<crate::config::Settings>,
    form: web::Form<GatewayForm>,
) -> Result<HttpResponse, AppError> {
    let result = gateways::register(&pool, &admin.actor(), &form.name).await;
    let done = |registered| {
        one_time.keep(&Url::Gateways.to_string(), &registered);
        redirect(Url::Gateways)
    };
    let again = async |errors| {
        let name = form.into_inner().name;
        page(ctx, &pool, &settings, name, errors, None).await
    };
    form_answer(result, done, again).await
}

pub async fn delete(post: OnObject<i64>) -> Result<HttpResponse, AppError> {
    let (admin, session, pool, id) = post.into_parts();
    let name = gateways::remove(&pool, &admin.actor(), id).await?;
    let message = format!("Gateway “{name}” removed: its credentials stop working at once.");
    Ok(success(&session, Url::Gateways, message))
}
