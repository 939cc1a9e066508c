//! `throttling_policies`: application-level policies and the subscription tiers APIs allow.

use crate::db::DbConnection;
use std::collections::HashMap;

use diesel::dsl::{Eq, count_star};
use diesel::prelude::*;

use crate::db::now;
use crate::db::rows::FirstRow;
use crate::db::schema::{api_tiers, applications, subscriptions, throttling_policies};
use crate::domain::policies::{NewPolicy, PolicyChanges, PolicyLevel, PolicyUses, TimeUnit};

#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = throttling_policies)]
pub struct ThrottlingPolicy {
    pub id: i64,
    pub level: PolicyLevel,
    pub name: String,
    pub display_name: String,
    pub description: String,
    pub request_count: Option<i64>,
    pub unit_time: i32,
    pub time_unit: TimeUnit,
    pub requires_approval: bool,
    pub created_at: i64,
    pub updated_at: i64,
}

/// The columns of a policy's changeable fields, as an insert and an update write them.
type Columns<'a> = (
    Eq<throttling_policies::display_name, &'a String>,
    Eq<throttling_policies::description, &'a String>,
    Eq<throttling_policies::request_count, Option<i64>>,
    Eq<throttling_policies::unit_time, i32>,
    Eq<throttling_policies::time_unit, TimeUnit>,
    Eq<throttling_policies::requires_approval, bool>,
);

fn columns(changes: &PolicyChanges) -> Columns<'_> {
    (
        throttling_policies::display_name.eq(&changes.display_name),
        throttling_policies::description.eq(&changes.description),
        throttling_policies::request_count.eq(changes.request_count),
        throttling_policies::unit_time.eq(changes.unit_time),
        throttling_policies::time_unit.eq(changes.time_unit),
        throttling_policies::requires_approval.eq(changes.requires_approval),
    )
}

impl ThrottlingPolicy {
    /// "10 requests per 1 minute", or "Unlimited".
    pub fn quota(&self) -> String {
        match self.request_count {
            None => "No request limit".to_string(),
            Some(count) if self.unit_time == 1 => {
                format!("{count} requests per {}", self.time_unit.label(1))
            }
            Some(count) => format!(
                "{count} requests per {} {}",
                self.unit_time,
                self.time_unit.label(self.unit_time)
            ),
        }
    }

    pub fn find(conn: &mut DbConnection, id: i64) -> QueryResult<Option<Self>> {
        throttling_policies::table.find(id).first_row(conn)
    }

    pub fn find_by_name(
        conn: &mut DbConnection,
        level: PolicyLevel,
        name: &str,
    ) -> QueryResult<Option<Self>> {
        throttling_policies::table
            .filter(throttling_policies::level.eq(level))
            .filter(throttling_policies::name.eq(name))
            .first_row(conn)
    }

    /// Every policy of a level, by name.
    pub fn list(conn: &mut DbConnection, level: PolicyLevel) -> QueryResult<Vec<Self>> {
        throttling_policies::table
            .filter(throttling_policies::level.eq(level))
            .order(throttling_policies::name.asc())
            .select(Self::as_select())
            .load(conn)
    }

    /// Every policy, application level first, each level by name.
    pub fn list_all(conn: &mut DbConnection) -> QueryResult<Vec<Self>> {
        throttling_policies::table
            .order((
                throttling_policies::level.asc(),
                throttling_policies::name.asc(),
            ))
            .select(Self::as_select())
            .load(conn)
    }

    /// The policy of this level whose name matches `name` ignoring case, if any: names that
    /// differ only in case would be confused in forms that take a policy name.
    pub fn find_by_name_ignoring_case(
        conn: &mut DbConnection,
        level: PolicyLevel,
        name: &str,
    ) -> QueryResult<Option<Self>> {
        let wanted = name.to_ascii_lowercase();
        Ok(Self::list(conn, level)?
            .into_iter()
            .find(|p| p.name.to_ascii_lowercase() == wanted))
    }

    pub fn insert(conn: &mut DbConnection, new: &NewPolicy) -> QueryResult<Self> {
        let now = now();
        crate::on_each!(conn, |c| diesel::insert_into(throttling_policies::table)
            .values((
                throttling_policies::level.eq(new.level),
                throttling_policies::name.eq(&new.name),
                columns(&new.changes),
                throttling_policies::created_at.eq(now),
                throttling_policies::updated_at.eq(now),
            ))
            .returning(Self::as_returning())
            .get_result(c))
    }

    /// Applies the changeable fields; the level and the name stay.
    pub fn update(conn: &mut DbConnection, id: i64, changes: &PolicyChanges) -> QueryResult<Self> {
        crate::on_each!(conn, |c| diesel::update(
            throttling_policies::table.find(id)
        )
        .set((columns(changes), throttling_policies::updated_at.eq(now())))
        .returning(Self::as_returning())
        .get_result(c))
    }

    pub fn delete(conn: &mut DbConnection, id: i64) -> QueryResult<usize> {
        diesel::delete(throttling_policies::table.find(id)).execute(conn)
    }

    /// How many applications, subscriptions and APIs use one policy.
    pub fn uses(conn: &mut DbConnection, id: i64) -> QueryResult<PolicyUses> {
        Ok(PolicyUses {
            applications: applications::table
                .filter(applications::policy_id.eq(id))
                .count()
                .get_result(conn)?,
            subscriptions: subscriptions::table
                .filter(subscriptions::policy_id.eq(id))
                .count()
                .get_result(conn)?,
            apis: api_tiers::table
                .filter(api_tiers::policy_id.eq(id))
                .count()
                .get_result(conn)?,
        })
    }

    /// The uses of every policy that has any, by policy id: one grouped query per table.
    pub fn all_uses(conn: &mut DbConnection) -> QueryResult<HashMap<i64, PolicyUses>> {
        let mut uses: HashMap<i64, PolicyUses> = HashMap::new();
        // One grouped count of a table's rows by policy, into one field of the uses.
        macro_rules! tally {
            ($table:ident => $field:ident) => {
                let counts: Vec<(i64, i64)> = $table::table
                    .group_by($table::policy_id)
                    .select(($table::policy_id, count_star()))
                    .load(conn)?;
                for (id, n) in counts {
                    uses.entry(id).or_default().$field = n;
                }
            };
        }
        tally!(applications => applications);
        tally!(subscriptions => subscriptions);
        tally!(api_tiers => apis);
        Ok(uses)
    }
}
