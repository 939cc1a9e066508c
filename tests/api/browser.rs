//! End-to-end journeys in real headless Chromium (Debian `chromium` + `chromium-driver`, which
//! `.ci/run` installs), driven through ChromeDriver with fantoccini. Every step asserts what the
//! page shows; every page is checked for JavaScript console errors; screenshots of the main
//! pages at 1280×800 and 390×844 go to `target/screenshots/`.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};

use crate::helpers::{FetchJson, *};

pub struct Chrome {
    driver: Child,
    driver_url: String,
    pub client: Client,
    base: String,
}

impl Chrome {
    pub async fn start(app: &TestApp) -> Chrome {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let driver = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts (.ci/run installs Debian's chromium-driver)");
        let driver_url = format!("http://127.0.0.1:{port}");
        let http = reqwest::Client::new();
        for _ in 0..100 {
            if http
                .get(format!("{driver_url}/status"))
                .send()
                .await
                .is_ok()
            {
                break;
            }
            actix_web::rt::time::sleep(Duration::from_millis(100)).await;
        }
        // A profile of its own per session; no background traffic (loopback only).
        let profile = tempfile::tempdir().unwrap().keep();
        let mut capabilities = serde_json::Map::new();
        capabilities.insert(
            "goog:chromeOptions".into(),
            json!({
                "binary": "/usr/bin/chromium",
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--disable-quic", "--no-first-run", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync", "--disable-extensions",
                    "--disable-default-apps", "--window-size=1280,800",
                    format!("--user-data-dir={}", profile.display()),
                ],
            }),
        );
        capabilities.insert("goog:loggingPrefs".into(), json!({ "browser": "ALL" }));
        let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(capabilities)
            .connect(&driver_url)
            .await
            .expect("a Chromium session");
        Chrome {
            driver,
            driver_url,
            client,
            base: app.address.clone(),
        }
    }

    pub async fn goto(&self, path: &str) {
        self.client
            .goto(&format!("{}{}", self.base, path))
            .await
            .unwrap();
        self.assert_no_console_errors(path).await;
    }

    /// The first element a CSS selector matches, which must be there.
    async fn element(&self, css: &str) -> fantoccini::elements::Element {
        self.client
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|_| panic!("no {css}"))
    }

    pub async fn fill(&self, css: &str, value: &str) {
        let element = self.element(css).await;
        element.clear().await.unwrap();
        element.send_keys(value).await.unwrap();
    }

    /// Clicks a button whose form asks first, answers the question (OK when `accept`, else
    /// Cancel) and returns it.
    pub async fn confirm(&self, css: &str, accept: bool) -> String {
        self.click(css).await;
        let question = self.client.get_alert_text().await.unwrap();
        if accept {
            self.client.accept_alert().await.unwrap();
        } else {
            self.client.dismiss_alert().await.unwrap();
        }
        question
    }

    pub async fn click(&self, css: &str) {
        self.element(css).await.click().await.unwrap();
    }

    /// Clicks a submit button and waits for the next page.
    pub async fn submit(&self, css: &str) {
        let before = self.client.current_url().await.unwrap();
        self.click(css).await;
        let _ = self
            .client
            .wait()
            .at_most(Duration::from_secs(10))
            .for_url(&before)
            .await;
        actix_web::rt::time::sleep(Duration::from_millis(150)).await;
        let path = self.client.current_url().await.unwrap().path().to_string();
        self.assert_no_console_errors(&path).await;
    }

    /// Signs in through the sign-in page (which stays the current page on a refusal).
    pub async fn sign_in(&self, username: &str, password: &str) {
        self.goto("/login").await;
        self.sign_in_here(username, password).await;
    }

    /// Fills and sends the sign-in form of the current page.
    pub async fn sign_in_here(&self, username: &str, password: &str) {
        self.fill("#username", username).await;
        self.fill("#password", password).await;
        self.submit("form[action='/login'] button[type=submit]")
            .await;
    }

    pub async fn text(&self, css: &str) -> String {
        self.element(css).await.text().await.unwrap()
    }

    /// Whether the page's visible text contains `text`.
    pub async fn shows(&self, text: &str) -> bool {
        self.page_text().await.contains(text)
    }

    pub async fn page_text(&self) -> String {
        self.text("body").await
    }

    /// Runs `script` in the page; what it returns.
    pub async fn run(&self, script: &str) -> Value {
        self.client.execute(script, vec![]).await.unwrap()
    }

    pub async fn path(&self) -> String {
        self.client.current_url().await.unwrap().path().to_string()
    }

    /// Fails on any error the page logged to the JavaScript console.
    pub async fn assert_no_console_errors(&self, context: &str) {
        let session = self.client.session_id().await.unwrap().unwrap();
        let logs: Value = reqwest::Client::new()
            .post(format!("{}/session/{session}/se/log", self.driver_url))
            .json(&json!({ "type": "browser" }))
            .fetch_json()
            .await;
        let entries = logs["value"]
            .as_array()
            .unwrap_or_else(|| panic!("ChromeDriver gave no browser log: {logs}"));
        // The page's own status (a 422 form re-rendered with its errors) is what the test
        // asserts; a failing script, style sheet or image is an error.
        let document = format!("{} - ", self.client.current_url().await.unwrap());
        let errors: Vec<&Value> = entries
            .iter()
            .filter(|e| e["level"] == "SEVERE")
            .filter(|e| {
                !(e["source"] == "network"
                    && e["message"]
                        .as_str()
                        .is_some_and(|m| m.starts_with(&document)))
            })
            .collect();
        assert!(errors.is_empty(), "{context}: console errors {errors:?}");
    }

    /// Screenshots of the current page at desktop and phone sizes.
    pub async fn screenshots(&self, name: &str) {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/screenshots");
        std::fs::create_dir_all(&dir).unwrap();
        for (label, width, height) in [("desktop", 1280, 800), ("phone", 390, 844)] {
            self.client.set_window_size(width, height).await.unwrap();
            let png = self.client.screenshot().await.unwrap();
            std::fs::write(dir.join(format!("{name}-{label}.png")), png).unwrap();
        }
        self.client.set_window_size(1280, 800).await.unwrap();
    }

    pub async fn close(mut self) {
        let _ = self.client.clone().close().await;
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

#[actix_web::test]
async fn the_console_check_sees_script_errors() {
    let app = spawn_app().await;
    let chrome = Chrome::start(&app).await;
    chrome.goto("/").await;
    chrome.run("console.error('a deliberate error')").await;
    let caught = futures_util::FutureExt::catch_unwind(std::panic::AssertUnwindSafe(
        chrome.assert_no_console_errors("/"),
    ))
    .await;
    assert!(caught.is_err(), "a console error fails the test");
    chrome.close().await;
}

#[actix_web::test]
async fn a_tpp_signs_up_creates_an_application_and_subscribes_in_the_browser() {
    let app = spawn_app().await;
    app.publish_api("Payments", "/payments", "PUBLISHED", &["Bronze", "Gold"])
        .await;
    let chrome = Chrome::start(&app).await;

    chrome.goto("/").await;
    assert!(chrome.shows("Build on our APIs").await);
    chrome.screenshots("home").await;
    chrome.click("a.btn-primary[href='/signup']").await;
    assert_eq!(chrome.path().await, "/signup");
    chrome.screenshots("signup").await;
    for (field, value) in [
        ("#username", "browser-tpp"),
        ("#email", "tpp@example.com"),
        ("#first_name", "Grace"),
        ("#last_name", "Hopper"),
        ("#organization", "Compilers Inc"),
        ("#password", PASSWORD),
        ("#password_confirm", PASSWORD),
    ] {
        chrome.fill(field, value).await;
    }
    chrome.click("#accept_terms").await;
    chrome
        .submit("form[action='/signup'] button[type=submit]")
        .await;
    // Signed in straight away, on to the applications.
    assert_eq!(chrome.path().await, "/applications");
    let text = chrome.page_text().await;
    assert!(text.contains("Your account is ready"), "{text}");
    assert!(text.contains("Your organisation has no applications yet"));
    chrome.screenshots("applications-empty").await;

    chrome.click(".empty-state a.btn-primary").await;
    assert_eq!(chrome.path().await, "/applications/new");
    chrome.fill("#name", "Browser App").await;
    chrome.fill("#description", "Made in Chromium").await;
    chrome.screenshots("application-new").await;
    chrome
        .submit("form[action='/applications'] button[type=submit]")
        .await;
    assert!(chrome.path().await.starts_with("/applications/"));
    assert_eq!(
        chrome.text("[data-field=application_name]").await,
        "Browser App"
    );
    assert!(chrome.shows("Application “Browser App” created").await);
    chrome.screenshots("application-overview").await;

    chrome.goto("/apis").await;
    assert!(chrome.shows("Payments").await);
    chrome.screenshots("catalog").await;
    chrome.click("a[href^='/apis/']").await;
    assert!(chrome.shows("List items").await);
    chrome
        .client
        .find(Locator::Css("#throttling_policy"))
        .await
        .unwrap()
        .select_by_value("Gold")
        .await
        .unwrap();
    chrome.screenshots("api").await;
    chrome
        .submit("form[action$='/subscribe'] button[type=submit]")
        .await;
    assert!(chrome.path().await.ends_with("/subscriptions"));
    let text = chrome.page_text().await;
    assert!(
        text.contains("“Browser App” is subscribed to Payments 1.0.0 under Gold.")
            && text.contains("Payments 1.0.0")
            && text.contains("Active")
    );
    chrome.screenshots("application-subscriptions").await;

    // Production keys with the resident key manager.
    chrome.click("nav.tabs a[href$='/keys/production']").await;
    assert!(chrome.path().await.ends_with("/keys/production"));
    assert!(chrome.shows("No production keys").await);
    chrome.screenshots("keys-empty").await;
    if chrome
        .client
        .find(Locator::Css("#grant_types-client_credentials:checked"))
        .await
        .is_err()
    {
        chrome.click("#grant_types-client_credentials").await;
    }
    chrome
        .submit("form[action$='/generate'] button[type=submit]")
        .await;
    let consumer_key = chrome.text("[data-field=consumer_key]").await;
    assert!(consumer_key.len() >= 22, "{consumer_key}");
    // The secret is shown this once; the show/hide and copy buttons come with the script.
    let consumer_secret = chrome.text("[data-field=consumer_secret]").await;
    assert!(consumer_secret.len() >= 43, "{consumer_secret}");
    assert_eq!(chrome.text("button.toggle-secret").await, "Hide");
    chrome.click("button.toggle-secret").await;
    assert_eq!(
        chrome.text("[data-field=consumer_secret]").await,
        "",
        "hidden"
    );
    assert!(chrome.text("#consumer-secret-mask").await.starts_with('•'));
    chrome.click("button.toggle-secret").await;
    assert_eq!(
        chrome.text("[data-field=consumer_secret]").await,
        consumer_secret,
        "shown again"
    );
    let copy = chrome
        .client
        .find(Locator::Css("button[data-copy-target='#consumer-key']"))
        .await
        .unwrap();
    assert!(
        copy.is_displayed().await.unwrap(),
        "the copy button is shown when JavaScript runs"
    );
    copy.click().await.unwrap();
    chrome.screenshots("keys-generated").await;
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) FROM oauth_clients WHERE client_id = '{consumer_key}'"
        )),
        1
    );

    // A token from the portal, with the secret just shown.
    chrome.click("nav.tabs a[href$='/keys/production']").await;
    assert!(
        !chrome.shows(&consumer_secret).await,
        "the secret is not shown again"
    );
    chrome.fill("#consumer_secret", &consumer_secret).await;
    chrome
        .submit("form[action$='/token'] button[type=submit]")
        .await;
    let token = chrome.text("[data-field=access_token]").await;
    assert_eq!(token.split('.').count(), 3, "a JWT: {token}");
    chrome.screenshots("keys-token").await;
    chrome.close().await;
}

#[actix_web::test]
async fn an_admin_approves_a_pending_subscription_in_the_browser() {
    let app = TestApp::new()
        .with_approval_required("Gold")
        .with_api("Premium", "/premium", &["Gold"])
        .with_subscriber("waiting-tpp", "Trader", "Premium", "Gold")
        .build()
        .await;

    let chrome = Chrome::start(&app).await;
    chrome.goto("/admin").await;
    assert_eq!(chrome.path().await, "/login");
    chrome.sign_in_here(ADMIN, ADMIN_PASSWORD).await;
    assert_eq!(chrome.path().await, "/admin");
    chrome.screenshots("admin").await;
    chrome.goto("/admin/subscriptions").await;
    assert!(chrome.shows("Trader").await);
    chrome.screenshots("admin-subscriptions").await;
    chrome
        .submit("form[action$='/approve'] button[type=submit]")
        .await;
    assert!(chrome.shows("Subscription approved.").await);
    assert_eq!(
        app.text("SELECT status AS line FROM subscriptions"),
        "ACTIVE"
    );
    for page in [
        "/admin/users",
        "/admin/apis",
        "/admin/throttling-policies",
        "/admin/audit",
        "/admin/gateways",
    ] {
        chrome.goto(page).await;
        chrome.screenshots(&page[1..].replace('/', "-")).await;
    }
    chrome.close().await;
}

#[actix_web::test]
async fn a_person_goes_through_the_consent_page_in_the_browser() {
    let app = spawn_app().await;
    let owner = app.tpp_of("app-owner", "Analytical Engines Ltd").await;
    let application = owner.create_application("Budget Planner").await;
    // The client's callback is on loopback too: the browser never leaves this machine.
    let callback = app.url("/client-callback");
    let callbacks = [callback.as_str()];
    let client = app.register_client(ClientSpec {
        application_id: Some(application),
        pkce_mandatory: false,
        redirect_uris: &callbacks,
        ..Default::default()
    });
    app.browser().sign_up("end-user").await;

    let chrome = Chrome::start(&app).await;
    let query = serde_urlencoded::to_string([
        ("response_type", "code"),
        ("client_id", client.client_id.as_str()),
        ("redirect_uri", callback.as_str()),
        ("scope", "openid profile"),
        ("state", "browser-state"),
    ])
    .unwrap();
    chrome.goto(&format!("/oauth2/authorize?{query}")).await;
    assert_eq!(chrome.path().await, "/login");
    chrome.sign_in_here("end-user", PASSWORD).await;
    assert_eq!(chrome.path().await, "/oauth2/authorize");
    assert_eq!(
        chrome.text("[data-field=application_name]").await,
        "Budget Planner"
    );
    assert_eq!(
        chrome.text("[data-field=owner]").await,
        "Analytical Engines Ltd"
    );
    assert!(chrome.text("[data-field=scopes]").await.contains("profile"));
    chrome.screenshots("consent").await;
    // Approving sends the browser to the client's callback with the code and the state.
    chrome.click("button[value=approve]").await;
    for _ in 0..50 {
        if chrome.path().await == "/client-callback" {
            break;
        }
        actix_web::rt::time::sleep(Duration::from_millis(100)).await;
    }
    let landed = chrome.client.current_url().await.unwrap();
    assert_eq!(landed.path(), "/client-callback");
    let pairs: Vec<(String, String)> = landed
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    assert!(
        pairs
            .iter()
            .any(|(k, v)| k == "state" && v == "browser-state")
    );
    assert!(pairs.iter().any(|(k, _)| k == "code"));
    chrome.close().await;
}

#[actix_web::test]
async fn an_admin_imports_a_key_manager_from_its_well_known_url_and_disables_the_resident_one() {
    // Journey (c) of the browser tests; the approval of a pending subscription is the journey
    // above.
    let server = crate::external_server::ExternalServer::start(&[]);
    let app = spawn_app_with(&[("PORTICO_ALLOW_PRIVATE_KM_URLS", "true")]).await;
    let tpp = app.tpp("watching-tpp").await;
    let application = tpp.create_application("Watcher").await;

    let chrome = Chrome::start(&app).await;
    chrome.sign_in(ADMIN, ADMIN_PASSWORD).await;
    chrome.goto("/admin/key-managers").await;
    chrome.screenshots("admin-key-managers").await;
    chrome
        .click("a[href='/admin/key-managers/new?type=dcr']")
        .await;
    assert!(chrome.shows("New DCR key manager").await);
    chrome
        .fill(
            "#well_known_url",
            &server.url("/.well-known/openid-configuration"),
        )
        .await;
    chrome
        .submit("button[formaction='/admin/key-managers/discover']")
        .await;
    let value = |css: &'static str| {
        let client = chrome.client.clone();
        async move {
            client
                .find(Locator::Css(css))
                .await
                .unwrap_or_else(|_| panic!("no {css}"))
                .prop("value")
                .await
                .unwrap()
                .unwrap_or_default()
        }
    };
    assert_eq!(value("#issuer").await, server.issuer);
    assert_eq!(value("#token_endpoint").await, server.url("/token"));
    assert!(
        value("#client_registration_endpoint")
            .await
            .starts_with(&server.issuer)
    );
    chrome.screenshots("admin-key-manager-discovered").await;
    chrome.fill("#name", "partner-idp").await;
    chrome.fill("#display_name", "Partner IdP").await;
    chrome
        .submit("form[action='/admin/key-managers'] button.btn-primary")
        .await;
    assert!(chrome.path().await.starts_with("/admin/key-managers/"));
    assert!(
        chrome
            .shows("The key manager partner-idp was created.")
            .await
    );
    chrome.goto("/admin/key-managers").await;
    assert_eq!(
        chrome
            .text("tr[data-key-manager=partner-idp] [data-field=display_name]")
            .await,
        "Partner IdP"
    );

    chrome
        .submit("tr[data-key-manager=resident] form[action$='/disable'] button")
        .await;
    assert_eq!(
        chrome
            .text("tr[data-key-manager=resident] [data-field=enabled]")
            .await,
        "Disabled"
    );
    chrome.close().await;

    // TPPs are offered the imported key manager, no longer the resident one.
    let (_, page) = tpp
        .page(&format!("/applications/{application}/keys/production"))
        .await;
    assert!(page.contains("Partner IdP"), "{page}");
    assert!(!page.contains("Resident Key Manager"), "{page}");
}

#[actix_web::test]
async fn a_tpp_provides_existing_sandbox_keys_of_the_external_key_manager_in_the_browser() {
    // Journey (b): an OAuth client made at the real oidc-provider, outside Portico, mapped onto
    // the application's sandbox keys, and a token for it from the portal.
    let server = crate::external_server::ExternalServer::start(&[]);
    let (client_id, client_secret) = server.register_client(None).await;
    let app = spawn_app_with(&[("PORTICO_ALLOW_PRIVATE_KM_URLS", "true")]).await;
    let admin = app.admin().await;
    let (registration, token, introspection, revocation, jwks) = (
        server.url("/reg"),
        server.url("/token"),
        server.url("/token/introspection"),
        server.url("/token/revocation"),
        server.url("/jwks"),
    );
    let created = admin
        .post(
            "/admin/key-managers",
            &[
                ("type", "dcr"),
                ("name", "partner-idp"),
                ("display_name", "Partner IdP"),
                ("issuer", server.issuer.as_str()),
                ("client_registration_endpoint", registration.as_str()),
                ("token_endpoint", token.as_str()),
                ("introspection_endpoint", introspection.as_str()),
                ("revoke_endpoint", revocation.as_str()),
                ("grant_types", "client_credentials"),
                ("certificate_type", "JWKS"),
                ("certificate_value", jwks.as_str()),
                ("token_validation", "introspect"),
                ("permission_type", "PUBLIC"),
                ("enable_token_generation", "true"),
                ("enable_oob_provisioning", "true"),
                ("enable_oauth_app_creation", "true"),
                ("enabled", "true"),
            ],
        )
        .await;
    assert_eq!(created.status(), reqwest::StatusCode::SEE_OTHER);
    let tpp = app.tpp("provider-tpp").await;
    let application = tpp.create_application("Provided App").await;

    let chrome = Chrome::start(&app).await;
    chrome.sign_in("provider-tpp", PASSWORD).await;
    chrome
        .goto(&format!("/applications/{application}/keys/sandbox"))
        .await;
    chrome
        .click("nav.tabs a[data-key-manager=partner-idp]")
        .await;
    assert!(chrome.shows("Provide existing OAuth keys").await);
    chrome.fill("#consumer_key", &client_id).await;
    chrome.fill("#consumer_secret", "not the secret").await;
    chrome
        .submit("form[action$='/map'] button[type=submit]")
        .await;
    assert!(
        chrome
            .text("#consumer_key-error, .field-error")
            .await
            .contains("do not match"),
        "a wrong secret is refused on the field"
    );
    assert_eq!(app.count("SELECT COUNT(*) FROM key_mappings"), 0);
    chrome.fill("#consumer_secret", &client_secret).await;
    chrome
        .submit("form[action$='/map'] button[type=submit]")
        .await;
    assert_eq!(chrome.text("[data-field=consumer_key]").await, client_id);
    chrome.screenshots("keys-provided").await;

    chrome.fill("#consumer_secret", &client_secret).await;
    chrome
        .submit("form[action$='/token'] button[type=submit]")
        .await;
    let access_token = chrome.text("[data-field=access_token]").await;
    let answer = server
        .introspect(&client_id, &client_secret, &access_token)
        .await;
    assert_eq!(answer["active"], true, "{answer}");
    assert_eq!(answer["client_id"], client_id.as_str());
    chrome.close().await;
}
