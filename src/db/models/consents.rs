//! `consents`: what a person allowed an application (a client) to do on their behalf.

use crate::db::DbConnection;
use diesel::prelude::*;

use crate::db::now;
use crate::db::rows::FirstRow;
use crate::db::schema::{applications, consents, oauth_clients};
use crate::domain::ids::UserId;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = consents)]
pub struct Consent {
    pub id: i64,
    pub user_id: UserId,
    pub client_id: String,
    pub scope: String,
    pub created_at: i64,
    pub updated_at: i64,
}

/// A consent as its giver sees it in their account.
#[derive(Debug, Clone, Queryable)]
pub struct ConsentLine {
    pub id: i64,
    pub client_name: String,
    pub application_name: Option<String>,
    pub scope: String,
    pub updated_at: i64,
}

impl Consent {
    pub fn find(
        conn: &mut DbConnection,
        user_id: UserId,
        client_id: &str,
    ) -> QueryResult<Option<Consent>> {
        consents::table
            .filter(consents::user_id.eq(user_id))
            .filter(consents::client_id.eq(client_id))
            .first_row(conn)
    }

    /// True when an earlier consent already covers every scope asked for.
    pub fn covers(&self, scopes: &[String]) -> bool {
        let given: Vec<&str> = self.scope.split(' ').collect();
        scopes.iter().all(|s| given.contains(&s.as_str()))
    }

    /// Remembers the scopes, adding them to what was consented before.
    pub fn remember(
        conn: &mut DbConnection,
        user_id: UserId,
        client_id: &str,
        scopes: &[String],
    ) -> QueryResult<()> {
        let mut all: Vec<String> = Self::find(conn, user_id, client_id)?
            .map(|c| {
                c.scope
                    .split(' ')
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default();
        for scope in scopes {
            if !all.contains(scope) {
                all.push(scope.clone());
            }
        }
        let now = now();
        crate::on_each!(conn, |c| diesel::insert_into(consents::table)
            .values((
                consents::user_id.eq(user_id),
                consents::client_id.eq(client_id),
                consents::scope.eq(all.join(" ")),
                consents::created_at.eq(now),
                consents::updated_at.eq(now),
            ))
            .on_conflict((consents::user_id, consents::client_id))
            .do_update()
            .set((
                consents::scope.eq(all.join(" ")),
                consents::updated_at.eq(now),
            ))
            .execute(c))?;
        Ok(())
    }

    pub fn lines_of(conn: &mut DbConnection, user_id: UserId) -> QueryResult<Vec<ConsentLine>> {
        consents::table
            .inner_join(oauth_clients::table.on(oauth_clients::client_id.eq(consents::client_id)))
            .left_join(
                applications::table
                    .on(oauth_clients::application_id.eq(applications::id.nullable())),
            )
            .filter(consents::user_id.eq(user_id))
            .order(consents::updated_at.desc())
            .select((
                consents::id,
                oauth_clients::client_name,
                applications::name.nullable(),
                consents::scope,
                consents::updated_at,
            ))
            .load(conn)
    }

    /// Deletes the user's consent; returns it (None when it is not theirs).
    pub fn withdraw(
        conn: &mut DbConnection,
        id: i64,
        user_id: UserId,
    ) -> QueryResult<Option<Consent>> {
        let consent: Option<Consent> = consents::table
            .find(id)
            .filter(consents::user_id.eq(user_id))
            .first_row(conn)?;
        if let Some(consent) = &consent {
            diesel::delete(consents::table.find(consent.id)).execute(conn)?;
        }
        Ok(consent)
    }
}
