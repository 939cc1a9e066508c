//! One-time results of Post/Redirect/Get: what a POST made and must show exactly once (a
//! consumer secret, an access token, a gateway's secret) is sealed with the secret box and kept
//! in the person's server-side session — never in the cookie or the URL — bound to the one page
//! the POST redirects to. The next GET of that page takes it out and shows it; a reload shows the
//! page without it, and a result not collected within `TTL_SECS` is dropped unseen. Sealing
//! keeps the secret out of the sessions table (and its WAL) in plain text.

use std::future::{Ready, ready};
use std::sync::Arc;

use actix_session::{Session, SessionExt};
use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, web};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::oauth_server::AuthorizationServer;
use crate::security::secret_box::SecretBox;

/// The session key of the one result a session holds.
const KEY: &str = "one_time_result";

/// How long a result waits for its page.
pub const TTL_SECS: i64 = 300;

#[derive(Serialize, Deserialize)]
struct Stored {
    /// The page that shows it (the redirect's target).
    page: String,
    /// base64 of the sealed JSON.
    sealed: String,
    expires_at: i64,
}

/// The sealed value's purpose: the page is bound in, so a result opens only for its page.
fn purpose(page: &str) -> String {
    format!("one-time result for {page}")
}

/// The session's one-time result slot.
pub struct OneTime {
    session: Session,
    secret_box: Arc<SecretBox>,
}

impl FromRequest for OneTime {
    type Error = actix_web::Error;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(match req.app_data::<web::Data<AuthorizationServer>>() {
            Some(server) => Ok(OneTime {
                session: req.get_session(),
                secret_box: server.secret_box(),
            }),
            None => Err(actix_web::error::ErrorInternalServerError(
                "the authorization server is app data",
            )),
        })
    }
}

impl OneTime {
    /// Keeps `value` for the next GET of `page`, replacing any result not yet shown.
    pub fn keep<T: Serialize>(&self, page: &str, value: &T) {
        let json = match serde_json::to_vec(value) {
            Ok(json) => json,
            Err(error) => {
                tracing::error!(%error, "a one-time result could not be serialised");
                return;
            }
        };
        let stored = Stored {
            page: page.to_string(),
            sealed: STANDARD.encode(self.secret_box.seal(&purpose(page), &json)),
            expires_at: crate::db::now() + TTL_SECS,
        };
        if let Err(error) = self.session.insert(KEY, stored) {
            tracing::error!(%error, "a one-time result could not be kept in the session");
        }
    }

    /// The result kept for `page`, taken out of the session: it is shown this once.
    pub fn take<T: DeserializeOwned>(&self, page: &str) -> Option<T> {
        let stored: Stored = self.session.get(KEY).ok().flatten()?;
        if stored.expires_at < crate::db::now() {
            self.session.remove(KEY);
            return None;
        }
        if stored.page != page {
            return None;
        }
        self.session.remove(KEY);
        let sealed = STANDARD.decode(stored.sealed).ok()?;
        let json = self.secret_box.open(&purpose(page), &sealed).ok()?;
        serde_json::from_slice(&json).ok()
    }
}
