-- OpenID Connect by the book (issue #16, item 4).

-- The algorithm a client registered for its ID tokens (OIDC Registration's
-- id_token_signed_response_alg); NULL: the server's configured algorithm.
ALTER TABLE oauth_clients ADD COLUMN id_token_signed_response_alg TEXT;

-- Whether the authorization request named its redirect_uri: only then must the token request
-- repeat it (RFC 6749 §4.1.3). Codes issued before this column were all checked against one.
ALTER TABLE authorization_codes ADD COLUMN redirect_uri_sent BOOLEAN NOT NULL DEFAULT 1;

-- The web origins of each client's registered redirect URIs: the CORS allow-list of the token,
-- userinfo, revocation and introspection endpoints. Written with the redirect URIs.
CREATE TABLE oauth_client_origins (
    origin TEXT NOT NULL,
    client_id TEXT NOT NULL REFERENCES oauth_clients (client_id) ON DELETE CASCADE,
    PRIMARY KEY (origin, client_id)
) WITHOUT ROWID;
CREATE INDEX oauth_client_origins_client ON oauth_client_origins (client_id);

-- The clients registered so far: scheme://host[:port] of their http(s) redirect URIs.
WITH uris AS (
    SELECT c.client_id, j.value AS uri, substr(j.value, instr(j.value, '://') + 3) AS rest
    FROM oauth_clients c, json_each(c.redirect_uris) j
    WHERE j.value LIKE 'http://%' OR j.value LIKE 'https://%'
), authorities AS (
    SELECT client_id, uri, instr(uri, '://') + 2 AS scheme_end,
        CASE
            WHEN instr(rest, '/') = 0 AND instr(rest, '?') = 0 THEN length(rest)
            WHEN instr(rest, '/') = 0 THEN instr(rest, '?') - 1
            WHEN instr(rest, '?') = 0 THEN instr(rest, '/') - 1
            ELSE min(instr(rest, '/'), instr(rest, '?')) - 1
        END AS authority_length
    FROM uris
)
INSERT OR IGNORE INTO oauth_client_origins (origin, client_id)
SELECT lower(substr(uri, 1, scheme_end + authority_length)), client_id FROM authorities;
