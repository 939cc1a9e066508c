//! `/admin/throttling-policies`: the list of application and subscription policies, the form
//! to create one, the form to edit one, and delete (refused while the policy is in use).

use actix_web::{HttpResponse, web};
use askama::Template;

use crate::db::DbPool;
use crate::db::models::throttling_policies::ThrottlingPolicy;
use crate::domain::FieldErrors;
use crate::domain::policies::{NewPolicy, PolicyForm, PolicyLevel, TimeUnit};
use crate::error::AppError;
use crate::services::ServiceError;
use crate::services::policies::{self, PolicyOverview, PolicyRow};
use crate::web::OnObject;
use crate::web::SignedInRequest;
use crate::web::admin::{InUse, delete_answer};
use crate::web::{PageContext, Url, form_answer, ok, success};

#[derive(Template)]
#[template(path = "admin/policies/list.html")]
struct PoliciesPage {
    ctx: PageContext,
    overview: PolicyOverview,
    /// Why the last action was refused, shown above the lists.
    problem: String,
}

#[cfg(test)]
mod render_test;

/// One level's table on the list page.
struct Section<'a> {
    title: &'static str,
    level: PolicyLevel,
    rows: &'a [PolicyRow],
}

impl Section<'_> {
    fn is_subscription(&self) -> bool {
        self.level == PolicyLevel::Subscription
    }
}

impl PoliciesPage {
    fn sections(&self) -> [Section<'_>; 2] {
        [
            Section {
                title: "Application policies",
                level: PolicyLevel::Application,
                rows: &self.overview.application,
            },
            Section {
                title: "Subscription policies (tiers)",
                level: PolicyLevel::Subscription,
                rows: &self.overview.subscription,
            },
        ]
    }
}

#[derive(Template)]
#[template(path = "admin/policies/form.html")]
struct PolicyFormPage {
    ctx: PageContext,
    form: PolicyForm,
    errors: FieldErrors,
    /// The policy being edited; `None` on the new-policy form.
    current: Option<PolicyRow>,
}

impl PolicyFormPage {
    fn new(
        ctx: PageContext,
        form: PolicyForm,
        errors: FieldErrors,
        current: Option<PolicyRow>,
    ) -> Self {
        Self {
            ctx,
            form,
            errors,
            current,
        }
    }

    fn levels(&self) -> &'static [PolicyLevel] {
        PolicyLevel::ALL
    }

    fn time_units(&self) -> &'static [TimeUnit] {
        TimeUnit::ALL
    }
}

/// The form as an existing policy fills it.
fn form_of(policy: &ThrottlingPolicy) -> PolicyForm {
    PolicyForm {
        level: policy.level.as_str().to_string(),
        name: policy.name.clone(),
        display_name: policy.display_name.clone(),
        description: policy.description.clone(),
        request_count: policy
            .request_count
            .map(|n| n.to_string())
            .unwrap_or_default(),
        unit_time: policy.unit_time.to_string(),
        time_unit: policy.time_unit.as_str().to_string(),
        requires_approval: policy.requires_approval.then(|| "true".to_string()),
    }
}

/// `GET /admin/throttling-policies`.
pub async fn list(ctx: PageContext, pool: web::Data<DbPool>) -> Result<HttpResponse, AppError> {
    let overview = policies::overview(&pool).await?;
    Ok(ok(&PoliciesPage {
        ctx,
        overview,
        problem: String::new(),
    }))
}

/// `GET /admin/throttling-policies/new`.
pub async fn new_form(ctx: PageContext) -> HttpResponse {
    ok(&PolicyFormPage::new(
        ctx,
        PolicyForm::blank(),
        FieldErrors::new(),
        None,
    ))
}

/// `POST /admin/throttling-policies`.
pub async fn create(
    ctx: PageContext,
    post: SignedInRequest,
    form: web::Form<PolicyForm>,
) -> Result<HttpResponse, AppError> {
    let (admin, session, pool) = post.into_parts();
    let form = form.into_inner();
    let created = match NewPolicy::parse(&form) {
        Ok(new) => policies::create(&pool, admin.actor(), new).await,
        Err(errors) => Err(ServiceError::Invalid(errors)),
    };
    let done = |policy: ThrottlingPolicy| {
        tracing::info!(admin_id = %admin.id, policy_id = policy.id, "policy created");
        let message = format!("The {} policy {} was created.", policy.level, policy.name);
        success(&session, Url::Policies, message)
    };
    let again = async |errors| Ok(PolicyFormPage::new(ctx, form, errors, None));
    form_answer(created, done, again).await
}

/// `GET /admin/throttling-policies/{id}`.
pub async fn edit(
    ctx: PageContext,
    pool: web::Data<DbPool>,
    path: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let row = policies::find(&pool, id).await?;
    let form = form_of(&row.policy);
    Ok(ok(&PolicyFormPage::new(
        ctx,
        form,
        FieldErrors::new(),
        Some(row),
    )))
}

/// `POST /admin/throttling-policies/{id}`: level and name are fixed, other fields change.
pub async fn update(
    ctx: PageContext,
    post: OnObject<i64>,
    form: web::Form<PolicyForm>,
) -> Result<HttpResponse, AppError> {
    let (admin, session, pool, id) = post.into_parts();
    let form = form.into_inner();
    let result = policies::update(&pool, admin.actor(), id, form.clone()).await;
    let done = |policy: ThrottlingPolicy| {
        tracing::info!(admin_id = %admin.id, policy_id = policy.id, "policy updated");
        let message = format!("The {} policy {} was saved.", policy.level, policy.name);
        success(&session, Url::Policies, message)
    };
    // Drawn again with the stored policy's fixed fields and the values as sent.
    let again = async |errors| {
        let row = policies::find(&pool, id).await?;
        let form = PolicyForm {
            level: row.policy.level.as_str().to_string(),
            name: row.policy.name.clone(),
            ..form
        };
        Ok(PolicyFormPage::new(ctx, form, errors, Some(row)))
    };
    form_answer(result, done, again).await
}

/// `POST /admin/throttling-policies/{id}/delete`: refused (409, with what uses it) while
/// applications, subscriptions or API tiers use the policy.
pub async fn delete(ctx: PageContext, post: OnObject<i64>) -> Result<HttpResponse, AppError> {
    let (admin, session, pool, id) = post.into_parts();
    let result = policies::delete(&pool, admin.actor(), id).await;
    let done = |policy: ThrottlingPolicy| {
        tracing::info!(admin_id = %admin.id, policy_id = policy.id, "policy deleted");
        let message = format!("The {} policy {} was deleted.", policy.level, policy.name);
        success(&session, Url::Policies, message)
    };
    let again = async |InUse { problem, .. }| {
        let overview = policies::overview(&pool).await?;
        Ok(PoliciesPage {
            ctx,
            overview,
            problem,
        })
    };
    delete_answer(result, done, again).await
}
