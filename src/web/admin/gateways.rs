//! `/admin/gateways`: the API gateways (resource servers) that may introspect any token at the
//! resident authorization server. A gateway is a confidential client marked as a resource
//! server; registering one answers 303 to the list, which shows its secret once (a one-time
//! result, see `web::one_time`).

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use crate::db::models::audit_events::{AuditEvent, Subject};
use crate::db::{self, DbPool};
use crate::domain::{FieldErrors, text};
use crate::error::AppError;
use crate::oauth_server::clients::{ClientSettings, Lifetimes, OAuthClient};
use crate::web::one_time::OneTime;
use crate::web::{PageContext, SignedIn, flash, render, see_other};

const GATEWAYS: &str = "/admin/gateways";

/// A gateway just registered: its client id and secret, shown once.
#[derive(serde::Serialize, Deserialize)]
struct Registered {
    client_id: String,
    client_secret: String,
}

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
    let gateways = db::run(pool, |conn| {
        OAuthClient::resource_servers(conn).map_err(AppError::from)
    })
    .await?;
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
        .take::<Registered>(GATEWAYS)
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
    let name = match text::required_line(&form.name, "Name", 100) {
        Ok(name) => name,
        Err(message) => {
            let page = page(
                ctx,
                &pool,
                &settings,
                form.into_inner().name,
                FieldErrors::single("name", message),
                None,
            )
            .await?;
            return Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &page));
        }
    };
    let actor = admin.actor();
    let gateway_name = name.clone();
    let (client, secret) = db::run(&pool, move |conn| {
        db::write(conn, |conn| {
            let settings = ClientSettings {
                client_name: gateway_name,
                application_id: None,
                key_type: None,
                grant_types: Vec::new(),
                redirect_uris: Vec::new(),
                pkce_mandatory: true,
                pkce_plain_allowed: false,
                public_client: false,
                resource_server: true,
                lifetimes: Lifetimes::default(),
            };
            let (client, secret) = OAuthClient::register(conn, &settings)?;
            let subject = Subject {
                object_type: "gateway",
                object_id: Some(client.id),
                application_id: None,
            };
            AuditEvent::record(
                conn,
                &actor,
                "create",
                subject,
                &format!(
                    "Registered gateway “{}” ({})",
                    client.client_name, client.client_id
                ),
            )?;
            Ok::<_, AppError>((client, secret.unwrap_or_default()))
        })
    })
    .await?;
    let registered = Registered {
        client_id: client.client_id,
        client_secret: secret,
    };
    one_time.keep(GATEWAYS, &registered);
    Ok(see_other(GATEWAYS))
}

pub async fn delete(
    SignedIn(admin): SignedIn,
    session: Session,
    pool: web::Data<DbPool>,
    path: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let actor = admin.actor();
    let name = db::run(&pool, move |conn| {
        db::write(conn, |conn| {
            let gateway = OAuthClient::resource_servers(conn)?
                .into_iter()
                .find(|c| c.id == id)
                .ok_or(AppError::NotFound)?;
            OAuthClient::delete_by_id(conn, id)?;
            let subject = Subject {
                object_type: "gateway",
                object_id: Some(id),
                application_id: None,
            };
            AuditEvent::record(
                conn,
                &actor,
                "delete",
                subject,
                &format!(
                    "Removed gateway “{}” ({})",
                    gateway.client_name, gateway.client_id
                ),
            )?;
            Ok::<_, AppError>(gateway.client_name)
        })
    })
    .await?;
    flash(
        &session,
        "success",
        format!("Gateway “{name}” removed: its credentials stop working at once."),
    );
    Ok(see_other(GATEWAYS))
}
