//! An API's scopes, as an administrator adds, edits and removes them. Each change is audited;
//! the next token, refresh or introspection sees it (the client cache is emptied by every
//! state-changing request).

use crate::db::models::api_scopes::ApiScope;
use crate::db::models::apis::Api;
use crate::db::models::audit_events::Actor;
use crate::db::{self, DbPool, is_unique_violation};
use crate::domain::apis::{ScopeForm, ScopeInput};
use crate::domain::ids::ApiId;
use crate::services::{ServiceError, ServiceResult, audited, subject};

/// The API and its scopes, by name.
pub async fn of_api(pool: &DbPool, api_id: ApiId) -> ServiceResult<(Api, Vec<ApiScope>)> {
    db::run(pool, move |conn| {
        let api = Api::find(conn, api_id)?.ok_or(ServiceError::NotFound)?;
        Ok((api, ApiScope::of_api(conn, api_id)?))
    })
    .await
}

/// Adds the scope to the API, or changes the description and roles of the API's scope of that
/// name. A name another API declares is refused.
pub async fn save(
    pool: &DbPool,
    actor: Actor,
    api_id: ApiId,
    form: ScopeForm,
) -> ServiceResult<ApiScope> {
    let input = ScopeInput::parse(&form).map_err(ServiceError::Invalid)?;
    let about = subject("api", Some(api_id.get()));
    audited(pool, &actor, "update", about, move |conn, _| {
        let api = Api::find(conn, api_id)?.ok_or(ServiceError::NotFound)?;
        let existing = ApiScope::find(conn, &input.name)?;
        if let Some(other) = existing.as_ref().filter(|s| s.api_id != api_id) {
            let owner = Api::find(conn, other.api_id)?
                .map(|a| format!("{} {}", a.name, a.version))
                .unwrap_or_default();
            return Err(taken(&input.name, &owner));
        }
        let from_document = existing.as_ref().is_some_and(|s| s.from_document);
        let scope = ApiScope::save(
            conn,
            api_id,
            &input.name,
            &input.description,
            &input.roles,
            from_document,
        )
        .map_err(|e| {
            if is_unique_violation(&e) {
                taken(&input.name, "another API")
            } else {
                e.into()
            }
        })?;
        let verb = if existing.is_some() {
            "Changed"
        } else {
            "Added"
        };
        let roles = if input.roles.is_empty() {
            "any role".to_string()
        } else {
            format!("roles {}", input.roles.join(", "))
        };
        let summary = format!(
            "{verb} the scope {} of API {} {} ({roles})",
            scope.name, api.name, api.version
        );
        Ok((scope, summary))
    })
    .await
}

fn taken(name: &str, owner: &str) -> ServiceError {
    ServiceError::taken(
        "name",
        format!(
            "The scope {name} is already declared by {owner}; scope names are unique across APIs."
        ),
    )
}

/// Removes the API's scope of this name: tokens asking for it from now on get `invalid_scope`,
/// and tokens that carry it lose it at their next refresh or introspection.
pub async fn remove(pool: &DbPool, actor: Actor, api_id: ApiId, name: String) -> ServiceResult<()> {
    let about = subject("api", Some(api_id.get()));
    audited(pool, &actor, "update", about, move |conn, _| {
        let api = Api::find(conn, api_id)?.ok_or(ServiceError::NotFound)?;
        if !ApiScope::delete(conn, api_id, &name)? {
            return Err(ServiceError::NotFound);
        }
        let summary = format!(
            "Removed the scope {name} of API {} {}",
            api.name, api.version
        );
        Ok(((), summary))
    })
    .await
}
