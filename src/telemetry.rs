//! Structured logs through `tracing`. The request log records method, path (never the query
//! string, which may carry codes or tokens), status and duration — never bodies, cookies,
//! passwords, secrets or tokens.

use std::time::Instant;

use actix_web::Error;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use tracing_subscriber::EnvFilter;

use crate::security::client_address::ClientAddress;

/// Installs the global subscriber (`RUST_LOG` filters; `info` by default). Safe to call twice.
pub fn init() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
}

pub async fn log_request(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let started = Instant::now();
    let method = req.method().clone();
    let path = req.path().to_string();
    let client = ClientAddress::of(req.request());
    let response = next.call(req).await?;
    let status = response.status().as_u16();
    let micros = started.elapsed().as_micros() as u64;
    if status >= 500 {
        tracing::error!(%client, %method, %path, status, micros, "request");
    } else {
        tracing::info!(%client, %method, %path, status, micros, "request");
    }
    Ok(response)
}
