//! Signing up and signing in, throttled per client address so that brute force stays slow
//! without handing an attacker a way to keep the owner of an account out.
//!
//! Every sign-in attempt is counted before its password is checked, in one immediate transaction
//! with the look at the locks, against three keys: the account from this address (5 per 15
//! minutes), the address (20 per 15 minutes, against spraying many accounts) and the account from
//! anywhere (10 per 15 minutes, then a one-minute pause: a slow-down against guessing from many
//! addresses). An address the account signed in from within 90 days is exempt from the last one,
//! so an administrator can always sign in from where they usually do. A right password takes
//! its attempt back. Sign-ups count per address too, and a taken username costs the address a
//! sign-in failure: probing usernames through sign-up is no cheaper than through sign-in.
//! Everything lands in the audit trail, with the client address.

use std::net::IpAddr;

use crate::db::models::audit_events::{AuditEvent, Subject};
use crate::db::models::invitations::{Closing, Invitation};
use crate::db::models::login_throttles::{Attempt, LoginThrottle, ThrottleRule};
use crate::db::models::organisations::{Membership, NewOrganisation};
use crate::db::models::users::User;
use crate::db::{self, DbError, DbPool};
use crate::domain::accounts::{AccountStatus, NewAccount, PASSWORD_MAX, Role, username_key};
use crate::domain::ids::UserId;
use crate::domain::organisations::{OrganisationStatus, organisation_name};
use crate::security::client_address::ClientAddress;
use crate::security::password;
use crate::services::accounts::insert_user_in;
use crate::services::organisations::{found, free_name};
use crate::services::{ServiceError, ServiceResult};

/// The invitation a sign-up came from, when it still works and invites this address.
fn joinable(
    conn: &mut crate::db::DbConnection,
    account: &NewAccount,
) -> ServiceResult<Option<Invitation>> {
    let Some(token) = &account.founds.invitation else {
        return Ok(None);
    };
    Ok(match crate::services::invitations::open(conn, token) {
        Ok((invitation, _))
            if invitation.email.to_lowercase() == account.email.as_str().to_lowercase() =>
        {
            Some(invitation)
        }
        Ok(_) | Err(ServiceError::NotFound | ServiceError::Conflict(_)) => None,
        Err(other) => return Err(other),
    })
}

/// The new account joins the organisation that invited it; the link stops working. What the
/// sign-up's audit event adds.
fn join(
    conn: &mut crate::db::DbConnection,
    invitation: &Invitation,
    user: &User,
) -> ServiceResult<String> {
    let closing = Closing::UsedBy(user.id);
    if !Invitation::close(conn, invitation.id, closing, db::now())? {
        return Err(ServiceError::Conflict(
            "This invitation has been used already: an invitation link works once.".into(),
        ));
    }
    Membership::insert(conn, invitation.organisation_id, user.id, invitation.role)?;
    Ok(format!(
        " and joined organisation {} as {} through an invitation",
        invitation.organisation_id,
        invitation.role.label()
    ))
}

/// The organisation a new account founds, with the account as its Owner: waiting for an
/// administrator when sign-ups need approval. Named as typed (a taken name is the form's
/// conflict), else after the username (told apart from a taken name).
fn found_organisation(
    conn: &mut crate::db::DbConnection,
    account: &NewAccount,
    user: &User,
    needs_approval: bool,
) -> ServiceResult<()> {
    let name = match &account.founds.name {
        Some(name) => name.clone(),
        None => {
            let after_user = organisation_name(&user.username)
                .map_err(|e| ServiceError::invalid("organization", e))?;
            free_name(conn, &after_user, &user.username)?
        }
    };
    let new = NewOrganisation {
        name: &name,
        legal_identifier: &account.founds.legal_identifier,
        country: &account.founds.country,
        status: if needs_approval {
            OrganisationStatus::Pending
        } else {
            OrganisationStatus::Active
        },
    };
    found(conn, &new, user.id, "organization")?;
    Ok(())
}

/// Five failures for one account from one address lock that pair for 15 minutes.
pub const ACCOUNT_FROM_ADDRESS_RULE: ThrottleRule = ThrottleRule {
    max_failures: 5,
    window_secs: 900,
    lock_secs: 900,
};
/// Twenty failures from one address (any accounts) lock the address for 15 minutes.
pub const ADDRESS_RULE: ThrottleRule = ThrottleRule {
    max_failures: 20,
    window_secs: 900,
    lock_secs: 900,
};
/// Ten failures for one account from all addresses pause it for a minute, except from the
/// addresses it is known at.
pub const ACCOUNT_RULE: ThrottleRule = ThrottleRule {
    max_failures: 10,
    window_secs: 900,
    lock_secs: 60,
};
/// Thirty sign-ups from one address in an hour, then none for an hour.
pub const SIGN_UP_RULE: ThrottleRule = ThrottleRule {
    max_failures: 30,
    window_secs: 3600,
    lock_secs: 3600,
};
/// How long a successful sign-in keeps an address known for its account.
pub const KNOWN_ADDRESS_SECS: i64 = 90 * 24 * 3600;

/// Typed usernames longer than any real one are cut: they cannot match, only fill the table.
const KEY_CHARS: usize = 128;

/// The throttle keys of one attempt. An address never contains a space, so `{address} {name}`
/// cannot be forged by a crafted username.
struct Keys {
    account_from_address: String,
    address: String,
    account: String,
    known: String,
}

impl Keys {
    fn new(typed_username: &str, client: IpAddr) -> Self {
        let name: String = username_key(typed_username)
            .chars()
            .take(KEY_CHARS)
            .collect();
        Keys {
            account_from_address: format!("account-address:{client} {name}"),
            address: address_key(client),
            account: format!("account:{name}"),
            known: format!("known:{client} {name}"),
        }
    }
}

fn address_key(client: IpAddr) -> String {
    format!("address:{client}")
}

#[derive(Debug, thiserror::Error)]
pub enum SignInError {
    #[error("wrong username or password")]
    InvalidCredentials,
    #[error("too many failed attempts")]
    Throttled { until: i64 },
    /// The account is not active; a rejected one carries the administrator's reason.
    #[error("the account is {0}")]
    NotActive(AccountStatus, Option<String>),
    #[error(transparent)]
    Database(#[from] DbError),
}

impl From<diesel::result::Error> for SignInError {
    fn from(e: diesel::result::Error) -> Self {
        SignInError::Database(e.into())
    }
}

/// What the counting step found: the account (if any), whether the account-wide key was counted
/// and which keys this attempt locked.
struct Counted {
    user: Option<User>,
    account_counted: bool,
    locked: Vec<String>,
}

/// Checks a username and password from `client`. Unknown users cost the same time as wrong
/// passwords and count the same way.
pub async fn sign_in(
    pool: &DbPool,
    typed_username: &str,
    typed_password: String,
    client: ClientAddress,
) -> Result<User, SignInError> {
    // No username holds a NUL, and PostgreSQL text cannot: it is looked up and counted as U+FFFD.
    let typed_username = &typed_username.replace('\0', "\u{FFFD}");
    let keys = Keys::new(typed_username, client.0);
    let counted = count_sign_in(pool, username_key(typed_username), &keys).await?;
    let stored = counted.user.as_ref().map(|u| u.password_hash.clone());
    let verified =
        typed_password.len() <= 4 * PASSWORD_MAX && password::verify(typed_password, stored).await;
    if !verified {
        record_failure(pool, keys, counted, client).await?;
        return Err(SignInError::InvalidCredentials);
    }
    let user = counted.user.expect("a verified password belongs to a user");
    let active = user.status == AccountStatus::Active;
    let account_counted = counted.account_counted;
    let (id, username) = (user.id, user.username.clone());
    db::run(pool, move |conn| {
        db::write(conn, |conn| {
            LoginThrottle::clear(conn, &keys.account_from_address)?;
            LoginThrottle::refund(conn, &keys.address)?;
            if account_counted {
                LoginThrottle::refund(conn, &keys.account)?;
            }
            if active {
                LoginThrottle::remember(conn, &keys.known, db::now())?;
                let summary = format!("Signed in from {client}");
                AuditEvent::record_as(
                    conn,
                    Some(id),
                    &username,
                    "sign_in",
                    account_subject(id),
                    &summary,
                )?;
            }
            Ok::<_, SignInError>(())
        })
    })
    .await?;
    if !active {
        return Err(SignInError::NotActive(user.status, user.decision_reason));
    }
    Ok(user)
}

fn account_subject(id: UserId) -> Subject<'static> {
    Subject {
        object_type: "account",
        object_id: Some(id.get()),
        application_id: None,
    }
}

/// Counts the attempt against its keys, atomically, before any password is checked.
async fn count_sign_in(pool: &DbPool, lookup: String, keys: &Keys) -> Result<Counted, SignInError> {
    let (pair, address, account, known) = (
        keys.account_from_address.clone(),
        keys.address.clone(),
        keys.account.clone(),
        keys.known.clone(),
    );
    let (user, account_counted, attempt) = db::run(pool, move |conn| {
        db::write(conn, |conn| {
            let now = db::now();
            let user = User::find_by_key(conn, &lookup)?;
            let known = LoginThrottle::remembered(conn, &known, KNOWN_ADDRESS_SECS, now)?;
            let mut rules = vec![
                (pair.as_str(), ACCOUNT_FROM_ADDRESS_RULE),
                (address.as_str(), ADDRESS_RULE),
            ];
            if !known {
                rules.push((account.as_str(), ACCOUNT_RULE));
            }
            let attempt = LoginThrottle::count_attempt(conn, &rules, now)?;
            Ok::<_, SignInError>((user, !known, attempt))
        })
    })
    .await?;
    match attempt {
        Attempt::Refused { until } => Err(SignInError::Throttled { until }),
        Attempt::Allowed { locked } => Ok(Counted {
            user,
            account_counted,
            locked,
        }),
    }
}

/// Audits a failed sign-in, and the throttle it started if it used up a key.
async fn record_failure(
    pool: &DbPool,
    keys: Keys,
    counted: Counted,
    client: ClientAddress,
) -> Result<(), SignInError> {
    let user = counted.user.map(|u| (u.id, u.username));
    let who = user
        .as_ref()
        .map_or("an unknown username".to_string(), |(_, name)| name.clone());
    let subject = move || Subject {
        object_type: "account",
        object_id: user.as_ref().map(|(id, _)| id.get()),
        application_id: None,
    };
    let locked = counted.locked;
    db::run(pool, move |conn| {
        db::write(conn, |conn| {
            let summary = format!("Failed sign-in for {who} from {client}");
            AuditEvent::record_as(
                conn,
                None,
                "anonymous",
                "sign_in_failed",
                subject(),
                &summary,
            )?;
            for key in &locked {
                let summary = throttle_summary(&keys, key, &who, client);
                AuditEvent::record_as(
                    conn,
                    None,
                    "anonymous",
                    "sign_in_throttled",
                    subject(),
                    &summary,
                )?;
            }
            Ok::<_, SignInError>(())
        })
    })
    .await
}

fn throttle_summary(keys: &Keys, key: &str, who: &str, client: ClientAddress) -> String {
    if key == keys.account_from_address {
        format!("Sign-in for {who} from {client} refused for 15 minutes after 5 failures")
    } else if key == keys.address {
        format!("Every sign-in from {client} refused for 15 minutes after 20 failures")
    } else {
        format!(
            "Sign-in for {who} paused for a minute at addresses it is not known at, after 10 \
             failures (the last from {client})"
        )
    }
}

/// Creates a TPP account from `client`: active, or pending an admin's approval in approval mode
/// (unless an invitation it came from lets it join an organisation: then active). Refused
/// while the address is over its sign-up limit or locked for failed sign-ins. Answers the
/// account and whether it joined an organisation through an invitation.
pub async fn sign_up(
    pool: &DbPool,
    account: NewAccount,
    needs_approval: bool,
    client: ClientAddress,
) -> ServiceResult<(User, bool)> {
    let address = address_key(client.0);
    let sign_ups = format!("sign-up:{client}");
    {
        let address = address.clone();
        db::run(pool, move |conn| {
            db::write(conn, |conn| {
                let now = db::now();
                let attempt = match LoginThrottle::locked_until(conn, &[&address], now)? {
                    Some(until) => Attempt::Refused { until },
                    None => LoginThrottle::count_attempt(conn, &[(&sign_ups, SIGN_UP_RULE)], now)?,
                };
                match attempt {
                    Attempt::Refused { until } => Err(ServiceError::Throttled { until }),
                    Attempt::Allowed { .. } => Ok(()),
                }
            })
        })
        .await?;
    }
    let hash = password::hash(account.password.expose().to_string()).await;
    let created = db::run(pool, move |conn| {
        db::write(conn, |conn| {
            // Invited into an organisation that is already there: no approval to wait for.
            let joins = joinable(conn, &account)?;
            let status = if needs_approval && joins.is_none() {
                AccountStatus::Pending
            } else {
                AccountStatus::Active
            };
            let user = insert_user_in(conn, &account, &hash, Role::Tpp, status)?;
            let joined = match joins {
                Some(invitation) => join(conn, &invitation, &user)?,
                None => {
                    found_organisation(conn, &account, &user, needs_approval)?;
                    String::new()
                }
            };
            let waiting = if status == AccountStatus::Pending {
                " (waiting for approval)"
            } else {
                ""
            };
            let summary = format!("Signed up from {client}{waiting}{joined}");
            AuditEvent::record_as(
                conn,
                Some(user.id),
                &user.username,
                "sign_up",
                account_subject(user.id),
                &summary,
            )?;
            Ok((user, !joined.is_empty()))
        })
    })
    .await;
    if let Err(ServiceError::Taken(errors)) = &created
        && errors.get("username").is_some()
    {
        // The same price as a failed sign-in, so sign-up is no cheaper username oracle.
        db::run(pool, move |conn| {
            db::write(conn, |conn| {
                LoginThrottle::record_failure(conn, &address, ADDRESS_RULE, db::now())
            })
            .map_err(ServiceError::from)
        })
        .await?;
    }
    created
}
