//! `/admin/apis/{id}/scopes`: an API's scopes, the form that adds one or changes one (the same
//! form, by name; `?scope=NAME` fills it with that scope) and their removal. Refusals come back
//! on this page, by the form, with the values kept.

use actix_web::{HttpResponse, web};
use askama::Template;

use crate::db::DbPool;
use crate::db::models::api_scopes::ApiScope;
use crate::db::models::apis::Api;
use crate::domain::FieldErrors;
use crate::domain::apis::ScopeForm;
use crate::domain::ids::ApiId;
use crate::error::AppError;
use crate::services::api_scopes;
use crate::web::{OnObject, PageContext, SignedInRequest, Url, form_answer, ok, success};

#[derive(Template)]
#[template(path = "admin/apis/scopes.html")]
struct ScopesPage {
    ctx: PageContext,
    api: Api,
    scopes: Vec<ApiScope>,
    form: ScopeForm,
    errors: FieldErrors,
}

impl ScopesPage {
    /// Whether the form changes a scope the API has (rather than adding one).
    fn editing(&self) -> bool {
        self.scopes.iter().any(|s| s.name == self.form.name.trim())
    }

    /// The path that removes the scope `name` (the name percent-encoded).
    fn delete_path(&self, name: &str) -> String {
        delete_path(self.api.id, name)
    }
}

/// The path that removes the API's scope `name` (the name percent-encoded).
pub fn delete_path(id: ApiId, name: &str) -> String {
    let name: String = url::form_urlencoded::byte_serialize(name.as_bytes()).collect();
    format!("{}/{name}/delete", Url::AdminApiScopes(id))
}

#[derive(Debug, serde::Deserialize)]
pub struct PageQuery {
    scope: Option<String>,
}

/// `GET /admin/apis/{id}/scopes`.
pub async fn page(
    ctx: PageContext,
    pool: web::Data<DbPool>,
    path: web::Path<ApiId>,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, AppError> {
    let (api, scopes) = api_scopes::of_api(&pool, path.into_inner()).await?;
    let form = scopes
        .iter()
        .find(|s| Some(&s.name) == query.scope.as_ref())
        .map(|s| ScopeForm {
            name: s.name.clone(),
            description: s.description.clone(),
            roles: s.role_list().join(", "),
        })
        .unwrap_or_default();
    let errors = FieldErrors::new();
    Ok(ok(&ScopesPage {
        ctx,
        api,
        scopes,
        form,
        errors,
    }))
}

/// `POST /admin/apis/{id}/scopes`: 303 back to the scopes page.
pub async fn save(
    ctx: PageContext,
    post: OnObject<ApiId>,
    form: web::Form<ScopeForm>,
) -> Result<HttpResponse, AppError> {
    let (admin, session, pool, id) = post.into_parts();
    let form = form.into_inner();
    let result = api_scopes::save(&pool, admin.actor(), id, form.clone()).await;
    let done = |scope: ApiScope| {
        let message = format!("The scope {} was saved.", scope.name);
        success(&session, Url::AdminApiScopes(id), message)
    };
    let again = async |errors| {
        let (api, scopes) = api_scopes::of_api(&pool, id).await?;
        Ok(ScopesPage {
            ctx,
            api,
            scopes,
            form,
            errors,
        })
    };
    form_answer(result, done, again).await
}

/// `POST /admin/apis/{id}/scopes/{scope}/delete`: 303 back to the scopes page.
pub async fn delete(
    post: SignedInRequest,
    path: web::Path<(ApiId, String)>,
) -> Result<HttpResponse, AppError> {
    let (admin, session, pool) = post.into_parts();
    let (id, name) = path.into_inner();
    api_scopes::remove(&pool, admin.actor(), id, name.clone()).await?;
    let message = format!("The scope {name} was removed.");
    Ok(success(&session, Url::AdminApiScopes(id), message))
}

#[cfg(test)]
mod tests {
    use actix_web::dev::ResourceDef;

    use super::*;

    #[test]
    fn the_delete_path_is_a_route_of_the_table() {
        let path = delete_path(ApiId(7), "pets:write/all");
        assert_eq!(path, "/admin/apis/7/scopes/pets%3Awrite%2Fall/delete");
        let pattern = "/admin/apis/{id}/scopes/{scope}/delete";
        assert!(crate::startup::ROUTES.iter().any(|r| r.path == pattern));
        assert!(ResourceDef::new(pattern).is_match(&path));
    }
}
