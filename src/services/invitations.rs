//! Invitations: an Owner or Admin invites an email address into their organisation with a
//! role; the person opens the single-use link (valid for 7 days, kept only as its SHA-256),
//! signs in or up, and accepts. Used, withdrawn, expired and other people's invitations are
//! refused with the reason and change nothing.

use crate::db::DbPool;
use crate::db::models::audit_events::Actor;
use crate::db::models::invitations::{Closing, Invitation, NewInvitation};
use crate::db::models::organisations::Membership;
use crate::db::models::users::User;
use crate::domain::accounts::Email;
use crate::domain::ids::OrganisationId;
use crate::domain::organisations::{MemberRole, OrganisationStatus};
use crate::security::{random, sha256_hex};

use super::{ServiceError, ServiceResult, audited, subject};

/// How long an invitation's link works.
pub const VALID_SECS: i64 = 7 * 24 * 60 * 60;

/// A new invitation, for the inviter: its link's token is shown this once.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Invited {
    pub email: String,
    /// The role's label.
    pub role: String,
    pub token: String,
}

/// Invites `email` with `role` into the organisation the actor works in. Only its Owners and
/// Admins invite, only an Owner invites an Owner, and not while it is suspended.
pub async fn invite(
    pool: &DbPool,
    actor: &Actor,
    email: &str,
    role: &str,
) -> ServiceResult<Invited> {
    let email = Email::parse(email).map_err(|m| ServiceError::invalid("email", m))?;
    let role: MemberRole = role
        .trim()
        .parse()
        .map_err(|_| ServiceError::invalid("role", "Choose Owner, Admin, Developer or Viewer."))?;
    let organisation = actor.organisation.ok_or(ServiceError::NotFound)?;
    let by = actor.id;
    let about = subject("invitation", None);
    audited(pool, actor, "invite", about, move |conn, _| {
        let mine = Membership::find(conn, by, organisation)?.ok_or(ServiceError::NotFound)?;
        if !mine.role.may_manage_members() || mine.organisation_status != OrganisationStatus::Active
        {
            return Err(ServiceError::Forbidden(
                "Only the Owners and Admins of an active organisation invite people.".into(),
            ));
        }
        if role == MemberRole::Owner && mine.role != MemberRole::Owner {
            return Err(ServiceError::Forbidden(
                "Only an Owner invites an Owner.".into(),
            ));
        }
        let address = email.as_str().to_lowercase();
        if Membership::members(conn, organisation)?
            .iter()
            .any(|m| m.email.to_lowercase() == address)
        {
            return Err(ServiceError::taken(
                "email",
                format!(
                    "{} is a member of the organisation already.",
                    email.as_str()
                ),
            ));
        }
        let token = random::token(32);
        let now = crate::db::now();
        Invitation::insert(
            conn,
            &NewInvitation {
                organisation_id: organisation,
                email: email.as_str(),
                role,
                token_hash: &sha256_hex(token.as_bytes()),
                invited_by: by,
                created_at: now,
                expires_at: now + VALID_SECS,
            },
        )?;
        let summary = format!("Invited {} as {}", email.as_str(), role.label());
        let invited = Invited {
            email: email.as_str().to_string(),
            role: role.label().to_string(),
            token,
        };
        Ok((invited, summary))
    })
    .await
}

/// The invitation a link's token names while it can still be accepted, with its
/// organisation's name; why not, otherwise.
pub fn open(
    conn: &mut crate::db::DbConnection,
    token: &str,
) -> ServiceResult<(Invitation, String)> {
    let found = match token.contains('\0') {
        true => None,
        false => Invitation::by_hash(conn, &sha256_hex(token.as_bytes()))?,
    };
    let (invitation, organisation) = found.ok_or(ServiceError::NotFound)?;
    let refusal = if invitation.state.used_at.is_some() {
        Some(USED)
    } else if invitation.state.revoked_at.is_some() {
        Some("This invitation was withdrawn by the organisation.")
    } else if invitation.state.expires_at <= crate::db::now() {
        Some("This invitation has expired: invitations work for 7 days. Ask for a new one.")
    } else {
        None
    };
    match refusal {
        Some(message) => Err(ServiceError::Conflict(message.into())),
        None => Ok((invitation, organisation)),
    }
}

/// Accepts the invitation for the signed-in person, whose email address must be the one
/// invited: they join with its role, and the link stops working. Answers the organisation
/// joined, its name and the role. The event goes to that organisation's history.
pub async fn accept(
    pool: &DbPool,
    actor: &Actor,
    token: String,
) -> ServiceResult<(OrganisationId, String, MemberRole)> {
    let by = actor.id;
    let joined = {
        let token = token.clone();
        crate::db::run(pool, move |conn| open(conn, &token))
            .await?
            .0
    };
    let actor = Actor {
        organisation: Some(joined.organisation_id),
        ..actor.clone()
    };
    let about = subject("invitation", Some(joined.id));
    audited(pool, &actor, "accept_invitation", about, move |conn, _| {
        let (invitation, name) = open(conn, &token)?;
        acceptable(conn, &invitation, &name, by)?;
        let organisation = invitation.organisation_id;
        if !Invitation::close(conn, invitation.id, Closing::UsedBy(by), crate::db::now())? {
            return Err(ServiceError::Conflict(USED.into()));
        }
        Membership::insert(conn, organisation, by, invitation.role)?;
        let summary = format!("Joined {name} as {}", invitation.role.label());
        Ok(((organisation, name, invitation.role), summary))
    })
    .await
}

const USED: &str = "This invitation has been used already: an invitation link works once.";

/// Refuses someone signed in with another address, and a member already.
fn acceptable(
    conn: &mut crate::db::DbConnection,
    invitation: &Invitation,
    name: &str,
    by: crate::domain::ids::UserId,
) -> ServiceResult<()> {
    let email = User::find(conn, by)?.ok_or(ServiceError::NotFound)?.email;
    if invitation.email.to_lowercase() != email.to_lowercase() {
        return Err(ServiceError::Forbidden(format!(
            "This invitation is for {}, and you are signed in with another email address. Sign \
             in as the person invited, or ask for an invitation to your address.",
            invitation.email
        )));
    }
    if Membership::find(conn, by, invitation.organisation_id)?.is_some() {
        return Err(ServiceError::Conflict(format!(
            "You are a member of {name} already."
        )));
    }
    Ok(())
}

/// Withdraws one of the organisation's open invitations (its Owners and Admins); a used,
/// withdrawn or expired one is not found.
pub async fn revoke(pool: &DbPool, actor: &Actor, id: i64) -> ServiceResult<String> {
    let organisation = actor.organisation.ok_or(ServiceError::NotFound)?;
    let by = actor.id;
    let about = subject("invitation", Some(id));
    audited(pool, actor, "revoke_invitation", about, move |conn, _| {
        let mine = Membership::find(conn, by, organisation)?.ok_or(ServiceError::NotFound)?;
        if !mine.role.may_manage_members() {
            return Err(ServiceError::Forbidden(
                "Only the organisation's Owners and Admins withdraw invitations.".into(),
            ));
        }
        let now = crate::db::now();
        let invitation = Invitation::open_of(conn, organisation, now)?
            .into_iter()
            .find(|i| i.id == id)
            .ok_or(ServiceError::NotFound)?;
        Invitation::close(conn, id, Closing::Withdrawn, now)?;
        let summary = format!("Withdrew the invitation of {}", invitation.email);
        Ok((summary.clone(), summary))
    })
    .await
}
