//! Accounts: inserting them, the first administrator, and the admin's approve / reject / lock /
//! unlock decisions. Signing up and signing in, with their throttles, are in `sign_in`.

use secrecy::{ExposeSecret, SecretString};

use crate::db::models::audit_events::{Actor, Subject};
use crate::db::models::sessions::SessionRow;
use crate::db::models::users::{NewUser, User};
use crate::db::{self, DbError, DbPool, is_unique_violation};
use crate::domain::FieldErrors;
use crate::domain::accounts::{AccountStatus, NewAccount, NewPassword, Role, Username};
use crate::domain::applications::rejection_reason;
use crate::domain::ids::UserId;
use crate::security::password;
use crate::services::{ServiceError, ServiceResult, audited, subject};

async fn insert_user(
    pool: &DbPool,
    account: NewAccount,
    password_hash: String,
    role: Role,
    status: AccountStatus,
) -> ServiceResult<User> {
    db::run(pool, move |conn| {
        insert_user_in(conn, &account, &password_hash, role, status)
    })
    .await
}

/// Inserts an account on `conn` (inside the caller's transaction, when it has one).
pub(crate) fn insert_user_in(
    conn: &mut crate::db::DbConnection,
    account: &NewAccount,
    password_hash: &str,
    role: Role,
    status: AccountStatus,
) -> ServiceResult<User> {
    let now = db::now();
    let key = account.username.key();
    let new = NewUser {
        username: account.username.as_str(),
        username_key: &key,
        email: account.email.as_str(),
        first_name: &account.first_name,
        last_name: &account.last_name,
        organization: &account.organization,
        password_hash,
        role,
        status,
        terms_accepted_at: (role == Role::Tpp).then_some(now),
        created_at: now,
        updated_at: now,
    };
    User::insert(conn, &new).map_err(|e| {
        if is_unique_violation(&e) {
            ServiceError::taken("username", "This username is taken. Choose another one.")
        } else {
            e.into()
        }
    })
}

#[derive(Debug, thiserror::Error)]
pub enum AdminSetupError {
    #[error("{0}")]
    Invalid(String),
    #[error("the username {0} is taken")]
    UsernameTaken(String),
    #[error(transparent)]
    Database(#[from] DbError),
}

/// Creates an administrator account (first admin from the environment, or `create-admin`).
pub async fn create_admin(
    pool: &DbPool,
    username: &str,
    password_text: &SecretString,
) -> Result<User, AdminSetupError> {
    let username = Username::parse(username).map_err(AdminSetupError::Invalid)?;
    let mut errors = FieldErrors::new();
    let secret = password_text.expose_secret();
    let Some(password) = NewPassword::parse(secret, secret, Some(&username), &mut errors) else {
        let message = errors
            .iter()
            .map(|(_, m)| m.to_string())
            .collect::<Vec<_>>()
            .join(" ");
        return Err(AdminSetupError::Invalid(message));
    };
    let hash = password::hash(password.expose().to_string()).await;
    let account = NewAccount {
        email: crate::domain::accounts::Email::parse(&format!("{}@localhost", username.key()))
            .map_err(AdminSetupError::Invalid)?,
        username: username.clone(),
        first_name: "Portal".into(),
        last_name: "Administrator".into(),
        organization: String::new(),
        password,
        founds: Default::default(),
    };
    insert_user(pool, account, hash, Role::Admin, AccountStatus::Active)
        .await
        .map_err(|e| match e {
            ServiceError::Taken(_) => AdminSetupError::UsernameTaken(username.as_str().to_string()),
            ServiceError::Database(e) => AdminSetupError::Database(e),
            other => AdminSetupError::Invalid(other.to_string()),
        })
}

/// Creates the first administrator from the settings when no administrator exists yet.
pub async fn ensure_first_admin(
    pool: &DbPool,
    first_admin: Option<&(String, SecretString)>,
) -> Result<(), AdminSetupError> {
    let Some((username, password)) = first_admin else {
        return Ok(());
    };
    let exists = db::run(pool, |conn| User::admin_exists(conn).map_err(DbError::from)).await?;
    if exists {
        return Ok(());
    }
    create_admin(pool, username, password)
        .await
        .map_err(|e| match e {
            AdminSetupError::Invalid(m) => AdminSetupError::Invalid(format!(
                "PORTICO_ADMIN_USERNAME/PORTICO_ADMIN_PASSWORD: {m}"
            )),
            other => other,
        })?;
    tracing::info!(username = %username, "created the first administrator");
    Ok(())
}

/// What an administrator can decide about an account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountDecision {
    Approve,
    Reject,
    Lock,
    Unlock,
}

impl AccountDecision {
    /// The status the decision leads to from `current`, or why it does not apply.
    pub fn apply(self, current: AccountStatus) -> Result<AccountStatus, &'static str> {
        use AccountStatus::*;
        match (self, current) {
            (AccountDecision::Approve, Pending | Rejected) => Ok(Active),
            (AccountDecision::Reject, Pending) => Ok(Rejected),
            (AccountDecision::Lock, Active | Pending) => Ok(Locked),
            (AccountDecision::Unlock, Locked) => Ok(Active),
            (AccountDecision::Approve, _) => {
                Err("Only accounts waiting for approval (or rejected) can be approved.")
            }
            (AccountDecision::Reject, _) => {
                Err("Only accounts waiting for approval can be rejected.")
            }
            (AccountDecision::Lock, _) => Err("This account is already locked or rejected."),
            (AccountDecision::Unlock, _) => Err("Only locked accounts can be unlocked."),
        }
    }

    /// The audit trail's action.
    pub fn verb(self) -> &'static str {
        match self {
            AccountDecision::Approve => "approve",
            AccountDecision::Reject => "reject",
            AccountDecision::Lock => "lock",
            AccountDecision::Unlock => "unlock",
        }
    }

    pub fn done(self) -> &'static str {
        match self {
            AccountDecision::Approve => "approved",
            AccountDecision::Reject => "rejected",
            AccountDecision::Lock => "locked",
            AccountDecision::Unlock => "unlocked",
        }
    }
}

/// Applies an admin's decision; locking or rejecting ends every session and every OAuth grant
/// of the account for good (its refresh tokens stop, its user access tokens are denied). The
/// tokens of the applications it owns are only suspended: unlocking brings them back.
///
/// A rejection needs a reason, which the person sees when they try to sign in; every decision
/// is in the audit trail.
pub async fn decide(
    pool: &DbPool,
    admin: Actor,
    user_id: UserId,
    decision: AccountDecision,
    reason: &str,
) -> ServiceResult<User> {
    let reason = match decision {
        AccountDecision::Reject => {
            Some(rejection_reason(reason).map_err(|m| ServiceError::invalid("reason", m))?)
        }
        _ => None,
    };
    let admin_id = admin.id;
    let subject = subject("account", Some(user_id.get()));
    audited(pool, &admin, decision.verb(), subject, move |conn, _| {
        let user = User::find(conn, user_id)?.ok_or(ServiceError::NotFound)?;
        if user.id == admin_id {
            return Err(ServiceError::Conflict(
                "You cannot change your own account.".into(),
            ));
        }
        let status = decision
            .apply(user.status)
            .map_err(|m| ServiceError::Conflict(m.into()))?;
        User::set_decision(conn, user.id, status, reason.as_deref())?;
        super::organisations::follow_sign_up_decision(conn, user.id, status)?;
        if status != AccountStatus::Active {
            SessionRow::delete_for_user(conn, user.id)?;
            crate::oauth_server::end_grants_of_user(conn, user.id)?;
        }
        let summary = match &reason {
            Some(reason) => format!("Rejected the sign-up of {}: {reason}", user.username),
            None => format!("{} is now {}", user.username, decision.done()),
        };
        let decided = User {
            status,
            decision_reason: reason,
            ..user
        };
        Ok((decided, summary))
    })
    .await
}

/// Replaces the roles a user carries (what key managers' ALLOW/DENY permissions refer to).
pub async fn set_roles(
    pool: &DbPool,
    actor: Actor,
    user_id: UserId,
    values: Vec<String>,
) -> ServiceResult<(User, Vec<String>)> {
    use crate::db::models::user_roles::UserRole;
    let roles = crate::domain::key_managers::parse_roles(&values)
        .map_err(|m| ServiceError::invalid("roles", m))?;
    let subject = Subject {
        object_type: "user_roles",
        object_id: Some(user_id.get()),
        application_id: None,
    };
    audited(pool, &actor, "update", subject, move |conn, _| {
        let user = User::find(conn, user_id)?.ok_or(ServiceError::NotFound)?;
        UserRole::replace(conn, user.id, &roles)?;
        let shown = if roles.is_empty() {
            "none".to_string()
        } else {
            roles.join(", ")
        };
        let summary = format!("Set the roles of {} to {shown}", user.username);
        Ok(((user, roles), summary))
    })
    .await
}
