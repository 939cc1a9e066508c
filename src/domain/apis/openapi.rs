//! The OpenAPI 3 document an API carries: read as JSON or YAML through the bounded reader of
//! `structured_text`, checked for `openapi: 3.x` and `paths`, and its operations listed with
//! the OAuth2 scopes each requires; the scopes its OAuth2 security schemes declare are read too.

use serde_json::{Map, Value};

use super::Operation;
use super::scopes::parse_scope_name;
use crate::domain::structured_text::{ReadError, read_json_or_yaml};

/// The largest OpenAPI document Portico keeps, in bytes (the whole form is capped at 64 KiB).
pub const MAX_OPENAPI_BYTES: usize = 60 * 1024;

/// The HTTP methods an OpenAPI path item can declare operations for, in display order.
const METHODS: &[&str] = &[
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// An OpenAPI 3 document as uploaded, and the operations read from it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenApiDocument {
    pub text: String,
    pub operations: Vec<Operation>,
    /// The scopes the document's OAuth2 security schemes declare: (name, description).
    pub scopes: Vec<(String, String)>,
}

/// The most scopes one document may declare.
const MAX_DOCUMENT_SCOPES: usize = 500;

impl OpenApiDocument {
    /// Parses JSON or YAML text declaring `openapi: "3.x.y"` with a `paths` object.
    pub fn parse(text: &str) -> Result<Self, String> {
        if text.len() > MAX_OPENAPI_BYTES {
            return Err(format!(
                "The OpenAPI document must be at most 60 KiB; this one is {:.1} KiB.",
                text.len() as f64 / 1024.0
            ));
        }
        let document = parse_json_or_yaml(text)?;
        let Some(root) = document.as_object() else {
            return Err(
                "The OpenAPI document must declare openapi 3.x: it must be an object with openapi and paths."
                    .into(),
            );
        };
        match root.get("openapi").and_then(|v| v.as_str()) {
            Some(version) if is_openapi_3(version) => {}
            _ if root.contains_key("swagger") => {
                return Err(
                    "The OpenAPI document must declare openapi 3.x; this is a Swagger 2.0 document: convert it to OpenAPI 3 first."
                        .into(),
                );
            }
            _ => {
                return Err(
                    "The OpenAPI document must declare openapi 3.x (for example openapi: \"3.0.3\")."
                        .into(),
                );
            }
        }
        let Some(paths) = root.get("paths").and_then(|v| v.as_object()) else {
            return Err("The OpenAPI document has no paths: add a paths object.".into());
        };
        let schemes = oauth2_schemes(root);
        let scopes = declared_scopes(root)?;
        let default_security = root.get("security");
        let mut operations = Vec::new();
        for (path, item) in paths {
            // Path items start with "/"; other keys are extensions (x-...).
            if !path.starts_with('/') {
                continue;
            }
            let Some(item) = item.as_object() else {
                return Err(format!(
                    "The OpenAPI document is not valid: the path {} must be an object.",
                    shorten(path, 80)
                ));
            };
            for method in METHODS {
                if let Some(operation) = item.get(*method).and_then(|o| o.as_object()) {
                    operations.push(Operation {
                        method: method.to_ascii_uppercase(),
                        path: path.clone(),
                        summary: operation
                            .get("summary")
                            .and_then(|s| s.as_str())
                            .unwrap_or_default()
                            .to_string(),
                        scopes: required_scopes(
                            operation.get("security").or(default_security),
                            &schemes,
                        ),
                    });
                }
            }
        }
        Ok(Self {
            text: text.to_string(),
            operations,
            scopes,
        })
    }
}

/// The security schemes of `components.securitySchemes`, by name.
fn security_schemes(root: &Map<String, Value>) -> Option<&Map<String, Value>> {
    root.get("components")?.get("securitySchemes")?.as_object()
}

/// The names of the OAuth2 and OpenID Connect security schemes.
fn oauth2_schemes(root: &Map<String, Value>) -> Vec<String> {
    security_schemes(root)
        .into_iter()
        .flatten()
        .filter(|(_, scheme)| {
            matches!(
                scheme.get("type").and_then(Value::as_str),
                Some("oauth2" | "openIdConnect")
            )
        })
        .map(|(name, _)| name.clone())
        .collect()
}

/// The scopes the OAuth2 schemes' flows declare, by name, each name checked; a scope several
/// flows declare keeps the first description (flows in name order).
fn declared_scopes(root: &Map<String, Value>) -> Result<Vec<(String, String)>, String> {
    let mut scopes: Vec<(String, String)> = Vec::new();
    let flows = security_schemes(root)
        .into_iter()
        .flatten()
        .filter(|(_, scheme)| scheme.get("type").and_then(Value::as_str) == Some("oauth2"))
        .filter_map(|(_, scheme)| scheme.get("flows")?.as_object());
    for flow in flows.flat_map(|flows| flows.values()) {
        let Some(declared) = flow.get("scopes").and_then(Value::as_object) else {
            continue;
        };
        for (name, description) in declared {
            let name = parse_scope_name(name).map_err(|why| {
                format!("The OpenAPI document declares a scope Portico cannot use: {why}")
            })?;
            if !scopes.iter().any(|(known, _)| *known == name) {
                let description = description.as_str().unwrap_or_default();
                scopes.push((name, shorten(description.trim(), 500)));
            }
        }
    }
    scopes.sort();
    if scopes.len() > MAX_DOCUMENT_SCOPES {
        return Err(format!(
            "The OpenAPI document declares {} scopes; at most {MAX_DOCUMENT_SCOPES} are kept.",
            scopes.len()
        ));
    }
    Ok(scopes)
}

/// The scopes a security requirement list (an operation's, else the document's) asks of the
/// OAuth2 schemes, without repeats.
fn required_scopes(security: Option<&Value>, schemes: &[String]) -> Vec<String> {
    let mut scopes: Vec<String> = Vec::new();
    let requirements = security.and_then(Value::as_array).into_iter().flatten();
    for requirement in requirements.filter_map(Value::as_object) {
        for (scheme, wanted) in requirement {
            if !schemes.contains(scheme) {
                continue;
            }
            for scope in wanted
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
            {
                if !scopes.iter().any(|s| s == scope) {
                    scopes.push(scope.to_string());
                }
            }
        }
    }
    scopes
}

/// "3.x.y" with x and y decimal numbers.
fn is_openapi_3(version: &str) -> bool {
    let mut parts = version.split('.');
    let numeric =
        |p: Option<&str>| p.is_some_and(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
    parts.next() == Some("3")
        && numeric(parts.next())
        && numeric(parts.next())
        && parts.next().is_none()
}

fn shorten(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_string()
    } else {
        format!("{}…", text.chars().take(max).collect::<String>())
    }
}

/// The parser's message without its own " at line L column C" suffix.
fn bare_message(message: &str) -> String {
    let end = [" at line ", " at position "]
        .iter()
        .filter_map(|marker| message.find(marker))
        .min()
        .unwrap_or(message.len());
    shorten(&message[..end], 160)
}

fn parse_json_or_yaml(text: &str) -> Result<serde_json::Value, String> {
    match read_json_or_yaml(text) {
        Ok(value) => Ok(value),
        Err(ReadError::TooLarge(why)) => {
            Err(format!("The OpenAPI document is too large to read: {why}."))
        }
        Err(ReadError::Syntax {
            line,
            column,
            message,
        }) => {
            let message = bare_message(&message);
            if line == 0 {
                Err(format!(
                    "The OpenAPI document is not valid JSON or YAML ({message})."
                ))
            } else {
                Err(format!(
                    "The OpenAPI document is not valid JSON or YAML (line {line}, column {column}: {message})."
                ))
            }
        }
    }
}
