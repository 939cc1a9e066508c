-- Accounts, server-side sessions, sign-in throttling, throttling policies and key managers.
-- Times are Unix seconds. Ids are SQLite rowids.

CREATE TABLE users (
    id INTEGER PRIMARY KEY,
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
CREATE INDEX users_role_status ON users (role, status);

CREATE TABLE sessions (
    -- SHA-256 (hex) of the session key: the key itself lives only in the visitor's cookie
    id TEXT PRIMARY KEY NOT NULL,
    user_id INTEGER REFERENCES users (id) ON DELETE CASCADE,
    state TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);
CREATE INDEX sessions_expires ON sessions (expires_at);

-- Failed sign-ins per account ('account:<username_key>') and per client address ('address:<ip>').
CREATE TABLE login_throttles (
    throttle_key TEXT PRIMARY KEY NOT NULL,
    failures INTEGER NOT NULL,
    window_started_at BIGINT NOT NULL,
    locked_until BIGINT
);

CREATE TABLE throttling_policies (
    id INTEGER PRIMARY KEY,
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

CREATE TABLE key_managers (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('resident', 'dcr', 'fs', 'auth0')),
    description TEXT NOT NULL DEFAULT '',
    enabled BOOLEAN NOT NULL DEFAULT 1,
    -- endpoints, grant types, claim mappings, flags and permissions as JSON
    config TEXT NOT NULL DEFAULT '{}',
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
-- exactly one resident key manager
CREATE UNIQUE INDEX key_managers_one_resident ON key_managers (kind) WHERE kind = 'resident';

-- The defaults every Portico starts with (seeded once, with this migration).
INSERT INTO throttling_policies (level, name, display_name, description, request_count, unit_time, time_unit, requires_approval, created_at, updated_at) VALUES
    ('application', '10PerMin', '10 per minute', 'Allows 10 requests per minute', 10, 1, 'min', 0, CAST(strftime('%s', 'now') AS INTEGER), CAST(strftime('%s', 'now') AS INTEGER)),
    ('application', '20PerMin', '20 per minute', 'Allows 20 requests per minute', 20, 1, 'min', 0, CAST(strftime('%s', 'now') AS INTEGER), CAST(strftime('%s', 'now') AS INTEGER)),
    ('application', '50PerMin', '50 per minute', 'Allows 50 requests per minute', 50, 1, 'min', 0, CAST(strftime('%s', 'now') AS INTEGER), CAST(strftime('%s', 'now') AS INTEGER)),
    ('application', 'Unlimited', 'Unlimited', 'Allows unlimited requests', NULL, 1, 'min', 0, CAST(strftime('%s', 'now') AS INTEGER), CAST(strftime('%s', 'now') AS INTEGER)),
    ('subscription', 'Bronze', 'Bronze', 'Allows 1000 requests per minute', 1000, 1, 'min', 0, CAST(strftime('%s', 'now') AS INTEGER), CAST(strftime('%s', 'now') AS INTEGER)),
    ('subscription', 'Silver', 'Silver', 'Allows 2000 requests per minute', 2000, 1, 'min', 0, CAST(strftime('%s', 'now') AS INTEGER), CAST(strftime('%s', 'now') AS INTEGER)),
    ('subscription', 'Gold', 'Gold', 'Allows 5000 requests per minute', 5000, 1, 'min', 0, CAST(strftime('%s', 'now') AS INTEGER), CAST(strftime('%s', 'now') AS INTEGER)),
    ('subscription', 'Unlimited', 'Unlimited', 'Allows unlimited requests', NULL, 1, 'min', 0, CAST(strftime('%s', 'now') AS INTEGER), CAST(strftime('%s', 'now') AS INTEGER));

INSERT INTO key_managers (name, display_name, kind, description, enabled, config, created_at, updated_at) VALUES
    ('resident', 'Resident Key Manager', 'resident', 'The authorization server built into Portico', 1,
     '{"grant_types":["client_credentials","authorization_code","refresh_token"],"enable_token_generation":true,"enable_oob_provisioning":true,"enable_oauth_app_creation":true,"permission_type":"PUBLIC","permission_roles":[]}',
     CAST(strftime('%s', 'now') AS INTEGER), CAST(strftime('%s', 'now') AS INTEGER));
