//! SECURITY.md row 33: sixteen concurrent writers over HTTP against one real Portico process —
//! sign-ups, sign-ins, application creates, subscriptions, production and sandbox keys — and
//! not one "database is locked", not one 5xx; every write is in the database afterwards.

use reqwest::StatusCode;

use crate::builder::client_credentials;
use crate::helpers::*;
use crate::process::Portico;

const WRITERS: usize = 16;
const APPLICATIONS_EACH: usize = 3;

/// What one writer saw: every status it received, and the bodies of the unexpected ones.
#[derive(Default)]
struct Outcome {
    statuses: Vec<(String, StatusCode)>,
    unexpected: Vec<String>,
}

impl Outcome {
    /// Records an answer that should be a 303, with its body when it is not.
    async fn redirected(&mut self, what: String, response: reqwest::Response) {
        let (status, wanted) = (response.status(), StatusCode::SEE_OTHER);
        if status != wanted {
            let body = response.text().await.unwrap_or_default();
            self.unexpected
                .push(format!("{what}: {status} (wanted {wanted}): {body}"));
        }
        self.statuses.push((what, status));
    }
}

async fn writer(address: String, n: usize, api: i64) -> Outcome {
    let browser = Browser {
        address,
        client: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .cookie_store(true)
            .build()
            .unwrap(),
    };
    let mut outcome = Outcome::default();
    let username = format!("writer-{n:02}");
    let response = browser.sign_up(&username).await;
    outcome
        .redirected(format!("{username} sign-up"), response)
        .await;
    let response = browser.sign_in(&username, PASSWORD).await;
    outcome
        .redirected(format!("{username} sign-in"), response)
        .await;
    for a in 0..APPLICATIONS_EACH {
        let name = format!("App {n:02}-{a}");
        let response = browser
            .post(
                "/applications",
                &[
                    ("name", name.as_str()),
                    ("throttling_policy", "20PerMin"),
                    ("description", "written concurrently"),
                ],
            )
            .await;
        let id = location(&response)
            .rsplit('/')
            .next()
            .and_then(|id| id.parse::<i64>().ok());
        outcome.redirected(format!("{name} create"), response).await;
        let Some(id) = id else { continue };
        let response = browser.try_subscribe(api, &id.to_string(), "Gold").await;
        outcome
            .redirected(format!("{name} subscribe"), response)
            .await;
        for key_type in ["production", "sandbox"] {
            let response = browser
                .try_generate(id, key_type, &client_credentials())
                .await;
            outcome
                .redirected(format!("{name} {key_type} keys"), response)
                .await;
        }
    }
    outcome
}

#[actix_web::test]
async fn sixteen_concurrent_writers_never_see_a_locked_database() {
    let portico = Portico::start(&[]);
    let app = &portico.app;
    let api = app
        .publish_api("Ledger", "/ledger", "PUBLISHED", &["Gold"])
        .await;

    let writers = (0..WRITERS).map(|n| writer(app.address.clone(), n, api));
    let outcomes = futures_util::future::join_all(writers).await;

    let statuses: Vec<_> = outcomes.iter().flat_map(|o| o.statuses.iter()).collect();
    let unexpected: Vec<_> = outcomes.iter().flat_map(|o| o.unexpected.iter()).collect();
    let writes = WRITERS * (2 + APPLICATIONS_EACH * 4);
    println!(
        "concurrency: {WRITERS} concurrent writers, {} writes, {} unexpected answers",
        statuses.len(),
        unexpected.len()
    );
    assert_eq!(statuses.len(), writes, "every write was answered");
    assert!(
        statuses.iter().all(|(_, s)| !s.is_server_error()),
        "5xx answers: {unexpected:#?}"
    );
    assert!(unexpected.is_empty(), "{unexpected:#?}");
    let logs = portico.logs();
    for needle in [
        "database is locked",
        "database table is locked",
        "SQLITE_BUSY",
    ] {
        assert!(
            !logs.to_lowercase().contains(&needle.to_lowercase()),
            "the log reports {needle:?}:\n{logs}"
        );
    }
    assert!(
        !logs.contains("status=5"),
        "the request log shows a 5xx:\n{logs}"
    );

    // Every write accounted for.
    let writers = WRITERS as i64;
    let applications = writers * APPLICATIONS_EACH as i64;
    assert_eq!(
        app.count(
            "SELECT COUNT(*) FROM users WHERE username_key LIKE 'writer-%' AND status = 'active'"
        ),
        writers
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM applications WHERE name LIKE 'App %'"),
        applications
    );
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) FROM subscriptions WHERE api_id = {api}"
        )),
        applications
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM key_mappings WHERE state = 'ACTIVE'"),
        applications * 2
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM key_mappings"),
        applications * 2
    );
    assert_eq!(
        app.count(
            "SELECT COUNT(*) FROM key_mappings m JOIN oauth_clients c \
             ON c.client_id = m.consumer_key AND c.application_id = m.application_id"
        ),
        applications * 2,
        "every consumer key is a resident client of its application"
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM oauth_clients"),
        applications * 2,
        "no extra client"
    );
    // Each writer owns exactly its own applications.
    for n in 0..WRITERS {
        let owner = app.user_id(&format!("writer-{n:02}"));
        assert_eq!(
            app.count(&format!(
                "SELECT COUNT(*) FROM applications WHERE owner_id = {owner} AND name LIKE 'App {n:02}-%'"
            )),
            APPLICATIONS_EACH as i64
        );
    }
    // SQLite only: PostgreSQL has no integrity pragma, and no file of its own here to check.
    if !crate::pg::on_postgres() {
        assert_eq!(
            app.text("SELECT integrity_check AS line FROM pragma_integrity_check"),
            "ok"
        );
    }
}
