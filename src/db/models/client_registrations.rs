//! `client_registrations`: how Portico manages a client it registered at an RFC 7591/7592 key
//! manager — the client configuration endpoint, the registration access token and the consumer
//! secret. The token and the secret are sealed with `SecretBox` (each under its own purpose)
//! on their way in and opened on their way out, here only: callers hold a `Registration` in the
//! clear, the table only ciphertext.

use crate::db::DbConnection;
use diesel::prelude::*;
use secrecy::{ExposeSecret, SecretString};

use crate::db::now;
use crate::db::rows::FirstRow;
use crate::db::schema::client_registrations;
use crate::domain::ids::KeyManagerId;
use crate::security::secret_box::{DecryptError, SecretBox};

/// The `SecretBox` purposes of the sealed columns.
const TOKEN_PURPOSE: &str = "registration access token";
const SECRET_PURPOSE: &str = "registered client secret";

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = client_registrations)]
pub struct ClientRegistration {
    pub key_manager_id: KeyManagerId,
    pub consumer_key: String,
    pub registration_client_uri: String,
    /// Sealed registration access token.
    pub registration_access_token: Vec<u8>,
    /// Sealed consumer secret (none for public clients).
    pub client_secret: Option<Vec<u8>>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// What Portico holds to manage a client it registered, opened (no `Debug`: it holds secrets).
#[derive(Clone)]
pub struct Registration {
    /// The client configuration endpoint (RFC 7592).
    pub uri: String,
    /// The registration access token.
    pub token: SecretString,
    /// The consumer secret (none for public clients).
    pub secret: Option<SecretString>,
}

fn open(
    secret_box: &SecretBox,
    purpose: &str,
    sealed: &[u8],
) -> Result<SecretString, DecryptError> {
    let plain = secret_box.open(purpose, sealed)?;
    String::from_utf8(plain)
        .map(SecretString::from)
        .map_err(|_| DecryptError)
}

impl ClientRegistration {
    pub fn find(
        conn: &mut DbConnection,
        key_manager_id: KeyManagerId,
        consumer_key: &str,
    ) -> QueryResult<Option<ClientRegistration>> {
        client_registrations::table
            .find((key_manager_id, consumer_key))
            .first_row(conn)
    }

    /// The registration with its token and secret opened.
    pub fn open(&self, secret_box: &SecretBox) -> Result<Registration, DecryptError> {
        Ok(Registration {
            uri: self.registration_client_uri.clone(),
            token: open(secret_box, TOKEN_PURPOSE, &self.registration_access_token)?,
            secret: self
                .client_secret
                .as_deref()
                .map(|sealed| open(secret_box, SECRET_PURPOSE, sealed))
                .transpose()?,
        })
    }

    /// Records a new registration, or replaces what is known of it (the server rotated the
    /// registration access token, or issued a new secret); the token and secret are sealed.
    pub fn save(
        conn: &mut DbConnection,
        secret_box: &SecretBox,
        key_manager_id: KeyManagerId,
        consumer_key: &str,
        registration: &Registration,
    ) -> QueryResult<usize> {
        let token = secret_box.seal(TOKEN_PURPOSE, registration.token.expose_secret().as_bytes());
        let secret = registration
            .secret
            .as_ref()
            .map(|s| secret_box.seal(SECRET_PURPOSE, s.expose_secret().as_bytes()));
        let now = now();
        let changes = (
            client_registrations::registration_client_uri.eq(&registration.uri),
            client_registrations::registration_access_token.eq(&token),
            client_registrations::client_secret.eq(secret.as_deref()),
            client_registrations::updated_at.eq(now),
        );
        crate::on_each!(conn, |c| diesel::insert_into(client_registrations::table)
            .values((
                client_registrations::key_manager_id.eq(key_manager_id),
                client_registrations::consumer_key.eq(consumer_key),
                client_registrations::created_at.eq(now),
                changes,
            ))
            .on_conflict((
                client_registrations::key_manager_id,
                client_registrations::consumer_key,
            ))
            .do_update()
            .set(changes)
            .execute(c))
    }

    pub fn delete(
        conn: &mut DbConnection,
        key_manager_id: KeyManagerId,
        consumer_key: &str,
    ) -> QueryResult<usize> {
        diesel::delete(client_registrations::table.find((key_manager_id, consumer_key)))
            .execute(conn)
    }
}
