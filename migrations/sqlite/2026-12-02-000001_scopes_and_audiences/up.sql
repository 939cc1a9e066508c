-- API scopes and audiences (RFC 8707, RFC 9068).
--
-- An API declares its scopes: a name unique across every API, a description the consent page
-- shows, and optionally the roles a person needs to get the scope in a user token (empty: any
-- role). Scopes read from the API's OpenAPI document are marked, so that replacing the document
-- replaces them and leaves the ones an administrator added.
CREATE TABLE api_scopes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    api_id BIGINT NOT NULL REFERENCES apis(id) ON DELETE CASCADE,
    name TEXT NOT NULL UNIQUE,
    description TEXT NOT NULL DEFAULT '',
    -- space-separated role names
    roles TEXT NOT NULL DEFAULT '',
    from_document BOOLEAN NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX api_scopes_by_api ON api_scopes (api_id);

-- The resource identifier an administrator chose for an API (its tokens' audience); without
-- one it is the public URL followed by the API's context.
ALTER TABLE apis ADD COLUMN resource_identifier TEXT;
CREATE UNIQUE INDEX apis_resource_identifier ON apis (resource_identifier);

-- A person's subject in tokens and userinfo: stable and opaque, never the sequential id.
ALTER TABLE users ADD COLUMN subject TEXT;
UPDATE users SET subject = lower(hex(randomblob(16))) WHERE subject IS NULL;
CREATE UNIQUE INDEX users_subject ON users (subject);
CREATE TRIGGER users_subject_on_insert AFTER INSERT ON users WHEN NEW.subject IS NULL
BEGIN
    UPDATE users SET subject = lower(hex(randomblob(16))) WHERE id = NEW.id;
END;

-- The resources (RFC 8707) an authorization request named, space-separated: its code and the
-- grant it starts keep them, so every token of the grant has the same audience.
ALTER TABLE authorization_codes ADD COLUMN resource TEXT NOT NULL DEFAULT '';
ALTER TABLE refresh_token_families ADD COLUMN resource TEXT NOT NULL DEFAULT '';
