//! What a token may carry (issue #16): the scopes granted and the audience.
//!
//! An application is *entitled* to the scopes of the APIs it holds an ACTIVE subscription to
//! (the API not retired); a person gets those of them their roles allow. A request asks for
//! scopes (RFC 6749 §3.3) and optionally one resource (RFC 8707):
//! - an OpenID scope (`openid profile email offline_access`) is granted in user flows;
//! - an API scope the application is entitled to (within the resource, when one is named) is
//!   granted; a scope some API declares but the application may not have is left out;
//! - any other scope is unknown: `invalid_scope` for a fresh request, dropped silently when a
//!   grant is re-decided (code exchange, refresh) after an administrator removed it;
//! - no `scope` at all: every API scope the application (and person) may have — the documented
//!   default.
//!
//! The audience is the named resource, else every subscribed API's resource identifier, else
//! (no subscription) the client itself. Re-deciding at every token, refresh and introspection
//! is what makes an unsubscription, a blocked subscription, a retired API or a removed scope
//! take effect at the next request.

use crate::db::DbConnection;
use diesel::prelude::*;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::error::OAuthError;
use crate::db::schema::{api_scopes, apis, subscriptions, throttling_policies, user_roles, users};
use crate::domain::apis::ApiStatus;
use crate::domain::apis::scopes::{OPENID_SCOPES, check_resource, resource_identifier};
use crate::domain::applications::SubscriptionStatus;
use crate::domain::ids::UserId;

/// An API the application holds an active subscription to, with its scopes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntitledApi {
    pub name: String,
    pub version: String,
    pub context: String,
    /// The subscription's tier.
    pub tier: String,
    custom_resource: Option<String>,
    pub scopes: Vec<EntitledScope>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntitledScope {
    pub name: String,
    pub description: String,
    /// Who may get it in a user token; empty: anyone.
    pub roles: Vec<String>,
}

impl EntitledApi {
    /// The API's resource identifier under the issuer `base`.
    pub fn resource(&self, base: &str) -> String {
        resource_identifier(base, &self.context, self.custom_resource.as_deref())
    }
}

impl EntitledScope {
    fn allowed(&self, roles: Option<&[String]>) -> bool {
        match roles {
            None => true,
            Some(held) => self.roles.is_empty() || self.roles.iter().any(|r| held.contains(r)),
        }
    }
}

/// What an application is entitled to now, read with its client (and cached with it).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Entitlement {
    pub apis: Vec<EntitledApi>,
}

impl Entitlement {
    /// The application's active subscriptions to APIs that are not retired, with their scopes:
    /// one query.
    pub fn load(conn: &mut DbConnection, application_id: i64) -> QueryResult<Self> {
        type Row = (
            i64,
            String,
            String,
            String,
            Option<String>,
            String,
            Option<(String, String, String)>,
        );
        let rows: Vec<Row> = subscriptions::table
            .inner_join(apis::table)
            .inner_join(throttling_policies::table)
            .left_join(api_scopes::table.on(api_scopes::api_id.eq(apis::id)))
            .filter(subscriptions::application_id.eq(application_id))
            .filter(subscriptions::status.eq(SubscriptionStatus::Active))
            .filter(apis::status.ne(ApiStatus::Retired))
            .order((apis::id.asc(), api_scopes::name.asc()))
            .select((
                apis::id,
                apis::name,
                apis::version,
                apis::context,
                apis::resource_identifier,
                throttling_policies::name,
                (api_scopes::name, api_scopes::description, api_scopes::roles).nullable(),
            ))
            .load(conn)?;
        let mut entitlement = Self::default();
        let mut last_id = None;
        for (id, name, version, context, custom_resource, tier, scope) in rows {
            if last_id != Some(id) {
                last_id = Some(id);
                entitlement.apis.push(EntitledApi {
                    name,
                    version,
                    context,
                    tier,
                    custom_resource,
                    scopes: Vec::new(),
                });
            }
            if let (Some((name, description, roles)), Some(api)) =
                (scope, entitlement.apis.last_mut())
            {
                api.scopes.push(EntitledScope {
                    name,
                    description,
                    roles: roles
                        .split(' ')
                        .filter(|r| !r.is_empty())
                        .map(str::to_string)
                        .collect(),
                });
            }
        }
        Ok(entitlement)
    }

    /// The API scope of this name and its API, when the application is entitled to it.
    pub fn scope(&self, name: &str) -> Option<&EntitledScope> {
        self.apis
            .iter()
            .flat_map(|api| api.scopes.iter())
            .find(|scope| scope.name == name)
    }
}

/// A token's audience: one resource identifier (a JSON string) or several (an array).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Audience(pub Vec<String>);

impl Audience {
    pub fn contains(&self, value: &str) -> bool {
        self.0.iter().any(|a| a == value)
    }
}

impl Serialize for Audience {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.0.as_slice() {
            [one] => serializer.serialize_str(one),
            many => many.serialize(serializer),
        }
    }
}

impl<'de> Deserialize<'de> for Audience {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum OneOrMany {
            One(String),
            Many(Vec<String>),
        }
        Ok(match OneOrMany::deserialize(deserializer)? {
            OneOrMany::One(one) => Audience(vec![one]),
            OneOrMany::Many(many) => Audience(many),
        })
    }
}

/// What a token request asks for.
pub struct Ask<'a> {
    /// The scopes asked for; `None`: the default.
    pub scopes: Option<&'a [String]>,
    /// The resource asked for (RFC 8707), if any.
    pub resource: Option<&'a str>,
    /// For user tokens, the person's roles; `None` for application tokens.
    pub roles: Option<&'a [String]>,
    /// A fresh request from the client (unknown scopes are refused) rather than a grant being
    /// decided again (unknown scopes, removed since, are dropped).
    pub fresh: bool,
}

/// What a token gets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    pub scopes: Vec<String>,
    pub audience: Audience,
}

impl Grant {
    /// The `scope` of the token and of the token response.
    pub fn scope(&self) -> String {
        self.scopes.join(" ")
    }
}

/// Decides the grant. `unknown` answers which of some scope names no API declares (it reads the
/// database; it is called only when a scope is neither OpenID nor one the application is
/// entitled to).
pub fn decide(
    entitlement: &Entitlement,
    base: &str,
    client_id: &str,
    ask: &Ask,
    unknown: impl FnOnce(&[&str]) -> QueryResult<Vec<String>>,
) -> Result<Grant, OAuthError> {
    let targets = targets(entitlement, base, ask.resource)?;
    let in_target = |name: &str| {
        targets
            .iter()
            .flat_map(|api| api.scopes.iter())
            .find(|scope| scope.name == name)
    };
    let mut scopes: Vec<String> = Vec::new();
    match ask.scopes {
        None => {
            let all = targets.iter().flat_map(|api| api.scopes.iter());
            scopes.extend(all.filter(|s| s.allowed(ask.roles)).map(|s| s.name.clone()));
        }
        Some(asked) => {
            let mut strangers: Vec<&str> = Vec::new();
            for name in asked {
                if OPENID_SCOPES.contains(&name.as_str()) {
                    if ask.roles.is_some() {
                        scopes.push(name.clone());
                    }
                } else if let Some(scope) = in_target(name) {
                    if scope.allowed(ask.roles) {
                        scopes.push(name.clone());
                    }
                } else if entitlement.scope(name).is_none() {
                    strangers.push(name);
                }
            }
            if ask.fresh && !strangers.is_empty() {
                let declared = unknown(&strangers)?;
                let unknown: Vec<&str> = strangers
                    .into_iter()
                    .filter(|s| !declared.iter().any(|d| d == s))
                    .collect();
                if !unknown.is_empty() {
                    return Err(OAuthError::invalid_scope(format!(
                        "Unknown scope: {}. Ask for the scopes of the APIs your application is subscribed to.",
                        unknown.join(" ")
                    )));
                }
            }
        }
    }
    let mut audience: Vec<String> = targets.iter().map(|api| api.resource(base)).collect();
    if audience.is_empty() {
        audience.push(client_id.to_string());
    }
    Ok(Grant {
        scopes,
        audience: Audience(audience),
    })
}

/// What a token issued earlier still carries now: its audience, less the APIs the application
/// no longer holds an active subscription to, and its scopes, less the API scopes of APIs no
/// longer in its audience or no longer declared. `None` when no audience is left.
pub fn still_granted(
    entitlement: &Entitlement,
    base: &str,
    client_id: &str,
    scope: &str,
    audience: &Audience,
) -> Option<(String, Audience)> {
    if audience.0.iter().all(|a| a == client_id) {
        // A token for no API (the application had no subscription): OpenID scopes only.
        let openid = scope.split(' ').filter(|s| OPENID_SCOPES.contains(s));
        return Some((openid.collect::<Vec<_>>().join(" "), audience.clone()));
    }
    let apis: Vec<(String, &EntitledApi)> = entitlement
        .apis
        .iter()
        .map(|api| (api.resource(base), api))
        .filter(|(resource, _)| audience.contains(resource))
        .collect();
    if apis.is_empty() {
        return None;
    }
    let kept = scope.split(' ').filter(|name| {
        OPENID_SCOPES.contains(name)
            || apis
                .iter()
                .any(|(_, api)| api.scopes.iter().any(|s| s.name == *name))
    });
    let scope = kept.collect::<Vec<_>>().join(" ");
    Some((scope, Audience(apis.into_iter().map(|(r, _)| r).collect())))
}

/// The APIs a token is for: the one the resource names (it must be subscribed), else all.
fn targets<'a>(
    entitlement: &'a Entitlement,
    base: &str,
    resource: Option<&str>,
) -> Result<Vec<&'a EntitledApi>, OAuthError> {
    let Some(resource) = resource else {
        return Ok(entitlement.apis.iter().collect());
    };
    if let Err(why) = check_resource(resource) {
        return Err(OAuthError::invalid_target(format!("The resource {why}")));
    }
    match entitlement
        .apis
        .iter()
        .find(|api| api.resource(base) == resource)
    {
        Some(api) => Ok(vec![api]),
        None => Err(OAuthError::invalid_target(
            "The application holds no active subscription to an API with this resource identifier.",
        )),
    }
}

/// Of `names`, those some API declares.
pub fn declared(conn: &mut DbConnection, names: &[&str]) -> QueryResult<Vec<String>> {
    crate::db::models::api_scopes::ApiScope::known(conn, names)
}

/// A person's subject: every row has one (the migration and an insert trigger give it); the
/// id would only show if the database were edited by hand.
pub fn subject_of(user_id: UserId, subject: Option<String>) -> String {
    subject.unwrap_or_else(|| format!("user-{user_id}"))
}

/// A person as tokens know them: their opaque subject and the roles scopes are bound to (the
/// roles an administrator gave them, and their account's role).
pub struct Person {
    pub subject: String,
    pub roles: Vec<String>,
}

impl Person {
    pub fn load(conn: &mut DbConnection, user_id: UserId) -> QueryResult<Person> {
        let (subject, role): (Option<String>, String) = users::table
            .find(user_id)
            .select((users::subject, users::role))
            .first(conn)?;
        Self::with_account(conn, user_id, subject, role)
    }

    /// The person whose account's subject and role were read already (with a refresh
    /// token): only the roles an administrator gave are read.
    pub fn with_account(
        conn: &mut DbConnection,
        user_id: UserId,
        subject: Option<String>,
        role: String,
    ) -> QueryResult<Person> {
        let mut roles: Vec<String> = user_roles::table
            .filter(user_roles::user_id.eq(user_id))
            .select(user_roles::role)
            .load(conn)?;
        roles.push(role);
        Ok(Person {
            subject: subject_of(user_id, subject),
            roles,
        })
    }

    /// The person a subject names.
    pub fn find_by_subject(conn: &mut DbConnection, subject: &str) -> QueryResult<Option<UserId>> {
        users::table
            .filter(users::subject.eq(subject))
            .select(users::id)
            .first(conn)
            .optional()
    }
}
