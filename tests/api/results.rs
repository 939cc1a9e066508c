//! Post/Redirect/Get everywhere: every POST route of the route table answers a success with 303
//! (the exceptions are listed with why), and what a POST made to be shown once — a consumer
//! secret, an access token, a gateway's secret — is shown by the one GET the redirect leads to,
//! with `Cache-Control: no-store`, and never again: a reload shows the page without it, mints
//! nothing and writes no second audit row; the Location is a page that a bookmark reaches.

use portico::startup::ROUTES;
use reqwest::{Response, StatusCode};

use crate::helpers::*;

/// The answer to GET of the Location of a POST that must have answered 303.
pub async fn follow(browser: &Browser, response: Response) -> Response {
    let status = response.status();
    let url = response.url().path().to_string();
    let target = location(&response);
    if status != StatusCode::SEE_OTHER {
        let body = response.text().await.unwrap_or_default();
        panic!(
            "POST {url} answered {status}, not 303: {:?} {:?}",
            field_errors(&body),
            texts(&body, "[data-field=keys_refusal], .form-errors")
        );
    }
    browser.get(&target).await
}

/// The page a POST's 303 leads to (asserted 200 and `no-store`), as its text.
pub async fn shown_after(browser: &Browser, response: Response) -> String {
    let page = follow(browser, response).await;
    assert_eq!(page.status(), StatusCode::OK, "{}", page.url());
    assert_eq!(
        page.headers()
            .get("cache-control")
            .and_then(|v| v.to_str().ok()),
        Some("no-store"),
        "a page that may show a one-time result is not cached"
    );
    page.text().await.unwrap()
}

fn audit_rows(app: &TestApp, action: &str) -> i64 {
    app.count(&format!(
        "SELECT COUNT(*) FROM audit_events WHERE action = '{action}'"
    ))
}

/// A keys action, its fields, the data-field it shows once, the audit action it writes.
type Step<'a> = (&'a str, Vec<(&'a str, &'a str)>, &'a str, &'a str);

/// Every result a keys POST shows once: generate, regenerate, token — and the gateway secret.
#[actix_web::test]
async fn one_time_results_are_shown_once_by_the_page_the_redirect_leads_to() {
    let (app, tpp) = spawn_tpp("prg").await;
    let id = tpp.create_application("Redirected").await;
    let other_session = app.browser();
    assert_eq!(
        other_session.sign_in("prg", PASSWORD).await.status(),
        StatusCode::SEE_OTHER
    );
    let tab = format!("{}?key_manager=resident", keys_path(id, "production"));
    let mut cases = 0;

    // Each POST: 303 to the tab; the tab shows the result once; a reload does not.
    let generate = [
        ("key_manager", "resident"),
        ("grant_types", "client_credentials"),
    ];
    let steps: [Step; 2] = [
        ("generate", generate.to_vec(), "consumer_secret", "generate"),
        (
            "regenerate-secret",
            vec![("key_manager", "resident")],
            "consumer_secret",
            "regenerate_secret",
        ),
    ];
    let mut secret = String::new();
    for (action, fields, shown, audited) in steps {
        let response = tpp
            .post(
                &format!("{}/{action}", keys_path(id, "production")),
                &fields,
            )
            .await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "{action}");
        assert_eq!(location(&response), tab, "{action}: back to the keys tab");
        let cookies = format!("{:?}", response.headers().get_all("set-cookie"));
        let page = shown_after(&tpp, response).await;
        secret = data_field(&page, shown).expect("shown once after the redirect");
        assert!(data_field(&page, "consumer_key").is_some(), "{action}");
        assert!(!cookies.contains(&secret), "{action}: not in a cookie");
        assert!(!tab.contains(&secret), "{action}: not in the URL");
        let audits = audit_rows(&app, audited);
        assert_eq!(audits, 1, "{action}");
        let (status, reload) = tpp.page(&tab).await;
        assert_eq!(
            status,
            StatusCode::OK,
            "{action}: a bookmark reaches the tab"
        );
        assert!(data_field(&reload, shown).is_none(), "{action}: once only");
        assert!(!reload.contains(&secret), "{action}: once only");
        assert_eq!(
            audit_rows(&app, audited),
            audits,
            "{action}: a reload writes nothing"
        );
        cases += 1;
    }

    // A token: shown once, by the tab; the other session of the same person never sees it.
    let response = tpp.portal_token(id, &secret, Some("openid"), "600").await;
    assert_eq!(location(&response), tab);
    let (_, elsewhere) = other_session.page(&tab).await;
    assert!(
        data_field(&elsewhere, "access_token").is_none(),
        "bound to its session"
    );
    // A page other than the redirect's target does not take it.
    let (_, sandbox) = tpp.page(&keys_path(id, "sandbox")).await;
    assert!(data_field(&sandbox, "access_token").is_none());
    let page = shown_after(&tpp, response).await;
    let token = data_field(&page, "access_token").expect("the token is shown once");
    assert_eq!(data_field(&page, "expires_in").as_deref(), Some("600"));
    assert_eq!(
        input_value(&page, "validity_period").as_deref(),
        Some("600")
    );
    assert_eq!(input_value(&page, "scopes").as_deref(), Some("openid"));
    let (_, reload) = tpp.page(&tab).await;
    assert!(!reload.contains(&token), "the token is shown once");
    assert_eq!(audit_rows(&app, "generate_token"), 1, "one token, one row");
    cases += 1;

    // The gateway secret of the administrator's list.
    let admin = app.admin().await;
    let response = admin
        .post("/admin/gateways", &[("name", "Edge gateway")])
        .await;
    assert_eq!(location(&response), "/admin/gateways");
    let page = shown_after(&admin, response).await;
    let gateway_secret = data_field(&page, "client_secret").expect("shown once");
    assert!(data_field(&page, "client_id").is_some());
    let (_, reload) = admin.page("/admin/gateways").await;
    assert!(
        !reload.contains(&gateway_secret),
        "the gateway secret is shown once"
    );
    cases += 1;
    println!("results: {cases} one-time results shown once after a 303");
}

/// POST routes whose success is not a 303 to a page of Portico, and why.
const EXCEPTIONS: &[(&str, &str)] = &[
    (
        "/admin/key-managers/discover",
        "changes nothing: it fills the new key manager form from a discovery document and draws that form again (CONTRACT.md)",
    ),
    (
        "/oauth2/logout",
        "an application's logout request without an id_token_hint asks the person first: it draws the confirmation page (tests/api/oidc_logout.rs)",
    ),
];

/// Who sends a POST of the table.
#[derive(Clone, Copy)]
enum As {
    Tpp,
    Admin,
    /// A browser of its own (sign-up, sign-in, sign-out).
    Fresh(&'static str),
}

/// One POST of the table: its route pattern, the path it is sent to, who sends it, its fields.
struct Post {
    route: &'static str,
    path: String,
    by: As,
    fields: Vec<(String, String)>,
}

fn post(
    route: &'static str,
    path: impl Into<String>,
    by: As,
    fields: &[(&'static str, &str)],
) -> Post {
    Post {
        route,
        path: path.into(),
        by,
        fields: fields
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    }
}

const CALLBACK: &str = "https://client.example/callback";

/// The POSTs of the table so far, and who sends them.
struct Run {
    app: TestApp,
    admin: Browser,
    tpp: Option<Browser>,
    routes: Vec<&'static str>,
}

impl Run {
    /// The id a query answers (`SELECT id AS n …`).
    fn id_of(&self, sql: &str) -> String {
        self.app.count(sql).to_string()
    }

    fn tpp(&self) -> &Browser {
        self.tpp.as_ref().expect("the TPP signed in")
    }

    /// Sends each POST and asserts its success: 303 to a page of Portico (the authorization
    /// decision: to the client's registered redirect URI).
    async fn succeed(&mut self, steps: Vec<Post>) {
        for step in steps {
            let fields: Vec<(&str, &str)> = step
                .fields
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            let fresh = self.app.browser();
            let browser = match step.by {
                As::Tpp => self.tpp(),
                As::Admin => &self.admin,
                As::Fresh(username) => {
                    if step.route != "/signup" && step.route != "/login" {
                        let signed_in = fresh.sign_in(username, PASSWORD).await;
                        assert_eq!(signed_in.status(), StatusCode::SEE_OTHER);
                    }
                    &fresh
                }
            };
            let response = browser.post(&step.path, &fields).await;
            let status = response.status();
            let target = location(&response);
            let body = response.text().await.unwrap_or_default();
            let shown = texts(&body, "[data-field=keys_refusal], .form-errors, main p");
            let errors = field_errors(&body);
            assert_eq!(
                status,
                StatusCode::SEE_OTHER,
                "POST {}: {errors:?} {shown:?}",
                step.path
            );
            let local = target.starts_with('/') && !target.starts_with("//");
            let to_client =
                step.route.starts_with("/oauth2/authorize") && target.starts_with(CALLBACK);
            assert!(local || to_client, "POST {}: 303 to {target}", step.path);
            self.routes.push(step.route);
        }
    }
}

/// Sign-up, approval and rejection, sign-in and sign-out, locks and roles.
async fn accounts(run: &mut Run) {
    let signup =
        |name: &'static str| post("/signup", "/signup", As::Fresh(name), &signup_fields(name));
    run.succeed(vec![signup("poster"), signup("refused"), signup("locked")])
        .await;
    let user = |name: &str| run.app.user_id(name).to_string();
    let (poster, refused, locked) = (user("poster"), user("refused"), user("locked"));
    let users = |id: &str, action: &str| format!("/admin/users/{id}/{action}");
    let credentials = [("username", "poster"), ("password", PASSWORD)];
    run.succeed(vec![
        post(
            "/admin/users/{id}/approve",
            users(&poster, "approve"),
            As::Admin,
            &[],
        ),
        post(
            "/admin/users/{id}/approve",
            users(&locked, "approve"),
            As::Admin,
            &[],
        ),
        post(
            "/admin/users/{id}/reject",
            users(&refused, "reject"),
            As::Admin,
            &[("reason", "unknown")],
        ),
        post("/login", "/login", As::Fresh("poster"), &credentials),
        post("/logout", "/logout", As::Fresh("poster"), &[]),
        // RP-Initiated Logout: an application's request (no id_token_hint: the person is asked,
        // 200), then the person's confirmation, which ends the session with a 303.
        post(
            "/oauth2/logout/confirm",
            "/oauth2/logout/confirm",
            As::Fresh("poster"),
            &[],
        ),
        post(
            "/admin/users/{id}/lock",
            users(&locked, "lock"),
            As::Admin,
            &[],
        ),
        post(
            "/admin/users/{id}/unlock",
            users(&locked, "unlock"),
            As::Admin,
            &[],
        ),
        post(
            "/admin/users/{id}/roles",
            users(&poster, "roles"),
            As::Admin,
            &[("roles", "partner")],
        ),
    ])
    .await;
    let tpp = run.app.browser();
    assert_eq!(
        tpp.sign_in("poster", PASSWORD).await.status(),
        StatusCode::SEE_OTHER
    );
    run.tpp = Some(tpp);
}

/// Applications, a subscription, and every keys action; returns the application's id.
// Long: every application and keys form, posted in the order a TPP can reach them.
#[allow(clippy::too_many_lines)]
async fn applications_and_keys(run: &mut Run, api: i64) -> i64 {
    let id = run.tpp().create_application("Poster").await;
    let doomed = run.tpp().create_application("Doomed").await;
    let client = run.app.register_client(ClientSpec::default());
    let secret = client.secret.clone().unwrap();
    let keys = |action: &str| format!("/applications/{id}/keys/production/{action}");
    let (resident, cc) = (
        ("key_manager", "resident"),
        ("grant_types", "client_credentials"),
    );
    let app_id = id.to_string();
    let mapped = [
        resident,
        ("consumer_key", &client.client_id),
        ("consumer_secret", &secret),
    ];
    let code_flow = [
        resident,
        cc,
        ("grant_types", "authorization_code"),
        ("callback_url", CALLBACK),
    ];
    run.succeed(vec![
        post(
            "/applications",
            "/applications",
            As::Tpp,
            &[("name", "Another"), ("throttling_policy", "10PerMin")],
        ),
        post(
            "/applications/{id}",
            format!("/applications/{id}"),
            As::Tpp,
            &[("name", "Poster"), ("throttling_policy", "20PerMin")],
        ),
        post(
            "/apis/{id}/subscribe",
            format!("/apis/{api}/subscribe"),
            As::Tpp,
            &[("application_id", &app_id), ("throttling_policy", "Bronze")],
        ),
        post(
            "/applications/{id}/keys/{key_type}/generate",
            keys("generate"),
            As::Tpp,
            &[resident, cc],
        ),
        post(
            "/applications/{id}/keys/{key_type}/update",
            keys("update"),
            As::Tpp,
            &[resident, cc],
        ),
        post(
            "/applications/{id}/keys/{key_type}/regenerate-secret",
            keys("regenerate-secret"),
            As::Tpp,
            &[resident],
        ),
        post(
            "/applications/{id}/keys/{key_type}/remove",
            keys("remove"),
            As::Tpp,
            &[resident],
        ),
        post(
            "/applications/{id}/keys/{key_type}/map",
            keys("map"),
            As::Tpp,
            &mapped,
        ),
        post(
            "/applications/{id}/keys/{key_type}/token",
            keys("token"),
            As::Tpp,
            &[
                resident,
                ("consumer_secret", &secret),
                ("validity_period", "60"),
            ],
        ),
        post(
            "/applications/{id}/keys/{key_type}/generate",
            format!("/applications/{id}/keys/sandbox/generate"),
            As::Tpp,
            &code_flow,
        ),
        post(
            "/applications/{id}/delete",
            format!("/applications/{doomed}/delete"),
            As::Tpp,
            &[],
        ),
    ])
    .await;
    id
}

/// The code flow's consent decision, the consent's revocation, and the subscription's approval,
/// deletion and a new one (left pending).
async fn consent_and_subscriptions(run: &mut Run, id: i64, api: i64) {
    let sandbox_key = run.app.text(&format!(
        "SELECT consumer_key AS line FROM key_mappings WHERE application_id = {id} AND key_type = 'SANDBOX'"
    ));
    let query = serde_urlencoded::to_string([
        ("response_type", "code"),
        ("client_id", sandbox_key.as_str()),
        ("redirect_uri", CALLBACK),
        ("state", "s-1"),
    ])
    .unwrap();
    let (status, consent) = run.tpp().page(&format!("/oauth2/authorize?{query}")).await;
    assert_eq!(status, StatusCode::OK, "the consent page");
    let mut decision = hidden_fields(&consent, "/oauth2/authorize/decision");
    decision.retain(|(name, _)| name != "csrf_token");
    decision.push(("decision".into(), "approve".into()));
    let authorize = Post {
        route: "/oauth2/authorize/decision",
        path: "/oauth2/authorize/decision".into(),
        by: As::Tpp,
        fields: decision,
    };
    // The same request posted (OIDC Core §3.1.2.1): the consent is remembered, so a code.
    let posted = Post {
        route: "/oauth2/authorize",
        path: "/oauth2/authorize".into(),
        by: As::Tpp,
        fields: serde_urlencoded::from_str(&query).unwrap(),
    };
    run.succeed(vec![authorize, posted]).await;
    let consent = run.id_of("SELECT id AS n FROM consents");
    let sub = run.id_of("SELECT id AS n FROM subscriptions");
    let app_id = id.to_string();
    run.succeed(vec![
        post(
            "/account/consents/{id}/revoke",
            format!("/account/consents/{consent}/revoke"),
            As::Tpp,
            &[],
        ),
        post(
            "/admin/subscriptions/{id}/approve",
            format!("/admin/subscriptions/{sub}/approve"),
            As::Admin,
            &[],
        ),
        post(
            "/applications/{id}/subscriptions/{sub_id}/delete",
            format!("/applications/{id}/subscriptions/{sub}/delete"),
            As::Tpp,
            &[],
        ),
        post(
            "/apis/{id}/subscribe",
            format!("/apis/{api}/subscribe"),
            As::Tpp,
            &[("application_id", &app_id), ("throttling_policy", "Bronze")],
        ),
    ])
    .await;
}

const POLICY: &[(&str, &str)] = &[
    ("level", "subscription"),
    ("name", "Platinum"),
    ("display_name", "Platinum"),
    ("description", "Many requests"),
    ("request_count", "10000"),
    ("unit_time", "1"),
    ("time_unit", "min"),
];

const API: &[(&str, &str)] = &[
    ("name", "Pets"),
    ("version", "1.0.0"),
    ("context", "/pets"),
    ("description", "Pets"),
    ("tiers", "Gold"),
    ("status", "CREATED"),
];

/// The administrator's areas: subscriptions, gateways, tasks, key managers, policies, APIs.
// Long: every administrator form, posted in the order the areas can reach them.
#[allow(clippy::too_many_lines)]
async fn admin_areas(run: &mut Run) {
    let pending = run.id_of("SELECT id AS n FROM subscriptions ORDER BY id DESC LIMIT 1");
    // Two clients a key manager failed to delete: SQL, as none here fails on demand.
    run.app.execute(
        "INSERT INTO key_manager_tasks (key_manager_id, key_manager_name, consumer_key, application_name, error, created_at) \
         SELECT id, display_name, 'orphan-' || n, 'Gone', 'HTTP 503', 0 FROM key_managers, (SELECT 1 AS n UNION SELECT 2) AS two WHERE name = 'resident'",
    );
    let task = |n: i64| {
        run.id_of(&format!(
            "SELECT id AS n FROM key_manager_tasks WHERE consumer_key = 'orphan-{n}'"
        ))
    };
    let (retry, resolve) = (task(1), task(2));
    run.succeed(vec![
        post(
            "/admin/subscriptions/{id}/reject",
            format!("/admin/subscriptions/{pending}/reject"),
            As::Admin,
            &[("reason", "not now")],
        ),
        post(
            "/admin/gateways",
            "/admin/gateways",
            As::Admin,
            &[("name", "Edge")],
        ),
        post(
            "/admin/key-manager-tasks/{id}/retry",
            format!("/admin/key-manager-tasks/{retry}/retry"),
            As::Admin,
            &[],
        ),
        post(
            "/admin/key-manager-tasks/{id}/resolve",
            format!("/admin/key-manager-tasks/{resolve}/resolve"),
            As::Admin,
            &[],
        ),
        post(
            "/admin/key-managers",
            "/admin/key-managers",
            As::Admin,
            DCR_FORM,
        ),
        post(
            "/admin/throttling-policies",
            "/admin/throttling-policies",
            As::Admin,
            POLICY,
        ),
        post("/admin/apis", "/admin/apis", As::Admin, API),
    ])
    .await;
    let organisation = run.app.organisation_of("poster");
    let chosen = organisation.to_string();
    run.succeed(vec![
        post(
            "/organisation/switch",
            "/organisation/switch",
            As::Tpp,
            &[("organisation_id", chosen.as_str())],
        ),
        post(
            "/admin/organisations/{id}/suspend",
            format!("/admin/organisations/{organisation}/suspend"),
            As::Admin,
            &[],
        ),
        post(
            "/admin/organisations/{id}/reinstate",
            format!("/admin/organisations/{organisation}/reinstate"),
            As::Admin,
            &[],
        ),
    ])
    .await;
    // Two more members (as accepted invitations make them): one becomes an Owner, the other
    // is removed, and then the TPP, no longer the last Owner, leaves.
    let (second, third) = (run.app.user_id("refused"), run.app.user_id("locked"));
    run.app.execute(&format!(
        "INSERT INTO memberships (organisation_id, user_id, role, created_at) \
         VALUES ({organisation}, {second}, 'developer', 0), ({organisation}, {third}, 'viewer', 0)"
    ));
    run.succeed(vec![
        post(
            "/organisation/members/{id}/role",
            format!("/organisation/members/{second}/role"),
            As::Tpp,
            &[("role", "owner")],
        ),
        post(
            "/organisation/members/{id}/remove",
            format!("/organisation/members/{third}/remove"),
            As::Tpp,
            &[],
        ),
    ])
    .await;
    // An invitation made and withdrawn, and one (made here, as its token is shown only to its
    // inviter) that the TPP accepts into another organisation, which it then leaves.
    let invited = [("email", "joiner@example.com"), ("role", "viewer")];
    run.succeed(vec![post(
        "/organisation/invitations",
        "/organisation/invitations",
        As::Tpp,
        &invited,
    )])
    .await;
    let invitation = run.id_of("SELECT max(id) AS n FROM invitations");
    let elsewhere = run.app.organisation_of("locked");
    let hash = hex::encode(aws_lc_rs::digest::digest(
        &aws_lc_rs::digest::SHA256,
        b"results-token",
    ));
    run.app.execute(&format!(
        "INSERT INTO invitations (organisation_id, email, role, token_hash, created_at, \
         expires_at) VALUES ({elsewhere}, 'dev@example.com', 'viewer', '{hash}', 0, 4102444800)"
    ));
    run.succeed(vec![
        post(
            "/organisation/invitations/{id}/revoke",
            format!("/organisation/invitations/{invitation}/revoke"),
            As::Tpp,
            &[],
        ),
        post(
            "/invitations/{token}/accept",
            "/invitations/results-token/accept",
            As::Tpp,
            &[],
        ),
        post("/organisation/leave", "/organisation/leave", As::Tpp, &[]),
    ])
    .await;
    let gateway = run.id_of("SELECT id AS n FROM oauth_clients WHERE resource_server = TRUE");
    let km = run.id_of("SELECT id AS n FROM key_managers WHERE name = 'partner'");
    let platinum = run.id_of("SELECT id AS n FROM throttling_policies WHERE name = 'Platinum'");
    let pets = run.id_of("SELECT id AS n FROM apis WHERE context = '/pets'");
    let more: Vec<(&'static str, &str)> = POLICY
        .iter()
        .map(|(k, v)| (*k, if *k == "request_count" { "20000" } else { *v }))
        .collect();
    let kms = |action: &str| format!("/admin/key-managers/{km}{action}");
    let policies = |action: &str| format!("/admin/throttling-policies/{platinum}{action}");
    run.succeed(vec![
        post(
            "/admin/gateways/{id}/delete",
            format!("/admin/gateways/{gateway}/delete"),
            As::Admin,
            &[],
        ),
        post("/admin/key-managers/{id}", kms(""), As::Admin, DCR_FORM),
        post(
            "/admin/key-managers/{id}/disable",
            kms("/disable"),
            As::Admin,
            &[],
        ),
        post(
            "/admin/key-managers/{id}/enable",
            kms("/enable"),
            As::Admin,
            &[],
        ),
        post(
            "/admin/key-managers/{id}/delete",
            kms("/delete"),
            As::Admin,
            &[],
        ),
        post(
            "/admin/throttling-policies/{id}",
            policies(""),
            As::Admin,
            &more,
        ),
        post(
            "/admin/throttling-policies/{id}/delete",
            policies("/delete"),
            As::Admin,
            &[],
        ),
        post(
            "/admin/apis/{id}",
            format!("/admin/apis/{pets}"),
            As::Admin,
            API,
        ),
        post(
            "/admin/apis/{id}/scopes",
            format!("/admin/apis/{pets}/scopes"),
            As::Admin,
            &[("name", "pets:read"), ("description", "Read pets")],
        ),
        post(
            "/admin/apis/{id}/scopes/{scope}/delete",
            format!("/admin/apis/{pets}/scopes/pets%3Aread/delete"),
            As::Admin,
            &[],
        ),
    ])
    .await;
}

/// Every POST route of the table, made to succeed, answers 303: a reload never posts again.
#[actix_web::test]
async fn every_post_route_answers_a_success_with_303() {
    let app = spawn_app_with(&[("PORTICO_SIGNUP_APPROVAL", "true")]).await;
    let admin = app.admin().await;
    let api = app
        .publish_api("Ledger", "/ledger", "PUBLISHED", &["Gold", "Bronze"])
        .await;
    app.require_approval("Bronze").await;
    let mut run = Run {
        app,
        admin,
        tpp: None,
        routes: Vec::new(),
    };
    accounts(&mut run).await;
    let id = applications_and_keys(&mut run, api).await;
    consent_and_subscriptions(&mut run, id, api).await;
    admin_areas(&mut run).await;

    // Every POST route of the table was made to succeed, or is an exception with its reason.
    let missing: Vec<&str> = ROUTES
        .iter()
        .filter(|r| r.method == "POST")
        .map(|r| r.path)
        .filter(|p| !EXCEPTIONS.iter().any(|(e, _)| e == p))
        .filter(|p| !run.routes.contains(p))
        .collect();
    assert!(
        missing.is_empty(),
        "POST routes no success was tried for: {missing:?}"
    );
    println!(
        "results: {} successful POSTs over every POST route answered 303",
        run.routes.len()
    );
}
