-- What Portico needs to manage a client it registered at an RFC 7591/7592 key manager (dcr, fs):
-- the client's configuration endpoint, its registration access token and its consumer secret,
-- both AES-256-GCM encrypted (the secret is replayed in RFC 7592 updates so that the server keeps
-- it). Clients provided out-of-band have no row: Portico holds no registration access token
-- for them.
CREATE TABLE client_registrations (
    key_manager_id INTEGER NOT NULL REFERENCES key_managers (id) ON DELETE CASCADE,
    consumer_key TEXT NOT NULL,
    registration_client_uri TEXT NOT NULL,
    registration_access_token BLOB NOT NULL,
    client_secret BLOB,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (key_manager_id, consumer_key)
);
