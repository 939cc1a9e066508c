DROP TABLE consents;
DROP TABLE revoked_tokens;
DROP TABLE family_access_tokens;
DROP TABLE refresh_tokens;
DROP TABLE refresh_token_families;
DROP TABLE authorization_codes;
DROP TABLE oauth_clients;
DROP TABLE signing_keys;
