ALTER TABLE refresh_token_families DROP COLUMN resource;
ALTER TABLE authorization_codes DROP COLUMN resource;
DROP TRIGGER users_subject_on_insert;
DROP INDEX users_subject;
ALTER TABLE users DROP COLUMN subject;
DROP INDEX apis_resource_identifier;
ALTER TABLE apis DROP COLUMN resource_identifier;
DROP TABLE api_scopes;
