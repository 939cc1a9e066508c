//! The Production Keys and Sandbox Keys tabs of an application: a tab per key manager the user
//! may use; the keys and their forms (update, regenerate the secret, generate a token, remove),
//! or the forms to get them (generate, provide existing OAuth keys). The consumer secret and
//! access tokens appear only in the response that made them, rendered directly (no redirect).

use std::future::{Ready, ready};

use actix_session::Session;
use actix_web::dev::Payload;
use actix_web::http::StatusCode;
use actix_web::{FromRequest, HttpRequest, HttpResponse, web};
use askama::Template;
use secrecy::ExposeSecret;
use serde::Deserialize;

use crate::config::Settings;
use crate::db::DbPool;
use crate::db::models::applications::Application;
use crate::db::models::key_managers::KeyManagerRow;
use crate::domain::FieldErrors;
use crate::domain::keys::{CLIENT_CREDENTIALS, CreateMode, KeyType, KeysForm};
use crate::error::AppError;
use crate::key_managers::Connectors;
use crate::services::ServiceError;
use crate::services::keys::{Issued, IssuedToken, Keys, KeysView, SelectedKeyManager};
use crate::web::context::Viewer;
use crate::web::{PageContext, SignedIn, flash, render, see_other};

impl FromRequest for Keys {
    type Error = actix_web::Error;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let pool = req.app_data::<web::Data<DbPool>>();
        let settings = req.app_data::<web::Data<Settings>>();
        let connectors = Connectors::from_request(req, payload).into_inner();
        ready(match (pool, settings, connectors) {
            (Some(pool), Some(settings), Ok(connectors)) => Ok(Keys {
                pool: pool.get_ref().clone(),
                connectors,
                provisioning: settings.key_provisioning,
                issuer: settings.base_url(),
            }),
            _ => Err(actix_web::error::ErrorInternalServerError(
                "the keys service needs its app data",
            )),
        })
    }
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

/// Which form of the page a refusal belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeysAction {
    Generate,
    Map,
    Update,
    Regenerate,
    Token,
    Remove,
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
    secret: Option<SecretView>,
    token: Option<TokenView>,
}

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
            tabs: view.tabs,
            selected: view.selected,
            form,
            other,
            errors: FieldErrors::new(),
            secret: None,
            token: None,
        }
    }

    /// The page again after a refused form, with its values (never secrets) and errors.
    fn refused(mut self, action: KeysAction, form: KeysForm, errors: FieldErrors) -> Self {
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
        self
    }

    fn tab_href(&self, key_manager: &KeyManagerRow) -> String {
        keys_page(self.application.id, self.key_type, &key_manager.name)
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

    fn base(&self) -> String {
        format!(
            "/applications/{}/keys/{}",
            self.application.id,
            self.key_type.path()
        )
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

/// How a grant type reads on the forms.
pub fn grant_label(grant: &str) -> &str {
    match grant {
        "client_credentials" => "Client credentials",
        "authorization_code" => "Authorization code",
        "refresh_token" => "Refresh token",
        "password" => "Password",
        "urn:ietf:params:oauth:grant-type:jwt-bearer" => "JWT bearer",
        "urn:ietf:params:oauth:grant-type:device_code" => "Device code",
        other => other,
    }
}

fn key_type_of(segment: &str) -> Result<KeyType, AppError> {
    KeyType::from_path(segment).ok_or(AppError::NotFound)
}

#[derive(Deserialize)]
pub struct KeysQuery {
    key_manager: Option<String>,
}

/// `GET /applications/{id}/keys/{key_type}` (`?key_manager=NAME`).
pub async fn show(
    ctx: PageContext,
    SignedIn(viewer): SignedIn,
    keys: Keys,
    path: web::Path<(i64, String)>,
    query: web::Query<KeysQuery>,
) -> Result<HttpResponse, AppError> {
    let (id, key_type) = path.into_inner();
    let key_type = key_type_of(&key_type)?;
    let view = keys
        .view(viewer.id, id, key_type, query.into_inner().key_manager)
        .await?;
    Ok(crate::web::ok(&KeysPage::new(ctx, view)))
}

/// Whose keys tab a request is about.
#[derive(Debug, Clone, Copy)]
struct Target {
    user_id: i64,
    id: i64,
    key_type: KeyType,
}

/// The page again after a refusal: 422 for invalid input, 409 for a conflict; every other
/// error (404, 403, 502, 504) is an error page.
async fn refused(
    ctx: PageContext,
    keys: &Keys,
    target: Target,
    action: KeysAction,
    form: KeysForm,
    error: ServiceError,
) -> Result<HttpResponse, AppError> {
    let Target {
        user_id,
        id,
        key_type,
    } = target;
    let (status, errors) = match error {
        ServiceError::Invalid(errors) => (StatusCode::UNPROCESSABLE_ENTITY, errors),
        ServiceError::Conflict { field, message } => (
            StatusCode::CONFLICT,
            FieldErrors::single(field.unwrap_or("keys"), message),
        ),
        other => return Err(other.into()),
    };
    let named = Some(form.key_manager.clone()).filter(|_| errors.get("key_manager").is_none());
    let view = match keys.view(user_id, id, key_type, named).await {
        Ok(view) => view,
        Err(ServiceError::NotFound) => keys.view(user_id, id, key_type, None).await?,
        Err(other) => return Err(other.into()),
    };
    let page = KeysPage::new(ctx, view).refused(action, form, errors);
    Ok(render(status, &page))
}

/// The keys page right after the keys' secret was made: status 200, `no-store`, shown once.
async fn with_secret(
    ctx: PageContext,
    keys: &Keys,
    target: Target,
    issued: Issued,
) -> Result<HttpResponse, AppError> {
    let view = keys
        .view(
            target.user_id,
            target.id,
            target.key_type,
            Some(issued.key_manager),
        )
        .await?;
    let mut page = KeysPage::new(ctx, view);
    page.secret = issued.consumer_secret.map(|s| SecretView {
        consumer_secret: s.expose_secret().to_string(),
    });
    Ok(crate::web::ok(&page))
}

type KeysPath = web::Path<(i64, String)>;
type Pairs = web::Form<Vec<(String, String)>>;

/// What every keys POST starts from: whose application, which environment, the form.
fn keys_request(
    viewer: &Viewer,
    path: KeysPath,
    pairs: Pairs,
) -> Result<(Target, KeysForm), AppError> {
    let (id, key_type) = path.into_inner();
    let target = Target {
        user_id: viewer.id,
        id,
        key_type: key_type_of(&key_type)?,
    };
    Ok((target, KeysForm::from_pairs(pairs.into_inner())))
}

/// `POST …/keys/{key_type}/generate`.
pub async fn generate(
    ctx: PageContext,
    SignedIn(viewer): SignedIn,
    keys: Keys,
    path: KeysPath,
    pairs: Pairs,
) -> Result<HttpResponse, AppError> {
    let (target, form) = keys_request(&viewer, path, pairs)?;
    let (id, key_type) = (target.id, target.key_type);
    match keys
        .generate(viewer.actor(), id, key_type, form.clone())
        .await
    {
        Ok(issued) => with_secret(ctx, &keys, target, issued).await,
        Err(error) => {
            let action = KeysAction::Generate;
            refused(ctx, &keys, target, action, form, error).await
        }
    }
}

/// `POST …/keys/{key_type}/regenerate-secret`.
pub async fn regenerate_secret(
    ctx: PageContext,
    SignedIn(viewer): SignedIn,
    keys: Keys,
    path: KeysPath,
    pairs: Pairs,
) -> Result<HttpResponse, AppError> {
    let (target, form) = keys_request(&viewer, path, pairs)?;
    let (id, key_type) = (target.id, target.key_type);
    match keys
        .regenerate_secret(viewer.actor(), id, key_type, form.clone())
        .await
    {
        Ok(issued) => with_secret(ctx, &keys, target, issued).await,
        Err(error) => {
            let action = KeysAction::Regenerate;
            refused(ctx, &keys, target, action, form, error).await
        }
    }
}

/// `POST …/keys/{key_type}/token`: the access token is shown this once, with its expiry.
pub async fn token(
    ctx: PageContext,
    SignedIn(viewer): SignedIn,
    keys: Keys,
    path: KeysPath,
    pairs: Pairs,
) -> Result<HttpResponse, AppError> {
    let (target, form) = keys_request(&viewer, path, pairs)?;
    let (id, key_type) = (target.id, target.key_type);
    match keys.token(viewer.actor(), id, key_type, form.clone()).await {
        Ok(IssuedToken { key_manager, token }) => {
            let view = keys
                .view(viewer.id, id, key_type, Some(key_manager))
                .await?;
            let mut page = KeysPage::new(ctx, view);
            page.other.scopes = form.scopes;
            page.other.validity_period = form.validity_period;
            page.token = Some(TokenView {
                access_token: token.access_token.expose_secret().to_string(),
                scope: token.scope,
                expires_in: token.expires_in,
                expires_at: token.expires_at,
            });
            Ok(crate::web::ok(&page))
        }
        Err(error) => {
            let action = KeysAction::Token;
            refused(ctx, &keys, target, action, form, error).await
        }
    }
}

fn keys_page(id: i64, key_type: KeyType, key_manager: &str) -> String {
    format!(
        "/applications/{id}/keys/{}?{}",
        key_type.path(),
        url::form_urlencoded::Serializer::new(String::new())
            .append_pair("key_manager", key_manager)
            .finish()
    )
}

/// `POST …/keys/{key_type}/map`: out-of-band provisioning; 303 back to the keys.
pub async fn map(
    ctx: PageContext,
    SignedIn(viewer): SignedIn,
    session: Session,
    keys: Keys,
    path: KeysPath,
    pairs: Pairs,
) -> Result<HttpResponse, AppError> {
    let (target, form) = keys_request(&viewer, path, pairs)?;
    let (id, key_type) = (target.id, target.key_type);
    match keys.map(viewer.actor(), id, key_type, form.clone()).await {
        Ok(key_manager) => {
            flash(
                &session,
                "success",
                format!(
                    "Your existing OAuth keys are now this application's {} keys.",
                    key_type.label().to_lowercase()
                ),
            );
            Ok(see_other(&keys_page(id, key_type, &key_manager)))
        }
        Err(error) => {
            let action = KeysAction::Map;
            refused(ctx, &keys, target, action, form, error).await
        }
    }
}

/// `POST …/keys/{key_type}/update`: 303 back to the keys.
pub async fn update(
    ctx: PageContext,
    SignedIn(viewer): SignedIn,
    session: Session,
    keys: Keys,
    path: KeysPath,
    pairs: Pairs,
) -> Result<HttpResponse, AppError> {
    let (target, form) = keys_request(&viewer, path, pairs)?;
    let (id, key_type) = (target.id, target.key_type);
    match keys
        .update(viewer.actor(), id, key_type, form.clone())
        .await
    {
        Ok(key_manager) => {
            flash(&session, "success", "The keys were updated.");
            Ok(see_other(&keys_page(id, key_type, &key_manager)))
        }
        Err(error) => {
            let action = KeysAction::Update;
            refused(ctx, &keys, target, action, form, error).await
        }
    }
}

/// `POST …/keys/{key_type}/remove`: 303 back to the (now empty) keys tab.
pub async fn remove(
    ctx: PageContext,
    SignedIn(viewer): SignedIn,
    session: Session,
    keys: Keys,
    path: KeysPath,
    pairs: Pairs,
) -> Result<HttpResponse, AppError> {
    let (target, form) = keys_request(&viewer, path, pairs)?;
    let (id, key_type) = (target.id, target.key_type);
    match keys
        .remove(viewer.actor(), id, key_type, form.clone())
        .await
    {
        Ok((key_manager, mode)) => {
            let message = match mode {
                CreateMode::Created => "The keys were removed and their OAuth client deleted.",
                CreateMode::Mapped => {
                    "The keys were unlinked from this application; the OAuth client itself still exists at its key manager."
                }
            };
            flash(&session, "success", message);
            Ok(see_other(&keys_page(id, key_type, &key_manager)))
        }
        Err(error) => {
            let action = KeysAction::Remove;
            refused(ctx, &keys, target, action, form, error).await
        }
    }
}
