//! The Production Keys and Sandbox Keys tabs of an application: a tab per key manager the user
//! may use; the keys and their forms (update, regenerate the secret, generate a token, remove),
//! or the forms to get them (generate, provide existing OAuth keys) — only the actions the key
//! manager can do for these keys, with a sentence for each it cannot. Every successful POST
//! answers 303 to the tab; a consumer secret or access token it made is a one-time result the
//! next GET of the tab shows once. A refused POST draws the tab again with the message by its
//! form and the values typed (never secrets).

use actix_session::Session;
use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, HttpResponse, web};
use askama::Template;
use futures_core::future::LocalBoxFuture;
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};

use crate::db::models::applications::Application;
use crate::db::models::key_managers::KeyManagerRow;
use crate::domain::FieldErrors;
use crate::domain::ids::ApplicationId;
use crate::domain::keys::{CLIENT_CREDENTIALS, CreateMode, KeyType, KeysForm};
use crate::error::AppError;
use crate::services::keys::{
    Issued, IssuedToken, Keys, KeysAction, KeysRequest, KeysView, Provision, SelectedKeyManager,
    Target,
};
use crate::services::{ServiceError, ServiceResult};
use crate::web::context::Viewer;
use crate::web::one_time::OneTime;
use crate::web::{PageContext, SignedIn, Url, render, see_other, success};

/// What a keys POST made and the keys tab shows once after the redirect (see `one_time`).
#[derive(Serialize, Deserialize)]
pub enum KeysResult {
    /// The consumer secret of keys just generated or re-secreted.
    Secret { consumer_secret: String },
    /// An access token just issued, with the form values that asked for it (not secrets).
    Token {
        access_token: String,
        scope: String,
        expires_in: i64,
        expires_at: i64,
        scopes: String,
        validity_period: String,
    },
}

/// The consumer secret just issued, shown this once.
pub struct SecretView {
    pub consumer_secret: String,
}

/// An access token just issued, shown this once.
pub struct TokenView {
    pub access_token: String,
    pub scope: String,
    pub expires_in: i64,
    pub expires_at: i64,
}

#[derive(Template)]
#[template(path = "applications/keys.html")]
struct KeysPage {
    ctx: PageContext,
    application: Application,
    tab: &'static str,
    environment: &'static str,
    key_type: KeyType,
    tabs: Vec<KeyManagerRow>,
    selected: Option<SelectedKeyManager>,
    /// The generate / update form's values.
    form: KeysForm,
    /// The map and token forms' values (never the secret).
    other: KeysForm,
    errors: FieldErrors,
    /// A refusal that names no field, shown by the form of its action (or atop the tab when
    /// that form is not on the page).
    notice: Option<(KeysAction, String)>,
    secret: Option<SecretView>,
    token: Option<TokenView>,
    /// False for a Viewer: no form is offered.
    may_change: bool,
}

#[cfg(test)]
mod render_test;

impl KeysPage {
    fn new(ctx: PageContext, view: KeysView) -> Self {
        let key_manager = view
            .selected
            .as_ref()
            .map(|s| s.key_manager.name.clone())
            .unwrap_or_default();
        let form = match &view.selected {
            Some(selected) if selected.mapping.is_some() => selected.settings.to_form(&key_manager),
            Some(selected) => KeysForm {
                key_manager: key_manager.clone(),
                grant_types: selected
                    .offered()
                    .iter()
                    .filter(|g| *g == CLIENT_CREDENTIALS)
                    .cloned()
                    .collect(),
                ..KeysForm::default()
            },
            None => KeysForm::default(),
        };
        let other = KeysForm {
            key_manager,
            validity_period: "3600".into(),
            ..KeysForm::default()
        };
        Self {
            ctx,
            tab: view.key_type.path(),
            environment: view.key_type.label(),
            key_type: view.key_type,
            application: view.application,
            may_change: view.may_change,
            tabs: view.tabs,
            selected: view.selected,
            form,
            other,
            errors: FieldErrors::new(),
            notice: None,
            secret: None,
            token: None,
        }
    }

    /// The page with the one-time result of the POST that led here.
    fn with_result(mut self, result: KeysResult) -> Self {
        match result {
            KeysResult::Secret { consumer_secret } => {
                self.secret = Some(SecretView { consumer_secret })
            }
            KeysResult::Token {
                access_token,
                scope,
                expires_in,
                expires_at,
                scopes,
                validity_period,
            } => {
                self.other.scopes = scopes;
                self.other.validity_period = validity_period;
                self.token = Some(TokenView {
                    access_token,
                    scope,
                    expires_in,
                    expires_at,
                });
            }
        }
        self
    }

    /// The page again after a refused form, with its values (never secrets) and errors.
    fn refused(
        mut self,
        action: KeysAction,
        form: KeysForm,
        errors: FieldErrors,
        notice: Option<String>,
    ) -> Self {
        let form = form.without_secret();
        match action {
            KeysAction::Generate | KeysAction::Update => self.form = form,
            KeysAction::Map | KeysAction::Token => {
                self.other = KeysForm {
                    key_manager: self.other.key_manager.clone(),
                    ..form
                }
            }
            _ => {}
        }
        self.errors = errors;
        self.notice = notice.map(|message| (action, message));
        self
    }

    /// Whether the tab shows the form of `action`.
    fn shows_form(&self, action: KeysAction) -> bool {
        let Some(selected) = &self.selected else {
            return false;
        };
        if !self.may_change {
            return false;
        }
        let on_keys = KeysAction::ON_KEYS.contains(&action);
        match &selected.mapping {
            Some(mapping) if !mapping.is_active() => false,
            Some(_) if !on_keys => false,
            None if on_keys => false,
            _ => selected.why_not(action).is_none(),
        }
    }

    /// The refusal to show by the form of `action`.
    fn notice_at(&self, action: KeysAction) -> Option<&str> {
        self.notice
            .as_ref()
            .filter(|(a, _)| *a == action)
            .map(|(_, message)| message.as_str())
    }

    /// The refusal to show atop the tab, its form not being on the page.
    fn notice_on_top(&self) -> Option<&str> {
        self.notice
            .as_ref()
            .filter(|(action, _)| !self.shows_form(*action))
            .map(|(_, message)| message.as_str())
    }

    /// The actions the tab does not offer here, each with why (for the keys shown, or for
    /// getting keys when there are none).
    fn unavailable(&self) -> Vec<(&'static str, String)> {
        let Some(selected) = &self.selected else {
            return Vec::new();
        };
        let actions: &[KeysAction] = match &selected.mapping {
            Some(mapping) if mapping.is_active() => &KeysAction::ON_KEYS,
            Some(_) => &[],
            None => &KeysAction::TO_GET_KEYS,
        };
        if !self.may_change {
            let why = crate::services::organisations::VIEWERS_READ_ONLY;
            return actions
                .iter()
                .map(|a| (a.path(), why.to_string()))
                .collect();
        }
        actions
            .iter()
            .filter_map(|a| selected.why_not(*a).map(|why| (a.path(), why)))
            .collect()
    }

    /// What the keys card says about the consumer secret.
    fn secret_note(&self) -> String {
        let Some(selected) = &self.selected else {
            return String::new();
        };
        if selected.settings.public_client {
            return "None: a public client has no secret.".into();
        }
        let provided = selected
            .mapping
            .as_ref()
            .is_some_and(|m| m.create_mode == CreateMode::Mapped);
        let renewable = selected.why_not(KeysAction::Regenerate).is_none();
        match (provided, renewable) {
            (false, true) => "Shown only once, when it was made. Regenerate it if it is lost.".into(),
            (false, false) => format!(
                "Shown only once, when it was made; Portico does not keep it. If it is lost, get a new one at {}.",
                selected.key_manager.display_name
            ),
            (true, true) => "You provided it with the keys; Portico does not keep it. Regenerate it here if it is lost.".into(),
            (true, false) => format!(
                "You provided it with the keys; Portico does not keep it. If it is lost, get a new one at {}.",
                selected.key_manager.display_name
            ),
        }
    }

    fn is_current(&self, key_manager: &KeyManagerRow) -> bool {
        self.selected
            .as_ref()
            .is_some_and(|s| s.key_manager.id == key_manager.id)
    }

    fn validity_help(&self) -> String {
        let max = self
            .selected
            .as_ref()
            .map_or(3600, SelectedKeyManager::max_token_validity);
        format!("From 1 to {max} seconds.")
    }

    /// The ready-made client_credentials request for the keys shown.
    fn curl(&self) -> String {
        match &self.selected {
            Some(selected) => format!(
                "curl -u '{}:YOUR_CONSUMER_SECRET' -d 'grant_type=client_credentials' '{}'",
                selected.consumer_key(),
                selected.token_endpoint
            ),
            None => String::new(),
        }
    }

    fn yes_no(&self, value: &bool) -> &'static str {
        if *value { "Yes" } else { "No" }
    }
}

fn key_type_of(segment: &str) -> Result<KeyType, AppError> {
    KeyType::from_path(segment).ok_or(AppError::NotFound)
}

/// The keys tab of an application at one key manager: where a keys POST answers, and the page
/// its one-time result is kept for.
fn tab_at(id: ApplicationId, key_type: KeyType, key_manager: &str) -> String {
    Url::Keys(id, key_type).query("key_manager", key_manager)
}

#[derive(Deserialize)]
pub struct KeysQuery {
    key_manager: Option<String>,
}

/// `GET /applications/{id}/keys/{key_type}` (`?key_manager=NAME`): with, this once, the
/// secret or token the POST that redirected here made.
pub async fn show(
    ctx: PageContext,
    SignedIn(viewer): SignedIn,
    keys: web::Data<Keys>,
    one_time: OneTime,
    path: web::Path<(ApplicationId, String)>,
    query: web::Query<KeysQuery>,
) -> Result<HttpResponse, AppError> {
    let (id, key_type) = path.into_inner();
    let key_type = key_type_of(&key_type)?;
    let view = keys
        .view(viewer.id, id, key_type, query.into_inner().key_manager)
        .await?;
    let result = view.selected.as_ref().and_then(|selected| {
        one_time.take::<KeysResult>(&tab_at(id, key_type, &selected.key_manager.name))
    });
    let page = KeysPage::new(ctx, view);
    Ok(crate::web::ok(&match result {
        Some(result) => page.with_result(result),
        None => page,
    }))
}

/// What every keys POST starts from: the page context, who asks, about which application's
/// keys (the path), with what form; and what the answer needs (the keys service, the session
/// for its message, the one-time store for a secret or token).
pub struct KeysPost {
    ctx: PageContext,
    viewer: Viewer,
    keys: web::Data<Keys>,
    session: Session,
    one_time: OneTime,
    request: KeysRequest,
}

impl FromRequest for KeysPost {
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let req = req.clone();
        let pairs = web::Form::<Vec<(String, String)>>::from_request(&req, payload);
        Box::pin(async move {
            let ctx = PageContext::extract(&req).await?;
            let SignedIn(viewer) = SignedIn::extract(&req).await?;
            let keys = web::Data::<Keys>::extract(&req).await?;
            let session = Session::extract(&req).await?;
            let one_time = OneTime::extract(&req).await?;
            let (application_id, key_type) = web::Path::<(ApplicationId, String)>::extract(&req)
                .await?
                .into_inner();
            let form = KeysForm::from_pairs(pairs.await?.into_inner());
            let target = Target {
                application_id,
                key_type: key_type_of(&key_type)?,
            };
            let request = KeysRequest {
                actor: viewer.actor(),
                target,
                form,
            };
            Ok(KeysPost {
                ctx,
                viewer,
                keys,
                session,
                one_time,
                request,
            })
        })
    }
}

impl KeysPost {
    /// The answer to the POST: `done` with what it made, or the tab again after a refusal, the
    /// form's values kept (never secrets): 422 for invalid input, 409 for a conflict, 403 for
    /// what the key manager does not do or the user may not, 502/504 for a key manager that
    /// failed. Only a missing application (404) or a failure on Portico's side is an error page.
    async fn answer<T>(
        self,
        action: KeysAction,
        result: ServiceResult<T>,
        done: impl FnOnce(T, &KeysPost) -> HttpResponse,
    ) -> Result<HttpResponse, AppError> {
        let error = match result {
            Ok(made) => return Ok(done(made, &self)),
            Err(error) => AppError::from(error),
        };
        let (status, errors, notice) = match error {
            AppError::Form { status, errors } => (status, errors, None),
            e @ (AppError::Conflict(_)
            | AppError::Forbidden(_)
            | AppError::BadGateway(_)
            | AppError::GatewayTimeout(_)) => {
                (e.kind().status(), FieldErrors::new(), Some(e.message()))
            }
            other => return Err(other),
        };
        let (user_id, target, form) = (self.viewer.id, self.request.target, self.request.form);
        let (id, key_type) = (target.application_id, target.key_type);
        let named = Some(form.key_manager.clone()).filter(|_| errors.get("key_manager").is_none());
        let view = match self.keys.view(user_id, id, key_type, named).await {
            Ok(view) => view,
            Err(ServiceError::NotFound) => self.keys.view(user_id, id, key_type, None).await?,
            Err(other) => return Err(other.into()),
        };
        let page = KeysPage::new(self.ctx, view).refused(action, form, errors, notice);
        Ok(render(status, &page))
    }

    /// The keys tab the POST was about, at `key_manager`.
    fn tab(&self, key_manager: &str) -> String {
        let target = self.request.target;
        tab_at(target.application_id, target.key_type, key_manager)
    }

    /// 303 to the keys tab, which shows the new consumer secret once.
    fn secret_shown_once(&self, issued: Issued) -> HttpResponse {
        let page = self.tab(&issued.key_manager);
        if let Some(secret) = issued.consumer_secret {
            let consumer_secret = secret.expose_secret().to_string();
            self.one_time
                .keep(&page, &KeysResult::Secret { consumer_secret });
        }
        see_other(&page)
    }

    /// 303 back to the keys tab, with a message.
    fn back(&self, key_manager: &str, message: &str) -> HttpResponse {
        success(&self.session, self.tab(key_manager), message)
    }
}

/// `POST …/keys/{key_type}/generate`: 303 to the keys, which show the secret once.
pub async fn generate(post: KeysPost) -> Result<HttpResponse, AppError> {
    let result = post
        .keys
        .provision(Provision::Generate, &post.request)
        .await;
    let done = |issued, post: &KeysPost| post.secret_shown_once(issued);
    post.answer(KeysAction::Generate, result, done).await
}

/// `POST …/keys/{key_type}/map`: out-of-band provisioning; 303 back to the keys.
pub async fn map(post: KeysPost) -> Result<HttpResponse, AppError> {
    let result = post.keys.provision(Provision::Map, &post.request).await;
    let done = |issued: Issued, post: &KeysPost| {
        let keys = post.request.target.key_type.label().to_lowercase();
        let message = format!("Your existing OAuth keys are now this application's {keys} keys.");
        post.back(&issued.key_manager, &message)
    };
    post.answer(KeysAction::Map, result, done).await
}

/// `POST …/keys/{key_type}/update`: 303 back to the keys.
pub async fn update(post: KeysPost) -> Result<HttpResponse, AppError> {
    let result = post.keys.update(&post.request).await;
    let done =
        |key_manager: String, post: &KeysPost| post.back(&key_manager, "The keys were updated.");
    post.answer(KeysAction::Update, result, done).await
}

/// `POST …/keys/{key_type}/regenerate-secret`: 303 to the keys, which show the secret once.
pub async fn regenerate_secret(post: KeysPost) -> Result<HttpResponse, AppError> {
    let result = post.keys.regenerate_secret(&post.request).await;
    let done = |issued, post: &KeysPost| post.secret_shown_once(issued);
    post.answer(KeysAction::Regenerate, result, done).await
}

/// `POST …/keys/{key_type}/token`: 303 to the keys, which show the access token once.
pub async fn token(post: KeysPost) -> Result<HttpResponse, AppError> {
    let result = post.keys.token(&post.request).await;
    let done = |IssuedToken { key_manager, token }, post: &KeysPost| {
        let page = post.tab(&key_manager);
        let result = KeysResult::Token {
            access_token: token.access_token.expose_secret().to_string(),
            scope: token.scope,
            expires_in: token.expires_in,
            expires_at: token.expires_at,
            scopes: post.request.form.scopes.clone(),
            validity_period: post.request.form.validity_period.clone(),
        };
        post.one_time.keep(&page, &result);
        see_other(&page)
    };
    post.answer(KeysAction::Token, result, done).await
}

/// `POST …/keys/{key_type}/remove`: 303 back to the (now empty) keys tab.
pub async fn remove(post: KeysPost) -> Result<HttpResponse, AppError> {
    let result = post.keys.remove(&post.request).await;
    let done = |(key_manager, mode): (String, CreateMode), post: &KeysPost| {
        let message = match mode {
            CreateMode::Created => "The keys were removed and their OAuth client deleted.",
            CreateMode::Mapped => {
                "The keys were unlinked from this application; the OAuth client itself still exists at its key manager."
            }
        };
        post.back(&key_manager, message)
    };
    post.answer(KeysAction::Remove, result, done).await
}
