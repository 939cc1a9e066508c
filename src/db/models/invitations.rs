//! `invitations`: an organisation's invitations by email address and role, found by the
//! SHA-256 of their link's token (the token itself is never stored).

use crate::db::DbConnection;
use diesel::prelude::*;

use crate::db::schema::{invitations, organisations};
use crate::domain::ids::{OrganisationId, UserId};
use crate::domain::organisations::MemberRole;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = invitations)]
pub struct Invitation {
    pub id: i64,
    pub organisation_id: OrganisationId,
    /// As the inviter typed it; the person accepting must have it (in any case).
    pub email: String,
    pub role: MemberRole,
    #[diesel(embed)]
    pub state: InvitationState,
}

/// Until when an invitation works, and whether it was used or withdrawn (Unix seconds).
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = invitations)]
pub struct InvitationState {
    pub expires_at: i64,
    pub used_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

#[derive(Insertable)]
#[diesel(table_name = invitations)]
pub struct NewInvitation<'a> {
    pub organisation_id: OrganisationId,
    pub email: &'a str,
    pub role: MemberRole,
    pub token_hash: &'a str,
    pub invited_by: UserId,
    pub created_at: i64,
    pub expires_at: i64,
}

/// How an invitation stops working.
#[derive(Debug, Clone, Copy)]
pub enum Closing {
    UsedBy(UserId),
    Withdrawn,
}

impl Invitation {
    pub fn insert(conn: &mut DbConnection, new: &NewInvitation) -> QueryResult<usize> {
        diesel::insert_into(invitations::table)
            .values(new)
            .execute(conn)
    }

    /// The invitation whose token hashes to `token_hash`, with its organisation's name.
    pub fn by_hash(
        conn: &mut DbConnection,
        token_hash: &str,
    ) -> QueryResult<Option<(Invitation, String)>> {
        invitations::table
            .inner_join(organisations::table)
            .filter(invitations::token_hash.eq(token_hash))
            .select((Invitation::as_select(), organisations::name))
            .first(conn)
            .optional()
    }

    /// The organisation's invitations still open at `now`, newest first.
    pub fn open_of(
        conn: &mut DbConnection,
        organisation_id: OrganisationId,
        now: i64,
    ) -> QueryResult<Vec<Invitation>> {
        let open = invitations::used_at
            .is_null()
            .and(invitations::revoked_at.is_null())
            .and(invitations::expires_at.gt(now));
        invitations::table
            .filter(invitations::organisation_id.eq(organisation_id).and(open))
            .order(invitations::id.desc())
            .select(Invitation::as_select())
            .load(conn)
    }

    /// Closes it, once: used by a person, or withdrawn. False when it was closed meanwhile.
    pub fn close(conn: &mut DbConnection, id: i64, how: Closing, now: i64) -> QueryResult<bool> {
        let open = invitations::table
            .find(id)
            .filter(invitations::used_at.is_null())
            .filter(invitations::revoked_at.is_null());
        let changed = match how {
            Closing::UsedBy(user_id) => diesel::update(open)
                .set((
                    invitations::used_at.eq(now),
                    invitations::used_by.eq(user_id),
                ))
                .execute(conn)?,
            Closing::Withdrawn => diesel::update(open)
                .set(invitations::revoked_at.eq(now))
                .execute(conn)?,
        };
        Ok(changed == 1)
    }
}
