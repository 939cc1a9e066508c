//! One file per table: the row types and the queries on them. Nothing here knows about HTTP.

pub mod login_throttles;
pub mod sessions;
pub mod users;
