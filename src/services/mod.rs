//! The operations behind the pages: each one validates through `domain`, works through
//! `db::models` in the right transaction, and reports outcomes as typed errors.

pub mod accounts;
pub mod apis;
pub mod policies;
