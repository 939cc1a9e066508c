-- Ids are never handed out twice. Without AUTOINCREMENT SQLite gives a new row the highest id
-- plus one, so the id of the newest row comes back once that row is deleted: another TPP's new
-- application took a deleted application's id and, with it, its history. Every table with an
-- INTEGER PRIMARY KEY is rebuilt as AUTOINCREMENT, keeping its columns, constraints, indexes,
-- foreign keys and rows, and each table's counter starts above every id the database still
-- remembers (the audit trail names deleted objects), so not even an id deleted before this
-- migration is handed out again.
--
-- SQLite's documented rebuild (https://www.sqlite.org/lang_altertable.html#otheralter): foreign
-- keys off (a no-op inside a transaction, hence metadata.toml; and with them on, dropping a parent
-- would run ON DELETE CASCADE on its children), then in one transaction: create the new table,
-- copy, drop the old one, rename, recreate the indexes, check the foreign keys. Running it again
-- (a crash between COMMIT and diesel recording the version) rebuilds the same tables again.
PRAGMA foreign_keys = OFF;
BEGIN IMMEDIATE;

CREATE TABLE users_new (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    username TEXT NOT NULL,
    -- the username folded to lower case: usernames are unique case-insensitively
    username_key TEXT NOT NULL UNIQUE,
    email TEXT NOT NULL,
    first_name TEXT NOT NULL,
    last_name TEXT NOT NULL,
    organization TEXT NOT NULL DEFAULT '',
    password_hash TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('admin', 'tpp')),
    status TEXT NOT NULL CHECK (status IN ('active', 'pending', 'locked', 'rejected')),
    terms_accepted_at BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE throttling_policies_new (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    level TEXT NOT NULL CHECK (level IN ('application', 'subscription')),
    name TEXT NOT NULL,
    display_name TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    -- NULL: unlimited
    request_count BIGINT,
    unit_time INTEGER NOT NULL DEFAULT 1,
    time_unit TEXT NOT NULL DEFAULT 'min' CHECK (time_unit IN ('sec', 'min', 'hour', 'day')),
    requires_approval BOOLEAN NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (level, name)
);

CREATE TABLE key_managers_new (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('resident', 'dcr', 'fs', 'auth0')),
    description TEXT NOT NULL DEFAULT '',
    enabled BOOLEAN NOT NULL DEFAULT 1,
    -- endpoints, grant types, claim mappings, flags and permissions as JSON
    config TEXT NOT NULL DEFAULT '{}',
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    issuer TEXT,
    connector_config TEXT NOT NULL DEFAULT '{}',
    connector_secrets BLOB
);

CREATE TABLE apis_new (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    version TEXT NOT NULL,
    -- the base path gateways route on, unique across APIs
    context TEXT NOT NULL UNIQUE,
    description TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL CHECK (status IN ('CREATED', 'PUBLISHED', 'DEPRECATED', 'RETIRED')),
    -- the OpenAPI document as uploaded, and its operations as JSON [{method, path, summary}]
    openapi_document TEXT,
    operations TEXT NOT NULL DEFAULT '[]',
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (name, version)
);

CREATE TABLE applications_new (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    owner_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    -- NFC-normalised, lower-cased name: one owner cannot have two applications that look alike
    name_key TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    policy_id INTEGER NOT NULL REFERENCES throttling_policies (id),
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (owner_id, name_key)
);

CREATE TABLE subscriptions_new (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    application_id INTEGER NOT NULL REFERENCES applications (id) ON DELETE CASCADE,
    api_id INTEGER NOT NULL REFERENCES apis (id),
    policy_id INTEGER NOT NULL REFERENCES throttling_policies (id),
    status TEXT NOT NULL CHECK (status IN ('ACTIVE', 'ON_HOLD', 'REJECTED')),
    -- the administrator's reason when a subscription was rejected
    decision_reason TEXT,
    decided_by INTEGER REFERENCES users (id) ON DELETE SET NULL,
    decided_at BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (application_id, api_id)
);

-- Who did what to which object, when. No foreign keys: history outlives what it describes.
CREATE TABLE audit_events_new (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    actor_id INTEGER,
    actor_name TEXT NOT NULL,
    action TEXT NOT NULL,
    object_type TEXT NOT NULL,
    object_id INTEGER,
    -- the application the event concerns, for its owner's history
    application_id INTEGER,
    summary TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE signing_keys_new (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kid TEXT NOT NULL UNIQUE,
    algorithm TEXT NOT NULL CHECK (algorithm IN ('ES256', 'RS256', 'PS256', 'EdDSA')),
    -- PKCS#8 DER, AES-256-GCM encrypted under the secret key
    private_key BLOB NOT NULL,
    public_jwk TEXT NOT NULL,
    active BOOLEAN NOT NULL,
    created_at BIGINT NOT NULL,
    -- after rotation: the public key stays in the JWKS until every token it signed has expired
    publish_until BIGINT
);

CREATE TABLE oauth_clients_new (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    client_id TEXT NOT NULL UNIQUE,
    -- SHA-256 (hex) of the client secret; NULL for public clients
    secret_hash TEXT,
    client_name TEXT NOT NULL,
    application_id INTEGER REFERENCES applications (id) ON DELETE SET NULL,
    key_type TEXT CHECK (key_type IN ('PRODUCTION', 'SANDBOX')),
    -- space-separated grant types and a JSON array of exact redirect URIs
    grant_types TEXT NOT NULL,
    redirect_uris TEXT NOT NULL DEFAULT '[]',
    pkce_mandatory BOOLEAN NOT NULL DEFAULT 1,
    pkce_plain_allowed BOOLEAN NOT NULL DEFAULT 0,
    public_client BOOLEAN NOT NULL DEFAULT 0,
    -- gateways: may introspect any token
    resource_server BOOLEAN NOT NULL DEFAULT 0,
    application_token_ttl INTEGER NOT NULL DEFAULT 3600,
    user_token_ttl INTEGER NOT NULL DEFAULT 3600,
    refresh_token_ttl INTEGER NOT NULL DEFAULT 86400,
    id_token_ttl INTEGER NOT NULL DEFAULT 3600,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- The deny-list of access tokens, kept until they expire.
CREATE TABLE revoked_tokens_new (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    jti TEXT NOT NULL UNIQUE,
    expires_at BIGINT NOT NULL
);

CREATE TABLE consents_new (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    client_id TEXT NOT NULL,
    scope TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (user_id, client_id)
);

CREATE TABLE key_mappings_new (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
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
CREATE TABLE key_manager_tasks_new (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    key_manager_id INTEGER REFERENCES key_managers (id) ON DELETE SET NULL,
    key_manager_name TEXT NOT NULL,
    consumer_key TEXT NOT NULL,
    -- the application the client belonged to, as it was named
    application_name TEXT NOT NULL DEFAULT '',
    error TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    resolved_at BIGINT
);

-- The highest id each table has handed out, as far as the database remembers: its rows, its
-- own counter (when this runs again), and the deleted objects the audit trail still names.
-- (sqlite_sequence exists from the first AUTOINCREMENT table above on.)
CREATE TEMP TABLE id_floors (name TEXT PRIMARY KEY NOT NULL, seq INTEGER NOT NULL);
CREATE TEMP VIEW remembered_ids (name, id) AS
    SELECT name, seq FROM main.sqlite_sequence
    UNION ALL SELECT 'users', max(id) FROM main.users
    UNION ALL SELECT 'users', max(actor_id) FROM main.audit_events
    UNION ALL SELECT 'users', max(object_id) FROM main.audit_events
        WHERE object_type IN ('user', 'user_roles')
    UNION ALL SELECT 'throttling_policies', max(id) FROM main.throttling_policies
    UNION ALL SELECT 'throttling_policies', max(object_id) FROM main.audit_events
        WHERE object_type = 'throttling_policy'
    UNION ALL SELECT 'key_managers', max(id) FROM main.key_managers
    UNION ALL SELECT 'key_managers', max(object_id) FROM main.audit_events
        WHERE object_type = 'key_manager'
    UNION ALL SELECT 'apis', max(id) FROM main.apis
    UNION ALL SELECT 'apis', max(object_id) FROM main.audit_events WHERE object_type = 'api'
    UNION ALL SELECT 'applications', max(id) FROM main.applications
    UNION ALL SELECT 'applications', max(application_id) FROM main.audit_events
    UNION ALL SELECT 'applications', max(object_id) FROM main.audit_events
        WHERE object_type = 'application'
    UNION ALL SELECT 'subscriptions', max(id) FROM main.subscriptions
    UNION ALL SELECT 'subscriptions', max(object_id) FROM main.audit_events
        WHERE object_type = 'subscription'
    UNION ALL SELECT 'audit_events', max(id) FROM main.audit_events
    UNION ALL SELECT 'signing_keys', max(id) FROM main.signing_keys
    UNION ALL SELECT 'oauth_clients', max(id) FROM main.oauth_clients
    UNION ALL SELECT 'oauth_clients', max(object_id) FROM main.audit_events
        WHERE object_type = 'gateway'
    UNION ALL SELECT 'revoked_tokens', max(id) FROM main.revoked_tokens
    UNION ALL SELECT 'consents', max(id) FROM main.consents
    UNION ALL SELECT 'key_mappings', max(id) FROM main.key_mappings
    UNION ALL SELECT 'key_mappings', max(object_id) FROM main.audit_events
        WHERE object_type = 'keys'
    UNION ALL SELECT 'key_manager_tasks', max(id) FROM main.key_manager_tasks
    UNION ALL SELECT 'key_manager_tasks', max(object_id) FROM main.audit_events
        WHERE object_type = 'key_manager_task';
INSERT INTO id_floors (name, seq)
    SELECT name, max(ifnull(id, 0)) FROM remembered_ids
    WHERE name IN ('users', 'throttling_policies', 'key_managers', 'apis', 'applications',
                   'subscriptions', 'audit_events', 'signing_keys', 'oauth_clients',
                   'revoked_tokens', 'consents', 'key_mappings', 'key_manager_tasks')
    GROUP BY name;
DROP VIEW remembered_ids;

INSERT INTO users_new (id, username, username_key, email, first_name, last_name, organization,
        password_hash, role, status, terms_accepted_at, created_at, updated_at)
    SELECT id, username, username_key, email, first_name, last_name, organization,
        password_hash, role, status, terms_accepted_at, created_at, updated_at
    FROM users;
INSERT INTO throttling_policies_new (id, level, name, display_name, description, request_count,
        unit_time, time_unit, requires_approval, created_at, updated_at)
    SELECT id, level, name, display_name, description, request_count,
        unit_time, time_unit, requires_approval, created_at, updated_at
    FROM throttling_policies;
INSERT INTO key_managers_new (id, name, display_name, kind, description, enabled, config,
        created_at, updated_at, issuer, connector_config, connector_secrets)
    SELECT id, name, display_name, kind, description, enabled, config,
        created_at, updated_at, issuer, connector_config, connector_secrets
    FROM key_managers;
INSERT INTO apis_new (id, name, version, context, description, status, openapi_document,
        operations, created_at, updated_at)
    SELECT id, name, version, context, description, status, openapi_document,
        operations, created_at, updated_at
    FROM apis;
INSERT INTO applications_new (id, owner_id, name, name_key, description, policy_id, created_at,
        updated_at)
    SELECT id, owner_id, name, name_key, description, policy_id, created_at, updated_at
    FROM applications;
INSERT INTO subscriptions_new (id, application_id, api_id, policy_id, status, decision_reason,
        decided_by, decided_at, created_at, updated_at)
    SELECT id, application_id, api_id, policy_id, status, decision_reason,
        decided_by, decided_at, created_at, updated_at
    FROM subscriptions;
INSERT INTO audit_events_new (id, actor_id, actor_name, action, object_type, object_id,
        application_id, summary, created_at)
    SELECT id, actor_id, actor_name, action, object_type, object_id,
        application_id, summary, created_at
    FROM audit_events;
INSERT INTO signing_keys_new (id, kid, algorithm, private_key, public_jwk, active, created_at,
        publish_until)
    SELECT id, kid, algorithm, private_key, public_jwk, active, created_at, publish_until
    FROM signing_keys;
INSERT INTO oauth_clients_new (id, client_id, secret_hash, client_name, application_id, key_type,
        grant_types, redirect_uris, pkce_mandatory, pkce_plain_allowed, public_client,
        resource_server, application_token_ttl, user_token_ttl, refresh_token_ttl, id_token_ttl,
        created_at, updated_at)
    SELECT id, client_id, secret_hash, client_name, application_id, key_type,
        grant_types, redirect_uris, pkce_mandatory, pkce_plain_allowed, public_client,
        resource_server, application_token_ttl, user_token_ttl, refresh_token_ttl, id_token_ttl,
        created_at, updated_at
    FROM oauth_clients;
INSERT INTO revoked_tokens_new (id, jti, expires_at)
    SELECT id, jti, expires_at FROM revoked_tokens;
INSERT INTO consents_new (id, user_id, client_id, scope, created_at, updated_at)
    SELECT id, user_id, client_id, scope, created_at, updated_at FROM consents;
INSERT INTO key_mappings_new (id, application_id, key_type, key_manager_id, consumer_key,
        create_mode, state, app_info, consumer_secret, created_at, updated_at)
    SELECT id, application_id, key_type, key_manager_id, consumer_key,
        create_mode, state, app_info, consumer_secret, created_at, updated_at
    FROM key_mappings;
INSERT INTO key_manager_tasks_new (id, key_manager_id, key_manager_name, consumer_key,
        application_name, error, created_at, resolved_at)
    SELECT id, key_manager_id, key_manager_name, consumer_key,
        application_name, error, created_at, resolved_at
    FROM key_manager_tasks;

DROP TABLE users;
ALTER TABLE users_new RENAME TO users;
DROP TABLE throttling_policies;
ALTER TABLE throttling_policies_new RENAME TO throttling_policies;
DROP TABLE key_managers;
ALTER TABLE key_managers_new RENAME TO key_managers;
DROP TABLE apis;
ALTER TABLE apis_new RENAME TO apis;
DROP TABLE applications;
ALTER TABLE applications_new RENAME TO applications;
DROP TABLE subscriptions;
ALTER TABLE subscriptions_new RENAME TO subscriptions;
DROP TABLE audit_events;
ALTER TABLE audit_events_new RENAME TO audit_events;
DROP TABLE signing_keys;
ALTER TABLE signing_keys_new RENAME TO signing_keys;
DROP TABLE oauth_clients;
ALTER TABLE oauth_clients_new RENAME TO oauth_clients;
DROP TABLE revoked_tokens;
ALTER TABLE revoked_tokens_new RENAME TO revoked_tokens;
DROP TABLE consents;
ALTER TABLE consents_new RENAME TO consents;
DROP TABLE key_mappings;
ALTER TABLE key_mappings_new RENAME TO key_mappings;
DROP TABLE key_manager_tasks;
ALTER TABLE key_manager_tasks_new RENAME TO key_manager_tasks;

CREATE INDEX users_role_status ON users (role, status);
-- exactly one resident key manager
CREATE UNIQUE INDEX key_managers_one_resident ON key_managers (kind) WHERE kind = 'resident';
CREATE UNIQUE INDEX key_managers_issuer ON key_managers (issuer);
CREATE INDEX apis_status ON apis (status, name);
CREATE INDEX applications_policy ON applications (policy_id);
CREATE INDEX subscriptions_api ON subscriptions (api_id);
CREATE INDEX subscriptions_policy ON subscriptions (policy_id);
CREATE INDEX subscriptions_status ON subscriptions (status, id);
CREATE INDEX audit_events_application ON audit_events (application_id, id);
CREATE INDEX audit_events_created ON audit_events (created_at, id);
CREATE INDEX audit_events_actor ON audit_events (actor_name, id);
CREATE INDEX oauth_clients_application ON oauth_clients (application_id);
CREATE INDEX key_manager_tasks_open ON key_manager_tasks (resolved_at, id);

-- Each counter starts at its floor (a table with no row yet has no counter row of its own).
DELETE FROM sqlite_sequence WHERE name IN (SELECT name FROM temp.id_floors);
INSERT INTO sqlite_sequence (name, seq) SELECT name, seq FROM temp.id_floors;
DROP TABLE temp.id_floors;

-- The rows were copied as they were: a broken reference here means a rebuilt table lost one.
-- The CHECK turns foreign_key_check's report into an error that rolls everything back.
CREATE TEMP TABLE foreign_key_violations (n INTEGER NOT NULL CHECK (n = 0));
INSERT INTO temp.foreign_key_violations SELECT count(*) FROM pragma_foreign_key_check;
DROP TABLE temp.foreign_key_violations;

COMMIT;
PRAGMA foreign_keys = ON;
