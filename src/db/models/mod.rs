//! One file per table: the row types and the queries on them. Nothing here knows about HTTP.

pub mod api_scopes;
pub mod apis;
pub mod applications;
pub mod audit_events;
pub mod client_registrations;
pub mod consents;
pub mod invitations;
pub mod key_manager_tasks;
pub mod key_managers;
pub mod key_mappings;
pub mod login_throttles;
pub mod organisations;
pub mod sessions;
pub mod subscriptions;
pub mod throttling_policies;
pub mod user_roles;
pub mod users;
