-- The API catalog, applications, subscriptions and the audit trail.

CREATE TABLE apis (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    version TEXT NOT NULL,
    -- the base path gateways route on, unique across APIs
    context TEXT NOT NULL UNIQUE,
    description TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL CHECK (status IN ('CREATED', 'PUBLISHED', 'DEPRECATED', 'RETIRED')),
    -- the OpenAPI document as uploaded, and its operations as JSON [{method, path, summary}]
    openapi_document TEXT,
    operations TEXT NOT NULL DEFAULT '[]',
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (name, version)
);
CREATE INDEX apis_status ON apis (status, name);

-- The subscription-level throttling policies an API allows.
CREATE TABLE api_tiers (
    api_id INTEGER NOT NULL REFERENCES apis (id) ON DELETE CASCADE,
    policy_id INTEGER NOT NULL REFERENCES throttling_policies (id),
    PRIMARY KEY (api_id, policy_id)
);
CREATE INDEX api_tiers_policy ON api_tiers (policy_id);

CREATE TABLE applications (
    id INTEGER PRIMARY KEY,
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
CREATE INDEX applications_policy ON applications (policy_id);

CREATE TABLE subscriptions (
    id INTEGER PRIMARY KEY,
    application_id INTEGER NOT NULL REFERENCES applications (id) ON DELETE CASCADE,
    api_id INTEGER NOT NULL REFERENCES apis (id),
    policy_id INTEGER NOT NULL REFERENCES throttling_policies (id),
    status TEXT NOT NULL CHECK (status IN ('ACTIVE', 'ON_HOLD', 'REJECTED')),
    -- the administrator's reason when a subscription was rejected
    decision_reason TEXT,
    decided_by INTEGER REFERENCES users (id) ON DELETE SET NULL,
    decided_at BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (application_id, api_id)
);
CREATE INDEX subscriptions_api ON subscriptions (api_id);
CREATE INDEX subscriptions_policy ON subscriptions (policy_id);
CREATE INDEX subscriptions_status ON subscriptions (status, id);

-- Who did what to which object, when. No foreign keys: history outlives what it describes.
CREATE TABLE audit_events (
    id INTEGER PRIMARY KEY,
    actor_id INTEGER,
    actor_name TEXT NOT NULL,
    action TEXT NOT NULL,
    object_type TEXT NOT NULL,
    object_id INTEGER,
    -- the application the event concerns, for its owner's history
    application_id INTEGER,
    summary TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX audit_events_application ON audit_events (application_id, id);
CREATE INDEX audit_events_created ON audit_events (created_at, id);
CREATE INDEX audit_events_actor ON audit_events (actor_name, id);
