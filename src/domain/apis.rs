//! APIs in the catalog and their lifecycle.

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
}
