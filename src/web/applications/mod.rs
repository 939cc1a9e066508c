//! A TPP's applications: the list, create, the Overview tab (details, edit, delete, history),
//! the Subscriptions tab, and the keys tabs.

pub mod keys;

use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use crate::db::models::applications::{Application, ApplicationListItem};
use crate::db::models::audit_events::AuditEvent;
use crate::db::models::organisations::Membership;
use crate::db::models::subscriptions::{Subscription, SubscriptionLine};
use crate::db::models::throttling_policies::ThrottlingPolicy;
use crate::db::{self, DbPool};
use crate::domain::FieldErrors;
use crate::domain::applications::{ApplicationForm, SubscriptionStatus};
use crate::domain::ids::ApplicationId;
use crate::domain::ids::UserId;
use crate::domain::policies::PolicyLevel;
use crate::error::AppError;
use crate::key_managers::Connectors;
use crate::services::{applications, organisations, subscriptions};
use crate::web::OnObject;
use crate::web::SignedInRequest;
use crate::web::pagination::Pagination;
use crate::web::{PageContext, SignedIn, Url, form_answer, success};

const PER_PAGE: i64 = 20;

#[derive(Deserialize)]
pub struct ListQuery {
    page: Option<i64>,
}

#[derive(Template)]
#[template(path = "applications/list.html")]
struct ListPage {
    ctx: PageContext,
    items: Vec<ApplicationListItem>,
    pagination: Pagination,
}

impl ListPage {
    fn membership(&self) -> Option<&Membership> {
        self.ctx.viewer.as_ref().and_then(|v| v.membership.as_ref())
    }

    fn may_create(&self) -> bool {
        self.membership()
            .is_some_and(Membership::may_change_applications)
    }
}

#[cfg(test)]
mod render_test;

pub async fn list(
    ctx: PageContext,
    SignedIn(viewer): SignedIn,
    pool: web::Data<DbPool>,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, AppError> {
    let page = query.page.unwrap_or(1).max(1);
    let organisation = viewer.membership.as_ref().map(|m| m.organisation_id);
    let (items, total) = db::run(&pool, move |conn| match organisation {
        Some(organisation) => {
            Application::page_in(conn, organisation, (page - 1) * PER_PAGE, PER_PAGE)
                .map_err(AppError::from)
        }
        None => Ok((Vec::new(), 0)),
    })
    .await?;
    let pagination = Pagination::new(page, PER_PAGE, total, Url::Applications.to_string());
    Ok(super::ok(&ListPage {
        ctx,
        items,
        pagination,
    }))
}

#[derive(Template)]
#[template(path = "applications/new.html")]
struct NewPage {
    ctx: PageContext,
    form: ApplicationForm,
    errors: FieldErrors,
    policies: Vec<ThrottlingPolicy>,
}

async fn application_policies(pool: &DbPool) -> Result<Vec<ThrottlingPolicy>, AppError> {
    db::run(pool, |conn| {
        ThrottlingPolicy::list(conn, PolicyLevel::Application).map_err(AppError::from)
    })
    .await
}

pub async fn new(ctx: PageContext, pool: web::Data<DbPool>) -> Result<HttpResponse, AppError> {
    let policies = application_policies(&pool).await?;
    let form = ApplicationForm {
        throttling_policy: "Unlimited".into(),
        ..Default::default()
    };
    Ok(super::ok(&NewPage {
        ctx,
        form,
        errors: FieldErrors::new(),
        policies,
    }))
}

pub async fn create(
    ctx: PageContext,
    post: SignedInRequest,
    form: web::Form<ApplicationForm>,
) -> Result<HttpResponse, AppError> {
    let (viewer, session, pool) = post.into_parts();
    let form = form.into_inner();
    let result = applications::create(&pool, viewer.actor(), form.clone()).await;
    let done = |application: Application| {
        let message = format!(
            "Application “{}” created. Subscribe it to APIs, then generate its keys.",
            application.name
        );
        success(&session, Url::Application(application.id), message)
    };
    let again = async |errors| {
        let policies = application_policies(&pool).await?;
        Ok(NewPage {
            ctx,
            form,
            errors,
            policies,
        })
    };
    form_answer(result, done, again).await
}

#[derive(Template)]
#[template(path = "applications/overview.html")]
struct OverviewPage {
    ctx: PageContext,
    application: Application,
    policy: Option<ThrottlingPolicy>,
    policies: Vec<ThrottlingPolicy>,
    form: ApplicationForm,
    errors: FieldErrors,
    history: Vec<AuditEvent>,
    tab: &'static str,
    /// False for a Viewer: the page offers no change.
    may_change: bool,
}

/// The application `user_id` may read, and whether they may change it.
fn readable(
    conn: &mut db::DbConnection,
    id: ApplicationId,
    user_id: UserId,
) -> Result<(Application, bool), AppError> {
    let (application, access) = organisations::readable(conn, id, user_id)?;
    Ok((application, organisations::may_change(access).is_ok()))
}

async fn overview_page(
    ctx: PageContext,
    pool: &DbPool,
    user_id: UserId,
    id: ApplicationId,
    form: Option<ApplicationForm>,
    errors: FieldErrors,
) -> Result<OverviewPage, AppError> {
    let (application, may_change, policy, policies, history) = db::run(pool, move |conn| {
        let (application, may_change) = readable(conn, id, user_id)?;
        let policies = ThrottlingPolicy::list(conn, PolicyLevel::Application)?;
        let policy = ThrottlingPolicy::find(conn, application.policy_id)?;
        let history = AuditEvent::for_application(conn, &application, 50)?;
        Ok::<_, AppError>((application, may_change, policy, policies, history))
    })
    .await?;
    let form = form.unwrap_or_else(|| ApplicationForm {
        name: application.name.clone(),
        throttling_policy: policy.as_ref().map(|p| p.name.clone()).unwrap_or_default(),
        description: application.description.clone(),
    });
    Ok(OverviewPage {
        ctx,
        application,
        policy,
        policies,
        form,
        errors,
        history,
        tab: "overview",
        may_change,
    })
}

pub async fn show(
    ctx: PageContext,
    request: OnObject<ApplicationId>,
) -> Result<HttpResponse, AppError> {
    let (viewer, _, pool, id) = request.into_parts();
    let page = overview_page(ctx, &pool, viewer.id, id, None, FieldErrors::new()).await?;
    Ok(super::ok(&page))
}

pub async fn update(
    ctx: PageContext,
    post: OnObject<ApplicationId>,
    form: web::Form<ApplicationForm>,
) -> Result<HttpResponse, AppError> {
    let (viewer, session, pool, id) = post.into_parts();
    let form = form.into_inner();
    let result = applications::update(&pool, viewer.actor(), id, form.clone()).await;
    let done = |application: Application| {
        let message = format!("Application “{}” saved.", application.name);
        success(&session, Url::Application(id), message)
    };
    let again = async |errors| overview_page(ctx, &pool, viewer.id, id, Some(form), errors).await;
    form_answer(result, done, again).await
}

pub async fn delete(
    post: OnObject<ApplicationId>,
    connectors: web::Data<Connectors>,
) -> Result<HttpResponse, AppError> {
    let (viewer, session, pool, id) = post.into_parts();
    let application = applications::delete(&pool, &connectors, viewer.actor(), id).await?;
    let message = format!("Application “{}” deleted.", application.name);
    Ok(success(&session, Url::Applications, message))
}

#[derive(Template)]
#[template(path = "applications/subscriptions.html")]
struct SubscriptionsPage {
    ctx: PageContext,
    application: Application,
    subscriptions: Vec<SubscriptionLine>,
    tab: &'static str,
    may_change: bool,
}

pub async fn subscriptions_tab(
    ctx: PageContext,
    request: OnObject<ApplicationId>,
) -> Result<HttpResponse, AppError> {
    let (viewer, _, pool, id) = request.into_parts();
    let (application, may_change, subscriptions) = db::run(&pool, move |conn| {
        let (application, may_change) = readable(conn, id, viewer.id)?;
        let subscriptions = Subscription::lines_of(conn, id)?;
        Ok::<_, AppError>((application, may_change, subscriptions))
    })
    .await?;
    Ok(super::ok(&SubscriptionsPage {
        ctx,
        application,
        subscriptions,
        tab: "subscriptions",
        may_change,
    }))
}

pub async fn unsubscribe(
    request: OnObject<(ApplicationId, i64)>,
) -> Result<HttpResponse, AppError> {
    let (viewer, session, pool, (id, subscription_id)) = request.into_parts();
    subscriptions::unsubscribe(&pool, viewer.actor(), id, subscription_id).await?;
    let message = "Subscription removed.";
    Ok(success(
        &session,
        Url::ApplicationSubscriptions(id),
        message,
    ))
}

/// The badge class of a subscription status.
pub fn status_badge(status: &SubscriptionStatus) -> &'static str {
    match status {
        SubscriptionStatus::Active => "badge-success",
        SubscriptionStatus::OnHold => "badge-warning",
        SubscriptionStatus::Rejected => "badge-danger",
    }
}
