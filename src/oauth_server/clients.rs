//! The client registry of the resident authorization server. Client ids are random and
//! URL-safe (128 bits); secrets carry 256 bits and are stored only as their SHA-256, so they
//! are shown once, when made. The keys feature reaches this registry through the KeyManager
//! contract; gateways are clients an administrator marks as resource servers.

use crate::db::DbConnection;
use diesel::prelude::*;

use super::grants::Entitlement;
use crate::config::SigningAlgorithm;
use crate::db::now;
use crate::db::schema::{
    applications, oauth_client_origins, oauth_clients, organisations, throttling_policies,
};
use crate::domain::keys::KeyType;
use crate::domain::oauth::{redirect_matches, web_origin};
use crate::domain::organisations::OrganisationStatus;
use crate::security::{constant_time_eq, random, sha256_hex};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = oauth_clients)]
pub struct OAuthClient {
    pub id: i64,
    pub client_id: String,
    pub secret_hash: Option<String>,
    pub client_name: String,
    pub application_id: Option<i64>,
    pub key_type: Option<KeyType>,
    pub grant_types: String,
    pub redirect_uris: String,
    pub pkce_mandatory: bool,
    pub pkce_plain_allowed: bool,
    pub public_client: bool,
    pub resource_server: bool,
    pub application_token_ttl: i32,
    pub user_token_ttl: i32,
    pub refresh_token_ttl: i32,
    pub id_token_ttl: i32,
    pub created_at: i64,
    pub updated_at: i64,
    /// The algorithm of its ID tokens (`None`: the server's configured one).
    pub id_token_signed_response_alg: Option<SigningAlgorithm>,
}

/// What a client is registered with.
#[derive(Debug, Clone)]
pub struct ClientSettings {
    pub client_name: String,
    pub application_id: Option<i64>,
    pub key_type: Option<KeyType>,
    pub grant_types: Vec<String>,
    pub redirect_uris: Vec<String>,
    pub pkce_mandatory: bool,
    pub pkce_plain_allowed: bool,
    pub public_client: bool,
    pub resource_server: bool,
    pub lifetimes: Lifetimes,
    /// The algorithm its ID tokens are signed with (`None`: the server's configured one).
    pub id_token_algorithm: Option<SigningAlgorithm>,
}

/// Token lifetimes in seconds.
#[derive(Debug, Clone, Copy)]
pub struct Lifetimes {
    pub application_token: i32,
    pub user_token: i32,
    pub refresh_token: i32,
    pub id_token: i32,
}

impl Default for Lifetimes {
    fn default() -> Self {
        Self {
            application_token: 3600,
            user_token: 3600,
            refresh_token: 86_400,
            id_token: 3600,
        }
    }
}

/// The application a client's tokens speak for, as the `application` claim carries it.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct ApplicationClaim {
    pub id: i64,
    pub name: String,
    /// The organisation that owns the application (the consent page names it); tokens carry
    /// it as their `org` claim instead.
    #[serde(skip)]
    pub owner: String,
    pub tier: String,
}

/// The organisation a client's tokens speak for: the `org` claim.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct OrgClaim {
    pub id: i64,
    pub name: String,
}

/// A client with its application, its tier and its organisation, as one row.
type ClientRow = (
    OAuthClient,
    Option<i64>,
    Option<String>,
    Option<String>,
    Option<i64>,
    Option<String>,
    Option<OrganisationStatus>,
);

/// A client with its application, read in one query (the token endpoint's hot path).
#[derive(Debug, Clone)]
pub struct ClientWithApplication {
    pub client: OAuthClient,
    pub application: Option<ApplicationClaim>,
    /// The application's organisation.
    pub organisation: Option<OrgClaim>,
    /// False while the application's organisation is suspended, rejected or waiting for
    /// approval: the client gets no tokens and the tokens it holds are inactive (they come
    /// back when it is reinstated). Clients of no application (gateways, test clients) are
    /// always usable.
    pub owner_active: bool,
    /// The APIs and scopes the application is entitled to now (see `grants`).
    pub entitlement: Entitlement,
}

impl ClientWithApplication {
    /// The name the person knows the application by (a client of no application: its own).
    pub fn display_name(&self) -> String {
        self.application
            .as_ref()
            .map(|a| a.name.clone())
            .unwrap_or_else(|| self.client.client_name.clone())
    }
}

impl OAuthClient {
    pub fn allows_grant(&self, grant: &str) -> bool {
        self.grant_types.split(' ').any(|g| g == grant)
    }

    pub fn redirect_uris(&self) -> Vec<String> {
        serde_json::from_str(&self.redirect_uris).unwrap_or_default()
    }

    /// The redirect URI an authorization (or logout) request may send the browser to: the one
    /// it names when that matches a registered one (`redirect_matches`), or the only registered
    /// one when it names none.
    pub fn redirect_uri_for(&self, requested: Option<&str>) -> Option<String> {
        let registered = self.redirect_uris();
        match requested {
            None if registered.len() == 1 => registered.into_iter().next(),
            None => None,
            Some(requested) => registered
                .iter()
                .any(|r| redirect_matches(r, requested))
                .then(|| requested.to_string()),
        }
    }

    /// True when `origin` (a browser's `Origin`) is the origin of one of its redirect URIs.
    pub fn allows_origin(&self, origin: &str) -> bool {
        self.redirect_uris()
            .iter()
            .any(|uri| web_origin(uri).as_deref() == Some(origin))
    }

    /// True when `origin` is the origin of a redirect URI of some client (the CORS preflight
    /// of an endpoint, which names no client yet).
    pub fn origin_registered(conn: &mut DbConnection, origin: &str) -> QueryResult<bool> {
        diesel::select(diesel::dsl::exists(
            oauth_client_origins::table.filter(oauth_client_origins::origin.eq(origin)),
        ))
        .get_result(conn)
    }

    /// Compares the SHA-256 of `secret` with the stored one in constant time.
    pub fn secret_matches(&self, secret: &str) -> bool {
        match &self.secret_hash {
            Some(stored) => {
                constant_time_eq(stored.as_bytes(), sha256_hex(secret.as_bytes()).as_bytes())
            }
            None => false,
        }
    }

    pub fn find(conn: &mut DbConnection, client_id: &str) -> QueryResult<Option<OAuthClient>> {
        if !can_exist(client_id) {
            return Ok(None);
        }
        oauth_clients::table
            .filter(oauth_clients::client_id.eq(client_id))
            .select(OAuthClient::as_select())
            .first(conn)
            .optional()
    }

    /// The client and its application (name, owner and the owner's status, application-level
    /// tier) in one query.
    /// Flat left joins: a left join onto a parenthesised inner join makes SQLite materialise
    /// that whole join (every application) on each call — seconds with 200,000 applications.
    pub fn find_with_application(
        conn: &mut DbConnection,
        client_id: &str,
    ) -> QueryResult<Option<ClientWithApplication>> {
        if !can_exist(client_id) {
            return Ok(None);
        }
        let row = oauth_clients::table
            .left_join(applications::table)
            .left_join(
                organisations::table.on(organisations::id
                    .nullable()
                    .eq(applications::organisation_id)),
            )
            .left_join(
                throttling_policies::table.on(throttling_policies::id.eq(applications::policy_id)),
            )
            .filter(oauth_clients::client_id.eq(client_id))
            .select((
                OAuthClient::as_select(),
                applications::id.nullable(),
                applications::name.nullable(),
                throttling_policies::name.nullable(),
                organisations::id.nullable(),
                organisations::name.nullable(),
                organisations::status.nullable(),
            ))
            .first::<ClientRow>(conn)
            .optional()?;
        let Some((client, id, name, tier, org_id, org_name, status)) = row else {
            return Ok(None);
        };
        let entitlement = match id {
            Some(id) => Entitlement::load(conn, id)?,
            None => Entitlement::default(),
        };
        let organisation = match (org_id, org_name) {
            (Some(id), Some(name)) => Some(OrgClaim { id, name }),
            _ => None,
        };
        let application = match (id, name, tier) {
            (Some(id), Some(name), Some(tier)) => Some(ApplicationClaim {
                id,
                name,
                owner: organisation
                    .as_ref()
                    .map(|o| o.name.clone())
                    .unwrap_or_default(),
                tier,
            }),
            _ => None,
        };
        Ok(Some(ClientWithApplication {
            client,
            // An application outside any organisation (not adopted yet) gets nothing.
            owner_active: match (&application, status) {
                (None, _) => true,
                (Some(_), status) => status == Some(OrganisationStatus::Active),
            },
            application,
            organisation,
            entitlement,
        }))
    }

    /// Registers a client: returns it and, for confidential clients, the secret (shown once).
    pub fn register(
        conn: &mut DbConnection,
        settings: &ClientSettings,
    ) -> QueryResult<(OAuthClient, Option<String>)> {
        let client_id = random::token(16);
        let secret = (!settings.public_client).then(|| random::token(32));
        let now = now();
        let client = crate::on_each!(conn, |c| diesel::insert_into(oauth_clients::table)
            .values((
                oauth_clients::client_id.eq(&client_id),
                oauth_clients::secret_hash.eq(secret.as_ref().map(|s| sha256_hex(s.as_bytes()))),
                oauth_clients::grant_types.eq(""),
                oauth_clients::created_at.eq(now),
                oauth_clients::updated_at.eq(now),
                oauth_clients::client_name.eq(""),
            ))
            .returning(OAuthClient::as_returning())
            .get_result(c))?;
        Self::update(conn, &client.client_id, settings)?;
        let client = Self::find(conn, &client.client_id)?.expect("the client was just made");
        Ok((client, secret))
    }

    /// Replaces the client's settings (not its id or secret).
    pub fn update(
        conn: &mut DbConnection,
        client_id: &str,
        settings: &ClientSettings,
    ) -> QueryResult<usize> {
        let uris =
            serde_json::to_string(&settings.redirect_uris).expect("a list of strings serializes");
        let changed =
            diesel::update(oauth_clients::table.filter(oauth_clients::client_id.eq(client_id)))
                .set((
                    oauth_clients::client_name.eq(&settings.client_name),
                    oauth_clients::application_id.eq(settings.application_id),
                    oauth_clients::key_type.eq(settings.key_type),
                    oauth_clients::grant_types.eq(settings.grant_types.join(" ")),
                    oauth_clients::redirect_uris.eq(uris),
                    oauth_clients::pkce_mandatory.eq(settings.pkce_mandatory),
                    oauth_clients::pkce_plain_allowed.eq(settings.pkce_plain_allowed),
                    oauth_clients::public_client.eq(settings.public_client),
                    oauth_clients::resource_server.eq(settings.resource_server),
                    oauth_clients::application_token_ttl.eq(settings.lifetimes.application_token),
                    oauth_clients::user_token_ttl.eq(settings.lifetimes.user_token),
                    oauth_clients::refresh_token_ttl.eq(settings.lifetimes.refresh_token),
                    oauth_clients::id_token_ttl.eq(settings.lifetimes.id_token),
                    oauth_clients::id_token_signed_response_alg.eq(settings.id_token_algorithm),
                    oauth_clients::updated_at.eq(now()),
                ))
                .execute(conn)?;
        if changed > 0 {
            Self::keep_origins(conn, client_id, &settings.redirect_uris)?;
        }
        Ok(changed)
    }

    /// Records the web origins of the client's redirect URIs (the CORS allow-list).
    fn keep_origins(
        conn: &mut DbConnection,
        client_id: &str,
        redirect_uris: &[String],
    ) -> QueryResult<()> {
        diesel::delete(
            oauth_client_origins::table.filter(oauth_client_origins::client_id.eq(client_id)),
        )
        .execute(conn)?;
        let mut origins: Vec<String> = redirect_uris.iter().filter_map(|u| web_origin(u)).collect();
        origins.sort();
        origins.dedup();
        for origin in origins {
            diesel::insert_into(oauth_client_origins::table)
                .values((
                    oauth_client_origins::origin.eq(origin),
                    oauth_client_origins::client_id.eq(client_id),
                ))
                .execute(conn)?;
        }
        Ok(())
    }

    /// A new secret; the old one stops working at once.
    pub fn regenerate_secret(
        conn: &mut DbConnection,
        client_id: &str,
    ) -> QueryResult<Option<String>> {
        let secret = random::token(32);
        let changed =
            diesel::update(oauth_clients::table.filter(oauth_clients::client_id.eq(client_id)))
                .set((
                    oauth_clients::secret_hash.eq(sha256_hex(secret.as_bytes())),
                    oauth_clients::updated_at.eq(now()),
                ))
                .execute(conn)?;
        Ok((changed == 1).then_some(secret))
    }

    /// Links the client to an application and environment (its tokens then carry them), or
    /// unlinks it with `None`: out-of-band provisioning maps and unmaps existing clients so.
    pub fn link(
        conn: &mut DbConnection,
        client_id: &str,
        application_id: Option<i64>,
        key_type: Option<KeyType>,
    ) -> QueryResult<usize> {
        diesel::update(oauth_clients::table.filter(oauth_clients::client_id.eq(client_id)))
            .set((
                oauth_clients::application_id.eq(application_id),
                oauth_clients::key_type.eq(key_type),
                oauth_clients::updated_at.eq(now()),
            ))
            .execute(conn)
    }

    pub fn delete(conn: &mut DbConnection, client_id: &str) -> QueryResult<usize> {
        diesel::delete(oauth_clients::table.filter(oauth_clients::client_id.eq(client_id)))
            .execute(conn)
    }

    /// Every gateway (resource-server) client.
    pub fn resource_servers(conn: &mut DbConnection) -> QueryResult<Vec<OAuthClient>> {
        oauth_clients::table
            .filter(oauth_clients::resource_server.eq(true))
            .order(oauth_clients::id.asc())
            .select(OAuthClient::as_select())
            .load(conn)
    }

    pub fn delete_by_id(conn: &mut DbConnection, id: i64) -> QueryResult<usize> {
        diesel::delete(oauth_clients::table.find(id)).execute(conn)
    }

    /// Clients linked to an application and environment since `since` that no key mapping
    /// names: what a process stopped between making (or linking) a client and activating the
    /// keys left behind. Answers (client id, created at).
    pub fn unmapped_since(
        conn: &mut DbConnection,
        application_id: i64,
        key_type: KeyType,
        since: i64,
    ) -> QueryResult<Vec<(String, i64)>> {
        use crate::db::schema::key_mappings;
        oauth_clients::table
            .filter(oauth_clients::application_id.eq(application_id))
            .filter(oauth_clients::key_type.eq(Some(key_type)))
            .filter(oauth_clients::updated_at.ge(since))
            .filter(diesel::dsl::not(diesel::dsl::exists(
                key_mappings::table
                    .filter(key_mappings::consumer_key.eq(oauth_clients::client_id.nullable())),
            )))
            .select((oauth_clients::client_id, oauth_clients::created_at))
            .load(conn)
    }
}

/// False for an id no client can have: one with a NUL, which PostgreSQL text cannot even hold
/// (asking would fail the request instead of finding nothing).
fn can_exist(client_id: &str) -> bool {
    !client_id.contains('\0')
}
