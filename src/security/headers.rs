//! The security headers every response carries.
//!
//! No `form-action`: browsers apply it to the redirect after a form POST, and the OAuth2 consent
//! form must be able to redirect to the client's callback URL.
//!
//! `Strict-Transport-Security` goes out only when the public URL is https: sent over plain http
//! it would be ignored at best, and pin a wrong scheme at worst.

use actix_web::middleware::DefaultHeaders;

use crate::config::Settings;

pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
    style-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; \
    frame-ancestors 'none'";

/// One year, the value HSTS preload lists ask for; no `includeSubDomains`: Portico cannot know
/// what else runs under its domain.
pub const STRICT_TRANSPORT_SECURITY: &str = "max-age=31536000";

pub fn middleware(settings: &Settings) -> DefaultHeaders {
    let headers = DefaultHeaders::new()
        .add(("Content-Security-Policy", CONTENT_SECURITY_POLICY))
        .add(("X-Content-Type-Options", "nosniff"))
        .add(("Referrer-Policy", "same-origin"))
        .add(("X-Frame-Options", "DENY"))
        .add(("Cross-Origin-Opener-Policy", "same-origin"));
    if settings.is_https() {
        headers.add(("Strict-Transport-Security", STRICT_TRANSPORT_SECURITY))
    } else {
        headers
    }
}
