-- Invitations to an organisation: an Owner or Admin invites an email address with a role; the
-- link's token is kept only as its SHA-256. Single use (`used_at`), valid until `expires_at`
-- (7 days), revocable (`revoked_at`).
CREATE TABLE invitations (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    organisation_id INTEGER NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
    -- as typed; compared in lower case
    email TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'developer', 'viewer')),
    token_hash TEXT NOT NULL UNIQUE,
    invited_by INTEGER REFERENCES users (id) ON DELETE SET NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT,
    used_by INTEGER REFERENCES users (id) ON DELETE SET NULL,
    revoked_at BIGINT
);
CREATE INDEX invitations_organisation ON invitations (organisation_id, id);
