//! Seeding: the small and the large benchmark database, as one SQL script that runs on SQLite
//! (the file every run starts from) and, translated, on PostgreSQL (used when the `portico`
//! binary has no `migrate-database` command to copy the SQLite file).

use std::path::Path;

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::sql_types::Text;

use crate::{CLIENT_ID, CLIENT_SECRET, TPP_PASSWORD, TPP_USERNAME, Varying};

diesel::define_sql_function! {
    /// SHA-256 (hex) as Portico stores secrets and refresh tokens; registered by the seeder.
    fn bench_sha256(value: Text) -> Text;
}

/// Where the seed script runs: what differs between the two SQL dialects.
#[derive(Clone, Copy)]
enum Dialect {
    Sqlite,
    Postgres,
}

impl Dialect {
    fn begin(self) -> &'static str {
        match self {
            Dialect::Sqlite => "PRAGMA foreign_keys = ON; BEGIN IMMEDIATE;",
            // `bench_sha256` as the SQLite seeder registers it, for this session only.
            Dialect::Postgres => {
                "BEGIN;
                CREATE FUNCTION pg_temp.bench_sha256(value TEXT) RETURNS TEXT
                    LANGUAGE sql IMMUTABLE
                    AS $$ SELECT encode(sha256(convert_to(value, 'UTF8')), 'hex') $$;"
            }
        }
    }

    fn end(self) -> &'static str {
        match self {
            Dialect::Sqlite => "DROP TABLE seq; COMMIT; PRAGMA wal_checkpoint(TRUNCATE);",
            Dialect::Postgres => "DROP TABLE seq; COMMIT;",
        }
    }

    fn falsehood(self) -> &'static str {
        match self {
            Dialect::Sqlite => "0",
            Dialect::Postgres => "FALSE",
        }
    }

    /// A temporary function is only found by its schema-qualified name.
    fn sha256(self) -> &'static str {
        match self {
            Dialect::Sqlite => "bench_sha256(",
            Dialect::Postgres => "pg_temp.bench_sha256(",
        }
    }
}

/// Seeds the SQLite database: migrations by Portico's own code, then every row in one
/// transaction; answers what it holds and the seeded clients `client-<n>` (first, count).
pub fn seed_sqlite(db: &Path, large: bool, rotation_tokens: u64) -> (String, Varying) {
    drop(portico::db::connect(db).expect("migrate the benchmark database"));
    let mut conn =
        SqliteConnection::establish(&db.to_string_lossy()).expect("open the benchmark database");
    bench_sha256_utils::register_impl(&mut conn, |value: String| {
        portico::security::sha256_hex(value.as_bytes())
    })
    .expect("register sha256");
    conn.batch_execute(&seed_sql(Dialect::Sqlite, large, rotation_tokens))
        .expect("seed the benchmark database");
    let mut number = |sql: &str| -> i64 {
        #[derive(QueryableByName)]
        struct Number {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
        }
        diesel::sql_query(sql)
            .get_result::<Number>(&mut conn)
            .map(|c| c.n)
            .unwrap_or(-1)
    };
    let mut count = |table: &str| number(&format!("SELECT count(*) AS n FROM {table}"));
    let counts = format!(
        "{} users, {} applications, {} subscriptions, {} OAuth clients, {} refresh tokens",
        count("users"),
        count("applications"),
        count("subscriptions"),
        count("oauth_clients"),
        count("refresh_tokens")
    );
    let seeded = "FROM oauth_clients WHERE client_id LIKE 'client-%'";
    let clients = Varying::Clients {
        first: number(&format!(
            "SELECT coalesce(min(application_id), 0) AS n {seeded}"
        )),
        count: number(&format!("SELECT count(*) AS n {seeded}")),
    };
    (counts, clients)
}

/// Seeds an empty PostgreSQL database with the same script: Portico's PostgreSQL migrations,
/// then the rows. Ids come from the identity columns, so their counters are already past them.
pub fn seed_postgres(url: &str, large: bool, rotation_tokens: u64) {
    portico::db::postgres::migrate(url).expect("migrate the PostgreSQL benchmark database");
    let mut conn = PgConnection::establish(url).expect("open the PostgreSQL benchmark database");
    conn.batch_execute(&seed_sql(Dialect::Postgres, large, rotation_tokens))
        .expect("seed the PostgreSQL benchmark database");
}

/// The seed script; the large database adds its rows to the small one's.
fn seed_sql(dialect: Dialect, large: bool, rotation_tokens: u64) -> String {
    let now = portico::db::now();
    let password_hash = portico::security::password::hash_blocking(TPP_PASSWORD);
    let mut rows = small_sql(dialect, now, &password_hash, rotation_tokens);
    if large {
        rows.push_str(&large_sql(now, &password_hash));
    }
    let rows = rows.replace("bench_sha256(", dialect.sha256());
    format!("{}{rows}{}", dialect.begin(), dialect.end())
}

// The script itself, one statement after the other.
#[allow(clippy::too_many_lines)]
fn small_sql(dialect: Dialect, now: i64, password_hash: &str, rotation_tokens: u64) -> String {
    format!(
        "
        INSERT INTO users (username, username_key, email, first_name, last_name, organization,
            password_hash, role, status, terms_accepted_at, created_at, updated_at)
        VALUES ('{TPP_USERNAME}', '{TPP_USERNAME}', 'bench@example.test', 'Bench', 'User',
            'Bench Ltd', '{password_hash}', 'tpp', 'active', {now}, {now}, {now});
        INSERT INTO organisations (name, name_key, legal_identifier, country, status, created_at,
            updated_at)
        VALUES ('Bench Ltd', 'bench ltd', '', 'GB', 'active', {now}, {now});
        INSERT INTO memberships (organisation_id, user_id, role, created_at)
        SELECT o.id, u.id, 'owner', {now} FROM organisations o, users u
        WHERE o.name_key = 'bench ltd' AND u.username_key = '{TPP_USERNAME}';
        CREATE TEMP TABLE seq AS WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s
            WHERE n < {seq}) SELECT n FROM s;
        INSERT INTO apis (name, version, context, description, status, operations, created_at,
            updated_at)
        SELECT 'Payments API ' || n, 'v1', '/payments' || n, 'Benchmark API number ' || n,
            'PUBLISHED', '[{{\"method\":\"GET\",\"path\":\"/accounts\",\"summary\":\"List accounts\"}}]',
            {now}, {now}
        FROM seq WHERE n <= 20;
        INSERT INTO api_tiers (api_id, policy_id)
        SELECT apis.id, p.id FROM apis, throttling_policies p
        WHERE p.level = 'subscription' AND p.name IN ('Bronze', 'Gold', 'Unlimited');
        -- Every API declares two scopes; the first also `read` and `write` (what the token
        -- requests ask for), so a token and its introspection carry real scope and audience data.
        INSERT INTO api_scopes (api_id, name, description, roles, from_document, created_at,
            updated_at)
        SELECT apis.id, 'payments' || apis.id || ':' || v.verb, 'Benchmark scope', '', {no}, {now}, {now}
        FROM apis, (SELECT 'read' AS verb UNION ALL SELECT 'write') v;
        INSERT INTO api_scopes (api_id, name, description, roles, from_document, created_at,
            updated_at)
        SELECT 1, v.verb, 'Benchmark scope', '', {no}, {now}, {now}
        FROM (SELECT 'read' AS verb UNION ALL SELECT 'write') v;
        INSERT INTO applications (owner_id, organisation_id, name, name_key, description,
            policy_id, created_at, updated_at)
        SELECT u.id, m.organisation_id, 'Bench application ' || n, 'bench application ' || n,
            'Seeded', p.id, {now}, {now}
        FROM seq, users u, memberships m, throttling_policies p
        WHERE n <= 20 AND u.username_key = '{TPP_USERNAME}' AND m.user_id = u.id
            AND p.level = 'application' AND p.name = 'Unlimited';
        INSERT INTO subscriptions (application_id, api_id, policy_id, status, created_at, updated_at)
        SELECT a.id, apis.id, p.id, 'ACTIVE', {now}, {now}
        FROM applications a, apis, throttling_policies p
        WHERE a.owner_id = (SELECT id FROM users WHERE username_key = '{TPP_USERNAME}')
            AND apis.id % 4 = a.id % 4 AND p.level = 'subscription' AND p.name = 'Gold';
        INSERT INTO oauth_clients (client_id, secret_hash, client_name, application_id, key_type,
            grant_types, redirect_uris, created_at, updated_at)
        SELECT '{CLIENT_ID}', bench_sha256('{CLIENT_SECRET}'), a.name, a.id, 'PRODUCTION',
            'client_credentials authorization_code refresh_token', '[\"https://client.example/cb\"]',
            {now}, {now}
        FROM applications a WHERE a.name_key = 'bench application 1';
        INSERT INTO key_mappings (application_id, key_type, key_manager_id, consumer_key,
            create_mode, state, app_info, created_at, updated_at)
        SELECT c.application_id, 'PRODUCTION', km.id, c.client_id, 'CREATED', 'ACTIVE',
            '{{\"grant_types\":[\"client_credentials\",\"authorization_code\",\"refresh_token\"],\"callback_url\":\"https://client.example/cb\"}}',
            {now}, {now}
        FROM oauth_clients c, key_managers km WHERE c.client_id = '{CLIENT_ID}' AND km.kind = 'resident';
        INSERT INTO refresh_token_families (id, client_id, user_id, scope, auth_time, expires_at,
            created_at)
        SELECT 'bench-family-' || n, '{CLIENT_ID}', u.id, 'read', {now}, {now} + 2592000, {now}
        FROM seq, users u WHERE n <= {families} AND u.username_key = '{TPP_USERNAME}';
        INSERT INTO refresh_tokens (token_hash, family_id, scope, issued_at, expires_at)
        SELECT bench_sha256('bench-rt-' || n), 'bench-family-' || n, 'read', {now},
            {now} + 2592000
        FROM seq WHERE n <= {families};
        ",
        families = rotation_tokens + 1,
        seq = (rotation_tokens + 1).max(1_000_000),
        no = dialect.falsehood(),
    )
}

fn large_sql(now: i64, password_hash: &str) -> String {
    format!(
        "
        INSERT INTO users (username, username_key, email, first_name, last_name, organization,
            password_hash, role, status, terms_accepted_at, created_at, updated_at)
        SELECT 'tpp' || n, 'tpp' || n, 'tpp' || n || '@example.test', 'First', 'Last',
            'Organisation ' || (n % 5000), '{password_hash}', 'tpp', 'active', {now}, {now}, {now}
        FROM seq WHERE n <= 100000;
        -- Each TPP owns an organisation of its own, as one who signed up alone does.
        INSERT INTO organisations (name, name_key, legal_identifier, country, status, created_at,
            updated_at)
        SELECT 'Company of tpp' || n, 'company of tpp' || n, '', '', 'active', {now}, {now}
        FROM seq WHERE n <= 100000;
        INSERT INTO memberships (organisation_id, user_id, role, created_at)
        SELECT o.id, u.id, 'owner', {now}
        FROM users u JOIN organisations o ON o.name_key = 'company of ' || u.username_key
        WHERE u.username_key LIKE 'tpp%';
        INSERT INTO applications (owner_id, organisation_id, name, name_key, description,
            policy_id, created_at, updated_at)
        SELECT u.id, m.organisation_id, 'Application ' || k.n, 'application ' || k.n, 'Seeded',
            p.id, {now}, {now}
        FROM users u, memberships m, seq k, throttling_policies p
        WHERE u.username_key LIKE 'tpp%' AND m.user_id = u.id AND k.n <= 2
            AND p.level = 'application' AND p.name = '50PerMin';
        INSERT INTO subscriptions (application_id, api_id, policy_id, status, created_at,
            updated_at)
        SELECT a.id, apis.id, p.id, 'ACTIVE', {now}, {now}
        FROM applications a, apis, throttling_policies p
        WHERE a.name_key LIKE 'application %' AND (apis.id + a.id) % 4 = 0
            AND p.level = 'subscription' AND p.name = 'Bronze';
        INSERT INTO oauth_clients (client_id, secret_hash, client_name, application_id,
            key_type, grant_types, created_at, updated_at)
        SELECT 'client-' || a.id, bench_sha256('secret-' || a.id), a.name, a.id, 'PRODUCTION',
            'client_credentials', {now}, {now}
        FROM applications a WHERE a.name_key LIKE 'application %';
        INSERT INTO key_mappings (application_id, key_type, key_manager_id, consumer_key,
            create_mode, state, created_at, updated_at)
        SELECT c.application_id, 'PRODUCTION', km.id, c.client_id, 'CREATED', 'ACTIVE', {now}, {now}
        FROM oauth_clients c, key_managers km
        WHERE c.client_id LIKE 'client-%' AND km.kind = 'resident';
        "
    )
}
