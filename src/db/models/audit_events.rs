//! `audit_events`: who created, changed, deleted, subscribed, approved or rejected what, when.

use crate::db::DbConnection;
use diesel::prelude::*;

use crate::db::models::applications::Application;
use crate::db::now;
use crate::db::schema::{applications, audit_events};
use crate::domain::ids::{ApplicationId, OrganisationId, UserId};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = audit_events)]
pub struct AuditEvent {
    pub id: i64,
    pub actor_id: Option<UserId>,
    pub actor_name: String,
    pub action: String,
    pub object_type: String,
    pub object_id: Option<i64>,
    pub application_id: Option<ApplicationId>,
    pub summary: String,
    pub created_at: i64,
    /// The organisation the event concerns.
    pub organisation_id: Option<OrganisationId>,
}

/// Who acts: a signed-in person, in the organisation they are working in (if any).
#[derive(Debug, Clone)]
pub struct Actor {
    pub id: UserId,
    pub name: String,
    pub organisation: Option<OrganisationId>,
}

/// Who an event is recorded as.
struct By<'a> {
    id: Option<UserId>,
    name: &'a str,
    organisation: Option<OrganisationId>,
}

/// What an event is about.
pub struct Subject<'a> {
    pub object_type: &'a str,
    pub object_id: Option<i64>,
    /// The application the event belongs to, for its owner's history.
    pub application_id: Option<ApplicationId>,
}

/// Filters of the admin's audit view.
#[derive(Debug, Default, Clone, serde::Deserialize)]
pub struct AuditFilter {
    #[serde(default)]
    pub actor: String,
    #[serde(default)]
    pub action: String,
    #[serde(default)]
    pub object_type: String,
    /// Unix seconds, inclusive.
    pub from: Option<i64>,
    pub to: Option<i64>,
    /// Only this organisation's events (an organisation's own history; never from a query).
    #[serde(skip)]
    pub organisation: Option<OrganisationId>,
}

impl AuditEvent {
    /// Writes one event; call inside the transaction of the change it records.
    pub fn record(
        conn: &mut DbConnection,
        actor: &Actor,
        action: &str,
        subject: Subject,
        summary: &str,
    ) -> QueryResult<()> {
        let by = By {
            id: Some(actor.id),
            name: &actor.name,
            organisation: actor.organisation,
        };
        Self::record_by(conn, &by, action, subject, summary)
    }

    /// Writes one event whose actor may be nobody signed in (`actor_id` None): a failed or
    /// throttled sign-in.
    pub fn record_as(
        conn: &mut DbConnection,
        actor_id: Option<UserId>,
        actor_name: &str,
        action: &str,
        subject: Subject,
        summary: &str,
    ) -> QueryResult<()> {
        let by = By {
            id: actor_id,
            name: actor_name,
            organisation: None,
        };
        Self::record_by(conn, &by, action, subject, summary)
    }

    /// The event is the organisation's whose application it concerns, else the organisation
    /// the actor works in.
    fn record_by(
        conn: &mut DbConnection,
        by: &By,
        action: &str,
        subject: Subject,
        summary: &str,
    ) -> QueryResult<()> {
        let of_application = match subject.application_id {
            Some(id) => applications::table
                .find(id)
                .select(applications::organisation_id)
                .first::<Option<OrganisationId>>(conn)
                .optional()?
                .flatten(),
            None => None,
        };
        diesel::insert_into(audit_events::table)
            .values((
                audit_events::actor_id.eq(by.id),
                audit_events::actor_name.eq(by.name),
                audit_events::organisation_id.eq(of_application.or(by.organisation)),
                audit_events::action.eq(action),
                audit_events::object_type.eq(subject.object_type),
                audit_events::object_id.eq(subject.object_id),
                audit_events::application_id.eq(subject.application_id),
                audit_events::summary.eq(summary),
                audit_events::created_at.eq(now()),
            ))
            .execute(conn)?;
        Ok(())
    }

    /// The newest events of one application, from its creation on.
    ///
    /// Ids are never handed out twice (AUTOINCREMENT), but a database from before that may
    /// hold a deleted application's events under the id a later application got. Its history
    /// starts at its own "create" event, written in the transaction that made the row, and
    /// never before the row was made: nothing recorded earlier under its id is its own.
    pub fn for_application(
        conn: &mut DbConnection,
        application: &Application,
        limit: i64,
    ) -> QueryResult<Vec<AuditEvent>> {
        let created = audit_events::table
            .filter(audit_events::application_id.eq(application.id))
            .filter(audit_events::object_type.eq("application"))
            .filter(audit_events::action.eq("create"))
            .select(diesel::dsl::max(audit_events::id))
            .first::<Option<i64>>(conn)?;
        audit_events::table
            .filter(audit_events::application_id.eq(application.id))
            .filter(audit_events::id.ge(created.unwrap_or(0)))
            .filter(audit_events::created_at.ge(application.created_at))
            .order(audit_events::id.desc())
            .limit(limit)
            .select(AuditEvent::as_select())
            .load(conn)
    }

    /// One page of events matching the filter, newest first, and how many match in all.
    pub fn page(
        conn: &mut DbConnection,
        filter: &AuditFilter,
        offset: i64,
        limit: i64,
    ) -> QueryResult<(Vec<AuditEvent>, i64)> {
        let query = || {
            let mut query = audit_events::table.into_boxed();
            if !filter.actor.trim().is_empty() {
                query = query.filter(audit_events::actor_name.eq(filter.actor.trim().to_string()));
            }
            if !filter.action.trim().is_empty() {
                query = query.filter(audit_events::action.eq(filter.action.trim().to_string()));
            }
            if !filter.object_type.trim().is_empty() {
                query = query
                    .filter(audit_events::object_type.eq(filter.object_type.trim().to_string()));
            }
            if let Some(from) = filter.from {
                query = query.filter(audit_events::created_at.ge(from));
            }
            if let Some(to) = filter.to {
                query = query.filter(audit_events::created_at.le(to));
            }
            if let Some(organisation) = filter.organisation {
                query = query.filter(audit_events::organisation_id.eq(organisation));
            }
            query
        };
        let total = query().count().get_result(conn)?;
        let events = query()
            .order(audit_events::id.desc())
            .offset(offset)
            .limit(limit)
            .select(AuditEvent::as_select())
            .load(conn)?;
        Ok((events, total))
    }
}
