-- Key managers configured by administrators: the issuer (unique: two key managers cannot claim
-- the same tokens), the connector's own configuration (plain fields as JSON, masked fields
-- AES-256-GCM encrypted as one sealed JSON object), and the roles users carry for the
-- key managers' ALLOW/DENY permissions.
ALTER TABLE key_managers ADD COLUMN issuer TEXT;
CREATE UNIQUE INDEX key_managers_issuer ON key_managers (issuer);
ALTER TABLE key_managers ADD COLUMN connector_config TEXT NOT NULL DEFAULT '{}';
ALTER TABLE key_managers ADD COLUMN connector_secrets BLOB;

CREATE TABLE user_roles (
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role TEXT NOT NULL,
    PRIMARY KEY (user_id, role)
);
CREATE INDEX user_roles_role ON user_roles (role);
