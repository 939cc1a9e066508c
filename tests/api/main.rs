//! Portico's one integration-test binary: each module drives a real Portico on a loopback port
//! with its own SQLite file.

mod accounts;
mod admin_apis;
mod applications;
mod browser;
mod catalog;
mod database;
mod dcr_connector;
mod external_server;
mod helpers;
mod hostile;
mod key_manager_admin;
mod keys;
mod logs;
mod oauth;
mod ownership;
mod pages;
mod policies;
mod routes;
mod sessions;
mod settings;
