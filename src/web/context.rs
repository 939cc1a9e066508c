//! Who is asking, and what every page needs to draw its frame: the signed-in viewer, the flash
//! messages, the CSRF token for its forms, and the current path for the navigation. Visitors
//! who are not signed in are sent to sign in — told so when their session has expired.

use crate::domain::ids::UserId;
use std::cell::OnceCell;
use std::future::{Ready, ready};

use actix_session::{Session, SessionExt};
use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{Error, FromRequest, HttpMessage, HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};

use crate::db::models::audit_events::Actor;
use crate::db::models::organisations::Membership;
use crate::db::models::users::User;
use crate::db::{self, DbPool};
use crate::domain::accounts::AccountStatus;
use crate::domain::ids::OrganisationId;
use crate::error::AppError;
use crate::security::session_store::{ORGANISATION_ID, USER_ID};
use crate::security::{csrf, expired_form};
use actix_web::ResponseError;

/// The signed-in person, as the pages need them.
#[derive(Debug, Clone)]
pub struct Viewer {
    pub id: UserId,
    pub username: String,
    pub display_name: String,
    pub is_admin: bool,
    /// The organisation the person works in now: the one the session chose, else their
    /// first. Checked against the database at every request, so a removed member loses it
    /// at once.
    pub membership: Option<Membership>,
    /// Every organisation they belong to (the header's switcher).
    pub memberships: Vec<Membership>,
}

impl Viewer {
    /// The person, working in the organisation the session chose when they still belong to
    /// it, else in their first one.
    fn new(user: &User, memberships: Vec<Membership>, chosen: Option<OrganisationId>) -> Self {
        let membership = memberships
            .iter()
            .find(|m| Some(m.organisation_id) == chosen)
            .or(memberships.first())
            .cloned();
        Viewer {
            id: user.id,
            username: user.username.clone(),
            display_name: user.display_name(),
            is_admin: user.is_admin(),
            membership,
            memberships,
        }
    }

    /// The viewer as the audit trail records them.
    pub fn actor(&self) -> Actor {
        Actor {
            id: self.id,
            name: self.username.clone(),
            organisation: self.membership.as_ref().map(|m| m.organisation_id),
        }
    }
}

/// Middleware: loads the session's user, when it is an active account, into the request.
/// A session whose account was locked or removed meanwhile is ended.
pub async fn identify(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let session = req.get_session();
    if let Ok(Some(user_id)) = session.get::<UserId>(USER_ID) {
        let pool = req
            .app_data::<web::Data<DbPool>>()
            .expect("the pool is app data")
            .clone();
        let found = db::run(&pool, move |conn| {
            let Some(user) = User::find(conn, user_id)? else {
                return Ok(None);
            };
            let memberships = Membership::all_of(conn, user_id)?;
            Ok::<_, AppError>(Some((user, memberships)))
        })
        .await?;
        match found {
            Some((user, memberships)) if user.status == AccountStatus::Active => {
                let chosen = session
                    .get::<OrganisationId>(ORGANISATION_ID)
                    .ok()
                    .flatten();
                req.extensions_mut()
                    .insert(Viewer::new(&user, memberships, chosen));
            }
            _ => session.purge(),
        }
    }
    next.call(req).await
}

/// Middleware for areas that need a signed-in person: anonymous visitors go to sign-in.
pub async fn require_signed_in(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, Error> {
    if req.extensions().get::<Viewer>().is_none() {
        let response = redirect_to_login(&req);
        return Ok(req.into_response(response).map_into_right_body());
    }
    Ok(next.call(req).await?.map_into_left_body())
}

/// Middleware for `/admin`: anonymous visitors go to sign-in, TPPs get 403.
pub async fn require_admin(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, Error> {
    let is_admin = req.extensions().get::<Viewer>().map(|v| v.is_admin);
    match is_admin {
        Some(true) => Ok(next.call(req).await?.map_into_left_body()),
        Some(false) => {
            let refused = AppError::Forbidden("This area is for administrators.".into());
            let response = refused.error_response();
            Ok(req.into_response(response).map_into_right_body())
        }
        None => {
            let response = redirect_to_login(&req);
            Ok(req.into_response(response).map_into_right_body())
        }
    }
}

fn redirect_to_login(req: &ServiceRequest) -> HttpResponse {
    let next = match req.query_string() {
        "" => req.path().to_string(),
        query => format!("{}?{}", req.path(), query),
    };
    // A POST cannot be replayed after sign-in: come back to the page instead.
    let next = if req.method() == actix_web::http::Method::GET {
        next
    } else {
        req.path().to_string()
    };
    let config = req.app_data::<web::Data<csrf::CsrfConfig>>();
    let expired = config.is_some_and(|c| c.had_session(req));
    if !expired {
        return super::see_other(&super::Url::Login.query("next", &next));
    }
    // The session cookie no longer resolves: say why, once (the dead cookie goes).
    let mut response = super::see_other(&expired_form::login_location(&next));
    if let Some(config) = config {
        let _ = response.add_cookie(&config.session_removal());
    }
    response
}

/// The signed-in viewer; handlers under `require_signed_in` can rely on it.
pub struct SignedIn(pub Viewer);

impl FromRequest for SignedIn {
    type Error = AppError;
    type Future = Ready<Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(
            req.extensions()
                .get::<Viewer>()
                .cloned()
                .map(SignedIn)
                .ok_or_else(|| AppError::Forbidden("Sign in first.".into())),
        )
    }
}

/// A one-time message shown on the next page (Post/Redirect/Get).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Flash {
    pub level: String,
    pub message: String,
}

const FLASH_KEY: &str = "flash";

/// Queues a message for the next page: `level` is success, info, warning or error.
pub fn flash(session: &Session, level: &str, message: impl Into<String>) {
    let mut queued: Vec<Flash> = session.get(FLASH_KEY).ok().flatten().unwrap_or_default();
    queued.push(Flash {
        level: level.to_string(),
        message: message.into(),
    });
    let _ = session.insert(FLASH_KEY, queued);
}

/// What the base layout needs on every page.
pub struct PageContext {
    pub viewer: Option<Viewer>,
    pub flashes: Vec<Flash>,
    pub path: String,
    request: Option<HttpRequest>,
    csrf: OnceCell<String>,
}

impl PageContext {
    /// The public URL without a trailing slash (the issuer, the base of resource identifiers);
    /// empty outside a request.
    pub fn base_url(&self) -> String {
        self.request
            .as_ref()
            .and_then(|r| r.app_data::<actix_web::web::Data<crate::config::Settings>>())
            .map(|settings| settings.base_url())
            .unwrap_or_default()
    }

    /// The context of a page drawn outside a request's session (error pages).
    pub fn blank() -> Self {
        Self {
            viewer: None,
            flashes: Vec::new(),
            path: String::new(),
            request: None,
            csrf: OnceCell::new(),
        }
    }

    /// The CSRF token for this page's forms, made on first use: the session's for a signed-in
    /// person, a stateless one for anyone else (no session row for a visitor).
    pub fn csrf_token(&self) -> &str {
        self.csrf.get_or_init(|| match &self.request {
            Some(req) => csrf::token_for(req, self.viewer.is_some()),
            None => String::new(),
        })
    }

    /// The signed-in viewer's id, `None` for anonymous visitors.
    pub fn viewer_id(&self) -> Option<UserId> {
        self.viewer.as_ref().map(|v| v.id)
    }

    pub fn is_admin(&self) -> bool {
        self.viewer.as_ref().is_some_and(|v| v.is_admin)
    }

    /// True when the navigation link to `area` is the current area: the page is the area's
    /// or one below it (the home page has none below it).
    pub fn in_area(&self, area: &super::Url) -> bool {
        let prefix = area.to_string();
        if *area == super::Url::Home {
            return self.path == prefix;
        }
        self.path == prefix || self.path.starts_with(&format!("{prefix}/"))
    }
}

impl PageContext {
    /// The frame of a page for this request: the viewer, no flash messages (they wait for the
    /// next ordinary page), the session for the sign-out form.
    pub fn of(req: &HttpRequest) -> Self {
        let viewer = req.extensions().get::<Viewer>().cloned();
        PageContext {
            viewer,
            flashes: Vec::new(),
            path: req.path().to_string(),
            request: Some(req.clone()),
            csrf: OnceCell::new(),
        }
    }
}

impl FromRequest for PageContext {
    type Error = Error;
    type Future = Ready<Result<Self, Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let session = req.get_session();
        // Only touch the session when there is something to take: a removal marks it changed.
        let flashes: Vec<Flash> = match session.get(FLASH_KEY) {
            Ok(Some(queued)) => {
                session.remove(FLASH_KEY);
                queued
            }
            _ => Vec::new(),
        };
        ready(Ok(PageContext {
            viewer: req.extensions().get::<Viewer>().cloned(),
            flashes,
            path: req.path().to_string(),
            request: Some(req.clone()),
            csrf: OnceCell::new(),
        }))
    }
}
