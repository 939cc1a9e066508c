//! The CSS, JavaScript and images, compiled into the binary so that Portico is one file.

use std::sync::LazyLock;

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};

struct Asset {
    path: &'static str,
    content_type: &'static str,
    body: &'static [u8],
}

macro_rules! asset {
    ($path:literal, $type:literal) => {
        Asset {
            path: $path,
            content_type: $type,
            body: include_bytes!(concat!("../../static/", $path)),
        }
    };
}

const ASSETS: &[Asset] = &[
    asset!("css/portico.css", "text/css; charset=utf-8"),
    asset!("js/portico.js", "text/javascript; charset=utf-8"),
    asset!("js/openapi-upload.js", "text/javascript; charset=utf-8"),
    asset!("img/favicon.svg", "image/svg+xml"),
    asset!("img/logo.svg", "image/svg+xml"),
];

static ETAGS: LazyLock<Vec<String>> = LazyLock::new(|| {
    ASSETS
        .iter()
        .map(|a| format!("\"{}\"", &crate::security::sha256_hex(a.body)[..16]))
        .collect()
});

/// `GET /static/{path}`.
pub async fn serve(req: HttpRequest, path: web::Path<String>) -> HttpResponse {
    let Some(index) = ASSETS.iter().position(|a| a.path == path.as_str()) else {
        return super::errors::error_page(super::errors::ErrorKind::NotFound, "");
    };
    let asset = &ASSETS[index];
    let etag = &ETAGS[index];
    let cached = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v == etag);
    let mut response = if cached {
        HttpResponse::NotModified()
    } else {
        HttpResponse::Ok()
    };
    response
        .insert_header((header::ETAG, etag.as_str()))
        .insert_header((header::CACHE_CONTROL, "public, max-age=3600"));
    if cached {
        return response.finish();
    }
    response.content_type(asset.content_type).body(asset.body)
}

/// `GET /favicon.ico`: browsers ask for it at the root.
pub async fn favicon() -> HttpResponse {
    super::redirect(super::Url::Static("img/favicon.svg"))
}
