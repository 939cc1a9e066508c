//! Organisations: who may read or change an application (its organisation's members, by
//! role), the organisation a person works in, creating one, and the adoption of accounts from
//! before organisations existed.

use crate::db::DbConnection;
use crate::db::models::applications::{Application, MemberAccess};
use crate::db::models::organisations::{Membership, NewOrganisation, Organisation};
use crate::db::schema::{applications, memberships, organisations, users};
use crate::db::{self, is_unique_violation};
use crate::domain::accounts::AccountStatus;
use crate::domain::ids::{ApplicationId, OrganisationId, UserId};
use crate::domain::organisations::{
    MemberRole, OrganisationName, OrganisationStatus, organisation_name, with_suffix,
};
use diesel::prelude::*;

use super::{ServiceError, ServiceResult};
use crate::db::models::audit_events::Actor;

/// What a Viewer is told when they try to change something.
pub const VIEWERS_READ_ONLY: &str = "Viewers can read this organisation's applications but not change them, see their secrets \
     or get tokens. Ask an Owner or Admin of the organisation for the Developer role.";

/// The application `user_id` may read: a member of its organisation (anyone else gets 404),
/// while the organisation is not suspended or refused (403).
pub fn readable(
    conn: &mut DbConnection,
    id: ApplicationId,
    user_id: UserId,
) -> ServiceResult<(Application, MemberAccess)> {
    let (application, access) =
        Application::find_for_member(conn, id, user_id)?.ok_or(ServiceError::NotFound)?;
    if matches!(
        access.organisation,
        OrganisationStatus::Suspended | OrganisationStatus::Rejected
    ) {
        return Err(ServiceError::Forbidden(format!(
            "This application's organisation is {}: its members cannot work in it.",
            access.organisation
        )));
    }
    Ok((application, access))
}

/// The application `user_id` may change: 404 for anyone outside its organisation, 403 for a
/// Viewer and while the organisation is not active.
pub fn changeable(
    conn: &mut DbConnection,
    id: ApplicationId,
    user_id: UserId,
) -> ServiceResult<Application> {
    let (application, access) = readable(conn, id, user_id)?;
    may_change(access)?;
    Ok(application)
}

/// Refuses a Viewer, and anyone while the organisation is suspended (or not approved yet).
pub fn may_change(access: MemberAccess) -> ServiceResult<()> {
    if access.organisation != OrganisationStatus::Active {
        return Err(ServiceError::Forbidden(format!(
            "This organisation is {}: its applications cannot be changed.",
            access.organisation
        )));
    }
    if !access.role.may_change_applications() {
        return Err(ServiceError::Forbidden(VIEWERS_READ_ONLY.into()));
    }
    Ok(())
}

/// The organisation a person works in, when they may create applications there.
pub fn working_in(
    conn: &mut DbConnection,
    user_id: UserId,
    organisation: Option<OrganisationId>,
) -> ServiceResult<OrganisationId> {
    let Some(organisation) = organisation else {
        return Err(ServiceError::Forbidden(
            "You belong to no organisation: create one, or accept an invitation to one, to \
             have applications."
                .into(),
        ));
    };
    let membership =
        Membership::find(conn, user_id, organisation)?.ok_or(ServiceError::NotFound)?;
    may_change(MemberAccess {
        role: membership.role,
        organisation: membership.organisation_status,
    })?;
    Ok(organisation)
}

/// The membership a person may switch to: one of theirs (404 otherwise), in an organisation
/// that is not suspended or refused.
pub fn switchable(
    memberships: &[Membership],
    chosen: OrganisationId,
) -> ServiceResult<&Membership> {
    let membership = memberships
        .iter()
        .find(|m| m.organisation_id == chosen)
        .ok_or(ServiceError::NotFound)?;
    match membership.organisation_status {
        OrganisationStatus::Active | OrganisationStatus::Pending => Ok(membership),
        status => Err(ServiceError::Forbidden(format!(
            "{} is {status}: its members cannot work in it.",
            membership.organisation_name
        ))),
    }
}

/// A new organisation with `user_id` as its Owner. A taken name is a 409 on `field`.
pub fn found(
    conn: &mut DbConnection,
    new: &NewOrganisation,
    user_id: UserId,
    field: &'static str,
) -> ServiceResult<Organisation> {
    let organisation = Organisation::insert(conn, new).map_err(|e| {
        if is_unique_violation(&e) {
            ServiceError::taken(
                field,
                format!(
                    "An organisation named “{}” exists already. If you work for it, ask its \
                     Owner to invite you; otherwise choose another name.",
                    new.name.as_str()
                ),
            )
        } else {
            e.into()
        }
    })?;
    Membership::insert(conn, organisation.id, user_id, MemberRole::Owner)?;
    Ok(organisation)
}

/// The first of `name`, `name (username)`, `name (username 2)` … that no organisation has.
pub fn free_name(
    conn: &mut DbConnection,
    name: &OrganisationName,
    username: &str,
) -> QueryResult<OrganisationName> {
    let mut candidate = name.clone();
    let mut n = 1;
    while Organisation::name_taken(conn, candidate.key())? {
        let suffix = if n == 1 {
            format!("({username})")
        } else {
            format!("({username} {n})")
        };
        candidate = with_suffix(name, &suffix);
        n += 1;
    }
    Ok(candidate)
}

/// An administrator's decision on a sign-up applies to the organisation it founded (a
/// waiting one the person owns): approved, it works; rejected, it stays refused.
pub fn follow_sign_up_decision(
    conn: &mut DbConnection,
    user_id: UserId,
    account: AccountStatus,
) -> QueryResult<usize> {
    let to = match account {
        AccountStatus::Active => OrganisationStatus::Active,
        AccountStatus::Rejected => OrganisationStatus::Rejected,
        AccountStatus::Pending | AccountStatus::Locked => return Ok(0),
    };
    let founded = memberships::table
        .filter(memberships::user_id.eq(user_id))
        .filter(memberships::role.eq(MemberRole::Owner))
        .select(memberships::organisation_id);
    diesel::update(
        organisations::table
            .filter(organisations::id.eq_any(founded))
            .filter(organisations::status.eq(OrganisationStatus::Pending)),
    )
    .set((
        organisations::status.eq(to),
        organisations::updated_at.eq(db::now()),
    ))
    .execute(conn)
}

/// An account's organisation as it stands: waiting, refused or working.
fn status_of(account: AccountStatus) -> OrganisationStatus {
    match account {
        AccountStatus::Pending => OrganisationStatus::Pending,
        AccountStatus::Rejected => OrganisationStatus::Rejected,
        AccountStatus::Active | AccountStatus::Locked => OrganisationStatus::Active,
    }
}

/// The upgrade to organisations: every account that is in no organisation but is a TPP or
/// created applications becomes the Owner of an organisation of its own, named from its
/// `organization` (else its username), told apart from a taken name by the username; its
/// applications join it. Runs at every start, under a lock (instances starting together take
/// turns); after the first it finds nobody.
pub fn adopt_accounts(conn: &mut DbConnection) -> QueryResult<usize> {
    db::write(conn, |conn| {
        conn.lock_key("adopt accounts into organisations")?;
        let members = memberships::table.select(memberships::user_id);
        let creators = applications::table
            .filter(applications::organisation_id.is_null())
            .select(applications::owner_id.assume_not_null());
        let orphans: Vec<(UserId, String, String, AccountStatus)> = users::table
            .filter(diesel::dsl::not(users::id.eq_any(members)))
            .filter(users::role.eq("tpp").or(users::id.eq_any(creators)))
            .order(users::id.asc())
            .select((
                users::id,
                users::username,
                users::organization,
                users::status,
            ))
            .load(conn)?;
        for (user_id, username, organization, status) in &orphans {
            let name = organisation_name(organization)
                .or_else(|_| organisation_name(username))
                .expect("a username is a valid organisation name");
            let name = free_name(conn, &name, username)?;
            let new = NewOrganisation {
                name: &name,
                legal_identifier: "",
                country: "",
                status: status_of(*status),
            };
            let organisation = Organisation::insert(conn, &new)?;
            Membership::insert(conn, organisation.id, *user_id, MemberRole::Owner)?;
            diesel::update(
                applications::table
                    .filter(applications::owner_id.eq(user_id))
                    .filter(applications::organisation_id.is_null()),
            )
            .set(applications::organisation_id.eq(organisation.id))
            .execute(conn)?;
        }
        Ok(orphans.len())
    })
}

/// An administrator's decision on an organisation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Standing {
    Suspend,
    Reinstate,
}

/// Suspends an active organisation or reinstates a suspended one, audited. A suspended
/// organisation's clients get no tokens and their tokens are inactive at the next use (the
/// portal's change empties the client caches of every instance); its members cannot work in
/// it. Anything else is a conflict that changes nothing.
pub async fn set_standing(
    pool: &crate::db::DbPool,
    admin: Actor,
    id: OrganisationId,
    standing: Standing,
) -> ServiceResult<Organisation> {
    let (verb, from, to) = match standing {
        Standing::Suspend => (
            "suspend",
            OrganisationStatus::Active,
            OrganisationStatus::Suspended,
        ),
        Standing::Reinstate => (
            "reinstate",
            OrganisationStatus::Suspended,
            OrganisationStatus::Active,
        ),
    };
    let about = super::subject("organisation", Some(id.get()));
    super::audited(pool, &admin, verb, about, move |conn, _| {
        let organisation = Organisation::find(conn, id)?.ok_or(ServiceError::NotFound)?;
        if organisation.status != from {
            return Err(ServiceError::Conflict(format!(
                "{} is {}: only an organisation that is {from} can be {}.",
                organisation.name,
                organisation.status,
                if standing == Standing::Suspend {
                    "suspended"
                } else {
                    "reinstated"
                }
            )));
        }
        Organisation::set_status(conn, id, to)?;
        let done = match standing {
            Standing::Suspend => "Suspended",
            Standing::Reinstate => "Reinstated",
        };
        let summary = format!("{done} organisation “{}”", organisation.name);
        let organisation = Organisation::find(conn, id)?.ok_or(ServiceError::NotFound)?;
        Ok((organisation, summary))
    })
    .await
}

/// A change to a membership, made by an Owner or Admin of the organisation (or, to leave, by
/// the member).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemberChange {
    Role(MemberRole),
    Remove,
    Leave,
}

/// Changes a member's role, removes a member, or lets the actor leave, in the organisation the
/// actor works in. The rules: only Owners and Admins manage members; only an Owner makes or
/// unmakes an Owner; the organisation always keeps an Owner. A removed member's sessions lose
/// the organisation at their next request (memberships are read at each one).
pub async fn change_member(
    pool: &crate::db::DbPool,
    actor: &Actor,
    member: UserId,
    change: MemberChange,
) -> ServiceResult<String> {
    let organisation = actor.organisation.ok_or(ServiceError::NotFound)?;
    let by = actor.id;
    let about = super::subject("membership", Some(member.get()));
    super::audited(pool, actor, "member", about, move |conn, _| {
        conn.lock_key(&format!("organisation {organisation}"))?;
        let mine = Membership::find(conn, by, organisation)?.ok_or(ServiceError::NotFound)?;
        let target = Membership::members(conn, organisation)?
            .into_iter()
            .find(|m| m.user_id == member)
            .ok_or(ServiceError::NotFound)?;
        check_member_change(conn, &mine, &target, change)?;
        let summary = match change {
            MemberChange::Role(role) => {
                Membership::set_role(conn, organisation, member, role)?;
                format!("{} is {} now", target.username, role.label())
            }
            MemberChange::Remove => {
                Membership::delete(conn, organisation, member)?;
                format!("Removed {} from the organisation", target.username)
            }
            MemberChange::Leave => {
                Membership::delete(conn, organisation, member)?;
                format!("{} left the organisation", target.username)
            }
        };
        Ok((summary.clone(), summary))
    })
    .await
}

/// The rules of `change_member`, each refusal saying why.
fn check_member_change(
    conn: &mut DbConnection,
    mine: &Membership,
    target: &crate::db::models::organisations::Member,
    change: MemberChange,
) -> ServiceResult<()> {
    let leaving = change == MemberChange::Leave;
    if !leaving && !mine.role.may_manage_members() {
        return Err(ServiceError::Forbidden(
            "Only the organisation's Owners and Admins manage its members.".into(),
        ));
    }
    let touches_owner =
        target.role == MemberRole::Owner || matches!(change, MemberChange::Role(MemberRole::Owner));
    if !leaving && touches_owner && mine.role != MemberRole::Owner {
        return Err(ServiceError::Forbidden(
            "Only an Owner makes someone an Owner or changes an Owner's membership.".into(),
        ));
    }
    let stays_owner = matches!(change, MemberChange::Role(MemberRole::Owner));
    if target.role == MemberRole::Owner
        && !stays_owner
        && Membership::owners(conn, mine.organisation_id)? <= 1
    {
        return Err(ServiceError::Conflict(format!(
            "{} is the organisation's last Owner: make another member an Owner first.",
            target.username
        )));
    }
    Ok(())
}
