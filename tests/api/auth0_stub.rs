//! A stand-in for an Auth0 tenant, inside the test binary, on a free loopback port: the token
//! endpoint (`POST /oauth/token`, client_credentials, client_secret_post or _basic, JSON or
//! form bodies) and the Management API endpoints the `auth0` connector uses (`/api/v2/clients`,
//! `/api/v2/clients/{id}`, `…/rotate-secret`, `/api/v2/client-grants`), with Auth0's request
//! and answer shapes: tokens `{access_token, token_type: "Bearer", expires_in}`, token errors
//! `{error, error_description}`, Management API errors `{statusCode, error, message, errorCode}`.
//! Every Management API call must carry a live management token. The tenant records what it
//! received (so tests assert what the other side got) and injects faults on request.

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use actix_web::dev::{ServerHandle, Service};
use actix_web::http::StatusCode;
use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};

/// Portico's machine-to-machine client at the tenant.
pub const M2M_CLIENT_ID: &str = "PorticoManagementClient000000001";
pub const M2M_CLIENT_SECRET: &str = "m2m-secret-that-must-never-show-up-anywhere-0123456789abcdef";

/// What the tenant does wrong, on request (Management API calls only).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// 500 with Auth0's error shape.
    ServerError,
    /// 200 whose body is not JSON.
    Garbage,
    /// Answers 500 after 12 s, having done nothing.
    Slow,
    /// Creating a client grant is refused (the management client lacks the scope).
    GrantFails,
    /// Callback URLs are refused as Auth0 refuses a bad one.
    RejectCallbacks,
}

#[derive(Debug, Clone)]
pub struct StubClient {
    pub client_id: String,
    pub client_secret: String,
    pub name: String,
    pub app_type: String,
    pub grant_types: Vec<String>,
    pub callbacks: Vec<String>,
    pub token_endpoint_auth_method: String,
}

impl StubClient {
    fn json(&self) -> Value {
        let mut client = json!({
            "client_id": self.client_id,
            "tenant": "stub",
            "name": self.name,
            "global": false,
            "app_type": self.app_type,
            "is_first_party": true,
            "oidc_conformant": true,
            "grant_types": self.grant_types,
            "callbacks": self.callbacks,
            "token_endpoint_auth_method": self.token_endpoint_auth_method,
        });
        if self.token_endpoint_auth_method != "none" {
            client["client_secret"] = json!(self.client_secret);
        }
        client
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StubGrant {
    pub id: String,
    pub client_id: String,
    pub audience: String,
    pub scope: Vec<String>,
}

/// What the tenant holds and what it received.
#[derive(Debug, Default)]
pub struct Tenant {
    pub audience: String,
    pub clients: BTreeMap<String, StubClient>,
    pub grants: Vec<StubGrant>,
    /// Live management tokens and when they expire.
    pub management_tokens: Vec<(String, Instant)>,
    pub management_token_lifetime: u64,
    /// How many management tokens were issued.
    pub management_token_fetches: usize,
    /// Access tokens issued to application clients, by client id.
    pub app_tokens: Vec<String>,
    /// How many requests of any kind (token endpoint included) reached the tenant.
    pub received: usize,
    /// `METHOD path` of every Management API call, in order.
    pub requests: Vec<String>,
    /// The bodies of client creations and updates, in order.
    pub client_bodies: Vec<Value>,
    pub fault: Option<Fault>,
    /// Refuse a client's grant type before checking its secret (a server that answers before it
    /// authenticates; Auth0 checks the secret first).
    pub grant_checked_first: bool,
}

impl Tenant {
    pub fn client_named(&self, name: &str) -> Option<&StubClient> {
        self.clients.values().find(|c| c.name == name)
    }

    pub fn grants_of(&self, client_id: &str) -> Vec<&StubGrant> {
        self.grants
            .iter()
            .filter(|g| g.client_id == client_id)
            .collect()
    }
}

type Shared = web::Data<Mutex<Tenant>>;

pub struct Auth0Stub {
    pub base: String,
    tenant: Shared,
    handle: ServerHandle,
}

impl Auth0Stub {
    pub async fn start() -> Auth0Stub {
        let tenant: Shared = web::Data::new(Mutex::new(Tenant {
            management_token_lifetime: 86_400,
            ..Tenant::default()
        }));
        let shared = tenant.clone();
        let server = HttpServer::new(move || {
            let counted = shared.clone();
            App::new()
                .app_data(shared.clone())
                .wrap_fn(move |request, service| {
                    counted.lock().unwrap().received += 1;
                    service.call(request)
                })
                .route("/oauth/token", web::post().to(token))
                .route("/api/v2/clients", web::post().to(create_client))
                .route("/api/v2/clients/{id}", web::get().to(get_client))
                .route("/api/v2/clients/{id}", web::patch().to(update_client))
                .route("/api/v2/clients/{id}", web::delete().to(delete_client))
                .route(
                    "/api/v2/clients/{id}/rotate-secret",
                    web::post().to(rotate_secret),
                )
                .route("/api/v2/client-grants", web::post().to(create_grant))
        })
        .workers(1)
        .bind(("127.0.0.1", 0))
        .expect("the stub binds");
        let address = server.addrs()[0];
        let server = server.run();
        let handle = server.handle();
        actix_web::rt::spawn(server);
        let base = format!("http://{address}");
        tenant.lock().unwrap().audience = format!("{base}/api/v2/");
        Auth0Stub {
            base,
            tenant,
            handle,
        }
    }

    pub fn issuer(&self) -> String {
        format!("{}/", self.base)
    }

    pub fn token_endpoint(&self) -> String {
        format!("{}/oauth/token", self.base)
    }

    pub fn audience(&self) -> String {
        format!("{}/api/v2/", self.base)
    }

    pub fn tenant(&self) -> MutexGuard<'_, Tenant> {
        self.tenant.lock().unwrap()
    }

    pub fn set_fault(&self, fault: Option<Fault>) {
        self.tenant().fault = fault;
    }

    /// A client made in Auth0 by someone else (for out-of-band provisioning), with a grant
    /// toward the Management API audience: (client_id, client_secret).
    pub fn add_client(&self, name: &str, method: &str, grant_types: &[&str]) -> (String, String) {
        let mut tenant = self.tenant();
        let client = StubClient {
            client_id: random(16),
            client_secret: random(32),
            name: name.into(),
            app_type: "non_interactive".into(),
            grant_types: grant_types.iter().map(|g| g.to_string()).collect(),
            callbacks: vec![],
            token_endpoint_auth_method: method.into(),
        };
        let audience = tenant.audience.clone();
        tenant.grants.push(StubGrant {
            id: format!("cgr_{}", random(8)),
            client_id: client.client_id.clone(),
            audience,
            scope: vec![],
        });
        let ids = (client.client_id.clone(), client.client_secret.clone());
        tenant.clients.insert(client.client_id.clone(), client);
        ids
    }

    /// The tenant goes away: connections are refused from now on.
    pub async fn stop(&self) {
        self.handle.stop(false).await;
    }
}

fn random(bytes: usize) -> String {
    let mut buffer = vec![0u8; bytes];
    aws_lc_rs::rand::fill(&mut buffer).unwrap();
    hex::encode(buffer)
}

fn management_error(status: u16, error: &str, message: &str, code: &str) -> HttpResponse {
    HttpResponse::build(StatusCode::from_u16(status).unwrap()).json(json!({
        "statusCode": status,
        "error": error,
        "message": message,
        "errorCode": code,
    }))
}

fn token_error(status: u16, error: &str, description: &str) -> HttpResponse {
    HttpResponse::build(StatusCode::from_u16(status).unwrap()).json(json!({
        "error": error,
        "error_description": description,
    }))
}

fn invalid_body(message: &str) -> HttpResponse {
    management_error(400, "Bad Request", message, "invalid_body")
}

fn payload(message: &str) -> String {
    format!("Payload validation error: {message}")
}

/// `application/json` or `application/x-www-form-urlencoded` parameters, as Auth0 takes both.
fn parameters(req: &HttpRequest, body: &[u8]) -> BTreeMap<String, String> {
    let json = req
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if json {
        serde_json::from_slice::<BTreeMap<String, Value>>(body)
            .unwrap_or_default()
            .into_iter()
            .filter_map(|(k, v)| v.as_str().map(|s| (k, s.to_string())))
            .collect()
    } else {
        serde_urlencoded::from_bytes::<Vec<(String, String)>>(body)
            .unwrap_or_default()
            .into_iter()
            .collect()
    }
}

/// The client credentials of HTTP Basic (each part form-decoded, RFC 6749 §2.3.1).
fn basic_credentials(req: &HttpRequest) -> Option<(String, String)> {
    let header = req.headers().get("authorization")?.to_str().ok()?;
    let decoded = STANDARD.decode(header.strip_prefix("Basic ")?).ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (id, secret) = text.split_once(':')?;
    let decode = |s: &str| {
        url::form_urlencoded::parse(format!("v={s}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default()
    };
    Some((decode(id), decode(secret)))
}

/// `POST /oauth/token`: client_credentials only.
// Long: Auth0's token endpoint answers each refusal its own way, in the order it checks.
#[allow(clippy::too_many_lines)]
async fn token(req: HttpRequest, body: web::Bytes, tenant: Shared) -> HttpResponse {
    let params = parameters(&req, &body);
    let basic = basic_credentials(&req);
    let (client_id, secret, method) = match (&basic, params.get("client_secret")) {
        (Some(_), Some(_)) => {
            return token_error(
                400,
                "invalid_request",
                "Only one client authentication method may be used",
            );
        }
        (Some((id, secret)), None) => (id.clone(), secret.clone(), "client_secret_basic"),
        (None, Some(secret)) => (
            params.get("client_id").cloned().unwrap_or_default(),
            secret.clone(),
            "client_secret_post",
        ),
        (None, None) => return token_error(401, "access_denied", "Unauthorized"),
    };
    if params.get("grant_type").map(String::as_str) != Some("client_credentials") {
        return token_error(
            403,
            "unauthorized_client",
            "Grant type not allowed for the client.",
        );
    }
    let audience = params.get("audience").cloned().unwrap_or_default();
    let mut tenant = tenant.lock().unwrap();

    if client_id == M2M_CLIENT_ID {
        if secret != M2M_CLIENT_SECRET || method != "client_secret_post" {
            return token_error(401, "access_denied", "Unauthorized");
        }
        if audience != tenant.audience {
            return token_error(
                403,
                "access_denied",
                &format!("Service not found: {audience}"),
            );
        }
        let access_token = format!("mgmt.{}", random(24));
        let lifetime = tenant.management_token_lifetime;
        tenant.management_tokens.push((
            access_token.clone(),
            Instant::now() + Duration::from_secs(lifetime),
        ));
        tenant.management_token_fetches += 1;
        return HttpResponse::Ok().json(json!({
            "access_token": access_token,
            "scope": "read:clients create:clients update:clients delete:clients create:client_grants",
            "expires_in": lifetime,
            "token_type": "Bearer",
        }));
    }

    let Some(client) = tenant.clients.get(&client_id).cloned() else {
        return token_error(401, "access_denied", "Unauthorized");
    };
    let allowed = client.grant_types.iter().any(|g| g == "client_credentials");
    if tenant.grant_checked_first && !allowed {
        return token_error(
            403,
            "unauthorized_client",
            "Grant type 'client_credentials' not allowed for the client.",
        );
    }
    if client.client_secret != secret || client.token_endpoint_auth_method != method {
        return token_error(401, "access_denied", "Unauthorized");
    }
    if !allowed {
        return token_error(
            403,
            "unauthorized_client",
            "Grant type 'client_credentials' not allowed for the client.",
        );
    }
    if audience.is_empty() {
        return token_error(
            403,
            "access_denied",
            "No audience parameter was provided, and no default audience has been configured",
        );
    }
    if !tenant
        .grants
        .iter()
        .any(|g| g.client_id == client_id && g.audience == audience)
    {
        return token_error(
            403,
            "access_denied",
            &format!(
                "Client is not authorized to access \"{audience}\". You might probably want to create a \"client-grant\" associated to this API. See: https://auth0.com/docs/api/v2#!/Client_Grants/post_client_grants"
            ),
        );
    }
    tenant.app_tokens.push(client_id);
    HttpResponse::Ok().json(json!({
        "access_token": format!("app.{}", random(24)),
        "expires_in": 86_400,
        "token_type": "Bearer",
    }))
}

/// What every Management API call goes through: recorded, the bearer token checked, faults.
async fn management(req: &HttpRequest, tenant: &Shared) -> Option<HttpResponse> {
    let fault = {
        let mut tenant = tenant.lock().unwrap();
        tenant
            .requests
            .push(format!("{} {}", req.method(), req.path()));
        let bearer = req
            .headers()
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or_default();
        match tenant.management_tokens.iter().find(|(t, _)| t == bearer) {
            None => {
                return Some(management_error(
                    401,
                    "Unauthorized",
                    "Invalid token",
                    "invalid_token",
                ));
            }
            Some((_, expiry)) if *expiry <= Instant::now() => {
                return Some(management_error(
                    401,
                    "Unauthorized",
                    "Expired token received for JSON Web Token validation",
                    "invalid_token",
                ));
            }
            Some(_) => {}
        }
        tenant.fault
    };
    match fault {
        Some(Fault::ServerError) => Some(management_error(
            500,
            "Internal Server Error",
            "Internal error",
            "internal_error",
        )),
        Some(Fault::Garbage) => Some(
            HttpResponse::Ok()
                .content_type("application/json")
                .body("{\"client_id\": <html>"),
        ),
        Some(Fault::Slow) => {
            actix_web::rt::time::sleep(Duration::from_secs(12)).await;
            Some(management_error(
                500,
                "Internal Server Error",
                "Took too long",
                "internal_error",
            ))
        }
        _ => None,
    }
}

const GRANT_TYPES: &[&str] = &[
    "authorization_code",
    "implicit",
    "refresh_token",
    "client_credentials",
    "password",
    "urn:ietf:params:oauth:grant-type:device_code",
];

/// Checks a create or update body as Auth0's payload validation does; the refusal's message.
fn validate(body: &Value, creating: bool, fault: Option<Fault>) -> Result<(), String> {
    let Some(fields) = body.as_object() else {
        return Err(payload("Expected type object but found type null"));
    };
    for key in fields.keys() {
        if ![
            "name",
            "app_type",
            "grant_types",
            "callbacks",
            "token_endpoint_auth_method",
            "description",
        ]
        .contains(&key.as_str())
        {
            return Err(payload(&format!(
                "Additional properties not allowed: {key}"
            )));
        }
    }
    match fields.get("name") {
        None if creating => return Err(payload("Missing required property: name")),
        Some(name) => {
            let name = name.as_str().unwrap_or_default();
            if name.is_empty() || name.contains(['<', '>']) {
                return Err(payload(&format!(
                    "'String does not match pattern ^[^<>]+$: {name}' on property name (The name of the client)."
                )));
            }
        }
        None => {}
    }
    if let Some(app_type) = fields.get("app_type")
        && !["native", "spa", "regular_web", "non_interactive"]
            .contains(&app_type.as_str().unwrap_or_default())
    {
        return Err(payload(&format!(
            "'No enum match for: {app_type}' on property app_type"
        )));
    }
    for (i, grant) in fields
        .get("grant_types")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        if !GRANT_TYPES.contains(&grant.as_str().unwrap_or_default()) {
            return Err(payload(&format!(
                "'No enum match for: {grant}' on property grant_types[{i}] (A set of grant types that the client is authorized to use.)."
            )));
        }
    }
    for (i, callback) in fields
        .get("callbacks")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        let text = callback.as_str().unwrap_or_default();
        if fault == Some(Fault::RejectCallbacks) || url::Url::parse(text).is_err() {
            return Err(payload(&format!(
                "'Object didn't pass validation for format absolute-uri-or-empty: {text}' on property callbacks[{i}] (A set of URLs that are valid to call back from Auth0 when authenticating users.)."
            )));
        }
    }
    if let Some(method) = fields.get("token_endpoint_auth_method")
        && !["none", "client_secret_post", "client_secret_basic"]
            .contains(&method.as_str().unwrap_or_default())
    {
        return Err(payload(&format!(
            "'No enum match for: {method}' on property token_endpoint_auth_method"
        )));
    }
    Ok(())
}

fn strings(value: Option<&Value>) -> Option<Vec<String>> {
    value.and_then(Value::as_array).map(|a| {
        a.iter()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect()
    })
}

fn no_client() -> HttpResponse {
    management_error(
        404,
        "Not Found",
        "The client does not exist",
        "inexistent_client",
    )
}

async fn create_client(req: HttpRequest, body: web::Json<Value>, tenant: Shared) -> HttpResponse {
    if let Some(answer) = management(&req, &tenant).await {
        return answer;
    }
    let mut tenant = tenant.lock().unwrap();
    tenant.client_bodies.push(body.0.clone());
    if let Err(message) = validate(&body, true, tenant.fault) {
        return invalid_body(&message);
    }
    let client = StubClient {
        client_id: random(16),
        client_secret: random(32),
        name: body["name"].as_str().unwrap_or_default().to_string(),
        app_type: body["app_type"].as_str().unwrap_or("native").to_string(),
        grant_types: strings(body.get("grant_types")).unwrap_or_default(),
        callbacks: strings(body.get("callbacks")).unwrap_or_default(),
        token_endpoint_auth_method: body["token_endpoint_auth_method"]
            .as_str()
            .unwrap_or("client_secret_post")
            .to_string(),
    };
    let answer = client.json();
    tenant.clients.insert(client.client_id.clone(), client);
    HttpResponse::Created().json(answer)
}

async fn get_client(req: HttpRequest, id: web::Path<String>, tenant: Shared) -> HttpResponse {
    if let Some(answer) = management(&req, &tenant).await {
        return answer;
    }
    match tenant.lock().unwrap().clients.get(id.as_str()) {
        Some(client) => HttpResponse::Ok().json(client.json()),
        None => no_client(),
    }
}

async fn update_client(
    req: HttpRequest,
    id: web::Path<String>,
    body: web::Json<Value>,
    tenant: Shared,
) -> HttpResponse {
    if let Some(answer) = management(&req, &tenant).await {
        return answer;
    }
    let mut tenant = tenant.lock().unwrap();
    tenant.client_bodies.push(body.0.clone());
    if let Err(message) = validate(&body, false, tenant.fault) {
        return invalid_body(&message);
    }
    let Some(client) = tenant.clients.get_mut(id.as_str()) else {
        return no_client();
    };
    if let Some(name) = body["name"].as_str() {
        client.name = name.to_string();
    }
    if let Some(grants) = strings(body.get("grant_types")) {
        client.grant_types = grants;
    }
    if let Some(callbacks) = strings(body.get("callbacks")) {
        client.callbacks = callbacks;
    }
    if let Some(method) = body["token_endpoint_auth_method"].as_str() {
        client.token_endpoint_auth_method = method.to_string();
    }
    HttpResponse::Ok().json(client.json())
}

async fn delete_client(req: HttpRequest, id: web::Path<String>, tenant: Shared) -> HttpResponse {
    if let Some(answer) = management(&req, &tenant).await {
        return answer;
    }
    let mut tenant = tenant.lock().unwrap();
    if tenant.clients.remove(id.as_str()).is_none() {
        return no_client();
    }
    // Auth0 deletes a client's grants with it.
    tenant.grants.retain(|g| g.client_id != *id);
    HttpResponse::NoContent().finish()
}

async fn rotate_secret(req: HttpRequest, id: web::Path<String>, tenant: Shared) -> HttpResponse {
    if let Some(answer) = management(&req, &tenant).await {
        return answer;
    }
    let mut tenant = tenant.lock().unwrap();
    let Some(client) = tenant.clients.get_mut(id.as_str()) else {
        return no_client();
    };
    client.client_secret = random(32);
    HttpResponse::Ok().json(client.json())
}

async fn create_grant(req: HttpRequest, body: web::Json<Value>, tenant: Shared) -> HttpResponse {
    if let Some(answer) = management(&req, &tenant).await {
        return answer;
    }
    let mut tenant = tenant.lock().unwrap();
    if tenant.fault == Some(Fault::GrantFails) {
        return management_error(
            403,
            "Forbidden",
            "Insufficient scope, expected any of: create:client_grants",
            "insufficient_scope",
        );
    }
    let (Some(client_id), Some(audience), Some(scope)) = (
        body["client_id"].as_str(),
        body["audience"].as_str(),
        strings(body.get("scope")),
    ) else {
        return invalid_body(&payload(
            "Missing required property: client_id, audience or scope",
        ));
    };
    if !tenant.clients.contains_key(client_id) {
        return management_error(404, "Not Found", "Client not found", "inexistent_client");
    }
    if audience != tenant.audience {
        return management_error(
            404,
            "Not Found",
            "No resource server found by specified identifier",
            "inexistent_resource_server",
        );
    }
    if tenant
        .grants
        .iter()
        .any(|g| g.client_id == client_id && g.audience == audience)
    {
        return management_error(
            409,
            "Conflict",
            "A client grant for this client and audience already exists",
            "client_grant_conflict",
        );
    }
    let grant = StubGrant {
        id: format!("cgr_{}", random(8)),
        client_id: client_id.to_string(),
        audience: audience.to_string(),
        scope,
    };
    let answer = json!({
        "id": grant.id,
        "client_id": grant.client_id,
        "audience": grant.audience,
        "scope": grant.scope,
    });
    tenant.grants.push(grant);
    HttpResponse::Created().json(answer)
}
