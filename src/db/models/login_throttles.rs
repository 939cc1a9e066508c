//! `login_throttles`: sign-in and sign-up attempts counted per key (an account from one address,
//! an address, an account from anywhere, sign-ups of an address), in the database so that every
//! Portico process sees the same counts and they survive restarts. Attempts are counted before
//! the password is checked, in the same immediate transaction as the look at the locks, so that
//! simultaneous attempts cannot all slip through. A row with no failures and no lock whose key
//! starts with `known:` remembers when an account last signed in from an address.

use crate::db::DbConnection;
use diesel::prelude::*;

use crate::db::rows::FirstRow;
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

/// How many attempts a key may have within a window before it is locked, and for how long.
#[derive(Debug, Clone, Copy)]
pub struct ThrottleRule {
    pub max_failures: i32,
    pub window_secs: i64,
    pub lock_secs: i64,
}

/// What counting an attempt decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attempt {
    /// Counted; `locked` names the keys this attempt used up (they are locked from now on).
    Allowed { locked: Vec<String> },
    /// A key was already locked: nothing was counted; the latest lock ends at `until`.
    Refused { until: i64 },
}

impl LoginThrottle {
    /// When any of the keys is locked at `now`, the time its lock ends.
    pub fn locked_until(
        conn: &mut DbConnection,
        keys: &[&str],
        now: i64,
    ) -> QueryResult<Option<i64>> {
        login_throttles::table
            .filter(login_throttles::throttle_key.eq_any(keys))
            .filter(login_throttles::locked_until.gt(now))
            .select(diesel::dsl::max(login_throttles::locked_until))
            .first::<Option<i64>>(conn)
    }

    /// Counts one attempt against every key at once, unless one of them is locked. Call inside
    /// an immediate transaction: the look and the count must be one step.
    pub fn count_attempt(
        conn: &mut DbConnection,
        keys: &[(&str, ThrottleRule)],
        now: i64,
    ) -> QueryResult<Attempt> {
        let names: Vec<&str> = keys.iter().map(|(key, _)| *key).collect();
        // Several instances count on one database: each key's count is read and written by one
        // transaction at a time (on SQLite the write transaction already is).
        let mut sorted = names.clone();
        sorted.sort_unstable();
        for key in sorted {
            conn.lock_key(&format!("login_throttle:{key}"))?;
        }
        if let Some(until) = Self::locked_until(conn, &names, now)? {
            return Ok(Attempt::Refused { until });
        }
        let mut locked = Vec::new();
        for (key, rule) in keys {
            if Self::record_failure(conn, key, *rule, now)? {
                locked.push(key.to_string());
            }
        }
        Ok(Attempt::Allowed { locked })
    }

    /// Counts one failure for `key`; locks the key when the rule's limit is reached (and then
    /// answers true). Call inside an immediate transaction (it reads, then writes).
    pub fn record_failure(
        conn: &mut DbConnection,
        key: &str,
        rule: ThrottleRule,
        now: i64,
    ) -> QueryResult<bool> {
        conn.lock_key(&format!("login_throttle:{key}"))?;
        let current = Self::find(conn, key)?;
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
        let locks = row.failures >= rule.max_failures;
        if locks {
            row.locked_until = Some(now + rule.lock_secs);
            // A new window starts once the lock ends.
            row.failures = 0;
            row.window_started_at = now + rule.lock_secs;
        }
        Self::upsert(conn, &row)?;
        Ok(locks)
    }

    /// Takes back one attempt counted by `count_attempt` that turned out not to be a failure.
    /// A lock that attempt set stays: the limit counts attempts, and undoing a lock would let
    /// a known password reopen the address for guessing other accounts.
    pub fn refund(conn: &mut DbConnection, key: &str) -> QueryResult<usize> {
        diesel::update(login_throttles::table.find(key))
            .filter(login_throttles::failures.gt(0))
            .set(login_throttles::failures.eq(login_throttles::failures - 1))
            .execute(conn)
    }

    pub fn clear(conn: &mut DbConnection, key: &str) -> QueryResult<usize> {
        diesel::delete(login_throttles::table.find(key)).execute(conn)
    }

    /// Remembers that a sign-in succeeded under `key` (a `known:` key) at `now`.
    pub fn remember(conn: &mut DbConnection, key: &str, now: i64) -> QueryResult<()> {
        let row = LoginThrottle {
            throttle_key: key.to_string(),
            failures: 0,
            window_started_at: now,
            locked_until: None,
        };
        Self::upsert(conn, &row)
    }

    /// True when `remember` was called for `key` less than `max_age_secs` ago.
    pub fn remembered(
        conn: &mut DbConnection,
        key: &str,
        max_age_secs: i64,
        now: i64,
    ) -> QueryResult<bool> {
        Ok(Self::find(conn, key)?.is_some_and(|row| row.window_started_at + max_age_secs > now))
    }

    fn find(conn: &mut DbConnection, key: &str) -> QueryResult<Option<LoginThrottle>> {
        login_throttles::table.find(key).first_row(conn)
    }

    fn upsert(conn: &mut DbConnection, row: &LoginThrottle) -> QueryResult<()> {
        crate::on_each!(conn, |c| diesel::insert_into(login_throttles::table)
            .values(row)
            .on_conflict(login_throttles::throttle_key)
            .do_update()
            .set(row)
            .execute(c))?;
        Ok(())
    }
}
