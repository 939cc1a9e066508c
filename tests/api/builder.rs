//! The scenario builder: `TestApp::new().with_tpp("alice").with_application("alice", "Wallet")
//! .with_subscription("Wallet", "Payments", "Gold").with_keys("Wallet", "production").build()`
//! starts a Portico and brings it to that state through its own pages — the admin's forms for
//! APIs and policies, the TPP's for sign-up, applications, subscriptions and keys — so every rule
//! of the product holds for the seeded data and a test reads like the scenario it checks. SQL is
//! left to the tests that simulate what no page can do (a crash, time passing, a damaged row).

use std::ops::Deref;

use reqwest::{Response, StatusCode};

use crate::helpers::*;

/// A form's fields, as `Browser::post` takes them.
type Form<'a> = &'a [(&'a str, &'a str)];

/// An OpenAPI document with one operation, `GET /items` ("List items").
pub const ITEMS_DOCUMENT: &str =
    r#"{"openapi": "3.0.0", "paths": {"/items": {"get": {"summary": "List items"}}}}"#;

/// What to seed, in order; `build` starts Portico and replays it through the pages.
#[derive(Default)]
pub struct TestAppBuilder {
    env: Vec<(String, String)>,
    steps: Vec<Step>,
}

enum Step {
    Approval(String),
    Api(ApiSeed),
    Tpp(String, String),
    Application(String, String),
    Subscription(String, String, String),
    Keys(String, String),
}

/// An API as an administrator publishes it: "The NAME API", one operation, these tiers.
struct ApiSeed {
    name: String,
    context: String,
    status: String,
    tiers: Vec<String>,
}

/// A consumer key and its secret, as the keys page showed them once.
pub struct Keys {
    pub consumer_key: String,
    pub consumer_secret: String,
}

/// A started Portico with what the builder seeded: the TPPs' signed-in browsers and the ids of
/// the APIs and applications, by name. It derefs to the `TestApp`.
pub struct Scenario {
    pub app: TestApp,
    admin: Browser,
    sessions: Vec<(String, Browser)>,
    applications: Vec<(String, String, i64)>,
    apis: Vec<(String, i64)>,
    keys: Vec<(String, String, Keys)>,
}

impl TestApp {
    /// A builder for a Portico in a given state (see the module's documentation): named `new`
    /// as the issue's scenario reads, though it returns the builder.
    #[allow(clippy::new_ret_no_self)]
    pub fn new() -> TestAppBuilder {
        TestAppBuilder::default()
    }
}

impl TestAppBuilder {
    /// One more setting for this Portico (`PORTICO_SIGNUP_APPROVAL`, ...).
    pub fn env(mut self, name: &str, value: &str) -> Self {
        self.env.push((name.to_string(), value.to_string()));
        self
    }

    /// Subscriptions under this subscription tier wait for an administrator's approval.
    pub fn with_approval_required(mut self, tier: &str) -> Self {
        self.steps.push(Step::Approval(tier.to_string()));
        self
    }

    /// A published API offering these tiers.
    pub fn with_api(self, name: &str, context: &str, tiers: &[&str]) -> Self {
        self.with_api_in(name, context, "PUBLISHED", tiers)
    }

    /// An API in any status of its lifecycle (CREATED, PUBLISHED, DEPRECATED, RETIRED).
    pub fn with_api_in(mut self, name: &str, context: &str, status: &str, tiers: &[&str]) -> Self {
        self.steps.push(Step::Api(ApiSeed {
            name: name.to_string(),
            context: context.to_string(),
            status: status.to_string(),
            tiers: tiers.iter().map(|t| t.to_string()).collect(),
        }));
        self
    }

    /// A signed-up, signed-in TPP.
    pub fn with_tpp(self, username: &str) -> Self {
        self.with_tpp_of(username, "")
    }

    /// A TPP of a named organization.
    pub fn with_tpp_of(mut self, username: &str, organization: &str) -> Self {
        self.steps
            .push(Step::Tpp(username.to_string(), organization.to_string()));
        self
    }

    /// An application the TPP creates (on 10PerMin).
    pub fn with_application(mut self, owner: &str, name: &str) -> Self {
        self.steps
            .push(Step::Application(owner.to_string(), name.to_string()));
        self
    }

    /// The application's owner subscribes it to the API under a tier.
    pub fn with_subscription(mut self, application: &str, api: &str, tier: &str) -> Self {
        self.steps.push(Step::Subscription(
            application.to_string(),
            api.to_string(),
            tier.to_string(),
        ));
        self
    }

    /// A new TPP whose application is subscribed to the API under a tier: the scenario most
    /// tests of applications start from.
    pub fn with_subscriber(self, owner: &str, application: &str, api: &str, tier: &str) -> Self {
        self.with_tpp(owner)
            .with_application(owner, application)
            .with_subscription(application, api, tier)
    }

    /// The owner generates client-credentials keys of the resident key manager.
    pub fn with_keys(mut self, application: &str, key_type: &str) -> Self {
        self.steps
            .push(Step::Keys(application.to_string(), key_type.to_string()));
        self
    }

    /// Starts Portico and seeds it, step by step, through its pages.
    pub async fn build(self) -> Scenario {
        let env: Vec<(&str, &str)> = self
            .env
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let app = spawn_app_with(&env).await;
        let admin = app.admin().await;
        let mut scenario = Scenario {
            app,
            admin,
            sessions: Vec::new(),
            applications: Vec::new(),
            apis: Vec::new(),
            keys: Vec::new(),
        };
        for step in self.steps {
            scenario.seed(step).await;
        }
        scenario
    }
}

impl Scenario {
    async fn seed(&mut self, step: Step) {
        match step {
            Step::Approval(tier) => require_approval(&self.admin, &tier).await,
            Step::Api(api) => {
                let id = publish_api(&self.admin, &api).await;
                self.apis.push((api.name, id));
            }
            Step::Tpp(username, organization) => {
                let browser = self.app.tpp_of(&username, &organization).await;
                self.sessions.push((username, browser));
            }
            Step::Application(owner, name) => {
                let id = self.session(&owner).create_application(&name).await;
                self.applications.push((owner, name, id));
            }
            Step::Subscription(application, api, tier) => {
                let (owner, id) = self.owned(&application);
                owner.subscribe(self.api(&api), id, &tier).await;
            }
            Step::Keys(application, key_type) => {
                let (owner, id) = self.owned(&application);
                let keys = owner
                    .generate_keys(id, &key_type, &client_credentials())
                    .await;
                self.keys.push((application, key_type, keys));
            }
        }
    }

    /// The signed-in browser of a seeded TPP.
    pub fn session(&self, username: &str) -> &Browser {
        find(&self.sessions, username)
    }

    /// The administrator's browser that did the seeding.
    pub fn admin_session(&self) -> &Browser {
        &self.admin
    }

    /// The id of a seeded application.
    pub fn application(&self, name: &str) -> i64 {
        self.applications
            .iter()
            .find(|(_, n, _)| n == name)
            .map(|(_, _, id)| *id)
            .unwrap_or_else(|| panic!("no application {name} was seeded"))
    }

    /// The id of a seeded API.
    pub fn api(&self, name: &str) -> i64 {
        *find(&self.apis, name)
    }

    /// The keys generated for an application.
    pub fn keys(&self, application: &str, key_type: &str) -> &Keys {
        self.keys
            .iter()
            .find(|(a, k, _)| a == application && k == key_type)
            .map(|(_, _, keys)| keys)
            .unwrap_or_else(|| panic!("no {key_type} keys were seeded for {application}"))
    }

    fn owned(&self, application: &str) -> (&Browser, i64) {
        let (owner, _, id) = self
            .applications
            .iter()
            .find(|(_, n, _)| n == application)
            .unwrap_or_else(|| panic!("no application {application} was seeded"));
        (self.session(owner), *id)
    }
}

impl Deref for Scenario {
    type Target = TestApp;

    fn deref(&self) -> &TestApp {
        &self.app
    }
}

fn find<'a, T>(seeded: &'a [(String, T)], name: &str) -> &'a T {
    seeded
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, value)| value)
        .unwrap_or_else(|| panic!("nothing named {name} was seeded"))
}

/// The fields of a resident client-credentials key.
pub fn client_credentials() -> Vec<(&'static str, &'static str)> {
    vec![
        ("key_manager", "resident"),
        ("grant_types", "client_credentials"),
    ]
}

impl TestApp {
    /// Publishes an API through the admin's form (see `TestAppBuilder::with_api_in`); its id.
    pub async fn publish_api(
        &self,
        name: &str,
        context: &str,
        status: &str,
        tiers: &[&str],
    ) -> i64 {
        let api = ApiSeed {
            name: name.to_string(),
            context: context.to_string(),
            status: status.to_string(),
            tiers: tiers.iter().map(|t| t.to_string()).collect(),
        };
        publish_api(self.seeder().await, &api).await
    }

    /// Declares a scope of an API through its scopes form (`roles` comma-separated, or empty).
    pub async fn add_scope(&self, api: i64, name: &str, description: &str, roles: &str) {
        let fields = [
            ("name", name),
            ("description", description),
            ("roles", roles),
        ];
        self.seeder()
            .await
            .post_ok(&format!("/admin/apis/{api}/scopes"), &fields)
            .await;
    }

    /// Makes a subscription tier wait for approval, through the policy's edit form.
    pub async fn require_approval(&self, tier: &str) {
        require_approval(self.seeder().await, tier).await;
    }

    /// The administrator's session the seeding helpers share (signed in at the first use).
    pub async fn seeder(&self) -> &Browser {
        if self.seeder.get().is_none() {
            let _ = self.seeder.set(self.admin().await);
        }
        self.seeder.get().expect("signed in")
    }
}

async fn publish_api(admin: &Browser, api: &ApiSeed) -> i64 {
    // A new API starts CREATED or PUBLISHED; the others are reached through the lifecycle.
    let initial = if api.status == "CREATED" || api.status == "RETIRED" {
        "CREATED"
    } else {
        "PUBLISHED"
    };
    let description = format!("The {} API", api.name);
    let mut fields = vec![
        ("name", api.name.as_str()),
        ("version", "1.0.0"),
        ("context", api.context.as_str()),
        ("description", description.as_str()),
        ("openapi_document", ITEMS_DOCUMENT),
        ("status", initial),
    ];
    fields.extend(api.tiers.iter().map(|t| ("tiers", t.as_str())));
    let response = admin.post("/admin/apis", &fields).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER, "API {}", api.name);
    let page = location(&response);
    let id = page
        .trim_start_matches("/admin/apis/")
        .parse()
        .expect("the API's id");
    admin.walk_api(id, &api.status).await;
    id
}

async fn require_approval(admin: &Browser, tier: &str) {
    let (_, list) = admin.page("/admin/throttling-policies").await;
    let page = policy_page(&list, tier);
    let response = admin
        .resubmit(&page, &page, &[("requires_approval", "true")])
        .await;
    assert_eq!(
        response.status(),
        StatusCode::SEE_OTHER,
        "approval on {tier}"
    );
}

/// The edit page of the subscription policy named `tier`, from the policies list.
fn policy_page(list: &str, tier: &str) -> String {
    let document = scraper::Html::parse_document(list);
    let link = scraper::Selector::parse(&format!(
        "tr[data-policy=\"subscription/{tier}\"] a[data-field=name]"
    ))
    .expect("a selector");
    document
        .select(&link)
        .next()
        .and_then(|a| a.value().attr("href").map(str::to_string))
        .unwrap_or_else(|| panic!("no subscription policy {tier} is listed"))
}

impl Browser {
    /// Subscribes an application to an API under a tier, through the API's page.
    pub async fn subscribe(&self, api: i64, application: i64, tier: &str) {
        let response = self
            .try_subscribe(api, &application.to_string(), tier)
            .await;
        assert_eq!(
            response.status(),
            StatusCode::SEE_OTHER,
            "subscribe to {api}"
        );
    }

    /// POSTs the subscribe form of an API's page, whatever the answer.
    pub async fn try_subscribe(&self, api: i64, application: &str, tier: &str) -> Response {
        self.post(
            &format!("/apis/{api}/subscribe"),
            &[("application_id", application), ("throttling_policy", tier)],
        )
        .await
    }

    /// Changes an API through its admin edit form (the other fields as they stand).
    pub async fn edit_api(&self, id: i64, changes: Form<'_>) {
        let page = format!("/admin/apis/{id}");
        let response = self.resubmit(&page, &page, changes).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "edit API {id}");
    }

    /// Takes a CREATED or PUBLISHED API along its lifecycle to `status`, one allowed step at a
    /// time (PUBLISHED → DEPRECATED; CREATED → PUBLISHED → DEPRECATED; any → RETIRED).
    pub async fn walk_api(&self, id: i64, status: &str) {
        let page = format!("/admin/apis/{id}");
        let (_, html) = self.page(&page).await;
        let current = selected_value(&html, "status").unwrap_or_default();
        let steps: &[&str] = match (current.as_str(), status) {
            (now, wanted) if now == wanted => &[],
            ("CREATED", "DEPRECATED") => &["PUBLISHED", "DEPRECATED"],
            _ => &[status],
        };
        for step in steps {
            self.edit_api(id, &[("status", step)]).await;
        }
    }

    /// POSTs the generate form of an application's keys page, whatever the answer.
    pub async fn try_generate(
        &self,
        application: i64,
        key_type: &str,
        fields: Form<'_>,
    ) -> Response {
        self.keys_action(application, key_type, "generate", fields)
            .await
    }

    /// POSTs one of the forms of an application's keys page (`generate`, `map`, `update`,
    /// `regenerate-secret`, `token`, `remove`), whatever the answer.
    pub async fn keys_action(
        &self,
        application: i64,
        key_type: &str,
        action: &str,
        fields: Form<'_>,
    ) -> Response {
        let path = format!("{}/{action}", keys_path(application, key_type));
        self.post(&path, fields).await
    }

    /// Provides existing OAuth keys (out-of-band) on the keys page, whatever the answer.
    pub async fn provide_keys(
        &self,
        application: i64,
        key_type: &str,
        key_manager: &str,
        key: &str,
        secret: &str,
    ) -> Response {
        let fields = [
            ("key_manager", key_manager),
            ("consumer_key", key),
            ("consumer_secret", secret),
        ];
        self.keys_action(application, key_type, "map", &fields)
            .await
    }

    /// Asks the production keys page of the resident key manager for an access token.
    pub async fn portal_token(
        &self,
        application: i64,
        secret: &str,
        scopes: Option<&str>,
        validity: &str,
    ) -> Response {
        let mut fields = vec![
            ("key_manager", "resident"),
            ("consumer_secret", secret),
            ("validity_period", validity),
        ];
        fields.extend(scopes.map(|scopes| ("scopes", scopes)));
        self.keys_action(application, "production", "token", &fields)
            .await
    }

    /// Generates keys through the keys page; the key and the secret it shows once.
    pub async fn generate_keys(&self, application: i64, key_type: &str, fields: Form<'_>) -> Keys {
        let response = self.try_generate(application, key_type, fields).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "generate keys");
        let (_, page) = self.page(&location(&response)).await;
        Keys {
            consumer_key: data_field(&page, "consumer_key").expect("the consumer key is shown"),
            consumer_secret: data_field(&page, "consumer_secret")
                .expect("the consumer secret is shown once"),
        }
    }

    /// Sends the form posting to `action` on the page at `page` as it stands, but for the
    /// fields in `changes` (each replaces every value of its name).
    pub async fn resubmit(&self, page: &str, action: &str, changes: Form<'_>) -> Response {
        self.resubmit_without(page, action, changes, &[]).await
    }

    /// `resubmit`, which must succeed with 303; the answer.
    pub async fn resubmit_ok(&self, page: &str, action: &str, changes: Form<'_>) -> Response {
        let response = self.resubmit(page, action, changes).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "POST {action}");
        response
    }

    /// `resubmit`, leaving out the fields named in `cleared` (an unticked box).
    pub async fn resubmit_without(
        &self,
        page: &str,
        action: &str,
        changes: Form<'_>,
        cleared: &[&str],
    ) -> Response {
        let (status, html) = self.page(page).await;
        assert_eq!(status, StatusCode::OK, "GET {page}");
        let mut fields = form_fields(&html, action);
        fields.retain(|(name, _)| {
            name != "csrf_token"
                && !cleared.contains(&name.as_str())
                && !changes.iter().any(|(changed, _)| changed == name)
        });
        let mut all: Vec<(&str, &str)> = fields
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        all.extend_from_slice(changes);
        self.post(action, &all).await
    }
}

/// What the form posting to `action` would send as the page stands: its inputs (ticked boxes
/// only), textareas and selected options (the first one when none is marked).
pub fn form_fields(html: &str, action: &str) -> Vec<(String, String)> {
    let document = scraper::Html::parse_document(html);
    let form = scraper::Selector::parse(&format!("form[action=\"{action}\"]")).expect("a selector");
    let controls =
        scraper::Selector::parse("input[name], textarea[name], select[name]").expect("a selector");
    let option = scraper::Selector::parse("option").expect("a selector");
    let form = document
        .select(&form)
        .next()
        .unwrap_or_else(|| panic!("no form posts to {action}"));
    let mut fields = Vec::new();
    for control in form.select(&controls) {
        let element = control.value();
        let name = element.attr("name").unwrap_or_default().to_string();
        let value = match element.name() {
            "textarea" => Some(control.text().collect::<String>()),
            "select" => {
                let options: Vec<_> = control.select(&option).collect();
                options
                    .iter()
                    .find(|o| o.value().attr("selected").is_some())
                    .or(options.first())
                    .and_then(|o| o.value().attr("value").map(str::to_string))
            }
            _ => match element.attr("type") {
                Some("checkbox" | "radio") if element.attr("checked").is_none() => None,
                Some("submit" | "button" | "file") => None,
                _ => Some(element.attr("value").unwrap_or_default().to_string()),
            },
        };
        if let Some(value) = value {
            fields.push((name, value));
        }
    }
    fields
}
