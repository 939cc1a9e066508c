//! API scopes and audiences (issue #16 items 1–3): what an administrator declares, and what a
//! token then carries — only the scopes of APIs the application holds an ACTIVE subscription
//! to (and, in user tokens, that the person's roles allow), for the audience of those APIs —
//! decided again at every token, refresh and introspection.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::builder::ITEMS_DOCUMENT;
use crate::helpers::*;
use crate::oauth::{CALLBACK, VERIFIER, authorize, basic, exchange, http, pair, post_token};

/// An OpenAPI document whose OAuth2 scheme declares `pets:read` and `pets:write`; listing pets
/// needs `pets:read`, adding one `pets:write`.
const PETS_DOCUMENT: &str = r#"{"openapi": "3.0.3", "info": {"title": "Pets", "version": "1"},
 "components": {"securitySchemes": {"oauth": {"type": "oauth2", "flows": {"clientCredentials": {
   "tokenUrl": "https://example.com/token",
   "scopes": {"pets:read": "Read the pets", "pets:write": "Add and change pets"}}}}}},
 "paths": {"/pets": {
   "get": {"summary": "List pets", "security": [{"oauth": ["pets:read"]}]},
   "post": {"summary": "Add a pet", "security": [{"oauth": ["pets:write"]}]}}}}"#;

/// Creates an API (PUBLISHED, tier Gold and Silver) with `document`, as an administrator.
async fn create_api(admin: &Browser, name: &str, context: &str, document: &str) -> i64 {
    let fields = [
        ("name", name),
        ("version", "1.0.0"),
        ("context", context),
        ("status", "PUBLISHED"),
        ("tiers", "Gold"),
        ("tiers", "Silver"),
        ("openapi_document", document),
    ];
    let response = admin.post_ok("/admin/apis", &fields).await;
    location(&response)
        .trim_start_matches("/admin/apis/")
        .parse()
        .expect("the API's id")
}

fn scope_form<'a>(name: &'a str, description: &'a str, roles: &'a str) -> [(&'a str, &'a str); 3] {
    [
        ("name", name),
        ("description", description),
        ("roles", roles),
    ]
}

#[actix_web::test]
async fn an_administrator_declares_scopes_from_the_document_and_by_hand() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let pets = create_api(&admin, "Pets", "/pets", PETS_DOCUMENT).await;
    let page = format!("/admin/apis/{pets}/scopes");
    let (_, html) = admin.page(&page).await;
    for (scope, description) in [
        ("pets:read", "Read the pets"),
        ("pets:write", "Add and change pets"),
    ] {
        let row = texts(&html, &format!("tr[data-scope=\"{scope}\"]")).join(" ");
        assert!(
            row.contains(description) && row.contains("OpenAPI document"),
            "{scope}: {row}"
        );
    }

    // Added by hand, then changed through the same form.
    admin
        .post_ok(&page, &scope_form("pets:admin", "Run the shop", "partner"))
        .await;
    admin
        .post_ok(
            &page,
            &scope_form("pets:admin", "Run the whole shop", "partner, auditor"),
        )
        .await;
    let (_, html) = admin.page(&page).await;
    let row = texts(&html, "tr[data-scope=\"pets:admin\"]").join(" ");
    assert!(
        row.contains("Run the whole shop") && row.contains("auditor, partner"),
        "{row}"
    );

    // Bad values are refused by field, with what was typed kept.
    for (form, field, says) in [
        (scope_form("two words", "x", ""), "name", "printable ASCII"),
        (
            scope_form("openid", "x", ""),
            "name",
            "OpenID Connect scope",
        ),
        (scope_form("ok", "x", "Not A Role"), "roles", "lower-case"),
        (
            scope_form(&"s".repeat(101), "x", ""),
            "name",
            "longer than 100",
        ),
    ] {
        let html = unprocessable(admin.post(&page, &form).await, field).await;
        let error = error_on(&html, field).unwrap_or_default();
        assert!(error.contains(says), "{field}: {error}");
        assert!(
            html.contains(&format!("value=\"{}\"", form[0].1)),
            "the name is kept"
        );
    }

    // Scope names are unique across APIs: by hand and through a document.
    let stores = create_api(&admin, "Stores", "/stores", ITEMS_DOCUMENT).await;
    let response = admin
        .post(
            &format!("/admin/apis/{stores}/scopes"),
            &scope_form("pets:read", "mine", ""),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CONFLICT);
    let html = response.text().await.unwrap();
    assert!(
        error_on(&html, "name").unwrap().contains("Pets 1.0.0"),
        "{html}"
    );
    let fields = [
        ("name", "Copycat"),
        ("version", "1"),
        ("context", "/copy"),
        ("status", "CREATED"),
        ("tiers", "Gold"),
        ("openapi_document", PETS_DOCUMENT),
    ];
    let html = admin
        .post("/admin/apis", &fields)
        .await
        .text()
        .await
        .unwrap();
    assert!(
        error_on(&html, "openapi_document")
            .unwrap()
            .contains("pets:read (Pets 1.0.0)"),
        "{html}"
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM apis WHERE name = 'Copycat'"),
        0,
        "nothing half-made"
    );

    // Names with reserved URL characters are removed by their own path.
    admin
        .post_ok(
            &page,
            &scope_form("https://pets.example/read#all?x", "URL-like", ""),
        )
        .await;
    for name in ["https://pets.example/read#all?x", "pets:admin"] {
        let encoded: String = url::form_urlencoded::byte_serialize(name.as_bytes()).collect();
        admin
            .post_ok(&format!("{page}/{encoded}/delete"), &[])
            .await;
    }
    let missing = admin
        .post(&format!("{page}/pets%3Aadmin/delete"), &[])
        .await;
    assert_eq!(missing.status(), StatusCode::NOT_FOUND, "removing twice");
    let names = app.lines(&format!(
        "SELECT name AS line FROM api_scopes WHERE api_id = {pets} ORDER BY name"
    ));
    assert_eq!(names, ["pets:read", "pets:write"]);

    // A new document replaces the document's scopes and leaves the hand-made ones.
    admin
        .post_ok(&page, &scope_form("pets:audit", "Audit", ""))
        .await;
    let fewer = PETS_DOCUMENT.replace(r#", "pets:write": "Add and change pets""#, "");
    let edit = format!("/admin/apis/{pets}");
    let fields = [
        ("name", "Pets"),
        ("version", "1.0.0"),
        ("context", "/pets"),
        ("status", "PUBLISHED"),
        ("tiers", "Gold"),
        ("openapi_document", fewer.as_str()),
    ];
    admin.post_ok(&edit, &fields).await;
    let names = app.lines(&format!(
        "SELECT name AS line FROM api_scopes WHERE api_id = {pets} ORDER BY name"
    ));
    assert_eq!(names, ["pets:audit", "pets:read"]);
    let audit = app.lines("SELECT summary AS line FROM audit_events ORDER BY id");
    assert!(
        audit
            .iter()
            .any(|l| l == "Added the scope pets:admin of API Pets 1.0.0 (roles partner)"),
        "{audit:?}"
    );
    assert!(
        audit
            .iter()
            .any(|l| l == "Removed the scope pets:admin of API Pets 1.0.0"),
        "{audit:?}"
    );
}

#[actix_web::test]
async fn the_api_page_shows_the_resource_the_scopes_and_what_each_operation_needs() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let pets = create_api(&admin, "Pets", "/pets", PETS_DOCUMENT).await;
    let (_, html) = http_page(&app, &format!("/apis/{pets}")).await;
    assert_eq!(
        texts(&html, "[data-field=resource]"),
        [format!("{}/pets", app.address)]
    );
    let row = texts(&html, "tr[data-scope=\"pets:write\"]").join(" ");
    assert!(
        row.contains("Add and change pets") && row.contains("Anyone"),
        "{row}"
    );
    let needs = |op: &str| {
        texts(
            &html,
            &format!("tr[data-operation=\"{op}\"] [data-field=operation-scopes]"),
        )
    };
    assert_eq!(needs("GET /pets"), ["pets:read"]);
    assert_eq!(needs("POST /pets"), ["pets:write"]);

    // An administrator may set the resource identifier: an absolute URI, unique.
    let edit = format!("/admin/apis/{pets}");
    let with = |resource: &'static str| {
        vec![
            ("name", "Pets"),
            ("version", "1.0.0"),
            ("context", "/pets"),
            ("status", "PUBLISHED"),
            ("tiers", "Gold"),
            ("resource_identifier", resource),
        ]
    };
    admin.post_ok(&edit, &with("urn:example:pets")).await;
    let (_, html) = http_page(&app, &format!("/apis/{pets}")).await;
    assert_eq!(texts(&html, "[data-field=resource]"), ["urn:example:pets"]);
    for bad in [
        "pets",
        "https://api.example/pets#v1",
        "https://api example/",
    ] {
        let html = unprocessable(admin.post(&edit, &with(bad)).await, bad).await;
        assert!(
            error_on(&html, "resource_identifier")
                .unwrap()
                .starts_with("The resource identifier"),
            "{bad}"
        );
        assert!(html.contains(&format!("value=\"{bad}\"")), "kept: {bad}");
    }
    let stores = create_api(&admin, "Stores", "/stores", ITEMS_DOCUMENT).await;
    let fields = [
        ("name", "Stores"),
        ("version", "1.0.0"),
        ("context", "/stores"),
        ("status", "PUBLISHED"),
        ("tiers", "Gold"),
        ("resource_identifier", "urn:example:pets"),
    ];
    let response = admin.post(&format!("/admin/apis/{stores}"), &fields).await;
    assert_eq!(response.status(), StatusCode::CONFLICT);
    assert!(
        error_on(&response.text().await.unwrap(), "resource_identifier")
            .unwrap()
            .contains("Pets 1.0.0")
    );
}

async fn http_page(app: &TestApp, path: &str) -> (StatusCode, String) {
    let response = http().get(app.url(path)).send().await.unwrap();
    (response.status(), response.text().await.unwrap())
}

/// A client_credentials token request; the status and the body.
async fn token(app: &TestApp, client: &TestClient, extra: &[(&str, &str)]) -> (StatusCode, Value) {
    let mut form = vec![("grant_type", "client_credentials")];
    form.extend_from_slice(extra);
    let (status, body, _) = post_token(app, Some(&basic(client)), &form).await;
    (status, body)
}

/// The claims of a JWT, unverified (the oauth suite verifies signatures).
fn claims(token: &Value) -> Value {
    use base64::Engine;
    let payload = token.as_str().unwrap().split('.').nth(1).unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

async fn introspect(app: &TestApp, gateway: &TestClient, token: &Value) -> Value {
    let (_, body, _) = post_token_to(app, "/oauth2/introspect", gateway, token).await;
    body
}

async fn post_token_to(
    app: &TestApp,
    path: &str,
    client: &TestClient,
    token: &Value,
) -> (StatusCode, Value, ()) {
    let response = http()
        .post(app.url(path))
        .header("authorization", basic(client))
        .form(&[("token", token.as_str().unwrap())])
        .send()
        .await
        .unwrap();
    (response.status(), response.json().await.unwrap(), ())
}

/// Unsubscribes the application from the API at `context`, through its subscriptions page.
async fn unsubscribe(tpp: &Browser, application: i64, context: &str) {
    let (_, html) = tpp
        .page(&format!("/applications/{application}/subscriptions"))
        .await;
    let document = scraper::Html::parse_document(&html);
    let selector = format!("tr[data-subscription=\"{context}\"] form");
    let form = scraper::Selector::parse(&selector).expect("a selector");
    let action = document
        .select(&form)
        .find_map(|f| f.value().attr("action"))
        .expect("an unsubscribe form");
    tpp.post_ok(action, &[]).await;
}

#[actix_web::test]
async fn an_application_token_carries_only_the_scopes_and_audiences_of_its_subscriptions() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let pets = create_api(&admin, "Pets", "/pets", PETS_DOCUMENT).await;
    let stores = create_api(&admin, "Stores", "/stores", ITEMS_DOCUMENT).await;
    let hidden = create_api(&admin, "Hidden", "/hidden", ITEMS_DOCUMENT).await;
    let drafts = app
        .publish_api("Drafts", "/drafts", "CREATED", &["Gold"])
        .await;
    for (api, scope) in [
        (stores, "stores:read"),
        (hidden, "hidden:read"),
        (drafts, "drafts:read"),
    ] {
        app.add_scope(api, scope, "", "").await;
    }
    app.require_approval("Silver").await;
    let tpp = app.tpp_of("owner", "Wallet Corp").await;
    let application = tpp.create_application("Wallet").await;
    tpp.subscribe(pets, application, "Gold").await;
    tpp.subscribe(stores, application, "Gold").await;
    tpp.subscribe(hidden, application, "Silver").await; // ON_HOLD: not granted
    let client = app.register_client(ClientSpec {
        application_id: Some(application),
        ..Default::default()
    });
    let gateway = app.register_client(ClientSpec {
        resource_server: true,
        ..Default::default()
    });
    let (pets_id, stores_id) = (
        format!("{}/pets", app.address),
        format!("{}/stores", app.address),
    );

    // No scope asked: the documented default, every scope of every subscribed API.
    let (status, body) = token(&app, &client, &[]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["scope"], "pets:read pets:write stores:read");
    let both = claims(&body["access_token"]);
    assert_eq!(both["aud"], json!([pets_id, stores_id]));
    // A known scope the application may not have is left out, and the answer says so.
    let (_, body) = token(
        &app,
        &client,
        &[("scope", "pets:read hidden:read drafts:read openid")],
    )
    .await;
    assert_eq!(body["scope"], "pets:read");
    // Unknown scopes are refused, whatever their length.
    let long = "anything_at_all ".repeat(60);
    for scope in ["payments:write anything_at_all", long.trim()] {
        let (status, body) = token(&app, &client, &[("scope", scope)]).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (StatusCode::BAD_REQUEST, Some("invalid_scope")),
            "{scope}"
        );
    }
    // A resource narrows the token to one subscribed API.
    let (_, body) = token(
        &app,
        &client,
        &[("scope", "pets:read stores:read"), ("resource", &pets_id)],
    )
    .await;
    assert_eq!(body["scope"], "pets:read");
    let narrowed = body["access_token"].clone();
    assert_eq!(claims(&narrowed)["aud"], pets_id.as_str());
    let hidden_id = format!("{}/hidden", app.address);
    for resource in [
        hidden_id.as_str(),
        "pets",
        "https://x.example/a#b",
        "urn:nothing",
    ] {
        let (status, body) = token(&app, &client, &[("resource", resource)]).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (StatusCode::BAD_REQUEST, Some("invalid_target")),
            "{resource}"
        );
    }

    // A gateway's introspection says what the token carries and the active subscriptions.
    let answer = introspect(&app, &gateway, &body_token(&app, &client).await).await;
    assert_eq!(answer["active"], true);
    let contexts: Vec<&str> = answer["subscriptions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["context"].as_str().unwrap())
        .collect();
    assert_eq!(contexts, ["/pets", "/stores"]);
    assert_eq!(answer["subscriptions"][0]["resource"], pets_id.as_str());

    // Unsubscribing takes effect at the next token and the next introspection.
    let wide = body_token(&app, &client).await;
    let stores_only =
        token(&app, &client, &[("resource", &stores_id)]).await.1["access_token"].clone();
    unsubscribe(&tpp, application, "/stores").await;
    let (_, body) = token(&app, &client, &[]).await;
    assert_eq!(body["scope"], "pets:read pets:write");
    assert_eq!(claims(&body["access_token"])["aud"], pets_id.as_str());
    let answer = introspect(&app, &gateway, &wide).await;
    assert_eq!(
        (
            answer["active"].clone(),
            answer["scope"].clone(),
            answer["aud"].clone()
        ),
        (json!(true), json!("pets:read pets:write"), json!(pets_id))
    );
    assert_eq!(
        introspect(&app, &gateway, &stores_only).await,
        json!({ "active": false })
    );
    let (status, body) = token(&app, &client, &[("resource", &stores_id)]).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_target"))
    );

    // A removed scope is unknown at once; tokens that carry it lose it.
    admin
        .post_ok(
            &format!("/admin/apis/{pets}/scopes/pets%3Awrite/delete"),
            &[],
        )
        .await;
    let (status, body) = token(&app, &client, &[("scope", "pets:write")]).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_scope"))
    );
    assert_eq!(
        introspect(&app, &gateway, &wide).await["scope"],
        "pets:read"
    );

    // Discovery lists the OpenID scopes and those of the catalog's APIs (not a draft's).
    let discovery: Value = http()
        .get(app.url("/.well-known/openid-configuration"))
        .fetch_json()
        .await;
    let supported: Vec<&str> = discovery["scopes_supported"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect();
    assert_eq!(
        supported,
        [
            "openid",
            "profile",
            "email",
            "offline_access",
            "hidden:read",
            "pets:read",
            "stores:read"
        ]
    );

    // A retired API takes its audience and scopes with it.
    admin.walk_api(pets, "RETIRED").await;
    let (_, body) = token(&app, &client, &[]).await;
    assert_eq!(body["scope"], "");
    assert_eq!(
        claims(&body["access_token"])["aud"],
        client.client_id.as_str()
    );
    assert_eq!(
        introspect(&app, &gateway, &narrowed).await,
        json!({ "active": false })
    );
    assert_eq!(
        introspect(&app, &gateway, &wide).await,
        json!({ "active": false })
    );
}

/// A fresh access token of the client, asking nothing.
async fn body_token(app: &TestApp, client: &TestClient) -> Value {
    token(app, client, &[]).await.1["access_token"].clone()
}

#[actix_web::test]
async fn a_user_token_gets_the_scopes_the_persons_roles_allow_and_loses_what_goes() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let pets = create_api(&admin, "Pets", "/pets", PETS_DOCUMENT).await;
    app.add_scope(pets, "pets:admin", "Run the shop", "partner")
        .await;
    let tpp = app.tpp_of("owner", "Wallet Corp").await;
    let application = tpp.create_application("Wallet").await;
    tpp.subscribe(pets, application, "Gold").await;
    let client = app.register_client(ClientSpec {
        application_id: Some(application),
        ..Default::default()
    });
    let person = app.tpp("person").await;
    let challenge = crate::oauth::challenge(VERIFIER);
    let pets_id = format!("{}/pets", app.address);
    let request = |scope: &'static str, resource: Option<String>| {
        let mut query = vec![
            ("response_type", "code".to_string()),
            ("client_id", client.client_id.clone()),
            ("redirect_uri", CALLBACK.to_string()),
            ("scope", scope.to_string()),
            ("state", "s".to_string()),
            ("code_challenge", challenge.clone()),
            ("code_challenge_method", "S256".to_string()),
            ("prompt", "consent".to_string()),
        ];
        if let Some(resource) = resource {
            query.push(("resource", resource));
        }
        format!(
            "/oauth2/authorize?{}",
            serde_urlencoded::to_string(query).unwrap()
        )
    };

    // The consent page lists what would be granted, each API scope by its description; the
    // role-bound scope is left out for a person without the role.
    let (status, html) = person
        .page(&request("openid pets:read pets:admin", None))
        .await;
    assert_eq!(status, StatusCode::OK);
    let listed = texts(&html, "[data-field=scopes] li").join(" | ");
    assert!(listed.contains("pets:read — Read the pets"), "{listed}");
    assert!(!listed.contains("pets:admin"), "{listed}");
    let everywhere = code_flow(&app, &person, &client, "openid pets:read pets:admin", None).await;
    assert_eq!(everywhere["scope"], "openid pets:read");
    let access = claims(&everywhere["access_token"]);
    assert_eq!(access["aud"], pets_id.as_str());
    // The person is known by one opaque subject, in the access token and in introspection.
    assert_ne!(access["sub"], app.user_id("person").to_string());
    let refresh_answer = introspect(&app, &client, &everywhere["refresh_token"]).await;
    assert_eq!(refresh_answer["sub"], access["sub"]);

    // Given the role, the person's next grant has the scope.
    let user = app.user_id("person");
    admin
        .post_ok(
            &format!("/admin/users/{user}/roles"),
            &[("roles", "partner")],
        )
        .await;
    let tokens = code_flow(&app, &person, &client, "openid pets:admin", Some(&pets_id)).await;
    assert_eq!(tokens["scope"], "openid pets:admin");
    assert_eq!(claims(&tokens["access_token"])["aud"], pets_id.as_str());

    // Unknown scopes and resources not subscribed are the request's errors, carried back.
    for (query, error) in [
        (request("openid nope:nothing", None), "invalid_scope"),
        (
            request("openid", Some("https://elsewhere.example/api".into())),
            "invalid_target",
        ),
    ] {
        let (status, html) = person.page(&query).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(html.contains(error), "{error}: {html}");
    }

    // Unsubscribed, the next refresh keeps only the OpenID scope, for the client alone; a grant
    // made for the Pets API alone refreshes no more.
    unsubscribe(&tpp, application, "/pets").await;
    let refresh = |tokens: &Value| {
        let token = tokens["refresh_token"].as_str().unwrap().to_string();
        let (app, client) = (&app, &client);
        async move {
            let form = [
                ("grant_type", "refresh_token"),
                ("refresh_token", token.as_str()),
            ];
            let (status, body, _) = post_token(app, Some(&basic(client)), &form).await;
            (status, body)
        }
    };
    let (status, refreshed) = refresh(&everywhere).await;
    assert_eq!(status, StatusCode::OK, "{refreshed}");
    assert_eq!(refreshed["scope"], "openid");
    assert_eq!(
        claims(&refreshed["access_token"])["aud"],
        client.client_id.as_str()
    );
    let (status, refreshed) = refresh(&tokens).await;
    assert_eq!(
        (status, refreshed["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_target"))
    );
}

/// Runs the code flow (approving the consent) and exchanges the code: the token response.
async fn code_flow(
    app: &TestApp,
    person: &Browser,
    client: &TestClient,
    scope: &str,
    resource: Option<&str>,
) -> Value {
    let challenge = crate::oauth::challenge(VERIFIER);
    let mut query = vec![
        ("response_type", "code"),
        ("client_id", client.client_id.as_str()),
        ("redirect_uri", CALLBACK),
        ("scope", scope),
        ("state", "s"),
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "S256"),
        ("prompt", "consent"),
    ];
    if let Some(resource) = resource {
        query.push(("resource", resource));
    }
    let pairs = authorize(person, &query).await;
    let code = pair(&pairs, "code").expect("a code").to_string();
    let (status, tokens) = exchange(app, client, &code, VERIFIER).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    tokens
}
