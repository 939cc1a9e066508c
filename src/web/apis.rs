//! The API catalog: `/apis` (search and pages), `/apis/{id}` (operations, tiers and the
//! subscribe form), and `POST /apis/{id}/subscribe`.

use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use crate::db::models::api_scopes::ApiScope;
use crate::db::models::apis::{Api, ApiSummary};
use crate::db::models::applications::Application;
use crate::db::models::throttling_policies::ThrottlingPolicy;
use crate::db::{self, DbPool};
use crate::domain::FieldErrors;
use crate::domain::apis::{ApiStatus, Operation};
use crate::domain::applications::SubscriptionStatus;
use crate::domain::ids::ApiId;
use crate::error::AppError;
use crate::services::subscriptions::{self, SubscribeForm, Subscribed};
use crate::web::OnObject;
use crate::web::pagination::Pagination;
use crate::web::{PageContext, Url, form_answer, success};

const PER_PAGE: i64 = 20;

#[derive(Deserialize)]
pub struct CatalogQuery {
    #[serde(default)]
    q: String,
    page: Option<i64>,
}

#[derive(Template)]
#[template(path = "apis/catalog.html")]
struct CatalogPage {
    ctx: PageContext,
    q: String,
    apis: Vec<ApiSummary>,
    pagination: Pagination,
}

#[cfg(test)]
mod render_test;

pub async fn catalog(
    ctx: PageContext,
    pool: web::Data<DbPool>,
    query: web::Query<CatalogQuery>,
) -> Result<HttpResponse, AppError> {
    let CatalogQuery { q, page } = query.into_inner();
    let page = page.unwrap_or(1).max(1);
    let search = q.clone();
    // Stored text never holds a NUL (PostgreSQL text cannot): such a search matches nothing.
    let (apis, total) = if q.contains('\0') {
        (Vec::new(), 0)
    } else {
        db::run(&pool, move |conn| {
            Api::catalog_page(conn, &search, (page - 1) * PER_PAGE, PER_PAGE)
                .map_err(AppError::from)
        })
        .await?
    };
    let list = Url::Apis.with_query(Some(("q", q.as_str())).filter(|_| !q.is_empty()));
    Ok(super::ok(&CatalogPage {
        ctx,
        q,
        apis,
        pagination: Pagination::new(page, PER_PAGE, total, list),
    }))
}

#[derive(Template)]
#[template(path = "apis/show.html")]
struct ApiPage {
    ctx: PageContext,
    api: Api,
    operations: Vec<Operation>,
    tiers: Vec<ThrottlingPolicy>,
    scopes: Vec<ApiScope>,
    applications: Vec<Application>,
    form: SubscribeForm,
    errors: FieldErrors,
}

impl ApiPage {
    /// The API's resource identifier: the `resource` clients name and their tokens' `aud`.
    fn resource(&self) -> String {
        self.api.resource(&self.ctx.base_url())
    }
}

/// Loads what the API page shows; 404 for APIs that are not in the catalog.
async fn api_page(
    ctx: PageContext,
    pool: &DbPool,
    api_id: ApiId,
    form: SubscribeForm,
    errors: FieldErrors,
) -> Result<ApiPage, AppError> {
    // The applications of the organisation the person works in, when they may subscribe them.
    let organisation = ctx
        .viewer
        .as_ref()
        .and_then(|v| v.membership.as_ref())
        .filter(|m| m.may_change_applications())
        .map(|m| m.organisation_id);
    let (api, tiers, scopes, applications) = db::run(pool, move |conn| {
        let api = Api::find(conn, api_id)?
            .filter(|a| a.status.is_listed())
            .ok_or(AppError::NotFound)?;
        let tiers = Api::tiers(conn, api.id)?;
        let scopes = ApiScope::of_api(conn, api.id)?;
        let applications = match organisation {
            Some(id) => Application::all_in(conn, id)?,
            None => Vec::new(),
        };
        Ok::<_, AppError>((api, tiers, scopes, applications))
    })
    .await?;
    Ok(ApiPage {
        ctx,
        operations: api.operations(),
        api,
        tiers,
        scopes,
        applications,
        form,
        errors,
    })
}

pub async fn show(
    ctx: PageContext,
    pool: web::Data<DbPool>,
    path: web::Path<ApiId>,
) -> Result<HttpResponse, AppError> {
    let page = api_page(
        ctx,
        &pool,
        path.into_inner(),
        SubscribeForm::default(),
        FieldErrors::new(),
    )
    .await?;
    Ok(super::ok(&page))
}

pub async fn subscribe(
    ctx: PageContext,
    post: OnObject<ApiId>,
    form: web::Form<SubscribeForm>,
) -> Result<HttpResponse, AppError> {
    let (viewer, session, pool, id) = post.into_parts();
    let api_id = id;
    let form = form.into_inner();
    let result = subscriptions::subscribe(&pool, viewer.actor(), api_id, form.clone()).await;
    let done = |subscribed: Subscribed| {
        let Subscribed {
            application,
            subscription,
            api,
            tier,
        } = subscribed;
        let waiting = match subscription.status {
            SubscriptionStatus::OnHold => ", waiting for an administrator's approval",
            _ => "",
        };
        let name = &application.name;
        let message = format!("“{name}” is subscribed to {api} under {tier}{waiting}.");
        success(
            &session,
            Url::ApplicationSubscriptions(application.id),
            message,
        )
    };
    let again = async |errors| api_page(ctx, &pool, api_id, form, errors).await;
    form_answer(result, done, again).await
}
