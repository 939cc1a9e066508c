//! `organisations` and `memberships`: the companies TPPs work for, and who works in which one
//! with what role. Every application query for a person goes through a membership, so an
//! application of an organisation they are not in is simply not found.

use crate::db::DbConnection;
use diesel::prelude::*;

use crate::db::rows::FirstRow;
use crate::db::schema::{applications, memberships, organisations, users};
use crate::domain::ids::{OrganisationId, UserId};
use crate::domain::organisations::{MemberRole, OrganisationName, OrganisationStatus};

#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = organisations)]
pub struct Organisation {
    pub id: OrganisationId,
    pub name: String,
    pub name_key: String,
    pub legal_identifier: String,
    pub country: String,
    pub status: OrganisationStatus,
    pub decision_reason: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// What a new organisation is made of.
pub struct NewOrganisation<'a> {
    pub name: &'a OrganisationName,
    pub legal_identifier: &'a str,
    pub country: &'a str,
    pub status: OrganisationStatus,
}

#[derive(Insertable)]
#[diesel(table_name = organisations)]
struct OrganisationRow<'a> {
    name: &'a str,
    name_key: &'a str,
    legal_identifier: &'a str,
    country: &'a str,
    status: OrganisationStatus,
    created_at: i64,
    updated_at: i64,
}

/// A person's place in an organisation, with the organisation's name and standing: what each
/// request of theirs is checked against.
#[derive(Debug, Clone, Queryable)]
pub struct Membership {
    pub organisation_id: OrganisationId,
    pub organisation_name: String,
    pub organisation_status: OrganisationStatus,
    pub role: MemberRole,
}

/// A line of the members list.
#[derive(Debug, Clone, Queryable)]
pub struct Member {
    pub user_id: UserId,
    pub username: String,
    pub email: String,
    pub role: MemberRole,
    pub since: i64,
}

/// A line of the administrators' organisations list.
pub struct OrganisationLine {
    pub organisation: Organisation,
    pub members: i64,
    pub applications: i64,
}

type MembershipColumns = (
    organisations::id,
    organisations::name,
    organisations::status,
    memberships::role,
);

const MEMBERSHIP: MembershipColumns = (
    organisations::id,
    organisations::name,
    organisations::status,
    memberships::role,
);

impl Organisation {
    pub fn find(conn: &mut DbConnection, id: OrganisationId) -> QueryResult<Option<Organisation>> {
        organisations::table.find(id).first_row(conn)
    }

    /// True when an organisation's folded name is `key`.
    pub fn name_taken(conn: &mut DbConnection, key: &str) -> QueryResult<bool> {
        let named = organisations::table.filter(organisations::name_key.eq(key));
        diesel::select(diesel::dsl::exists(named)).get_result(conn)
    }

    pub fn insert(conn: &mut DbConnection, new: &NewOrganisation) -> QueryResult<Organisation> {
        let now = crate::db::now();
        let row = OrganisationRow {
            name: new.name.as_str(),
            name_key: new.name.key(),
            legal_identifier: new.legal_identifier,
            country: new.country,
            status: new.status,
            created_at: now,
            updated_at: now,
        };
        diesel::insert_into(organisations::table)
            .values(&row)
            .execute(conn)?;
        let made = organisations::table.filter(organisations::name_key.eq(row.name_key));
        made.first_row(conn)?.ok_or(diesel::result::Error::NotFound)
    }

    /// Sets the organisation's standing.
    pub fn set_status(
        conn: &mut DbConnection,
        id: OrganisationId,
        status: OrganisationStatus,
    ) -> QueryResult<usize> {
        diesel::update(organisations::table.find(id))
            .set((
                organisations::status.eq(status),
                organisations::updated_at.eq(crate::db::now()),
            ))
            .execute(conn)
    }

    /// Every organisation by name, with its member and application counts (two correlated
    /// counts in one statement).
    pub fn all_with_counts(conn: &mut DbConnection) -> QueryResult<Vec<OrganisationLine>> {
        let members = memberships::table
            .filter(memberships::organisation_id.eq(organisations::id))
            .count()
            .single_value();
        let applications = applications::table
            .filter(applications::organisation_id.eq(organisations::id.nullable()))
            .count()
            .single_value();
        let rows: Vec<(Organisation, Option<i64>, Option<i64>)> = organisations::table
            .order(organisations::name_key.asc())
            .select((Organisation::as_select(), members, applications))
            .load(conn)?;
        Ok(rows
            .into_iter()
            .map(|(organisation, members, applications)| OrganisationLine {
                organisation,
                members: members.unwrap_or(0),
                applications: applications.unwrap_or(0),
            })
            .collect())
    }
}

impl Membership {
    /// True when this member may create and change applications in the organisation now.
    pub fn may_change_applications(&self) -> bool {
        self.organisation_status == OrganisationStatus::Active
            && self.role.may_change_applications()
    }

    /// The person's membership of the organisation, when they have one.
    pub fn find(
        conn: &mut DbConnection,
        user_id: UserId,
        organisation_id: OrganisationId,
    ) -> QueryResult<Option<Membership>> {
        memberships::table
            .inner_join(organisations::table)
            .filter(memberships::user_id.eq(user_id))
            .filter(memberships::organisation_id.eq(organisation_id))
            .select(MEMBERSHIP)
            .first(conn)
            .optional()
    }

    /// Every organisation the person belongs to, by name.
    pub fn all_of(conn: &mut DbConnection, user_id: UserId) -> QueryResult<Vec<Membership>> {
        memberships::table
            .inner_join(organisations::table)
            .filter(memberships::user_id.eq(user_id))
            .order(organisations::name_key.asc())
            .select(MEMBERSHIP)
            .load(conn)
    }

    pub fn insert(
        conn: &mut DbConnection,
        organisation_id: OrganisationId,
        user_id: UserId,
        role: MemberRole,
    ) -> QueryResult<usize> {
        diesel::insert_into(memberships::table)
            .values((
                memberships::organisation_id.eq(organisation_id),
                memberships::user_id.eq(user_id),
                memberships::role.eq(role),
                memberships::created_at.eq(crate::db::now()),
            ))
            .execute(conn)
    }

    pub fn set_role(
        conn: &mut DbConnection,
        organisation_id: OrganisationId,
        user_id: UserId,
        role: MemberRole,
    ) -> QueryResult<usize> {
        diesel::update(memberships::table.find((organisation_id, user_id)))
            .set(memberships::role.eq(role))
            .execute(conn)
    }

    pub fn delete(
        conn: &mut DbConnection,
        organisation_id: OrganisationId,
        user_id: UserId,
    ) -> QueryResult<usize> {
        diesel::delete(memberships::table.find((organisation_id, user_id))).execute(conn)
    }

    /// How many Owners the organisation has.
    pub fn owners(conn: &mut DbConnection, organisation_id: OrganisationId) -> QueryResult<i64> {
        memberships::table
            .filter(memberships::organisation_id.eq(organisation_id))
            .filter(memberships::role.eq(MemberRole::Owner))
            .count()
            .get_result(conn)
    }

    /// The organisation's members by username.
    pub fn members(
        conn: &mut DbConnection,
        organisation_id: OrganisationId,
    ) -> QueryResult<Vec<Member>> {
        memberships::table
            .inner_join(users::table)
            .filter(memberships::organisation_id.eq(organisation_id))
            .order(users::username_key.asc())
            .select((
                users::id,
                users::username,
                users::email,
                memberships::role,
                memberships::created_at,
            ))
            .load(conn)
    }
}
