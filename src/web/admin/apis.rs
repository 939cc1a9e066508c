//! `/admin/apis`: the API list with statuses and subscription counts, the form to create an
//! API, and its edit page with the operations read from its OpenAPI document.

use actix_web::{HttpResponse, web};
use askama::Template;

use crate::db::DbPool;
use crate::db::models::apis::{AdminApiRow, Api};
use crate::db::models::throttling_policies::ThrottlingPolicy;
use crate::domain::FieldErrors;
use crate::domain::apis::{ApiForm, ApiStatus, MAX_OPENAPI_BYTES, Operation};
use crate::domain::ids::ApiId;
use crate::error::AppError;
use crate::services::apis::{self, ApiDetail};
use crate::web::OnObject;
use crate::web::SignedInRequest;
use crate::web::{PageContext, Url, form_answer, ok, success};

#[derive(Template)]
#[template(path = "admin/apis/list.html")]
struct ApisPage {
    ctx: PageContext,
    rows: Vec<AdminApiRow>,
}

#[cfg(test)]
mod render_test;

#[derive(Template)]
#[template(path = "admin/apis/form.html")]
struct ApiFormPage {
    ctx: PageContext,
    form: ApiForm,
    errors: FieldErrors,
    /// The subscription policies the API may offer as tiers.
    choices: Vec<ThrottlingPolicy>,
    /// The API being edited; `None` on the new-API form.
    current: Option<ApiDetail>,
}

impl ApiFormPage {
    fn new(
        ctx: PageContext,
        form: ApiForm,
        errors: FieldErrors,
        choices: Vec<ThrottlingPolicy>,
        current: Option<ApiDetail>,
    ) -> Self {
        Self {
            ctx,
            form,
            errors,
            choices,
            current,
        }
    }

    /// The resource identifier the API has now (what its tokens' `aud` names).
    fn resource(&self) -> String {
        self.current
            .as_ref()
            .map(|d| d.api.resource(&self.ctx.base_url()))
            .unwrap_or_default()
    }

    /// The statuses the select offers: a new API starts CREATED or PUBLISHED; an existing one
    /// may stay or move along its lifecycle.
    fn statuses(&self) -> Vec<ApiStatus> {
        match &self.current {
            Some(detail) => detail.api.status.choices(),
            None => ApiStatus::INITIAL.to_vec(),
        }
    }

    /// Whether the API being edited has an OpenAPI document stored.
    fn has_stored_document(&self) -> bool {
        self.current
            .as_ref()
            .is_some_and(|d| d.api.openapi_document.is_some())
    }

    fn operations(&self) -> Vec<Operation> {
        self.current
            .as_ref()
            .map(|d| d.api.operations())
            .unwrap_or_default()
    }

    fn max_document_kib(&self) -> usize {
        MAX_OPENAPI_BYTES / 1024
    }
}

/// The form as an existing API fills it; the document field starts empty (empty keeps it).
fn form_of(detail: &ApiDetail) -> ApiForm {
    ApiForm {
        name: detail.api.name.clone(),
        version: detail.api.version.clone(),
        context: detail.api.context.clone(),
        description: detail.api.description.clone(),
        tiers: detail.tiers.iter().map(|t| t.name.clone()).collect(),
        status: detail.api.status.as_str().to_string(),
        openapi_document: String::new(),
        remove_openapi_document: None,
        resource_identifier: detail.api.resource_identifier.clone().unwrap_or_default(),
        read_document: None,
    }
}

/// `GET /admin/apis`.
pub async fn list(ctx: PageContext, pool: web::Data<DbPool>) -> Result<HttpResponse, AppError> {
    let rows = apis::list(&pool).await?;
    Ok(ok(&ApisPage { ctx, rows }))
}

/// `GET /admin/apis/new`.
pub async fn new_form(ctx: PageContext, pool: web::Data<DbPool>) -> Result<HttpResponse, AppError> {
    let choices = apis::tier_choices(&pool).await?;
    let form = ApiForm::blank();
    Ok(ok(&ApiFormPage::new(
        ctx,
        form,
        FieldErrors::new(),
        choices,
        None,
    )))
}

/// `POST /admin/apis`: 303 to the new API's page.
pub async fn create(
    ctx: PageContext,
    post: SignedInRequest,
    pairs: web::Form<Vec<(String, String)>>,
) -> Result<HttpResponse, AppError> {
    let (admin, session, pool) = post.into_parts();
    let form = ApiForm::from_pairs(pairs.into_inner());
    let result = apis::create(&pool, admin.actor(), form.clone()).await;
    let done = |api: Api| {
        tracing::info!(admin_id = %admin.id, api_id = %api.id, "API created");
        let message = format!("The API {} {} was created.", api.name, api.version);
        success(&session, Url::AdminApi(api.id), message)
    };
    let again = async |errors| {
        let choices = apis::tier_choices(&pool).await?;
        Ok(ApiFormPage::new(ctx, form, errors, choices, None))
    };
    form_answer(result, done, again).await
}

/// `GET /admin/apis/{id}`.
pub async fn edit(
    ctx: PageContext,
    pool: web::Data<DbPool>,
    path: web::Path<ApiId>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let (detail, choices) = apis::detail(&pool, id).await?;
    let form = form_of(&detail);
    Ok(ok(&ApiFormPage::new(
        ctx,
        form,
        FieldErrors::new(),
        choices,
        Some(detail),
    )))
}

/// `POST /admin/apis/{id}`: 303 back to the API's page.
pub async fn update(
    ctx: PageContext,
    post: OnObject<ApiId>,
    pairs: web::Form<Vec<(String, String)>>,
) -> Result<HttpResponse, AppError> {
    let (admin, session, pool, id) = post.into_parts();
    let form = ApiForm::from_pairs(pairs.into_inner());
    let result = apis::update(&pool, admin.actor(), id, form.clone()).await;
    let done = |api: Api| {
        tracing::info!(admin_id = %admin.id, api_id = %api.id, "API updated");
        let message = format!("The API {} {} was saved.", api.name, api.version);
        success(&session, Url::AdminApi(id), message)
    };
    let again = async |errors| {
        let (detail, choices) = apis::detail(&pool, id).await?;
        Ok(ApiFormPage::new(ctx, form, errors, choices, Some(detail)))
    };
    form_answer(result, done, again).await
}
