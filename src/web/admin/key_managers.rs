//! `/admin/key-managers`: the list (resident first, with how many application keys each
//! holds), the form drawn from the type's connector fields, create, edit, enable, disable and
//! delete (refused for the resident key manager and while application keys use one).

use crate::domain::ids::KeyManagerId;
use crate::web::OnObject;
use crate::web::SignedInRequest;
use std::sync::Arc;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use crate::config::Settings;
use crate::db::DbPool;
use crate::db::models::key_managers::{KeyManagerRow, KeyUser};
use crate::domain::FieldErrors;
use crate::domain::key_managers::{ENDPOINTS, KeyManagerForm};
use crate::domain::keys::KeyManagerKind;
use crate::domain::oauth::GrantType;
use crate::error::AppError;
use crate::key_managers::{ConnectorField, connector_fields, discovery};
use crate::security::secret_box::SecretBox;
use crate::services::key_managers::{
    self, KeyManagerEntry, KeyManagerSettings, connector_config, stored_secret_names,
};
use crate::web::admin::{InUse, delete_answer};
use crate::web::{PageContext, Url, form_answer, ok, render, success};

#[derive(Template)]
#[template(path = "admin/key_managers/list.html")]
struct ListPage {
    ctx: PageContext,
    entries: Vec<KeyManagerEntry>,
    problem: String,
    /// The applications (and owners) that keep a key manager from being deleted.
    users: Vec<KeyUser>,
}

#[cfg(test)]
mod render_test;

#[derive(Template)]
#[template(path = "admin/key_managers/form.html")]
struct FormPage {
    ctx: PageContext,
    form: KeyManagerForm,
    errors: FieldErrors,
    kind: KeyManagerKind,
    /// The key manager being edited; `None` on the new form.
    current: Option<KeyManagerEntry>,
    /// Masked connector fields that have a stored value (shown as a placeholder).
    stored_secrets: Vec<String>,
    /// The resident key manager's endpoints (read-only), derived from the public URL.
    resident_endpoints: Vec<(&'static str, String)>,
    /// After a well-known import: what it filled in, for the administrator to check.
    filled: Vec<String>,
}

impl FormPage {
    /// The form for a new key manager of `kind`, with `form`'s values (masked ones dropped).
    fn new_key_manager(
        ctx: PageContext,
        kind: KeyManagerKind,
        form: KeyManagerForm,
        errors: FieldErrors,
    ) -> Self {
        Self {
            ctx,
            form: form.without_secrets(kind),
            errors,
            kind,
            current: None,
            stored_secrets: Vec::new(),
            resident_endpoints: Vec::new(),
            filled: Vec::new(),
        }
    }

    fn fields(&self) -> &'static [ConnectorField] {
        connector_fields(self.kind)
    }
    fn endpoints(&self) -> &'static [(&'static str, &'static str)] {
        ENDPOINTS
    }
    fn grant_types(&self) -> Vec<&'static str> {
        GrantType::ALL.iter().map(GrantType::as_str).collect()
    }
    fn is_resident(&self) -> bool {
        self.kind == KeyManagerKind::Resident
    }
    /// How many applications' keys come from this key manager, in words.
    fn usage(&self) -> String {
        match self.current.as_ref().map_or(0, |entry| entry.keys) {
            0 => "not used by any application keys yet".to_string(),
            1 => "used by 1 set of application keys".to_string(),
            n => format!("used by {n} sets of application keys"),
        }
    }
    fn has_stored(&self, name: &str) -> bool {
        self.stored_secrets.iter().any(|s| s == name)
    }
}

fn resident_endpoints(settings: &Settings) -> Vec<(&'static str, String)> {
    let base = settings.base_url();
    vec![
        ("Issuer", base.clone()),
        (
            "Discovery",
            format!("{base}/.well-known/openid-configuration"),
        ),
        ("Token endpoint", format!("{base}/oauth2/token")),
        ("Authorize endpoint", format!("{base}/oauth2/authorize")),
        (
            "Introspection endpoint",
            format!("{base}/oauth2/introspect"),
        ),
        ("Revoke endpoint", format!("{base}/oauth2/revoke")),
        ("UserInfo endpoint", format!("{base}/oauth2/userinfo")),
        ("JWKS", format!("{base}/oauth2/jwks")),
    ]
}

fn secret_box(settings: &Settings) -> Arc<SecretBox> {
    Arc::new(SecretBox::new(&settings.secret_key))
}

/// `GET /admin/key-managers`.
pub async fn list(ctx: PageContext, pool: web::Data<DbPool>) -> Result<HttpResponse, AppError> {
    let entries = key_managers::overview(&pool).await?;
    Ok(ok(&ListPage {
        ctx,
        entries,
        problem: String::new(),
        users: Vec::new(),
    }))
}

#[derive(Deserialize)]
pub struct NewQuery {
    #[serde(rename = "type")]
    kind: Option<String>,
}

/// `GET /admin/key-managers/new?type=dcr|fs|auth0`.
pub async fn new_form(ctx: PageContext, query: web::Query<NewQuery>) -> HttpResponse {
    let kind = query
        .kind
        .as_deref()
        .and_then(|k| k.parse().ok())
        .filter(|k| *k != KeyManagerKind::Resident)
        .unwrap_or(KeyManagerKind::Dcr);
    let form = KeyManagerForm::blank(kind);
    ok(&FormPage::new_key_manager(
        ctx,
        kind,
        form,
        FieldErrors::new(),
    ))
}

/// The kind a new key manager's form is for: any but the resident one (made at start).
fn new_kind(form: &KeyManagerForm) -> KeyManagerKind {
    match form.kind() {
        KeyManagerKind::Resident => KeyManagerKind::Dcr,
        kind => kind,
    }
}

type Pairs = web::Form<Vec<(String, String)>>;

/// `POST /admin/key-managers`.
pub async fn create(
    ctx: PageContext,
    post: SignedInRequest,
    settings: web::Data<Settings>,
    pairs: Pairs,
) -> Result<HttpResponse, AppError> {
    let (admin, session, pool) = post.into_parts();
    let form = KeyManagerForm::from_pairs(pairs.into_inner());
    let km_settings = KeyManagerSettings::of(&settings);
    let result = key_managers::create(&pool, km_settings, admin.actor(), form.clone()).await;
    let done = |row: KeyManagerRow| {
        let message = format!("The key manager {} was created.", row.name);
        success(&session, Url::KeyManager(row.id), message)
    };
    let again = async |errors| {
        Ok(FormPage::new_key_manager(
            ctx,
            new_kind(&form),
            form,
            errors,
        ))
    };
    form_answer(result, done, again).await
}

fn edit_page(
    ctx: PageContext,
    settings: &Settings,
    entry: KeyManagerEntry,
    form: Option<KeyManagerForm>,
    errors: FieldErrors,
) -> FormPage {
    let row = &entry.key_manager;
    let kind = row.kind;
    let form = form.unwrap_or_else(|| {
        KeyManagerForm::of_config(
            kind,
            &row.display_name,
            &row.description,
            row.enabled,
            row.issuer.as_deref(),
            &row.config().unwrap_or_default(),
            &connector_config(row),
        )
    });
    let mut form = form.without_secrets(kind);
    form.set("name", &row.name);
    form.set("type", kind.as_str());
    FormPage {
        ctx,
        form,
        errors,
        kind,
        stored_secrets: stored_secret_names(&secret_box(settings), row),
        resident_endpoints: if kind == KeyManagerKind::Resident {
            resident_endpoints(settings)
        } else {
            Vec::new()
        },
        current: Some(entry),
        filled: Vec::new(),
    }
}

/// `GET /admin/key-managers/{id}`.
pub async fn edit(
    ctx: PageContext,
    pool: web::Data<DbPool>,
    settings: web::Data<Settings>,
    path: web::Path<KeyManagerId>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let entry = key_managers::find(&pool, id).await?;
    Ok(ok(&edit_page(
        ctx,
        &settings,
        entry,
        None,
        FieldErrors::new(),
    )))
}

/// `POST /admin/key-managers/{id}`: name and type are fixed.
pub async fn update(
    ctx: PageContext,
    post: OnObject<KeyManagerId>,
    settings: web::Data<Settings>,
    pairs: Pairs,
) -> Result<HttpResponse, AppError> {
    let (admin, session, pool, id) = post.into_parts();
    let form = KeyManagerForm::from_pairs(pairs.into_inner());
    let km_settings = KeyManagerSettings::of(&settings);
    let result = key_managers::update(&pool, km_settings, admin.actor(), id, form.clone()).await;
    let done = |row: KeyManagerRow| {
        let message = format!("The key manager {} was saved.", row.name);
        success(&session, Url::KeyManager(id), message)
    };
    let again = async |errors| {
        let entry = key_managers::find(&pool, id).await?;
        Ok(edit_page(ctx, &settings, entry, Some(form), errors))
    };
    form_answer(result, done, again).await
}

async fn switch(post: OnObject<KeyManagerId>, enabled: bool) -> Result<HttpResponse, AppError> {
    let (admin, session, pool, id) = post.into_parts();
    let row = key_managers::set_enabled(&pool, admin.actor(), id, enabled).await?;
    let state = if enabled { "enabled" } else { "disabled" };
    let message = format!("The key manager {} is {state}.", row.name);
    Ok(success(&session, Url::KeyManagers, message))
}

/// `POST /admin/key-managers/{id}/enable`.
pub async fn enable(post: OnObject<KeyManagerId>) -> Result<HttpResponse, AppError> {
    switch(post, true).await
}

/// `POST /admin/key-managers/{id}/disable`.
pub async fn disable(post: OnObject<KeyManagerId>) -> Result<HttpResponse, AppError> {
    switch(post, false).await
}

/// `POST /admin/key-managers/{id}/delete`: 409 for the resident key manager, and while
/// application keys use it (with those applications and their owners).
pub async fn delete(
    ctx: PageContext,
    post: OnObject<KeyManagerId>,
) -> Result<HttpResponse, AppError> {
    let (admin, session, pool, id) = post.into_parts();
    let result = key_managers::delete(&pool, admin.actor(), id).await;
    let done = |row: KeyManagerRow| {
        let message = format!("The key manager {} was deleted.", row.name);
        success(&session, Url::KeyManagers, message)
    };
    let again = async |InUse { problem, users }| {
        let entries = key_managers::overview(&pool).await?;
        Ok(ListPage {
            ctx,
            entries,
            problem,
            users,
        })
    };
    delete_answer(result, done, again).await
}

/// `POST /admin/key-managers/discover`: fills the new-key-manager form from the well-known
/// document at `well_known_url` (200), or shows why it could not (422 on `well_known_url`). The
/// other fields are kept, masked ones excepted.
pub async fn discover(
    ctx: PageContext,
    settings: web::Data<Settings>,
    pairs: Pairs,
) -> HttpResponse {
    let mut form = KeyManagerForm::from_pairs(pairs.into_inner());
    let kind = new_kind(&form);
    form.set("type", kind.as_str());
    let url = form.get("well_known_url").to_string();
    let (status, errors, filled) =
        match discovery::discover(&url, settings.allow_private_km_urls).await {
            Ok(found) => (StatusCode::OK, FieldErrors::new(), fill(&mut form, found)),
            Err(message) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                FieldErrors::single("well_known_url", message),
                Vec::new(),
            ),
        };
    let page = FormPage {
        filled,
        ..FormPage::new_key_manager(ctx, kind, form, errors)
    };
    render(status, &page)
}

/// Fills the form from a discovery document and says what it filled. Grant types are ticked
/// only among those Portico offers by default: never `implicit` or `password`, which RFC 9700
/// says not to use (an administrator may still tick them).
fn fill(form: &mut KeyManagerForm, found: discovery::Discovered) -> Vec<String> {
    let mut filled = vec![format!("issuer {}", found.issuer)];
    form.set("issuer", &found.issuer);
    for (field, value) in [
        ("token_endpoint", found.token_endpoint),
        ("authorize_endpoint", found.authorization_endpoint),
        ("introspection_endpoint", found.introspection_endpoint),
        ("revoke_endpoint", found.revocation_endpoint),
        ("userinfo_endpoint", found.userinfo_endpoint),
        ("client_registration_endpoint", found.registration_endpoint),
    ] {
        if let Some(value) = value {
            filled.push(format!("{} {value}", field.replace('_', " ")));
            form.set(field, &value);
        }
    }
    form.set("certificate_type", "JWKS");
    form.set("certificate_value", &found.jwks_uri);
    filled.push(format!("JWKS {}", found.jwks_uri));
    let known: Vec<String> = found
        .grant_types
        .into_iter()
        .filter(|g| g.parse::<GrantType>().is_ok() && !NOT_BY_DEFAULT.contains(&g.as_str()))
        .collect();
    if !known.is_empty() {
        filled.push(format!("grant types {}", known.join(", ")));
        form.grant_types = known;
    }
    filled
}

/// Grant types a discovery document may list that are never ticked for the administrator.
const NOT_BY_DEFAULT: &[&str] = &["implicit", "password"];
