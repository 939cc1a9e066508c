DROP TABLE oauth_client_origins;
ALTER TABLE authorization_codes DROP COLUMN redirect_uri_sent;
ALTER TABLE oauth_clients DROP COLUMN id_token_signed_response_alg;
