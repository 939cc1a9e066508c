-- Keys: which OAuth2 client of which key manager an application uses in each environment, and
-- the remote clean-ups that failed and wait for an administrator.

CREATE TABLE key_mappings (
    id INTEGER PRIMARY KEY,
    application_id INTEGER NOT NULL REFERENCES applications (id) ON DELETE CASCADE,
    key_type TEXT NOT NULL CHECK (key_type IN ('PRODUCTION', 'SANDBOX')),
    key_manager_id INTEGER NOT NULL REFERENCES key_managers (id),
    -- NULL while a generation is under way (RESERVED): the key manager has not answered yet
    consumer_key TEXT,
    -- CREATED: made through Portico, deleted at the key manager with the keys;
    -- MAPPED: provisioned out-of-band, only unlinked
    create_mode TEXT NOT NULL CHECK (create_mode IN ('CREATED', 'MAPPED')),
    state TEXT NOT NULL CHECK (state IN ('RESERVED', 'ACTIVE')),
    -- what the client is registered with: grant types, callback URLs, PKCE flags, public client,
    -- regulatory flag, application certificate and its details (JSON)
    app_info TEXT NOT NULL DEFAULT '{}',
    -- AES-256-GCM consumer secret, only for connectors that must replay it (never the resident one)
    consumer_secret BLOB,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (application_id, key_type, key_manager_id),
    UNIQUE (key_manager_id, consumer_key),
    CHECK (state = 'RESERVED' OR consumer_key IS NOT NULL)
);

-- Clients a key manager failed to delete (an application deleted while it was down): an
-- administrator sees each one until it is resolved, so no client is silently left behind.
CREATE TABLE key_manager_tasks (
    id INTEGER PRIMARY KEY,
    key_manager_id INTEGER REFERENCES key_managers (id) ON DELETE SET NULL,
    key_manager_name TEXT NOT NULL,
    consumer_key TEXT NOT NULL,
    -- the application the client belonged to, as it was named
    application_name TEXT NOT NULL DEFAULT '',
    error TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    resolved_at BIGINT
);
CREATE INDEX key_manager_tasks_open ON key_manager_tasks (resolved_at, id);
