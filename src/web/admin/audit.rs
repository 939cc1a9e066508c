//! `GET /admin/audit`: the audit trail, filtered by actor, action, object type and time.

use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use crate::db::models::audit_events::{AuditEvent, AuditFilter};
use crate::db::{self, DbPool};
use crate::error::AppError;
use crate::web::pagination::Pagination;
use crate::web::{PageContext, Url};

const PER_PAGE: i64 = 50;

#[derive(Deserialize)]
pub struct AuditQuery {
    #[serde(default)]
    actor: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    object_type: String,
    /// `YYYY-MM-DD`, inclusive.
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    page: Option<i64>,
}

#[derive(Template)]
#[template(path = "admin/audit.html")]
struct AuditPage {
    ctx: PageContext,
    query: AuditQuery,
    events: Vec<AuditEvent>,
    pagination: Pagination,
    date_error: Option<String>,
}

#[cfg(test)]
mod render_test;

impl AuditPage {
    /// The date error as a field error, for the form macro: it belongs to the first date
    /// that does not parse.
    fn errors(&self) -> crate::domain::FieldErrors {
        let field = if day_start(&self.query.from).is_err() {
            "from"
        } else {
            "to"
        };
        self.date_error
            .as_ref()
            .map_or_else(crate::domain::FieldErrors::new, |message| {
                crate::domain::FieldErrors::single(field, message.as_str())
            })
    }
}

pub const ACTIONS: &[&str] = &[
    "create",
    "update",
    "delete",
    "subscribe",
    "unsubscribe",
    "approve",
    "reject",
    "lock",
    "unlock",
    "generate",
    "map",
    "regenerate_secret",
    "remove",
    "generate_token",
    "resolve",
    "sign_up",
    "sign_in",
    "sign_in_failed",
    "sign_in_throttled",
];
pub const OBJECT_TYPES: &[&str] = &[
    "application",
    "subscription",
    "api",
    "throttling_policy",
    "keys",
    "gateway",
    "key_manager",
    "key_manager_task",
    "user_roles",
    "account",
];

/// The first second of a `YYYY-MM-DD` day (UTC), or None for an empty field.
fn day_start(text: &str) -> Result<Option<i64>, String> {
    if text.trim().is_empty() {
        return Ok(None);
    }
    let format = time::macros::format_description!("[year]-[month]-[day]");
    time::Date::parse(text.trim(), &format)
        .map(|d| Some(d.midnight().assume_utc().unix_timestamp()))
        .map_err(|_| format!("“{}” is not a date like 2026-11-24.", text.trim()))
}

impl AuditQuery {
    /// The filter the query asks for; with dates that cannot be read, none of them and why.
    fn filter(&self) -> (AuditFilter, Option<String>) {
        let (from, to, date_error) = match (day_start(&self.from), day_start(&self.to)) {
            (Ok(from), Ok(to)) => (from, to.map(|t| t + 86_399), None),
            (Err(e), _) | (_, Err(e)) => (None, None, Some(e)),
        };
        let filter = AuditFilter {
            actor: self.actor.clone(),
            action: self.action.clone(),
            object_type: self.object_type.clone(),
            from,
            to,
            organisation: None,
        };
        (filter, date_error)
    }

    /// The list's URL with the query's filters, for the links to other pages.
    fn url(&self) -> String {
        Url::Audit.with_query([
            ("actor", self.actor.as_str()),
            ("action", &self.action),
            ("object_type", &self.object_type),
            ("from", &self.from),
            ("to", &self.to),
        ])
    }
}

pub async fn list(
    ctx: PageContext,
    pool: web::Data<DbPool>,
    query: web::Query<AuditQuery>,
) -> Result<HttpResponse, AppError> {
    let (filter, date_error) = query.filter();
    let page = query.page.unwrap_or(1).max(1);
    // Nothing stored holds a NUL (PostgreSQL text cannot): such a filter matches nothing.
    let nul = [&filter.actor, &filter.action, &filter.object_type]
        .iter()
        .any(|v| v.contains('\0'));
    let (events, total) = if nul {
        (Vec::new(), 0)
    } else {
        db::run(&pool, move |conn| {
            AuditEvent::page(conn, &filter, (page - 1) * PER_PAGE, PER_PAGE).map_err(AppError::from)
        })
        .await?
    };
    Ok(crate::web::ok(&AuditPage {
        ctx,
        pagination: Pagination::new(page, PER_PAGE, total, query.url()),
        query: query.into_inner(),
        events,
        date_error,
    }))
}
