-- Back to one owner per application: applications whose creator is gone, and the second of
-- two same-named applications of one creator in different organisations, do not survive.
PRAGMA foreign_keys = OFF;
BEGIN IMMEDIATE;
DROP INDEX IF EXISTS audit_events_organisation;
ALTER TABLE audit_events DROP COLUMN organisation_id;
CREATE TABLE applications_old (
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
CREATE TEMP TABLE application_floor AS
    SELECT seq FROM main.sqlite_sequence WHERE name = 'applications';
INSERT OR IGNORE INTO applications_old (id, owner_id, name, name_key, description, policy_id,
        created_at, updated_at)
    SELECT id, owner_id, name, name_key, description, policy_id, created_at, updated_at
    FROM applications WHERE owner_id IS NOT NULL ORDER BY id;
DROP TABLE applications;
ALTER TABLE applications_old RENAME TO applications;
DELETE FROM sqlite_sequence WHERE name = 'applications';
INSERT INTO sqlite_sequence (name, seq)
    SELECT 'applications', max(seq) FROM (
        SELECT seq FROM temp.application_floor
        UNION ALL SELECT ifnull(max(id), 0) FROM main.applications
    );
DROP TABLE temp.application_floor;
CREATE INDEX applications_policy ON applications (policy_id);
DROP TABLE memberships;
DROP TABLE organisations;
COMMIT;
PRAGMA foreign_keys = ON;
