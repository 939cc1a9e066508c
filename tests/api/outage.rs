//! A database outage (PostgreSQL only: a SQLite file does not go away): Portico reaches its
//! database through a loopback TCP relay the test cuts and restores. While it is cut, pages
//! answer a 503 page, the token endpoint a 503 `temporarily_unavailable`, `/readyz` 503 and
//! `/healthz` 200; the outage is logged once; once the relay is back Portico serves again
//! without a restart.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use tokio::net::{TcpListener, TcpStream};

use crate::helpers::*;
use crate::oauth::{basic, post_token};
use crate::process::Portico;

/// A TCP relay from a loopback port to the test PostgreSQL server, on a thread and runtime of
/// its own (the `portico` process is started by a blocking helper on the test's thread).
struct Relay {
    port: u16,
    accept: tokio::task::AbortHandle,
}

impl Relay {
    fn start(port: u16) -> Relay {
        let listener = std::net::TcpListener::bind(("127.0.0.1", port)).expect("the relay port");
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = url::Url::parse(&crate::pg::server_url()).unwrap();
        let target = format!(
            "{}:{}",
            server.host_str().unwrap(),
            server.port().unwrap_or(5432)
        );
        let (handle_to, handle) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            // When the accept loop is aborted the runtime ends, and every pipe with it.
            runtime.block_on(async move {
                let listener = TcpListener::from_std(listener).unwrap();
                let accept = tokio::spawn(async move {
                    while let Ok((mut inbound, _)) = listener.accept().await {
                        let target = target.clone();
                        tokio::spawn(async move {
                            if let Ok(mut outbound) = TcpStream::connect(&target).await {
                                let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound)
                                    .await;
                            }
                        });
                    }
                });
                handle_to.send(accept.abort_handle()).unwrap();
                let _ = accept.await;
            });
        });
        Relay {
            port,
            accept: handle.recv().unwrap(),
        }
    }

    /// Closes the port and every connection through it: the database is gone.
    fn cut(&self) {
        self.accept.abort();
    }
}

async fn status_of(browser: &Browser, path: &str) -> (StatusCode, String) {
    browser.page(path).await
}

#[actix_web::test]
async fn an_outage_answers_503_is_logged_once_and_ends_without_a_restart() {
    if !crate::pg::on_postgres() {
        return; // A SQLite file cannot go away the way a database server can.
    }
    let relay = Relay::start(0);
    let database = crate::pg::TestDatabase::create();
    let mut through = url::Url::parse(&database.url).unwrap();
    through.set_port(Some(relay.port)).unwrap();
    let mut portico = Portico::start(&[
        ("PORTICO_DATABASE_URL", through.as_str()),
        ("PORTICO_SECRET_KEY", crate::pg::SECRET_KEY),
    ]);
    // The test's own reads and writes go to the database directly, not through the relay.
    portico.app.db_url = database.url.clone();
    let app = &portico.app;
    let client = app.register_client(ClientSpec {
        grants: &["client_credentials"],
        ..Default::default()
    });
    let browser = app.browser();
    assert_eq!(status_of(&browser, "/apis").await.0, StatusCode::OK);
    let form = [("grant_type", "client_credentials")];
    assert_eq!(
        post_token(app, Some(&basic(&client)), &form).await.0,
        StatusCode::OK
    );

    relay.cut();
    // Past the client cache's second, so that the token endpoint needs the database.
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let (status, page) = status_of(&browser, "/apis").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{page}");
    assert!(page.contains("cannot reach its database"), "{page}");
    let (status, body, _) = post_token(app, Some(&basic(&client)), &form).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(body["error"], "temporarily_unavailable");
    assert_eq!(
        browser.get_status("/readyz").await,
        StatusCode::SERVICE_UNAVAILABLE
    );
    assert_eq!(browser.get_status("/healthz").await, StatusCode::OK);
    assert_eq!(
        status_of(&browser, "/apis").await.0,
        StatusCode::SERVICE_UNAVAILABLE
    );

    // The port may take a moment to be free again after the cut.
    let back = loop {
        match std::panic::catch_unwind(|| Relay::start(relay.port)) {
            Ok(back) => break back,
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    };
    let started = Instant::now();
    while browser.get_status("/readyz").await != StatusCode::OK {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "Portico serves again"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(status_of(&browser, "/apis").await.0, StatusCode::OK);
    assert_eq!(
        post_token(app, Some(&basic(&client)), &form).await.0,
        StatusCode::OK
    );

    let logs = portico.logs();
    assert_eq!(
        logs.matches("the database is unavailable").count(),
        1,
        "one line for the episode:\n{logs}"
    );
    assert_eq!(
        logs.matches("the database answers again").count(),
        1,
        "{logs}"
    );
    assert!(!logs.contains("panicked"), "{logs}");
    back.cut();
}
