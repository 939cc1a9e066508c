//! Portico's one integration-test binary: each module drives a real Portico on a loopback port
//! with its own SQLite file.

mod accounts;
mod admin_apis;
mod applications;
mod auth0_connector;
mod auth0_stub;
mod browser;
mod catalog;
mod concurrency;
mod crash;
mod database;
mod dcr_connector;
mod demo;
mod external_server;
mod helpers;
mod hostile;
mod key_manager_admin;
mod keys;
mod limits;
mod logs;
mod oauth;
mod oauth_authorize;
mod oauth_locked;
mod oauth_refusals;
mod oob_proof;
mod ownership;
mod pages;
mod policies;
mod process;
mod results;
mod routes;
mod secrets;
mod sessions;
mod settings;
mod throttling;
mod usability;
