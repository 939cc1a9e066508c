-- Organisations own applications: a TPP is a company whose members have roles. An application
-- belongs to its organisation (`organisation_id`); `owner_id` now names the person who created
-- it and is cleared, not cascaded, when that account goes. Application names are unique per
-- organisation. Existing TPP accounts become organisations of one Owner when Portico starts
-- (in Rust, so that names are folded exactly as new ones are); until then an application
-- without an organisation is shown to no one.
--
-- The applications table is rebuilt (SQLite cannot drop a constraint): foreign keys off, then
-- in one transaction: create, copy, drop, rename, indexes, the AUTOINCREMENT counter kept,
-- foreign keys checked.
PRAGMA foreign_keys = OFF;
BEGIN IMMEDIATE;

CREATE TABLE IF NOT EXISTS organisations (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    -- NFC-normalised, lower-cased name: two organisations cannot look alike
    name_key TEXT NOT NULL UNIQUE,
    -- a registration number or similar, as the organisation gives it
    legal_identifier TEXT NOT NULL DEFAULT '',
    -- ISO 3166-1 alpha-2, or empty
    country TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL CHECK (status IN ('pending', 'active', 'suspended', 'rejected')),
    -- why an administrator rejected or suspended it
    decision_reason TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE IF NOT EXISTS memberships (
    organisation_id INTEGER NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'developer', 'viewer')),
    created_at BIGINT NOT NULL,
    PRIMARY KEY (organisation_id, user_id)
);
CREATE INDEX IF NOT EXISTS memberships_user ON memberships (user_id);

DROP TABLE IF EXISTS applications_new;
CREATE TABLE applications_new (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    -- who created it; NULL once their account is gone
    owner_id INTEGER REFERENCES users (id) ON DELETE SET NULL,
    name TEXT NOT NULL,
    -- NFC-normalised, lower-cased name: one organisation cannot have two that look alike
    name_key TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    policy_id INTEGER NOT NULL REFERENCES throttling_policies (id),
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    organisation_id INTEGER REFERENCES organisations (id)
);
CREATE TEMP TABLE application_floor AS
    SELECT seq FROM main.sqlite_sequence WHERE name = 'applications';
INSERT INTO applications_new (id, owner_id, name, name_key, description, policy_id, created_at,
        updated_at, organisation_id)
    SELECT id, owner_id, name, name_key, description, policy_id, created_at, updated_at, NULL
    FROM applications;
DROP TABLE applications;
ALTER TABLE applications_new RENAME TO applications;
DELETE FROM sqlite_sequence WHERE name = 'applications';
INSERT INTO sqlite_sequence (name, seq)
    SELECT 'applications', max(seq) FROM (
        SELECT seq FROM temp.application_floor
        UNION ALL SELECT ifnull(max(id), 0) FROM main.applications
    );
DROP TABLE temp.application_floor;
CREATE INDEX applications_policy ON applications (policy_id);
CREATE INDEX applications_owner ON applications (owner_id);
CREATE UNIQUE INDEX applications_organisation_name ON applications (organisation_id, name_key);

-- The organisation an event concerns (each organisation sees its own history).
ALTER TABLE audit_events ADD COLUMN organisation_id INTEGER;
CREATE INDEX audit_events_organisation ON audit_events (organisation_id, id);

-- The rows were copied as they were: a broken reference here means the rebuild lost one.
CREATE TEMP TABLE foreign_key_violations (n INTEGER NOT NULL CHECK (n = 0));
INSERT INTO temp.foreign_key_violations SELECT count(*) FROM pragma_foreign_key_check;
DROP TABLE temp.foreign_key_violations;

COMMIT;
PRAGMA foreign_keys = ON;
