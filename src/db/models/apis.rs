//! `apis` and `api_tiers`: the API catalog.

use diesel::prelude::*;

use crate::db::models::throttling_policies::ThrottlingPolicy;
use crate::db::schema::{api_tiers, apis, throttling_policies};
use crate::domain::apis::{ApiStatus, Operation};

#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = apis)]
pub struct Api {
    pub id: i64,
    pub name: String,
    pub version: String,
    pub context: String,
    pub description: String,
    pub status: ApiStatus,
    pub openapi_document: Option<String>,
    pub operations: String,
    pub created_at: i64,
    pub updated_at: i64,
}

/// A catalog entry without the (possibly large) OpenAPI document.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = apis)]
pub struct ApiSummary {
    pub id: i64,
    pub name: String,
    pub version: String,
    pub context: String,
    pub description: String,
    pub status: ApiStatus,
}

/// Escapes `%`, `_` and `\` so that user text matches literally inside LIKE.
pub fn like_pattern(text: &str) -> String {
    let escaped = text
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    format!("%{escaped}%")
}

impl Api {
    pub fn operations(&self) -> Vec<Operation> {
        serde_json::from_str(&self.operations).unwrap_or_default()
    }

    pub fn find(conn: &mut SqliteConnection, id: i64) -> QueryResult<Option<Api>> {
        apis::table
            .find(id)
            .select(Api::as_select())
            .first(conn)
            .optional()
    }

    /// The subscription tiers this API allows, by name.
    pub fn tiers(conn: &mut SqliteConnection, api_id: i64) -> QueryResult<Vec<ThrottlingPolicy>> {
        api_tiers::table
            .inner_join(throttling_policies::table)
            .filter(api_tiers::api_id.eq(api_id))
            .order(throttling_policies::name.asc())
            .select(ThrottlingPolicy::as_select())
            .load(conn)
    }

    /// Published and deprecated APIs whose name, context or description contains `query`.
    pub fn catalog_page(
        conn: &mut SqliteConnection,
        query: &str,
        offset: i64,
        limit: i64,
    ) -> QueryResult<(Vec<ApiSummary>, i64)> {
        let listed = [ApiStatus::Published, ApiStatus::Deprecated];
        let pattern = like_pattern(query.trim());
        let matches = || {
            apis::table.filter(apis::status.eq_any(listed)).filter(
                apis::name
                    .like(pattern.clone())
                    .escape('\\')
                    .or(apis::context.like(pattern.clone()).escape('\\'))
                    .or(apis::description.like(pattern.clone()).escape('\\')),
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
}
