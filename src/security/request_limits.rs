//! Limits on what one connection may hold: how long a request body may take, how many
//! connections a process keeps, and the file descriptors it may use for them.
//!
//! actix-web bounds the time to receive a request head (`client_request_timeout`) and idle
//! keep-alive connections, but not a body: a client that sends a head with `Content-Length` and
//! then nothing would hold its connection (and a file descriptor) for as long as it likes, and a
//! thousand such clients would stop the server from accepting anyone. `body_deadline` gives
//! every body an idle limit between chunks and a total limit; when either passes, the body
//! ends in an error, the request is answered 408, and the connection is closed.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use actix_web::HttpMessage;
use actix_web::body::MessageBody;
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::error::PayloadError;
use actix_web::middleware::Next;
use actix_web::web::Bytes;
use futures_core::Stream;
use tokio::time::{Instant, Sleep, sleep_until};

/// A request head must arrive within this time of the connection opening.
pub const HEAD_TIMEOUT: Duration = Duration::from_secs(5);
/// An idle keep-alive connection is closed after this time.
pub const KEEP_ALIVE: Duration = Duration::from_secs(5);
/// A request body may pause at most this long between two chunks.
pub const BODY_IDLE_TIMEOUT: Duration = Duration::from_secs(10);
/// A request body must be complete within this time of its head.
pub const BODY_TOTAL_TIMEOUT: Duration = Duration::from_secs(60);
/// The most connections one worker keeps open (actix-web's default is 25,000).
pub const MAX_CONNECTIONS_PER_WORKER: usize = 4_096;
/// File descriptors kept free for the database, logs and outbound requests.
const RESERVED_DESCRIPTORS: u64 = 256;

/// Wraps the request body (when there is one) in the idle and total deadlines.
pub async fn body_deadline(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let payload = req.take_payload();
    if !matches!(payload, Payload::None) {
        let now = Instant::now();
        let stream = Deadline {
            inner: payload,
            end: now + BODY_TOTAL_TIMEOUT,
            timer: Box::pin(sleep_until(now + BODY_IDLE_TIMEOUT)),
        };
        req.set_payload(Payload::from(
            Box::pin(stream) as Pin<Box<dyn Stream<Item = Result<Bytes, PayloadError>>>>
        ));
    } else {
        req.set_payload(payload);
    }
    next.call(req).await
}

/// A request body that fails once it pauses too long or takes too long in all. One timer
/// serves both limits: it is set to the earlier of the next idle limit and the total limit.
struct Deadline {
    inner: Payload,
    end: Instant,
    timer: Pin<Box<Sleep>>,
}

impl Stream for Deadline {
    type Item = Result<Bytes, PayloadError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if let Poll::Ready(item) = Pin::new(&mut self.inner).poll_next(cx) {
            if matches!(item, Some(Ok(_))) {
                let next = (Instant::now() + BODY_IDLE_TIMEOUT).min(self.end);
                self.timer.as_mut().reset(next);
            }
            return Poll::Ready(item);
        }
        if self.timer.as_mut().poll(cx).is_ready() {
            tracing::info!("closed a request whose body did not arrive in time");
            return Poll::Ready(Some(Err(PayloadError::Io(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                "the request body did not arrive in time",
            )))));
        }
        Poll::Pending
    }
}

/// Raises this process's soft limit on open files to its hard limit, and returns how many
/// connections each of `workers` may keep so that the process never runs out of descriptors
/// (accepting then pauses instead of failing, and health checks still find a descriptor).
pub fn connection_limit(workers: usize) -> usize {
    let descriptors = raise_open_file_limit();
    let per_worker = descriptors.saturating_sub(RESERVED_DESCRIPTORS) / workers.max(1) as u64;
    (per_worker as usize).clamp(64, MAX_CONNECTIONS_PER_WORKER)
}

fn raise_open_file_limit() -> u64 {
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) => limit,
        Err(e) => {
            tracing::warn!(error = %e, "could not read the limit on open files");
            1024
        }
    }
}
