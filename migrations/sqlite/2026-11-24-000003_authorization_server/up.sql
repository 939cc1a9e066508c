-- The resident authorization server: signing keys, the client registry, authorization codes,
-- refresh-token families, revoked access tokens and remembered consents.

CREATE TABLE signing_keys (
    id INTEGER PRIMARY KEY,
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

CREATE TABLE oauth_clients (
    id INTEGER PRIMARY KEY,
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
CREATE INDEX oauth_clients_application ON oauth_clients (application_id);

CREATE TABLE authorization_codes (
    -- SHA-256 (hex) of the code
    code_hash TEXT PRIMARY KEY NOT NULL,
    client_id TEXT NOT NULL,
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    redirect_uri TEXT NOT NULL,
    scope TEXT NOT NULL,
    nonce TEXT,
    code_challenge TEXT,
    code_challenge_method TEXT,
    auth_time BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT,
    -- the refresh-token family the code was exchanged for (revoked when the code is replayed)
    family_id TEXT,
    created_at BIGINT NOT NULL
);
CREATE INDEX authorization_codes_expires ON authorization_codes (expires_at);

CREATE TABLE refresh_token_families (
    id TEXT PRIMARY KEY NOT NULL,
    client_id TEXT NOT NULL,
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    scope TEXT NOT NULL,
    auth_time BIGINT NOT NULL,
    revoked_at BIGINT,
    expires_at BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE refresh_tokens (
    token_hash TEXT PRIMARY KEY NOT NULL,
    family_id TEXT NOT NULL REFERENCES refresh_token_families (id) ON DELETE CASCADE,
    scope TEXT NOT NULL,
    issued_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    -- set when the token was rotated: presenting it again revokes the family
    used_at BIGINT
);
CREATE INDEX refresh_tokens_family ON refresh_tokens (family_id);

-- Access tokens issued to a family, so that revoking the family revokes them too.
CREATE TABLE family_access_tokens (
    jti TEXT PRIMARY KEY NOT NULL,
    family_id TEXT NOT NULL REFERENCES refresh_token_families (id) ON DELETE CASCADE,
    expires_at BIGINT NOT NULL
);
CREATE INDEX family_access_tokens_family ON family_access_tokens (family_id);

-- The deny-list of access tokens, kept until they expire.
CREATE TABLE revoked_tokens (
    id INTEGER PRIMARY KEY,
    jti TEXT NOT NULL UNIQUE,
    expires_at BIGINT NOT NULL
);

CREATE TABLE consents (
    id INTEGER PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    client_id TEXT NOT NULL,
    scope TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (user_id, client_id)
);
