DROP TABLE user_roles;
DROP INDEX key_managers_issuer;
ALTER TABLE key_managers DROP COLUMN connector_secrets;
ALTER TABLE key_managers DROP COLUMN connector_config;
ALTER TABLE key_managers DROP COLUMN issuer;
