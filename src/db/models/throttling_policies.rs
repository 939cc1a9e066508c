//! `throttling_policies`: application-level policies and the subscription tiers APIs allow.

use diesel::prelude::*;

use crate::db::schema::throttling_policies;
use crate::domain::policies::{PolicyLevel, TimeUnit};

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

impl ThrottlingPolicy {
    /// "10 requests per 1 minute", or "Unlimited".
    pub fn quota(&self) -> String {
        match self.request_count {
            None => "Unlimited".to_string(),
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

    pub fn find(conn: &mut SqliteConnection, id: i64) -> QueryResult<Option<Self>> {
        throttling_policies::table
            .find(id)
            .select(Self::as_select())
            .first(conn)
            .optional()
    }

    pub fn find_by_name(
        conn: &mut SqliteConnection,
        level: PolicyLevel,
        name: &str,
    ) -> QueryResult<Option<Self>> {
        throttling_policies::table
            .filter(throttling_policies::level.eq(level))
            .filter(throttling_policies::name.eq(name))
            .select(Self::as_select())
            .first(conn)
            .optional()
    }

    /// Every policy of a level, by name.
    pub fn list(conn: &mut SqliteConnection, level: PolicyLevel) -> QueryResult<Vec<Self>> {
        throttling_policies::table
            .filter(throttling_policies::level.eq(level))
            .order(throttling_policies::name.asc())
            .select(Self::as_select())
            .load(conn)
    }
}
