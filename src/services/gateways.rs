//! API gateways (resource servers): confidential clients of the resident authorization server
//! that may introspect any token. Administrators register them (the secret is shown once) and
//! remove them (their credentials stop working at once).

use crate::db::models::audit_events::Actor;
use crate::db::{self, DbPool};
use crate::domain::text;
use crate::oauth_server::clients::{ClientSettings, Lifetimes, OAuthClient};

use super::{ServiceError, ServiceResult, audited, subject};

const OBJECT_TYPE: &str = "gateway";

/// A gateway just registered: its client id and secret, the secret to be shown once (kept for
/// the page after the redirect, see `web::one_time`).
#[derive(serde::Serialize, serde::Deserialize)]
pub struct Registered {
    pub client_id: String,
    pub client_secret: String,
}

/// Every registered gateway.
pub async fn list(pool: &DbPool) -> ServiceResult<Vec<OAuthClient>> {
    db::run(pool, |conn| Ok(OAuthClient::resource_servers(conn)?)).await
}

/// Registers a gateway named `name` (required, one line, at most 100 characters).
pub async fn register(pool: &DbPool, actor: &Actor, name: &str) -> ServiceResult<Registered> {
    let name =
        text::required_line(name, "Name", 100).map_err(|m| ServiceError::invalid("name", m))?;
    let settings = ClientSettings {
        client_name: name,
        application_id: None,
        key_type: None,
        grant_types: Vec::new(),
        redirect_uris: Vec::new(),
        pkce_mandatory: true,
        pkce_plain_allowed: false,
        public_client: false,
        resource_server: true,
        lifetimes: Lifetimes::default(),
        id_token_algorithm: None,
    };
    let about = subject(OBJECT_TYPE, None);
    audited(pool, actor, "create", about, move |conn, subject| {
        let (client, secret) = OAuthClient::register(conn, &settings)?;
        subject.object_id = Some(client.id);
        let summary = format!(
            "Registered gateway “{}” ({})",
            client.client_name, client.client_id
        );
        let registered = Registered {
            client_id: client.client_id,
            client_secret: secret.unwrap_or_default(),
        };
        Ok((registered, summary))
    })
    .await
}

/// Removes a gateway; answers its name.
pub async fn remove(pool: &DbPool, actor: &Actor, id: i64) -> ServiceResult<String> {
    let about = subject(OBJECT_TYPE, Some(id));
    audited(pool, actor, "delete", about, move |conn, _| {
        let gateway = OAuthClient::resource_servers(conn)?
            .into_iter()
            .find(|c| c.id == id)
            .ok_or(ServiceError::NotFound)?;
        OAuthClient::delete_by_id(conn, id)?;
        let summary = format!(
            "Removed gateway “{}” ({})",
            gateway.client_name, gateway.client_id
        );
        Ok((gateway.client_name, summary))
    })
    .await
}
