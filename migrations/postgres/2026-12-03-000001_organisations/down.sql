-- Back to one owner per application: applications whose creator is gone, and the second of
-- two same-named applications of one creator in different organisations, do not survive.
DROP INDEX audit_events_organisation;
ALTER TABLE audit_events DROP COLUMN organisation_id;
DELETE FROM applications WHERE owner_id IS NULL;
DELETE FROM applications a USING applications b
    WHERE a.owner_id = b.owner_id AND a.name_key = b.name_key AND a.id > b.id;
DROP INDEX applications_organisation_name;
DROP INDEX applications_owner;
ALTER TABLE applications DROP COLUMN organisation_id;
ALTER TABLE applications ADD CONSTRAINT applications_owner_id_name_key_key
    UNIQUE (owner_id, name_key);
ALTER TABLE applications DROP CONSTRAINT applications_owner_id_fkey;
ALTER TABLE applications ADD CONSTRAINT applications_owner_id_fkey
    FOREIGN KEY (owner_id) REFERENCES users (id) ON DELETE CASCADE;
ALTER TABLE applications ALTER COLUMN owner_id SET NOT NULL;
DROP TABLE memberships;
DROP TABLE organisations;
