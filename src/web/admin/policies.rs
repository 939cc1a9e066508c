//! `/admin/throttling-policies`: the list of application and subscription policies, the form
//! to create one, the form to edit one, and delete (refused while the policy is in use).

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;

use crate::db::DbPool;
use crate::db::models::throttling_policies::ThrottlingPolicy;
use crate::domain::FieldErrors;
use crate::domain::policies::{NewPolicy, PolicyForm, PolicyLevel, TimeUnit};
use crate::error::AppError;
use crate::services::ServiceError;
use crate::services::policies::{self, PolicyOverview, PolicyRow};
use crate::web::{PageContext, SignedIn, flash, ok, render, see_other};

const LIST: &str = "/admin/throttling-policies";

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
    ok(&PolicyFormPage {
        ctx,
        form: PolicyForm::blank(),
        errors: FieldErrors::new(),
        current: None,
    })
}

/// `POST /admin/throttling-policies`.
pub async fn create(
    ctx: PageContext,
    SignedIn(admin): SignedIn,
    session: Session,
    pool: web::Data<DbPool>,
    form: web::Form<PolicyForm>,
) -> Result<HttpResponse, AppError> {
    let form = form.into_inner();
    let rerender = |ctx, form, errors, status| {
        render(
            status,
            &PolicyFormPage {
                ctx,
                form,
                errors,
                current: None,
            },
        )
    };
    let created = match NewPolicy::parse(&form) {
        Ok(new) => policies::create(&pool, admin.actor(), new).await,
        Err(errors) => Err(ServiceError::Invalid(errors)),
    };
    match created {
        Ok(policy) => {
            tracing::info!(admin_id = %admin.id, policy_id = policy.id, "policy created");
            flash(
                &session,
                "success",
                format!("The {} policy {} was created.", policy.level, policy.name),
            );
            Ok(see_other(LIST))
        }
        Err(error) => {
            let (status, errors) = AppError::from(error).into_form()?;
            Ok(rerender(ctx, form, errors, status))
        }
    }
}

/// `GET /admin/throttling-policies/{id}`.
pub async fn edit(
    ctx: PageContext,
    pool: web::Data<DbPool>,
    path: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let row = policies::find(&pool, path.into_inner()).await?;
    Ok(ok(&PolicyFormPage {
        ctx,
        form: form_of(&row.policy),
        errors: FieldErrors::new(),
        current: Some(row),
    }))
}

/// `POST /admin/throttling-policies/{id}`: level and name are fixed, other fields change.
pub async fn update(
    ctx: PageContext,
    SignedIn(admin): SignedIn,
    session: Session,
    pool: web::Data<DbPool>,
    path: web::Path<i64>,
    form: web::Form<PolicyForm>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let form = form.into_inner();
    match policies::update(&pool, admin.actor(), id, form.clone()).await {
        Ok(policy) => {
            tracing::info!(admin_id = %admin.id, policy_id = policy.id, "policy updated");
            flash(
                &session,
                "success",
                format!("The {} policy {} was saved.", policy.level, policy.name),
            );
            Ok(see_other(LIST))
        }
        Err(error) => {
            let (status, errors) = AppError::from(error).into_form()?;
            // Re-render with the stored policy's fixed fields and the values as sent.
            let row = policies::find(&pool, id).await?;
            let form = PolicyForm {
                level: row.policy.level.as_str().to_string(),
                name: row.policy.name.clone(),
                ..form
            };
            Ok(render(
                status,
                &PolicyFormPage {
                    ctx,
                    form,
                    errors,
                    current: Some(row),
                },
            ))
        }
    }
}

/// `POST /admin/throttling-policies/{id}/delete`: refused (409, with what uses it) while
/// applications, subscriptions or API tiers use the policy.
pub async fn delete(
    ctx: PageContext,
    SignedIn(admin): SignedIn,
    session: Session,
    pool: web::Data<DbPool>,
    path: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    match policies::delete(&pool, admin.actor(), path.into_inner()).await {
        Ok(policy) => {
            tracing::info!(admin_id = %admin.id, policy_id = policy.id, "policy deleted");
            flash(
                &session,
                "success",
                format!("The {} policy {} was deleted.", policy.level, policy.name),
            );
            Ok(see_other(LIST))
        }
        Err(ServiceError::Conflict(problem)) => {
            let overview = policies::overview(&pool).await?;
            Ok(render(
                StatusCode::CONFLICT,
                &PoliciesPage {
                    ctx,
                    overview,
                    problem,
                },
            ))
        }
        Err(e) => Err(e.into()),
    }
}
