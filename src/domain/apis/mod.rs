//! APIs in the catalog and their lifecycle; the API form and its rules. The OpenAPI document an
//! API carries is read in `openapi`.

mod openapi;
pub mod scopes;
#[cfg(test)]
mod tests;

pub use openapi::{MAX_OPENAPI_BYTES, OpenApiDocument};
pub use scopes::{ScopeForm, ScopeInput};

use super::{FieldErrors, text};
use crate::text_enum;

text_enum! {
    /// CREATED → PUBLISHED → DEPRECATED → RETIRED. Published APIs take subscriptions; deprecated
    /// ones keep their subscriptions but take no new ones; retired ones leave the catalog.
    pub enum ApiStatus { Created = "CREATED", Published = "PUBLISHED", Deprecated = "DEPRECATED", Retired = "RETIRED" }
}

impl ApiStatus {
    /// Shown in the catalog.
    pub fn is_listed(&self) -> bool {
        matches!(self, ApiStatus::Published | ApiStatus::Deprecated)
    }

    /// Accepts new subscriptions.
    pub fn is_subscribable(&self) -> bool {
        *self == ApiStatus::Published
    }
}

/// One operation of an API, as its OpenAPI document declares it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Operation {
    pub method: String,
    pub path: String,
    pub summary: String,
    /// The OAuth2 scopes the operation requires (its security requirements).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scopes: Vec<String>,
}

impl ApiStatus {
    /// Whether an API in this status may move to `next` (staying put is always allowed).
    pub fn can_become(self, next: ApiStatus) -> bool {
        use ApiStatus::*;
        self == next
            || matches!(
                (self, next),
                (Created, Published)
                    | (Created, Retired)
                    | (Published, Deprecated)
                    | (Published, Retired)
                    | (Deprecated, Published)
                    | (Deprecated, Retired)
            )
    }

    /// The lifecycle rule, in words an administrator can act on.
    pub fn check_transition(self, next: ApiStatus) -> Result<(), String> {
        if self.can_become(next) {
            Ok(())
        } else if self == ApiStatus::Retired {
            Err("A RETIRED API cannot change status: retiring is final.".into())
        } else if next == ApiStatus::Created {
            Err(format!("An API cannot go from {self} back to CREATED."))
        } else {
            Err(format!("An API cannot go from {self} to {next}."))
        }
    }

    /// The statuses an API in this status may be given (itself first).
    pub fn choices(self) -> Vec<ApiStatus> {
        ApiStatus::ALL
            .iter()
            .copied()
            .filter(|next| self.can_become(*next))
            .collect()
    }

    /// A new API starts unpublished or published.
    pub const INITIAL: &'static [ApiStatus] = &[ApiStatus::Created, ApiStatus::Published];
}

/// What the API form sends. Tiers repeat (`tiers=Bronze&tiers=Gold`); check boxes send `true`.
#[derive(Debug, Clone, Default)]
pub struct ApiForm {
    pub name: String,
    pub version: String,
    pub context: String,
    pub description: String,
    pub tiers: Vec<String>,
    pub status: String,
    pub openapi_document: String,
    pub remove_openapi_document: Option<String>,
    /// Empty: the default (public URL + context).
    pub resource_identifier: String,
    /// `openapi_document` read by `read_document`, before any database work.
    pub read_document: Option<Result<OpenApiDocument, String>>,
}

impl ApiForm {
    /// The empty form of a new API.
    pub fn blank() -> Self {
        Self {
            status: ApiStatus::Created.as_str().to_string(),
            ..Self::default()
        }
    }

    /// Reads the decoded form pairs; unknown fields are ignored, a repeated single field keeps
    /// its last value.
    pub fn from_pairs(pairs: Vec<(String, String)>) -> Self {
        let mut form = Self::default();
        for (key, value) in pairs {
            match key.as_str() {
                "name" => form.name = value,
                "version" => form.version = value,
                "context" => form.context = value,
                "description" => form.description = value,
                "tiers" => form.tiers.push(value),
                "status" => form.status = value,
                "openapi_document" => form.openapi_document = value,
                "remove_openapi_document" => form.remove_openapi_document = Some(value),
                "resource_identifier" => form.resource_identifier = value,
                _ => {}
            }
        }
        form
    }

    /// Reads the OpenAPI document (CPU work within the limits of `structured_text`), so that
    /// validation inside a write transaction does not parse it again.
    pub fn read_document(&mut self) {
        if !self.openapi_document.trim().is_empty() {
            self.read_document = Some(OpenApiDocument::parse(&self.openapi_document));
        }
    }

    pub fn has_tier(&self, name: &str) -> bool {
        self.tiers.iter().any(|t| t == name)
    }

    pub fn remove_ticked(&self) -> bool {
        self.remove_openapi_document.as_deref() == Some("true")
    }
}

/// A version: 1–30 of `[A-Za-z0-9._-]`.
pub fn parse_version(value: &str) -> Result<String, String> {
    text::identifier(value, "Version", 30, text::DOTS_HYPHENS_UNDERSCORES)
}

/// A context, the base path gateways route on: `/` then 1–199 of `[A-Za-z0-9/_.{}-]`, without
/// empty, `.` or `..` segments and without a trailing `/`.
pub fn parse_context(value: &str) -> Result<String, String> {
    let value = value.trim();
    if value.is_empty() {
        return Err("Context is required.".into());
    }
    if !value.starts_with('/') {
        return Err("Context must start with /, like /payments.".into());
    }
    if !(2..=200).contains(&value.chars().count()) {
        return Err("Context must be 2 to 200 characters long.".into());
    }
    if !value
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '/' | '_' | '.' | '{' | '}' | '-'))
    {
        return Err(
            "Context may contain only letters, digits and the characters / _ . { } -.".into(),
        );
    }
    if value.contains("//") {
        return Err("Context must not contain //.".into());
    }
    if value.ends_with('/') {
        return Err("Context must not end with /.".into());
    }
    if value
        .split('/')
        .any(|segment| segment == "." || segment == "..")
    {
        return Err("Context must not contain . or .. segments.".into());
    }
    Ok(value.to_string())
}

/// The tier names chosen, without repeats: at least one, each one of `known` (the names of
/// the subscription policies).
fn parse_tiers(values: &[String], known: &[String]) -> Result<Vec<String>, String> {
    let mut tiers: Vec<String> = Vec::new();
    for value in values {
        let value = value.trim();
        if value.is_empty() {
            continue;
        }
        // Not echoed back: an arbitrary value could carry invisible or direction-changing text.
        let name = super::policies::parse_name(value)
            .map_err(|_| "Choose the tiers from the list of subscription policies.".to_string())?;
        if !tiers.contains(&name) {
            tiers.push(name);
        }
    }
    if tiers.is_empty() {
        return Err("Choose at least one subscription tier.".into());
    }
    let unknown: Vec<&str> = tiers
        .iter()
        .filter(|t| !known.contains(t))
        .map(String::as_str)
        .collect();
    if !unknown.is_empty() {
        return Err(format!(
            "Not a subscription policy: {}. Choose the tiers from the list.",
            unknown.join(", ")
        ));
    }
    Ok(tiers)
}

fn parse_status(value: &str) -> Result<ApiStatus, String> {
    value
        .trim()
        .parse()
        .map_err(|_| "Choose a status: CREATED, PUBLISHED, DEPRECATED or RETIRED.".to_string())
}

/// What happens to the stored OpenAPI document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DocumentChange {
    /// Nothing sent: keep what is stored (none, for a new API).
    Keep,
    Remove,
    Replace(OpenApiDocument),
}

/// A validated API form (for a new API or changes to one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiInput {
    pub name: String,
    pub version: String,
    pub context: String,
    pub description: String,
    pub tiers: Vec<String>,
    pub status: ApiStatus,
    pub document: DocumentChange,
    /// The resource identifier an administrator set; `None`: the default.
    pub resource_identifier: Option<String>,
}

impl ApiInput {
    /// Validates a new API: it starts as CREATED or PUBLISHED; `known_tiers` are the names of
    /// the subscription policies.
    pub fn parse_new(form: &ApiForm, known_tiers: &[String]) -> Result<Self, FieldErrors> {
        let initial = |status: ApiStatus| {
            if ApiStatus::INITIAL.contains(&status) {
                Ok(())
            } else {
                Err("A new API starts as CREATED or PUBLISHED.".to_string())
            }
        };
        let input = Self::parse(form, known_tiers, initial)?;
        Ok(Self {
            // A new API has no document to remove.
            document: match input.document {
                DocumentChange::Remove => DocumentChange::Keep,
                other => other,
            },
            ..input
        })
    }

    /// Validates changes to an API whose status is `current` (the lifecycle rule applies).
    pub fn parse_update(
        form: &ApiForm,
        current: ApiStatus,
        known_tiers: &[String],
    ) -> Result<Self, FieldErrors> {
        Self::parse(form, known_tiers, |next| current.check_transition(next))
    }

    /// Checks every field at once, so the administrator sees all problems together.
    fn parse(
        form: &ApiForm,
        known_tiers: &[String],
        status_rule: impl Fn(ApiStatus) -> Result<(), String>,
    ) -> Result<Self, FieldErrors> {
        let mut errors = FieldErrors::new();
        match Self::collect(form, known_tiers, status_rule, &mut errors) {
            Some(input) if errors.is_empty() => Ok(input),
            _ => Err(errors),
        }
    }

    fn collect(
        form: &ApiForm,
        known_tiers: &[String],
        status_rule: impl Fn(ApiStatus) -> Result<(), String>,
        errors: &mut FieldErrors,
    ) -> Option<Self> {
        let name = errors.check("name", text::required_line(&form.name, "Name", 100));
        let version = errors.check("version", parse_version(&form.version));
        let context = errors.check("context", parse_context(&form.context));
        let description = errors.check(
            "description",
            text::optional_text(&form.description, "Description", 2000),
        );
        let tiers = errors.check("tiers", parse_tiers(&form.tiers, known_tiers));
        let resource_identifier = errors.check(
            "resource_identifier",
            scopes::parse_resource_identifier(&form.resource_identifier),
        );
        let status = errors.check(
            "status",
            parse_status(&form.status).and_then(|status| status_rule(status).map(|()| status)),
        );
        let remove = match form.remove_openapi_document.as_deref() {
            None | Some("") | Some("false") => Some(false),
            Some("true") => Some(true),
            Some(_) => {
                errors.add(
                    "remove_openapi_document",
                    "Remove the OpenAPI document is a check box: send true or nothing.",
                );
                None
            }
        };
        let document = if form.openapi_document.trim().is_empty() {
            remove.map(|remove| {
                if remove {
                    DocumentChange::Remove
                } else {
                    DocumentChange::Keep
                }
            })
        } else if remove == Some(true) {
            errors.add(
                "remove_openapi_document",
                "Either paste a new OpenAPI document or remove the current one, not both.",
            );
            None
        } else {
            errors
                .check(
                    "openapi_document",
                    form.read_document
                        .clone()
                        .unwrap_or_else(|| OpenApiDocument::parse(&form.openapi_document)),
                )
                .map(DocumentChange::Replace)
        };
        Some(Self {
            name: name?,
            version: version?,
            context: context?,
            description: description?,
            tiers: tiers?,
            status: status?,
            document: document?,
            resource_identifier: resource_identifier?,
        })
    }
}
