//! `client_registrations`: how Portico manages a client it registered at an RFC 7591/7592 key
//! manager — the client configuration endpoint, the registration access token and the consumer
//! secret. The token and the secret are sealed with `SecretBox` by the connector before they
//! reach this module; nothing here sees them in the clear.

use diesel::prelude::*;

use crate::db::now;
use crate::db::schema::client_registrations;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = client_registrations)]
pub struct ClientRegistration {
    pub key_manager_id: i64,
    pub consumer_key: String,
    pub registration_client_uri: String,
    /// Sealed registration access token.
    pub registration_access_token: Vec<u8>,
    /// Sealed consumer secret (none for public clients).
    pub client_secret: Option<Vec<u8>>,
    pub created_at: i64,
    pub updated_at: i64,
}

impl ClientRegistration {
    pub fn find(
        conn: &mut SqliteConnection,
        key_manager_id: i64,
        consumer_key: &str,
    ) -> QueryResult<Option<ClientRegistration>> {
        client_registrations::table
            .find((key_manager_id, consumer_key))
            .select(ClientRegistration::as_select())
            .first(conn)
            .optional()
    }

    /// Records a new registration, or replaces what is known of it (the server rotated the
    /// registration access token, or issued a new secret).
    pub fn save(
        conn: &mut SqliteConnection,
        key_manager_id: i64,
        consumer_key: &str,
        registration_client_uri: &str,
        registration_access_token: &[u8],
        client_secret: Option<&[u8]>,
    ) -> QueryResult<usize> {
        let now = now();
        diesel::insert_into(client_registrations::table)
            .values((
                client_registrations::key_manager_id.eq(key_manager_id),
                client_registrations::consumer_key.eq(consumer_key),
                client_registrations::registration_client_uri.eq(registration_client_uri),
                client_registrations::registration_access_token.eq(registration_access_token),
                client_registrations::client_secret.eq(client_secret),
                client_registrations::created_at.eq(now),
                client_registrations::updated_at.eq(now),
            ))
            .on_conflict((
                client_registrations::key_manager_id,
                client_registrations::consumer_key,
            ))
            .do_update()
            .set((
                client_registrations::registration_client_uri.eq(registration_client_uri),
                client_registrations::registration_access_token.eq(registration_access_token),
                client_registrations::client_secret.eq(client_secret),
                client_registrations::updated_at.eq(now),
            ))
            .execute(conn)
    }

    pub fn delete(
        conn: &mut SqliteConnection,
        key_manager_id: i64,
        consumer_key: &str,
    ) -> QueryResult<usize> {
        diesel::delete(client_registrations::table.find((key_manager_id, consumer_key)))
            .execute(conn)
    }
}
