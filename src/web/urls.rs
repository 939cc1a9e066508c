//! Every path a page links or posts to, built in one place: a `Url` is a route of the table in
//! `startup.rs` with its parameters filled in, so templates never spell a path out and a renamed
//! route breaks a unit test (`every_url_is_a_route_of_the_table`) instead of a page.
//!
//! Templates write `{{ crate::web::Url::Application(application.id) }}`; `query` adds one
//! parameter, encoded: `Url::AdminUsers.query("status", "pending")`.

use std::fmt;

use crate::domain::ids::{ApiId, ApplicationId, KeyManagerId, OrganisationId, UserId};
use crate::domain::keys::KeyType;
use crate::services::keys::KeysAction;

/// A path of Portico's pages, assets and form actions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Url {
    Home,
    Terms,
    Signup,
    /// Where a sign-up that waits for an administrator's approval lands.
    SignupPending,
    Login,
    Logout,
    Consents,
    RevokeConsent(i64),
    /// The organisation the person works in: its details and members.
    Organisation,
    /// Where the header's switcher posts the organisation to work in.
    SwitchOrganisation,
    ChangeMemberRole(UserId),
    RemoveMember(UserId),
    LeaveOrganisation,
    Invite,
    RevokeInvitation(i64),
    UnsentForm,
    Authorize,
    /// Where the consent page posts the person's Allow or Deny.
    AuthorizeDecision,
    /// The end-session endpoint (RP-Initiated Logout) and its confirmation.
    EndSession,
    EndSessionConfirm,
    Apis,
    Api(ApiId),
    Subscribe(ApiId),
    Applications,
    NewApplication,
    Application(ApplicationId),
    DeleteApplication(ApplicationId),
    ApplicationSubscriptions(ApplicationId),
    /// An application's subscription: (application, subscription).
    Unsubscribe(ApplicationId, i64),
    /// An application's Production Keys or Sandbox Keys tab.
    Keys(ApplicationId, KeyType),
    /// One of the POST actions of a keys tab.
    KeysAction(ApplicationId, KeyType, KeysAction),
    Admin,
    AdminUsers,
    ApproveUser(UserId),
    RejectUser(UserId),
    LockUser(UserId),
    UnlockUser(UserId),
    UserRoles(UserId),
    AdminOrganisations,
    SuspendOrganisation(OrganisationId),
    ReinstateOrganisation(OrganisationId),
    AdminSubscriptions,
    ApproveSubscription(i64),
    RejectSubscription(i64),
    Audit,
    Gateways,
    DeleteGateway(i64),
    KeyManagerTasks,
    RetryTask(i64),
    ResolveTask(i64),
    KeyManagers,
    NewKeyManager,
    DiscoverKeyManager,
    KeyManager(KeyManagerId),
    EnableKeyManager(KeyManagerId),
    DisableKeyManager(KeyManagerId),
    DeleteKeyManager(KeyManagerId),
    Policies,
    NewPolicy,
    Policy(i64),
    DeletePolicy(i64),
    AdminApis,
    NewApi,
    AdminApi(ApiId),
    /// Where the scope form posts; `admin::api_scopes::delete_path` adds a scope's removal.
    AdminApiScopes(ApiId),
    /// A file of `static/` (`css/portico.css`), served by `assets::serve`.
    Static(&'static str),
}

/// A value that fills one `{…}` of a route pattern.
#[derive(Clone, Copy)]
enum Segment {
    Id(i64),
    Text(&'static str),
}

impl fmt::Display for Segment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Segment::Id(id) => write!(f, "{id}"),
            Segment::Text(text) => f.write_str(text),
        }
    }
}

impl Url {
    /// The route pattern, exactly as the route table declares it, and the values of its `{…}`
    /// in order.
    // Longer than 80 lines: one flat arm per route, read side by side with the route table.
    #[allow(clippy::too_many_lines)]
    fn route(self) -> (&'static str, [Option<Segment>; 2]) {
        use Segment::{Id, Text};
        let none = [None, None];
        let one = |id| [Some(Id(id)), None];
        match self {
            Url::Home => ("/", none),
            Url::Terms => ("/terms", none),
            Url::Signup => ("/signup", none),
            Url::SignupPending => ("/signup/pending", none),
            Url::Login => ("/login", none),
            Url::Logout => ("/logout", none),
            Url::Consents => ("/account/consents", none),
            Url::RevokeConsent(id) => ("/account/consents/{id}/revoke", one(id)),
            Url::Organisation => ("/organisation", none),
            Url::SwitchOrganisation => ("/organisation/switch", none),
            Url::ChangeMemberRole(id) => ("/organisation/members/{id}/role", one(id.get())),
            Url::RemoveMember(id) => ("/organisation/members/{id}/remove", one(id.get())),
            Url::LeaveOrganisation => ("/organisation/leave", none),
            Url::Invite => ("/organisation/invitations", none),
            Url::RevokeInvitation(id) => ("/organisation/invitations/{id}/revoke", one(id)),
            Url::UnsentForm => ("/account/unsent-form", none),
            Url::Authorize => ("/oauth2/authorize", none),
            Url::AuthorizeDecision => ("/oauth2/authorize/decision", none),
            Url::EndSession => ("/oauth2/logout", none),
            Url::EndSessionConfirm => ("/oauth2/logout/confirm", none),
            Url::Apis => ("/apis", none),
            Url::Api(id) => ("/apis/{id}", one(id.get())),
            Url::Subscribe(id) => ("/apis/{id}/subscribe", one(id.get())),
            Url::Applications => ("/applications", none),
            Url::NewApplication => ("/applications/new", none),
            Url::Application(id) => ("/applications/{id}", one(id.get())),
            Url::DeleteApplication(id) => ("/applications/{id}/delete", one(id.get())),
            Url::ApplicationSubscriptions(id) => {
                ("/applications/{id}/subscriptions", one(id.get()))
            }
            Url::Unsubscribe(id, sub_id) => (
                "/applications/{id}/subscriptions/{sub_id}/delete",
                [Some(Id(id.get())), Some(Id(sub_id))],
            ),
            Url::Keys(id, key_type) => (
                "/applications/{id}/keys/{key_type}",
                [Some(Id(id.get())), Some(Text(key_type.path()))],
            ),
            Url::KeysAction(id, key_type, action) => (
                keys_action_pattern(action),
                [Some(Id(id.get())), Some(Text(key_type.path()))],
            ),
            Url::Admin => ("/admin", none),
            Url::AdminUsers => ("/admin/users", none),
            Url::ApproveUser(id) => ("/admin/users/{id}/approve", one(id.get())),
            Url::RejectUser(id) => ("/admin/users/{id}/reject", one(id.get())),
            Url::LockUser(id) => ("/admin/users/{id}/lock", one(id.get())),
            Url::UnlockUser(id) => ("/admin/users/{id}/unlock", one(id.get())),
            Url::UserRoles(id) => ("/admin/users/{id}/roles", one(id.get())),
            Url::AdminOrganisations => ("/admin/organisations", none),
            Url::SuspendOrganisation(id) => ("/admin/organisations/{id}/suspend", one(id.get())),
            Url::ReinstateOrganisation(id) => {
                ("/admin/organisations/{id}/reinstate", one(id.get()))
            }
            Url::AdminSubscriptions => ("/admin/subscriptions", none),
            Url::ApproveSubscription(id) => ("/admin/subscriptions/{id}/approve", one(id)),
            Url::RejectSubscription(id) => ("/admin/subscriptions/{id}/reject", one(id)),
            Url::Audit => ("/admin/audit", none),
            Url::Gateways => ("/admin/gateways", none),
            Url::DeleteGateway(id) => ("/admin/gateways/{id}/delete", one(id)),
            Url::KeyManagerTasks => ("/admin/key-manager-tasks", none),
            Url::RetryTask(id) => ("/admin/key-manager-tasks/{id}/retry", one(id)),
            Url::ResolveTask(id) => ("/admin/key-manager-tasks/{id}/resolve", one(id)),
            Url::KeyManagers => ("/admin/key-managers", none),
            Url::NewKeyManager => ("/admin/key-managers/new", none),
            Url::DiscoverKeyManager => ("/admin/key-managers/discover", none),
            Url::KeyManager(id) => ("/admin/key-managers/{id}", one(id.get())),
            Url::EnableKeyManager(id) => ("/admin/key-managers/{id}/enable", one(id.get())),
            Url::DisableKeyManager(id) => ("/admin/key-managers/{id}/disable", one(id.get())),
            Url::DeleteKeyManager(id) => ("/admin/key-managers/{id}/delete", one(id.get())),
            Url::Policies => ("/admin/throttling-policies", none),
            Url::NewPolicy => ("/admin/throttling-policies/new", none),
            Url::Policy(id) => ("/admin/throttling-policies/{id}", one(id)),
            Url::DeletePolicy(id) => ("/admin/throttling-policies/{id}/delete", one(id)),
            Url::AdminApis => ("/admin/apis", none),
            Url::NewApi => ("/admin/apis/new", none),
            Url::AdminApi(id) => ("/admin/apis/{id}", one(id.get())),
            Url::AdminApiScopes(id) => ("/admin/apis/{id}/scopes", one(id.get())),
            Url::Static(path) => ("/static/{path:.*}", [Some(Text(path)), None]),
        }
    }

    /// This path with `?name=value` (the value encoded).
    pub fn query(self, name: &str, value: impl fmt::Display) -> String {
        self.with_query([(name, value.to_string().as_str())])
    }

    /// This path with `?name=value&…` for each pair in order (values encoded), or the bare path
    /// when there are none: a list page's filters, say.
    pub fn with_query<'a>(self, pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        let mut any = false;
        for (name, value) in pairs {
            query.append_pair(name, value);
            any = true;
        }
        if any {
            format!("{self}?{}", query.finish())
        } else {
            self.to_string()
        }
    }
}

/// The route of a keys tab's POST action.
fn keys_action_pattern(action: KeysAction) -> &'static str {
    match action {
        KeysAction::Generate => "/applications/{id}/keys/{key_type}/generate",
        KeysAction::Map => "/applications/{id}/keys/{key_type}/map",
        KeysAction::Update => "/applications/{id}/keys/{key_type}/update",
        KeysAction::Regenerate => "/applications/{id}/keys/{key_type}/regenerate-secret",
        KeysAction::Token => "/applications/{id}/keys/{key_type}/token",
        KeysAction::Remove => "/applications/{id}/keys/{key_type}/remove",
    }
}

impl fmt::Display for Url {
    /// The pattern with each `{…}` replaced by its value.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (pattern, segments) = self.route();
        let mut segments = segments.into_iter().flatten();
        let mut rest = pattern;
        while let Some((before, after)) = rest.split_once('{') {
            f.write_str(before)?;
            if let Some(segment) = segments.next() {
                write!(f, "{segment}")?;
            }
            rest = after.split_once('}').map_or("", |(_, tail)| tail);
        }
        f.write_str(rest)
    }
}

#[cfg(test)]
mod tests {
    use actix_web::dev::ResourceDef;

    use super::*;
    use crate::startup::ROUTES;

    /// One of each variant (and each keys action): a new variant gets its sample here.
    fn samples() -> Vec<Url> {
        let all = vec![
            Url::Home,
            Url::Terms,
            Url::Signup,
            Url::SignupPending,
            Url::Login,
            Url::Logout,
            Url::Consents,
            Url::RevokeConsent(7),
            Url::UnsentForm,
            Url::Authorize,
            Url::AuthorizeDecision,
            Url::EndSession,
            Url::EndSessionConfirm,
            Url::Apis,
            Url::Api(ApiId(7)),
            Url::Subscribe(ApiId(7)),
            Url::Applications,
            Url::NewApplication,
            Url::Application(ApplicationId(7)),
            Url::DeleteApplication(ApplicationId(7)),
            Url::ApplicationSubscriptions(ApplicationId(7)),
            Url::Unsubscribe(ApplicationId(7), 8),
            Url::Keys(ApplicationId(7), KeyType::Production),
            Url::Keys(ApplicationId(7), KeyType::Sandbox),
            Url::Admin,
            Url::AdminUsers,
            Url::ApproveUser(UserId(7)),
            Url::RejectUser(UserId(7)),
            Url::LockUser(UserId(7)),
            Url::UnlockUser(UserId(7)),
            Url::UserRoles(UserId(7)),
            Url::AdminSubscriptions,
            Url::ApproveSubscription(7),
            Url::RejectSubscription(7),
            Url::Audit,
            Url::Gateways,
            Url::DeleteGateway(7),
            Url::KeyManagerTasks,
            Url::RetryTask(7),
            Url::ResolveTask(7),
            Url::KeyManagers,
            Url::NewKeyManager,
            Url::DiscoverKeyManager,
            Url::KeyManager(KeyManagerId(7)),
            Url::EnableKeyManager(KeyManagerId(7)),
            Url::DisableKeyManager(KeyManagerId(7)),
            Url::DeleteKeyManager(KeyManagerId(7)),
            Url::Policies,
            Url::NewPolicy,
            Url::Policy(7),
            Url::DeletePolicy(7),
            Url::AdminApis,
            Url::NewApi,
            Url::AdminApi(ApiId(7)),
            Url::AdminApiScopes(ApiId(7)),
            Url::Static("css/portico.css"),
            Url::Static("img/favicon.svg"),
        ];
        let actions = [
            KeysAction::Generate,
            KeysAction::Map,
            KeysAction::Update,
            KeysAction::Regenerate,
            KeysAction::Token,
            KeysAction::Remove,
        ];
        let mut all = all;
        all.extend(
            actions
                .into_iter()
                .map(|a| Url::KeysAction(ApplicationId(7), KeyType::Sandbox, a)),
        );
        all
    }

    #[test]
    fn every_url_is_a_route_of_the_table() {
        for url in samples() {
            let (pattern, _) = url.route();
            let path = url.to_string();
            if let Url::Static(file) = url {
                let on_disk = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("static");
                assert!(on_disk.join(file).is_file(), "{path}: no such asset");
            } else {
                assert!(
                    ROUTES.iter().any(|r| r.path == pattern),
                    "{url:?}: {pattern} is not in the route table"
                );
            }
            assert!(
                ResourceDef::new(pattern).is_match(&path),
                "{url:?}: {path} does not match {pattern}"
            );
            assert!(
                !path.contains('{'),
                "{url:?}: {path} left a parameter unfilled"
            );
        }
    }

    #[test]
    fn paths_fill_their_parameters_in_order() {
        assert_eq!(Url::Home.to_string(), "/");
        assert_eq!(
            Url::Unsubscribe(ApplicationId(3), 9).to_string(),
            "/applications/3/subscriptions/9/delete"
        );
        assert_eq!(
            Url::KeysAction(
                ApplicationId(3),
                KeyType::Production,
                KeysAction::Regenerate
            )
            .to_string(),
            "/applications/3/keys/production/regenerate-secret"
        );
        assert_eq!(
            Url::Login.query("next", "/apis/3"),
            "/login?next=%2Fapis%2F3"
        );
        assert_eq!(
            Url::AdminUsers.query("status", "pending"),
            "/admin/users?status=pending"
        );
        assert_eq!(
            Url::Audit.with_query([("actor", "a b"), ("action", "")]),
            "/admin/audit?actor=a+b&action="
        );
        assert_eq!(Url::Apis.with_query(None), "/apis");
    }
}
