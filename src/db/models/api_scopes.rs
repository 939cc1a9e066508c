//! `api_scopes`: the scopes each API declares, unique by name across APIs, with the roles a
//! person needs to get one in a user token.

use crate::db::DbConnection;
use diesel::prelude::*;

use crate::db::now;
use crate::db::schema::{api_scopes, apis};
use crate::domain::apis::ApiStatus;
use crate::domain::ids::ApiId;

#[derive(Debug, Clone, Queryable, Selectable, PartialEq, Eq)]
#[diesel(table_name = api_scopes)]
pub struct ApiScope {
    pub id: i64,
    pub api_id: ApiId,
    pub name: String,
    pub description: String,
    /// Space-separated role names; empty: anyone.
    pub roles: String,
    pub from_document: bool,
}

/// The scopes `ApiScope::load` reads.
enum Picked<'a> {
    Api(ApiId),
    Name(&'a str),
}

impl ApiScope {
    pub fn role_list(&self) -> Vec<&str> {
        self.roles.split(' ').filter(|r| !r.is_empty()).collect()
    }

    pub fn role_names(&self) -> Vec<String> {
        self.role_list().into_iter().map(str::to_string).collect()
    }

    /// An API's scopes, by name.
    pub fn of_api(conn: &mut DbConnection, api_id: ApiId) -> QueryResult<Vec<ApiScope>> {
        Self::load(conn, Picked::Api(api_id))
    }

    /// The scope of this name, whichever API declares it.
    pub fn find(conn: &mut DbConnection, name: &str) -> QueryResult<Option<ApiScope>> {
        Ok(Self::load(conn, Picked::Name(name))?.pop())
    }

    fn load(conn: &mut DbConnection, picked: Picked) -> QueryResult<Vec<ApiScope>> {
        let query = api_scopes::table.select(ApiScope::as_select()).into_boxed();
        let query = match picked {
            Picked::Api(api_id) => query.filter(api_scopes::api_id.eq(api_id)),
            Picked::Name(name) => query.filter(api_scopes::name.eq(name)),
        };
        query.order(api_scopes::name.asc()).load(conn)
    }

    /// Which of `names` some API declares.
    pub fn known(conn: &mut DbConnection, names: &[&str]) -> QueryResult<Vec<String>> {
        api_scopes::table
            .filter(api_scopes::name.eq_any(names))
            .select(api_scopes::name)
            .load(conn)
    }

    /// The scope names of the APIs in the catalog (published or deprecated), for discovery.
    pub fn listed_names(conn: &mut DbConnection) -> QueryResult<Vec<String>> {
        api_scopes::table
            .inner_join(apis::table)
            .filter(
                apis::status
                    .eq(ApiStatus::Published)
                    .or(apis::status.eq(ApiStatus::Deprecated)),
            )
            .order(api_scopes::name.asc())
            .select(api_scopes::name)
            .load(conn)
    }

    /// Adds the scope to the API, or changes its description and roles when the API has it.
    /// (The caller has made sure no other API declares the name; the unique index stands
    /// behind it.)
    pub fn save(
        conn: &mut DbConnection,
        api_id: ApiId,
        name: &str,
        description: &str,
        roles: &[String],
        from_document: bool,
    ) -> QueryResult<ApiScope> {
        let now = now();
        let roles = roles.join(" ");
        let changed = crate::on_each!(conn, |c| diesel::update(
            api_scopes::table
                .filter(api_scopes::api_id.eq(api_id))
                .filter(api_scopes::name.eq(name)),
        )
        .set((
            api_scopes::description.eq(description),
            api_scopes::roles.eq(&roles),
            api_scopes::updated_at.eq(now),
        ))
        .returning(ApiScope::as_returning())
        .get_result(c))
        .optional()?;
        if let Some(scope) = changed {
            return Ok(scope);
        }
        crate::on_each!(conn, |c| diesel::insert_into(api_scopes::table)
            .values((
                api_scopes::api_id.eq(api_id),
                api_scopes::name.eq(name),
                api_scopes::description.eq(description),
                api_scopes::roles.eq(&roles),
                api_scopes::from_document.eq(from_document),
                api_scopes::created_at.eq(now),
                api_scopes::updated_at.eq(now),
            ))
            .returning(ApiScope::as_returning())
            .get_result(c))
    }

    /// Removes the API's scope of this name; false when it has none.
    pub fn delete(conn: &mut DbConnection, api_id: ApiId, name: &str) -> QueryResult<bool> {
        let removed = diesel::delete(
            api_scopes::table
                .filter(api_scopes::api_id.eq(api_id))
                .filter(api_scopes::name.eq(name)),
        )
        .execute(conn)?;
        Ok(removed == 1)
    }

    /// Makes the API's document-declared scopes exactly `declared` (name, description): new
    /// ones are added, gone ones removed, kept ones take the document's description (their
    /// roles stay). Scopes an administrator added are left alone.
    pub fn replace_from_document(
        conn: &mut DbConnection,
        api_id: ApiId,
        declared: &[(String, String)],
    ) -> QueryResult<()> {
        let names: Vec<&str> = declared.iter().map(|(name, _)| name.as_str()).collect();
        diesel::delete(
            api_scopes::table
                .filter(api_scopes::api_id.eq(api_id))
                .filter(api_scopes::from_document.eq(true))
                .filter(api_scopes::name.ne_all(&names)),
        )
        .execute(conn)?;
        for (name, description) in declared {
            let roles = Self::find(conn, name)?
                .filter(|s| s.api_id == api_id)
                .map(|s| s.role_names())
                .unwrap_or_default();
            Self::save(conn, api_id, name, description, &roles, true)?;
        }
        Ok(())
    }

    /// Of `names`, those another API than `api_id` declares, with that API's name and version.
    pub fn taken_elsewhere(
        conn: &mut DbConnection,
        api_id: Option<ApiId>,
        names: &[&str],
    ) -> QueryResult<Vec<(String, String, String)>> {
        let mut query = api_scopes::table
            .inner_join(apis::table)
            .filter(api_scopes::name.eq_any(names))
            .into_boxed();
        if let Some(api_id) = api_id {
            query = query.filter(api_scopes::api_id.ne(api_id));
        }
        query
            .order(api_scopes::name.asc())
            .select((api_scopes::name, apis::name, apis::version))
            .load(conn)
    }
}
