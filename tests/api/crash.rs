//! SECURITY.md row 32: a real Portico process is killed with SIGKILL at random moments while
//! TPPs sign up, create applications, subscribe and generate keys over HTTP; after each restart
//! on the same database every acknowledged write is there, no key mapping is half-made
//! (ACTIVE keys are resident clients of their application; a RESERVED one has a way forward),
//! and on SQLite `PRAGMA integrity_check` answers ok. The moments come from a seeded generator whose seed
//! is printed (`PORTICO_CRASH_SEED=<seed>` replays a run).

use std::collections::BTreeSet;
use std::time::Duration;

use reqwest::StatusCode;

use crate::helpers::*;
use crate::process::Portico;

const KILLS: usize = 24;
const WORKERS: usize = 3;

/// splitmix64: small, seeded and good enough to pick moments.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// A write Portico acknowledged (answered 303 or 200) before it was killed.
#[derive(Debug, Clone)]
enum Ack {
    SignUp(String),
    Application(i64, String),
    Subscription(i64, i64),
    Keys(i64, &'static str, String),
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .cookie_store(true)
        .build()
        .unwrap()
}

/// POSTs a form with the session's CSRF token; the answer when the server acknowledged the
/// write (303), None when it did not (refused, or the process is gone).
async fn acknowledged(
    browser: &Browser,
    path: &str,
    fields: &[(&str, &str)],
) -> Option<reqwest::Response> {
    let mut token = None;
    for page in ["/", "/login"] {
        let body = browser
            .client
            .get(format!("{}{page}", browser.address))
            .send()
            .await
            .ok()?
            .text()
            .await
            .ok()?;
        token = input_value(&body, "csrf_token");
        if token.is_some() {
            break;
        }
    }
    let token = token?;
    let mut all = fields.to_vec();
    all.push(("csrf_token", &token));
    let response = browser
        .client
        .post(format!("{}{path}", browser.address))
        .form(&all)
        .send()
        .await
        .ok()?;
    (response.status() == StatusCode::SEE_OTHER).then_some(response)
}

/// One TPP writing until the process dies; returns what was acknowledged. A new TPP signs up
/// and in first; a signed-in one (whose session lives in the database) goes on writing.
async fn worker(browser: Browser, signup: Option<String>, prefix: String, api: i64) -> Vec<Ack> {
    let mut acks = Vec::new();
    if let Some(username) = signup {
        if acknowledged(&browser, "/signup", &signup_fields(&username))
            .await
            .is_none()
        {
            return acks;
        }
        acks.push(Ack::SignUp(username.clone()));
        let signed_in = [("username", username.as_str()), ("password", PASSWORD)];
        if acknowledged(&browser, "/login", &signed_in).await.is_none() {
            return acks;
        }
    }
    for n in 0.. {
        let name = format!("{prefix} app {n}");
        let application = [
            ("name", name.as_str()),
            ("throttling_policy", "50PerMin"),
            ("description", "written before a kill"),
        ];
        let Some(r) = acknowledged(&browser, "/applications", &application).await else {
            return acks;
        };
        let id: i64 = location(&r).rsplit('/').next().unwrap().parse().unwrap();
        acks.push(Ack::Application(id, name));
        let application_id = id.to_string();
        let subscription = [
            ("application_id", application_id.as_str()),
            ("throttling_policy", "Bronze"),
        ];
        let subscribe = format!("/apis/{api}/subscribe");
        if acknowledged(&browser, &subscribe, &subscription)
            .await
            .is_none()
        {
            return acks;
        }
        acks.push(Ack::Subscription(id, api));
        for key_type in ["production", "sandbox"] {
            let generate = format!("/applications/{id}/keys/{key_type}/generate");
            let keys = [
                ("key_manager", "resident"),
                ("grant_types", "client_credentials"),
            ];
            let Some(r) = acknowledged(&browser, &generate, &keys).await else {
                return acks;
            };
            // The keys exist once the POST answered; the page it leads to shows their key.
            let Ok(page) = browser
                .client
                .get(format!("{}{}", browser.address, location(&r)))
                .send()
                .await
            else {
                return acks;
            };
            let Ok(body) = page.text().await else {
                return acks;
            };
            let key = data_field(&body, "consumer_key").expect("the consumer key is shown");
            acks.push(Ack::Keys(id, key_type, key));
        }
    }
    acks
}

fn db_key_type(key_type: &str) -> &'static str {
    if key_type == "production" {
        "PRODUCTION"
    } else {
        "SANDBOX"
    }
}

/// What must hold after every restart.
fn check(app: &TestApp, acks: &[Ack], round: usize) {
    // SQLite only: PostgreSQL has no integrity pragma, and no file of its own here to check.
    if !crate::pg::on_postgres() {
        assert_eq!(
            app.text("SELECT integrity_check AS line FROM pragma_integrity_check"),
            "ok",
            "round {round}"
        );
    }
    for ack in acks {
        let present = match ack {
            Ack::SignUp(username) => app.count(&format!(
                "SELECT COUNT(*) FROM users WHERE username_key = '{username}'"
            )),
            Ack::Application(id, name) => app.count(&format!(
                "SELECT COUNT(*) FROM applications WHERE id = {id} AND name = '{name}'"
            )),
            Ack::Subscription(id, api) => app.count(&format!(
                "SELECT COUNT(*) FROM subscriptions WHERE application_id = {id} AND api_id = {api}"
            )),
            Ack::Keys(id, key_type, key) => app.count(&format!(
                "SELECT COUNT(*) FROM key_mappings m JOIN oauth_clients c ON c.client_id = m.consumer_key \
                 WHERE m.application_id = {id} AND m.key_type = '{}' AND m.state = 'ACTIVE' \
                 AND m.consumer_key = '{key}' AND c.application_id = {id}",
                db_key_type(key_type)
            )),
        };
        assert_eq!(present, 1, "round {round}: acknowledged {ack:?} is lost");
    }
    assert_eq!(
        app.count(
            "SELECT COUNT(*) FROM key_mappings m WHERE m.state = 'ACTIVE' AND NOT EXISTS \
             (SELECT 1 FROM oauth_clients c WHERE c.client_id = m.consumer_key \
              AND c.application_id = m.application_id AND c.key_type = m.key_type)"
        ),
        0,
        "round {round}: ACTIVE keys without their resident client"
    );
    assert_eq!(
        app.count(
            "SELECT COUNT(*) FROM key_mappings WHERE state = 'RESERVED' AND consumer_key IS NOT NULL"
        ),
        0
    );
}

#[actix_web::test]
async fn acknowledged_writes_survive_sigkill_at_random_moments() {
    let seed = std::env::var("PORTICO_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
        });
    println!("crash: seed {seed} (PORTICO_CRASH_SEED={seed} replays it)");
    let mut rng = Rng(seed);
    let mut portico = Portico::start(&[]);
    let api = portico
        .app
        .publish_api("Ledger", "/ledger", "PUBLISHED", &["Bronze"])
        .await;

    let mut acks: Vec<Ack> = Vec::new();
    let mut interrupted: BTreeSet<(i64, String)> = BTreeSet::new();
    let mut killed_mid_write = 0;
    // Two TPPs signed in for the whole run: their sessions live in the database.
    let mut regulars = Vec::new();
    for w in 0..WORKERS - 1 {
        let username = format!("crash-regular-{w}");
        let browser = portico.browser();
        assert_eq!(
            browser.sign_up(&username).await.status(),
            StatusCode::SEE_OTHER
        );
        assert_eq!(
            browser.sign_in(&username, PASSWORD).await.status(),
            StatusCode::SEE_OTHER
        );
        acks.push(Ack::SignUp(username));
        regulars.push(browser.client);
    }
    for round in 0..KILLS {
        let address = portico.app.address.clone();
        let newcomer = format!("crash-r{round:02}");
        let mut workers = vec![worker(
            Browser {
                address: address.clone(),
                client: client(),
            },
            Some(newcomer.clone()),
            newcomer,
            api,
        )];
        for (w, regular) in regulars.iter().enumerate() {
            workers.push(worker(
                Browser {
                    address: address.clone(),
                    client: regular.clone(),
                },
                None,
                format!("r{round:02}-w{w}"),
                api,
            ));
        }
        let delay = Duration::from_millis(20 + rng.below(1200));
        let killer = async {
            actix_web::rt::time::sleep(delay).await;
            portico.kill();
        };
        let (written, ()) =
            futures_util::future::join(futures_util::future::join_all(workers), killer).await;
        let written: Vec<Ack> = written.into_iter().flatten().collect();
        portico.restart();
        acks.extend(written);
        check(&portico.app, &acks, round);
        let reserved = portico.app.lines(
            "SELECT application_id || ' ' || key_type AS line FROM key_mappings WHERE state = 'RESERVED'",
        );
        for line in reserved {
            let (id, key_type) = line.split_once(' ').unwrap();
            if interrupted.insert((id.parse().unwrap(), key_type.to_string())) {
                killed_mid_write += 1;
            }
        }
        assert_eq!(
            portico.browser().get_status("/healthz").await,
            StatusCode::OK
        );
    }

    // A reservation the kill interrupted: its owner is told the keys are being made; once it is
    // stale (ten minutes, simulated by ageing the row) a new generation takes it over.
    let app = &portico.app;
    let left = app.lines(
        "SELECT m.application_id || ' ' || lower(m.key_type) || ' ' || u.username AS line \
         FROM key_mappings m JOIN applications a ON a.id = m.application_id \
         JOIN users u ON u.id = a.owner_id WHERE m.state = 'RESERVED'",
    );
    for line in &left {
        let parts: Vec<&str> = line.split(' ').collect();
        let (id, key_type, owner) = (parts[0], parts[1], parts[2]);
        let browser = portico.browser();
        assert_eq!(
            browser.sign_in(owner, PASSWORD).await.status(),
            StatusCode::SEE_OTHER
        );
        let (_, page) = browser
            .page(&format!("/applications/{id}/keys/{key_type}"))
            .await;
        assert!(page.contains("Keys are being generated"), "{line}");
        // Time passing: the reservation goes stale.
        app.execute(&format!(
            "UPDATE key_mappings SET updated_at = updated_at - 601 \
             WHERE application_id = {id} AND lower(key_type) = '{key_type}'"
        ));
        let response = browser
            .try_generate(
                id.parse().unwrap(),
                key_type,
                &[
                    ("key_manager", "resident"),
                    ("grant_types", "client_credentials"),
                ],
            )
            .await;
        assert_eq!(
            response.status(),
            StatusCode::SEE_OTHER,
            "{line}: taken over"
        );
        let body = crate::results::shown_after(&browser, response).await;
        assert!(data_field(&body, "consumer_secret").is_some());
    }
    assert_eq!(
        app.count("SELECT COUNT(*) FROM key_mappings WHERE state = 'RESERVED'"),
        0
    );
    check(app, &acks, KILLS);

    // A client the resident key manager made for a generation the kill interrupted (nobody saw
    // its secret) went with the reservation when it was taken over: no client without keys.
    let orphans = app.count(
        "SELECT COUNT(*) FROM oauth_clients c WHERE c.application_id IS NOT NULL AND NOT EXISTS \
         (SELECT 1 FROM key_mappings m WHERE m.consumer_key = c.client_id)",
    );
    assert_eq!(orphans, 0, "resident clients without keys");
    let tidied = portico
        .logs()
        .matches("a client left by an interrupted key generation was tidied")
        .count();
    let keys = acks.iter().filter(|a| matches!(a, Ack::Keys(..))).count();
    println!(
        "crash: {KILLS} SIGKILLs, {} acknowledged writes checked after every restart ({keys} key generations), \
         {killed_mid_write} interrupted key generations recovered ({tidied} clients they left tidied){}",
        acks.len(),
        if crate::pg::on_postgres() {
            ""
        } else {
            ", integrity_check ok every time"
        },
    );
    assert!(acks.len() >= KILLS, "the workers got writes through");
}

/// The state a kill leaves between the resident key manager's transaction (the client is made)
/// and the activation of the keys, made exactly: the next generation after the reservation went
/// stale takes it over, deletes the client nobody saw the secret of, and makes new keys.
#[actix_web::test]
async fn a_generation_killed_after_its_client_was_made_is_tidied_when_taken_over() {
    let now = epoch_now();
    let (app, tpp) = spawn_tpp("interrupted").await;
    let id = tpp.create_application("Halfway").await;
    let left = app.register_client(ClientSpec {
        application_id: Some(id),
        grants: &["client_credentials"],
        ..ClientSpec::default()
    });
    app.execute(&format!(
        "INSERT INTO key_mappings (application_id, key_type, key_manager_id, create_mode, state, created_at, updated_at) \
         SELECT {id}, 'PRODUCTION', id, 'CREATED', 'RESERVED', {now} - 601, {now} - 601 \
         FROM key_managers WHERE name = 'resident'"
    ));
    app.execute(&format!(
        "UPDATE oauth_clients SET created_at = {now} - 600, updated_at = {now} - 600 \
         WHERE client_id = '{}'",
        left.client_id
    ));
    let response = tpp
        .try_generate(
            id,
            "production",
            &[
                ("key_manager", "resident"),
                ("grant_types", "client_credentials"),
            ],
        )
        .await;
    let key = data_field(
        &crate::results::shown_after(&tpp, response).await,
        "consumer_key",
    )
    .unwrap();
    assert_eq!(
        app.lines("SELECT client_id AS line FROM oauth_clients"),
        vec![key.clone()],
        "the client left behind is gone; the new one is there"
    );
    assert_eq!(
        app.text("SELECT state || ' ' || consumer_key AS line FROM key_mappings"),
        format!("ACTIVE {key}")
    );
}

/// The same for out-of-band provisioning: a client linked by a provisioning the kill
/// interrupted is unlinked (never deleted: it is the TPP's), and can be provided again.
#[actix_web::test]
async fn a_provisioning_killed_after_its_client_was_linked_is_unlinked_when_taken_over() {
    let now = epoch_now();
    let (app, tpp) = spawn_tpp("provider").await;
    let id = tpp.create_application("Provided").await;
    let client = app.register_client(ClientSpec {
        grants: &["client_credentials"],
        ..ClientSpec::default()
    });
    app.execute(&format!(
        "UPDATE oauth_clients SET created_at = {now} - 9000 WHERE client_id = '{}'",
        client.client_id
    ));
    app.execute(&format!(
        "UPDATE oauth_clients SET application_id = {id}, key_type = 'PRODUCTION', \
         updated_at = {now} - 600 WHERE client_id = '{}'",
        client.client_id
    ));
    app.execute(&format!(
        "INSERT INTO key_mappings (application_id, key_type, key_manager_id, create_mode, state, created_at, updated_at) \
         SELECT {id}, 'PRODUCTION', id, 'MAPPED', 'RESERVED', {now} - 601, {now} - 601 \
         FROM key_managers WHERE name = 'resident'"
    ));
    let secret = client.secret.clone().unwrap();
    let response = tpp
        .provide_keys(id, "production", "resident", &client.client_id, &secret)
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        app.text(&format!(
            "SELECT coalesce(CAST(application_id AS TEXT), 'none') || ' ' || coalesce(CAST(key_type AS TEXT), 'none') AS line \
             FROM oauth_clients WHERE client_id = '{}'",
            client.client_id
        )),
        format!("{id} PRODUCTION"),
        "the TPP's client is kept and mapped again"
    );
    assert_eq!(
        app.text(
            "SELECT state || ' ' || create_mode || ' ' || consumer_key AS line FROM key_mappings"
        ),
        format!("ACTIVE MAPPED {}", client.client_id)
    );
}
