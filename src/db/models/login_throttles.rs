//! `login_throttles`: failed sign-ins counted per account and per client address, in the
//! database so that every Portico process sees the same counts and they survive restarts.

use diesel::prelude::*;

use crate::db::schema::login_throttles;

#[derive(Debug, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = login_throttles)]
#[diesel(treat_none_as_null = true)]
pub struct LoginThrottle {
    pub throttle_key: String,
    pub failures: i32,
    pub window_started_at: i64,
    pub locked_until: Option<i64>,
}

/// How many failures a key may have within a window before it is locked, and for how long.
#[derive(Debug, Clone, Copy)]
pub struct ThrottleRule {
    pub max_failures: i32,
    pub window_secs: i64,
    pub lock_secs: i64,
}

impl LoginThrottle {
    /// When any of the keys is locked at `now`, the time its lock ends.
    pub fn locked_until(
        conn: &mut SqliteConnection,
        keys: &[&str],
        now: i64,
    ) -> QueryResult<Option<i64>> {
        login_throttles::table
            .filter(login_throttles::throttle_key.eq_any(keys))
            .filter(login_throttles::locked_until.gt(now))
            .select(diesel::dsl::max(login_throttles::locked_until))
            .first::<Option<i64>>(conn)
    }

    /// Counts one failure for `key`; locks the key when the rule's limit is reached.
    /// Call inside an immediate transaction (it reads, then writes).
    pub fn record_failure(
        conn: &mut SqliteConnection,
        key: &str,
        rule: ThrottleRule,
        now: i64,
    ) -> QueryResult<()> {
        let current = login_throttles::table
            .find(key)
            .select(LoginThrottle::as_select())
            .first(conn)
            .optional()?;
        let mut row = match current {
            Some(row) if row.window_started_at + rule.window_secs > now => row,
            _ => LoginThrottle {
                throttle_key: key.to_string(),
                failures: 0,
                window_started_at: now,
                locked_until: None,
            },
        };
        row.failures += 1;
        if row.failures >= rule.max_failures {
            row.locked_until = Some(now + rule.lock_secs);
            // A new window starts once the lock ends.
            row.failures = 0;
            row.window_started_at = now + rule.lock_secs;
        }
        diesel::insert_into(login_throttles::table)
            .values(&row)
            .on_conflict(login_throttles::throttle_key)
            .do_update()
            .set(&row)
            .execute(conn)?;
        Ok(())
    }

    pub fn clear(conn: &mut SqliteConnection, key: &str) -> QueryResult<usize> {
        diesel::delete(login_throttles::table.find(key)).execute(conn)
    }
}
