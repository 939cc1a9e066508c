//! A form sent after its session expired. The person is not an attacker but someone who was
//! away too long: instead of a 403 they are sent to sign in again (`next` and a message), and
//! what they typed is kept — except passwords, secrets and tokens — in a short-lived cookie
//! sealed with AES-GCM and bound to the user the form was drawn for (the session token names
//! that user under our MAC). After sign-in, `/account/unsent-form` offers to send it again,
//! to that same user only. Nothing of the draft is stored on the server, so an anonymous
//! flood of such requests costs no row.

use actix_web::dev::ServiceRequest;
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};

use super::csrf::CsrfConfig;
use crate::domain::ids::UserId;
use crate::domain::local_path::LocalPath;

/// How long a kept form waits for its author to sign in again.
pub const DRAFT_SECS: i64 = 15 * 60;
/// The page that offers a kept form again.
pub const RESUME_PATH: &str = "/account/unsent-form";
const PURPOSE: &str = "expired form draft v1";
/// A cookie holds about 4 KiB; sealing and base64 make the plaintext grow by about a third.
const MAX_DRAFT_BYTES: usize = 2600;

/// The values of a form whose session had ended when it was sent.
#[derive(Debug, Serialize, Deserialize)]
pub struct FormDraft {
    user_id: UserId,
    expires_at: i64,
    /// The POST path the form was sent to.
    pub action: String,
    /// The page the form was on.
    pub back: String,
    /// Name and value, in the order sent (repeated names kept).
    pub fields: Vec<(String, String)>,
    /// True when a password, a secret or a too-long value was left out.
    pub left_out: bool,
}

/// Never kept: they are typed again.
pub fn is_secret(name: &str) -> bool {
    name.contains("password") || name.contains("secret") || name.ends_with("_token")
}

impl FormDraft {
    fn of(user_id: UserId, action: &str, back: &str, body: &[u8]) -> Self {
        let mut draft = FormDraft {
            user_id,
            expires_at: crate::db::now() + DRAFT_SECS,
            action: action.to_string(),
            back: back.to_string(),
            fields: Vec::new(),
            left_out: false,
        };
        let mut size = action.len() + back.len();
        for (name, value) in url::form_urlencoded::parse(body) {
            // Measured as JSON: escaped control characters take six bytes each.
            let json_len =
                |text: &str| serde_json::to_string(text).map_or(usize::MAX / 4, |j| j.len());
            let cost = json_len(&name) + json_len(&value) + 4;
            if is_secret(&name) || size + cost > MAX_DRAFT_BYTES {
                draft.left_out |= name != super::csrf::FIELD;
                continue;
            }
            size += cost;
            draft.fields.push((name.into_owned(), value.into_owned()));
        }
        draft
    }

    fn seal(&self, config: &CsrfConfig) -> String {
        let json = serde_json::to_vec(self).expect("a draft serialises");
        URL_SAFE_NO_PAD.encode(config.drafts.seal(PURPOSE, &json))
    }

    /// The kept form of `user_id` in this request's cookie, while it is fresh.
    pub fn for_user(req: &HttpRequest, user_id: UserId) -> Option<FormDraft> {
        let config = req.app_data::<actix_web::web::Data<CsrfConfig>>()?;
        let cookie = req.cookie(config.draft_cookie)?;
        let sealed = URL_SAFE_NO_PAD.decode(cookie.value()).ok()?;
        let json = config.drafts.open(PURPOSE, &sealed).ok()?;
        let draft: FormDraft = serde_json::from_slice(&json).ok()?;
        (draft.user_id == user_id && draft.expires_at > crate::db::now()).then_some(draft)
    }
}

/// The answer to a form whose session expired: 303 to sign-in with `next` and the message,
/// the dead session cookie removed, the form's values kept for its author.
pub fn sign_in_again(
    req: &ServiceRequest,
    config: &CsrfConfig,
    body: &[u8],
    sent_token: &str,
) -> HttpResponse {
    let back = form_page(req);
    // A form with nothing worth keeping (sign-out, a delete button) only needs its page.
    let draft = config
        .session_token_user(sent_token)
        .map(|user_id| FormDraft::of(user_id, req.path(), &back, body))
        .filter(|draft| !draft.fields.is_empty());
    let next = if draft.is_some() { RESUME_PATH } else { &back };
    tracing::info!(
        path = req.path(),
        kept = draft.is_some(),
        "a form arrived after its session expired"
    );
    let mut response = HttpResponse::SeeOther()
        .insert_header((header::LOCATION, login_location(next)))
        .finish();
    let _ = response.add_cookie(&config.session_removal());
    if let Some(draft) = draft {
        let _ = response.add_cookie(&config.draft_cookie(draft.seal(config)));
    }
    response
}

/// `/login?next=…&expired=true`: the sign-in page then says why the person is there.
pub fn login_location(next: &str) -> String {
    format!(
        "/login?{}",
        url::form_urlencoded::Serializer::new(String::new())
            .append_pair("next", next)
            .append_pair("expired", "true")
            .finish()
    )
}

/// The page the form was on: the same-site `Referer`, else the path it was sent to.
fn form_page(req: &ServiceRequest) -> String {
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|v| v.to_str().ok());
    req.headers()
        .get(header::REFERER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| url::Url::parse(v).ok())
        .filter(|url| {
            let authority = match url.port() {
                Some(port) => format!("{}:{port}", url.host_str().unwrap_or_default()),
                None => url.host_str().unwrap_or_default().to_string(),
            };
            host == Some(authority.as_str())
        })
        .map(|url| match url.query() {
            Some(query) => format!("{}?{query}", url.path()),
            None => url.path().to_string(),
        })
        .and_then(|path| LocalPath::parse(&path))
        .map(|path| path.as_str().to_string())
        .unwrap_or_else(|| req.path().to_string())
}

#[cfg(test)]
mod tests {
    use super::FormDraft;

    #[test]
    fn secrets_and_what_does_not_fit_are_left_out() {
        let body = format!(
            "csrf_token=t&name=App&password=p&consumer_secret=s&connector_initial_access_token=x\
             &long={}&grant_types=a&grant_types=b",
            "%00".repeat(1000)
        );
        let draft = FormDraft::of(crate::domain::ids::UserId(1), "/x", "/y", body.as_bytes());
        let names: Vec<_> = draft.fields.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["name", "grant_types", "grant_types"]);
        assert!(draft.left_out);
        let plain = FormDraft::of(
            crate::domain::ids::UserId(1),
            "/x",
            "/y",
            b"csrf_token=t&name=App",
        );
        assert!(!plain.left_out, "the CSRF token is not news to anyone");
    }
}
