//! Portico's tokens in front of a real API: the Debian packages of HAProxy and nginx (with njs)
//! run as the test user on free loopback ports, configured from the files under `deploy/` (only
//! ports, paths, keys and the API's identifiers filled in), in front of a small upstream API the
//! test serves. Portico is seeded through its pages: an Inventory API and a Ledger API whose
//! OpenAPI documents declare their scopes, and three applications with production keys — Shop
//! (subscribed to Inventory), Books (to Ledger only) and Both (to both).
//!
//! Each gateway lets a subscribed application's token with the operation's scope through, and
//! refuses, without calling the API, tokens of an unsubscribed application, of another API's
//! audience, without the scope, expired and signed by another key; nginx, which asks Portico,
//! also a revoked token and one whose application has since unsubscribed (HAProxy lets those
//! through until they expire, as the README says).

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::gateways_harness::{Gateway, Upstream, public_key_pem};
use crate::helpers::*;
use crate::oauth::{basic, post_json, post_token};

/// The scopes of the Inventory API's operations: reading and changing items.
const READ: &str = "inventory:read";
const WRITE: &str = "inventory:write";
/// The Inventory API's resource identifier, set by the administrator.
pub const INVENTORY: &str = "https://inventory.example/v1";

/// An OpenAPI document whose OAuth2 security scheme declares `read` and `write`: `GET /items`
/// requires the first, `POST /items` the second.
fn document(read: &str, write: &str) -> String {
    let scheme = |scope: &str| json!([{ "portico": [scope] }]);
    json!({
        "openapi": "3.0.0",
        "info": { "title": "Items", "version": "1.0.0" },
        "components": { "securitySchemes": { "portico": {
            "type": "oauth2",
            "flows": { "clientCredentials": {
                "tokenUrl": "/oauth2/token",
                "scopes": { read: "Read the items", write: "Change the items" },
            } },
        } } },
        "paths": { "/items": {
            "get": { "summary": "List items", "security": scheme(read) },
            "post": { "summary": "Add an item", "security": scheme(write) },
        } },
    })
    .to_string()
}

/// The seeded Portico (see the module's documentation).
pub struct World {
    pub app: Scenario,
    inventory: i64,
    ledger: i64,
}

impl World {
    pub async fn build() -> World {
        let app = TestApp::new()
            .with_tpp("owner")
            .with_application("owner", "Shop")
            .with_keys("Shop", "production")
            .with_application("owner", "Books")
            .with_keys("Books", "production")
            .with_application("owner", "Both")
            .with_keys("Both", "production")
            .build()
            .await;
        // Inventory's resource identifier is one the administrator sets; Ledger's the default.
        let inventory = publish(&app, "Inventory", "/inventory", INVENTORY, (READ, WRITE)).await;
        let ledger = publish(
            &app,
            "Ledger",
            "/ledger",
            "",
            ("ledger:read", "ledger:write"),
        )
        .await;
        let owner = app.session("owner");
        for (application, api) in [
            ("Shop", inventory),
            ("Books", ledger),
            ("Both", inventory),
            ("Both", ledger),
        ] {
            owner
                .subscribe(api, app.application(application), "Gold")
                .await;
        }
        World {
            app,
            inventory,
            ledger,
        }
    }

    /// An API's resource identifier, as its page shows it.
    pub async fn audience(&self, api: i64) -> String {
        let (_, page) = self
            .app
            .session("owner")
            .page(&format!("/apis/{api}"))
            .await;
        data_field(&page, "resource").expect("the API page shows its resource identifier")
    }

    fn client(&self, application: &str) -> TestClient {
        let keys = self.app.keys(application, "production");
        TestClient {
            client_id: keys.consumer_key.clone(),
            secret: Some(keys.consumer_secret.clone()),
        }
    }

    /// The consumer key of an application's production keys.
    pub fn client_id(&self, application: &str) -> String {
        self.client(application).client_id
    }

    /// A client_credentials token of an application, asking for `scope` (and `resource`).
    pub async fn token(&self, application: &str, scope: &str, resource: Option<&str>) -> String {
        let mut form = vec![("grant_type", "client_credentials"), ("scope", scope)];
        form.extend(resource.map(|r| ("resource", r)));
        let auth = basic(&self.client(application));
        let (status, body, _) = post_token(&self.app, Some(&auth), &form).await;
        assert_eq!(status, StatusCode::OK, "{application}: {body}");
        body["access_token"].as_str().expect("a token").to_string()
    }

    /// A token the owner takes on the keys page valid for one second, once it has run out.
    pub async fn expired_token(&self, application: &str) -> String {
        let owner = self.app.session("owner");
        let secret = &self.app.keys(application, "production").consumer_secret;
        let id = self.app.application(application);
        let response = owner.portal_token(id, secret, Some(READ), "1").await;
        let shown = crate::results::shown_after(owner, response).await;
        let token = data_field(&shown, "access_token").expect("the token is shown");
        actix_web::rt::time::sleep(Duration::from_millis(2100)).await;
        token
    }

    /// The application revokes its own token (RFC 7009).
    pub async fn revoke(&self, application: &str, token: &str) {
        let auth = basic(&self.client(application));
        let (status, _, _) = post_json(
            &self.app,
            "/oauth2/revoke",
            Some(&auth),
            &[("token", token)],
        )
        .await;
        assert_eq!(status, StatusCode::OK, "revocation");
    }

    /// The owner cancels the application's subscription to Inventory on its subscriptions page.
    pub async fn unsubscribe_from_inventory(&self, application: &str) {
        let id = self.app.application(application);
        let subscription = self.app.count(&format!(
            "SELECT id AS n FROM subscriptions WHERE application_id = {id} AND api_id = {}",
            self.inventory
        ));
        let owner = self.app.session("owner");
        owner
            .post_ok(
                &format!("/applications/{id}/subscriptions/{subscription}/delete"),
                &[],
            )
            .await;
    }

    /// A gateway client, made on the admin's Gateways page: its id and secret.
    pub async fn gateway_client(&self) -> (String, String) {
        let admin = self.app.admin_session();
        let response = admin
            .post("/admin/gateways", &[("name", "Edge gateway")])
            .await;
        let page = crate::results::shown_after(admin, response).await;
        (
            data_field(&page, "client_id").expect("the gateway's client id"),
            data_field(&page, "client_secret").expect("the gateway's secret"),
        )
    }

    /// Portico's public URL (its issuer).
    pub fn issuer(&self) -> &str {
        &self.app.address
    }
}

/// Publishes an API with the scoped document through the admin's form; its id.
async fn publish(
    app: &Scenario,
    name: &str,
    context: &str,
    resource: &str,
    (read, write): (&str, &str),
) -> i64 {
    let document = document(read, write);
    let fields = [
        ("name", name),
        ("version", "1.0.0"),
        ("context", context),
        ("description", "Items, behind a gateway"),
        ("openapi_document", document.as_str()),
        ("status", "PUBLISHED"),
        ("tiers", "Gold"),
        ("resource_identifier", resource),
    ];
    let response = app.admin_session().post("/admin/apis", &fields).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER, "publish {name}");
    location(&response)
        .trim_start_matches("/admin/apis/")
        .parse()
        .expect("the API's id")
}

/// The same header and claims signed by a key Portico never had (the same `kid`).
pub fn signed_by_another_key(token: &str) -> String {
    let header = jsonwebtoken::decode_header(token).expect("a JWT");
    let claims: Value = jsonwebtoken::dangerous::insecure_decode(token)
        .expect("a JWT")
        .claims;
    let key = rcgen::KeyPair::generate().expect("a P-256 key");
    let key = jsonwebtoken::EncodingKey::from_ec_der(&key.serialize_der());
    jsonwebtoken::encode(&header, &claims, &key).expect("signed")
}

/// What a gateway answers: the status and a part of the challenge (a refusal) or of the API's
/// answer (a pass).
type Answer<'a> = (StatusCode, &'a str);

/// One request through a gateway (a name, the method on `/items`, the token) and what HAProxy
/// and nginx answer, in that order: a row of the README's table.
type Row<'a> = (&'a str, &'a str, Option<&'a str>, [Answer<'a>; 2]);

/// The gateway whose column of the rows a test checks.
#[derive(Clone, Copy)]
enum Kind {
    HAProxy = 0,
    Nginx = 1,
}

/// Sends each row's request; every answer must be the gateway's, and only the passing
/// requests may reach the API.
async fn check(gateway: &Gateway, upstream: &Upstream, kind: Kind, rows: &[Row<'_>]) {
    let before = upstream.seen().len();
    let mut passed = Vec::new();
    for (name, method, token, answers) in rows {
        let (expected, shows) = answers[kind as usize];
        let (status, challenge, body) = gateway.call(method, *token).await;
        let log = gateway.log();
        assert_eq!(status, expected, "{name}: {challenge} {body}\n{log}");
        if status.is_success() {
            assert!(body.contains(shows), "{name}: {body}");
            passed.push(body.trim_start_matches("inventory: ").to_string());
        } else {
            assert!(challenge.starts_with(REALM), "{name}: {challenge}");
            assert!(challenge.contains(shows), "{name}: {challenge}");
        }
    }
    assert_eq!(
        upstream.seen()[before..],
        passed,
        "only the passing requests reached the API"
    );
}

/// The tokens each gateway is shown.
struct Tokens {
    /// Shop's, with the read scope.
    read: String,
    /// Shop's, with both scopes.
    write: String,
    /// Books' (subscribed to Ledger only), for Ledger.
    unsubscribed: String,
    /// Both's, narrowed to Ledger with `resource`.
    other_audience: String,
    /// Shop's, valid for one second, run out.
    expired: String,
    /// Shop's read token signed again by another key.
    foreign: String,
}

impl World {
    async fn tokens(&self) -> Tokens {
        let ledger = self.audience(self.ledger).await;
        let read = self.token("Shop", READ, None).await;
        Tokens {
            write: self.token("Shop", &format!("{READ} {WRITE}"), None).await,
            unsubscribed: self.token("Books", "ledger:read", None).await,
            other_audience: self.token("Both", "ledger:read", Some(&ledger)).await,
            expired: self.expired_token("Shop").await,
            foreign: signed_by_another_key(&read),
            read,
        }
    }
}

const OK: StatusCode = StatusCode::OK;
const UNAUTHORIZED: StatusCode = StatusCode::UNAUTHORIZED;
const FORBIDDEN: StatusCode = StatusCode::FORBIDDEN;
const REALM: &str = "Bearer realm=\"api\"";

/// What each gateway test starts from: the seeded Portico, its tokens, the upstream API and a
/// folder for the gateway's files.
struct Stage {
    world: World,
    tokens: Tokens,
    upstream: Upstream,
    dir: tempfile::TempDir,
    /// Inventory's resource identifier.
    audience: String,
    /// The upstream's answers to Shop's reading and writing calls.
    reads: String,
    writes: String,
}

impl Stage {
    async fn new() -> Stage {
        let world = World::build().await;
        let tokens = world.tokens().await;
        let shop = world.client_id("Shop");
        let audience = world.audience(world.inventory).await;
        assert_eq!(audience, INVENTORY);
        Stage {
            audience,
            tokens,
            upstream: Upstream::start(),
            dir: tempfile::tempdir().expect("a temporary directory"),
            reads: format!("GET /items for {shop}"),
            writes: format!("POST /items for {shop}"),
            world,
        }
    }

    /// The settings both gateways take: the upstream, the API's identifier and its scopes.
    fn api_settings(&self) -> Vec<(&'static str, String)> {
        vec![
            ("API_UPSTREAM", self.upstream.address.clone()),
            ("API_AUDIENCE", self.audience.clone()),
            ("API_READ_SCOPE", READ.into()),
            ("API_WRITE_SCOPE", WRITE.into()),
        ]
    }

    /// Runs the README's table through the gateway: the tokens as issued, then a token revoked
    /// after it passed, then Shop's token once Shop has unsubscribed from Inventory.
    async fn walk(&self, gateway: &Gateway, kind: Kind) {
        let (tokens, world) = (&self.tokens, &self.world);
        let (reads, writes) = ((OK, self.reads.as_str()), (OK, self.writes.as_str()));
        let not_for_us = (UNAUTHORIZED, "The token is not for this API");
        let bad_signature = (UNAUTHORIZED, "The signature does not verify");
        let inactive = (UNAUTHORIZED, "The token is not active");
        let no_write_scope = (FORBIDDEN, NO_WRITE_SCOPE);
        let unsubscribed = (FORBIDDEN, "The application is not subscribed to this API");
        let revoked = world.token("Shop", READ, None).await;
        #[rustfmt::skip]
        check(gateway, &self.upstream, kind, &[
            ("subscribed, reading", "GET", Some(&tokens.read), [reads, reads]),
            ("subscribed, writing", "POST", Some(&tokens.write), [writes, writes]),
            ("before its revocation", "GET", Some(&revoked), [reads, reads]),
            ("without the write scope", "POST", Some(&tokens.read), [no_write_scope, no_write_scope]),
            ("no token", "GET", None, [(UNAUTHORIZED, REALM), (UNAUTHORIZED, REALM)]),
            ("an unsubscribed application", "GET", Some(&tokens.unsubscribed), [not_for_us, unsubscribed]),
            ("another API's audience", "GET", Some(&tokens.other_audience), [not_for_us, not_for_us]),
            ("expired", "GET", Some(&tokens.expired), [(UNAUTHORIZED, "The token has expired"), inactive]),
            ("signed by another key", "GET", Some(&tokens.foreign), [bad_signature, inactive]),
            ("garbage", "GET", Some("a.b.c"), [bad_signature, inactive]),
        ]).await;
        // HAProxy never asks Portico: what changed since the token was issued is seen only by
        // nginx; HAProxy lets the token run until it expires (the README says so).
        world.revoke("Shop", &revoked).await;
        #[rustfmt::skip]
        check(gateway, &self.upstream, kind, &[
            ("revoked", "GET", Some(&revoked), [reads, inactive]),
        ]).await;
        world.unsubscribe_from_inventory("Shop").await;
        #[rustfmt::skip]
        check(gateway, &self.upstream, kind, &[
            ("after unsubscribing", "GET", Some(&tokens.read), [reads, inactive]),
        ]).await;
    }
}

/// Settings as the gateways take them.
fn pairs<'a>(settings: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    settings.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

const NO_WRITE_SCOPE: &str = "error=\"insufficient_scope\", scope=\"inventory:write\"";

#[actix_web::test]
async fn haproxy_checks_the_signature_issuer_audience_expiry_and_scope_of_portico_jwts() {
    let stage = Stage::new().await;
    let pem = stage.dir.path().join("portico.pem");
    let alg = public_key_pem(stage.world.issuer(), &pem);
    let mut settings = stage.api_settings();
    settings.extend([
        ("PORTICO_ISSUER", stage.world.issuer().to_string()),
        ("PORTICO_ALG", alg),
        ("PORTICO_KEY_PEM", pem.to_string_lossy().into_owned()),
    ]);
    let gateway = Gateway::haproxy(stage.dir.path(), &pairs(&settings));
    stage.walk(&gateway, Kind::HAProxy).await;
}

#[actix_web::test]
async fn nginx_asks_portico_about_each_token_and_checks_the_subscription_audience_and_scope() {
    let stage = Stage::new().await;
    let (gateway_id, gateway_secret) = stage.world.gateway_client().await;
    let mut settings = stage.api_settings();
    settings.extend([
        ("PORTICO_URL", stage.world.issuer().to_string()),
        ("API_CONTEXT", "/inventory".to_string()),
    ]);
    let credentials = [
        ("PORTICO_GATEWAY_ID", gateway_id.as_str()),
        ("PORTICO_GATEWAY_SECRET", gateway_secret.as_str()),
    ];
    let gateway = Gateway::nginx(stage.dir.path(), &pairs(&settings), &credentials);
    stage.walk(&gateway, Kind::Nginx).await;
}
