DROP TABLE audit_events;
DROP TABLE subscriptions;
DROP TABLE applications;
DROP TABLE api_tiers;
DROP TABLE apis;
