//! `apis` and `api_tiers`: the API catalog.

use crate::db::DbConnection;
use crate::domain::ids::ApiId;
use diesel::prelude::*;

use diesel::dsl::count;

use crate::db::models::throttling_policies::ThrottlingPolicy;
use crate::db::now;
use crate::db::schema::{api_tiers, apis, subscriptions, throttling_policies};
use crate::domain::apis::scopes::resource_identifier;
use crate::domain::apis::{ApiStatus, Operation};

#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = apis)]
pub struct Api {
    pub id: ApiId,
    pub name: String,
    pub version: String,
    pub context: String,
    pub description: String,
    pub status: ApiStatus,
    pub openapi_document: Option<String>,
    pub operations: String,
    pub created_at: i64,
    pub updated_at: i64,
    pub resource_identifier: Option<String>,
}

/// A catalog entry without the (possibly large) OpenAPI document.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = apis)]
pub struct ApiSummary {
    pub id: ApiId,
    pub name: String,
    pub version: String,
    pub context: String,
    pub description: String,
    pub status: ApiStatus,
}

/// A row of the admin's API list.
#[derive(Debug, Clone)]
pub struct AdminApiRow {
    pub api: ApiSummary,
    pub subscriptions: i64,
}

/// The stored fields of an API, as the admin form sets them.
#[derive(Debug, Clone, Copy, Insertable, AsChangeset)]
#[diesel(table_name = apis, treat_none_as_null = true)]
pub struct ApiFields<'a> {
    pub name: &'a str,
    pub version: &'a str,
    pub context: &'a str,
    pub description: &'a str,
    pub status: ApiStatus,
    pub resource_identifier: Option<&'a str>,
}

/// What no two APIs share.
#[derive(Debug, Clone, Copy)]
pub enum Unique<'a> {
    NameVersion(&'a str, &'a str),
    Context(&'a str),
    Resource(&'a str),
}

/// Escapes `%`, `_` and `\` so that user text matches literally inside LIKE.
pub fn like_pattern(text: &str) -> String {
    let escaped = text
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    format!("%{escaped}%")
}

diesel::define_sql_function! {
    /// The text in lower case (SQL's `lower`, on both backends).
    fn lower(text: diesel::sql_types::Text) -> diesel::sql_types::Text;
}

impl Api {
    pub fn operations(&self) -> Vec<Operation> {
        serde_json::from_str(&self.operations).unwrap_or_default()
    }

    /// The API's resource identifier (its tokens' audience) under the public URL `base`.
    pub fn resource(&self, base: &str) -> String {
        resource_identifier(base, &self.context, self.resource_identifier.as_deref())
    }

    pub fn find(conn: &mut DbConnection, id: ApiId) -> QueryResult<Option<Api>> {
        apis::table
            .find(id)
            .select(Api::as_select())
            .first(conn)
            .optional()
    }

    /// The subscription tiers this API allows, by name.
    pub fn tiers(conn: &mut DbConnection, api_id: ApiId) -> QueryResult<Vec<ThrottlingPolicy>> {
        api_tiers::table
            .inner_join(throttling_policies::table)
            .filter(api_tiers::api_id.eq(api_id))
            .order(throttling_policies::name.asc())
            .select(ThrottlingPolicy::as_select())
            .load(conn)
    }

    /// Published and deprecated APIs whose name, context or description contains `query`.
    pub fn catalog_page(
        conn: &mut DbConnection,
        query: &str,
        offset: i64,
        limit: i64,
    ) -> QueryResult<(Vec<ApiSummary>, i64)> {
        // Folded on both sides: SQLite's LIKE ignores ASCII case, PostgreSQL's does not.
        let pattern = like_pattern(&query.trim().to_lowercase());
        // Two `eq`s rather than `eq_any`: a fixed statement diesel can keep prepared (an `IN`
        // list is prepared again at every call).
        let matches = || {
            apis::table
                .filter(
                    apis::status
                        .eq(ApiStatus::Published)
                        .or(apis::status.eq(ApiStatus::Deprecated)),
                )
                .filter(
                    lower(apis::name)
                        .like(pattern.clone())
                        .escape('\\')
                        .or(lower(apis::context).like(pattern.clone()).escape('\\'))
                        .or(lower(apis::description).like(pattern.clone()).escape('\\')),
                )
        };
        let total = matches().count().get_result(conn)?;
        let page = matches()
            .order((apis::name.asc(), apis::version.asc()))
            .offset(offset)
            .limit(limit)
            .select(ApiSummary::as_select())
            .load(conn)?;
        Ok((page, total))
    }

    /// Every API, by name and version, with how many subscriptions each has: one grouped query.
    pub fn admin_list(conn: &mut DbConnection) -> QueryResult<Vec<AdminApiRow>> {
        let rows: Vec<(ApiSummary, i64)> = apis::table
            .left_join(subscriptions::table)
            .group_by(apis::id)
            .order((apis::name.asc(), apis::version.asc(), apis::id.asc()))
            .select((ApiSummary::as_select(), count(subscriptions::id.nullable())))
            .load(conn)?;
        Ok(rows
            .into_iter()
            .map(|(api, subscriptions)| AdminApiRow { api, subscriptions })
            .collect())
    }

    /// How many subscriptions an API has, whatever their status.
    pub fn subscription_count(conn: &mut DbConnection, api_id: ApiId) -> QueryResult<i64> {
        subscriptions::table
            .filter(subscriptions::api_id.eq(api_id))
            .count()
            .get_result(conn)
    }

    /// Another API than `except` (the API being edited) that holds `unique`, if any.
    pub fn holder(
        conn: &mut DbConnection,
        unique: Unique,
        except: Option<ApiId>,
    ) -> QueryResult<Option<ApiSummary>> {
        let query = match unique {
            Unique::NameVersion(name, version) => apis::table
                .filter(apis::name.eq(name))
                .filter(apis::version.eq(version))
                .into_boxed(),
            Unique::Context(context) => apis::table.filter(apis::context.eq(context)).into_boxed(),
            Unique::Resource(resource) => apis::table
                .filter(apis::resource_identifier.eq(resource))
                .into_boxed(),
        };
        let query = match except {
            Some(id) => query.filter(apis::id.ne(id)),
            None => query,
        };
        query.select(ApiSummary::as_select()).first(conn).optional()
    }

    pub fn insert(
        conn: &mut DbConnection,
        fields: ApiFields,
        document: Option<(&str, &[Operation])>,
    ) -> QueryResult<Api> {
        let now = now();
        let (text, operations) = document_columns(document);
        crate::on_each!(conn, |c| diesel::insert_into(apis::table)
            .values((
                fields,
                apis::openapi_document.eq(text),
                apis::operations.eq(operations),
                apis::created_at.eq(now),
                apis::updated_at.eq(now),
            ))
            .returning(Api::as_returning())
            .get_result(c))
    }

    /// Sets the form's fields; the OpenAPI document only when `document` is `Some` (`Some(None)`
    /// removes it).
    pub fn update(
        conn: &mut DbConnection,
        id: ApiId,
        fields: ApiFields,
        document: Option<Option<(&str, &[Operation])>>,
    ) -> QueryResult<Api> {
        let document = document.map(|document| {
            let (text, operations) = document_columns(document);
            (
                apis::openapi_document.eq(text),
                apis::operations.eq(operations),
            )
        });
        crate::on_each!(conn, |c| diesel::update(apis::table.find(id))
            .set((fields, apis::updated_at.eq(now()), document))
            .returning(Api::as_returning())
            .get_result(c))
    }

    /// Makes `policy_ids` the API's tiers, replacing the previous ones.
    pub fn replace_tiers(
        conn: &mut DbConnection,
        api_id: ApiId,
        policy_ids: &[i64],
    ) -> QueryResult<()> {
        diesel::delete(api_tiers::table.filter(api_tiers::api_id.eq(api_id))).execute(conn)?;
        let rows: Vec<_> = policy_ids
            .iter()
            .map(|policy_id| {
                (
                    api_tiers::api_id.eq(api_id),
                    api_tiers::policy_id.eq(*policy_id),
                )
            })
            .collect();
        crate::on_each!(conn, |c| diesel::insert_into(api_tiers::table)
            .values(&rows)
            .execute(c))?;
        Ok(())
    }
}

fn document_columns<'a>(document: Option<(&'a str, &[Operation])>) -> (Option<&'a str>, String) {
    match document {
        Some((text, operations)) => (
            Some(text),
            serde_json::to_string(operations).unwrap_or_else(|_| "[]".to_string()),
        ),
        None => (None, "[]".to_string()),
    }
}
