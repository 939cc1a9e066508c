//! Discovery of an external key manager: fetch its OpenID Connect / RFC 8414 metadata document
//! and its JWKS through `remote`, which applies the outbound protections of SECURITY.md row 13
//! (checked and pinned addresses, no redirects, timeouts, 1 MiB cap); JSON only. The
//! document's `issuer` must be the one its URL belongs to.

use serde::Deserialize;
use url::Url;

use super::remote::Remote;
use crate::security::outbound;

const SUFFIXES: &[&str] = &[
    "/.well-known/openid-configuration",
    "/.well-known/oauth-authorization-server",
];

/// What discovery fills in.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Discovered {
    pub issuer: String,
    pub token_endpoint: Option<String>,
    pub authorization_endpoint: Option<String>,
    pub introspection_endpoint: Option<String>,
    pub revocation_endpoint: Option<String>,
    pub userinfo_endpoint: Option<String>,
    pub registration_endpoint: Option<String>,
    pub jwks_uri: String,
    pub grant_types: Vec<String>,
}

#[derive(Deserialize)]
struct Metadata {
    issuer: Option<String>,
    token_endpoint: Option<String>,
    authorization_endpoint: Option<String>,
    introspection_endpoint: Option<String>,
    revocation_endpoint: Option<String>,
    userinfo_endpoint: Option<String>,
    registration_endpoint: Option<String>,
    jwks_uri: Option<String>,
    grant_types_supported: Option<Vec<String>>,
}

/// The issuer a well-known URL belongs to: the URL without its well-known suffix (OpenID
/// Connect Discovery appends it to the issuer), or with the well-known segment taken out of the
/// path (RFC 8414 §3 inserts it between the host and the issuer's path:
/// `https://idp/.well-known/oauth-authorization-server/tenant` is the issuer `https://idp/tenant`).
pub fn expected_issuer(url: &Url) -> Result<String, String> {
    if url.query().is_some() || url.fragment().is_some() {
        return Err("The well-known URL must not have a query or a fragment.".into());
    }
    let text = url.as_str();
    let appended = SUFFIXES
        .iter()
        .find_map(|suffix| text.strip_suffix(suffix))
        .map(|issuer| issuer.trim_end_matches('/').to_string());
    let inserted = || {
        SUFFIXES.iter().find_map(|suffix| {
            let path = url.path().strip_prefix(suffix)?.strip_prefix('/')?;
            (!path.is_empty()).then(|| format!("{}/{path}", url.origin().ascii_serialization()))
        })
    };
    appended.or_else(inserted).ok_or_else(|| {
        "The well-known URL must end with /.well-known/openid-configuration or /.well-known/oauth-authorization-server, or insert it before the issuer's path (RFC 8414).".into()
    })
}

/// Fetches and checks the metadata document and its JWKS. Errors are sentences for the
/// `well_known_url` field.
pub async fn discover(well_known_url: &str, allow_private: bool) -> Result<Discovered, String> {
    let url = outbound::parse_url(well_known_url, allow_private)?;
    let issuer = expected_issuer(&url)?;
    let body = fetch_json(&url, allow_private).await?;
    let metadata: Metadata = serde_json::from_slice(&body).map_err(|_| {
        "The discovery document is not the JSON of OAuth2 server metadata.".to_string()
    })?;
    let found = metadata
        .issuer
        .ok_or("The discovery document has no issuer.")?;
    if found.trim_end_matches('/') != issuer {
        let shown: String = found.chars().take(100).collect();
        return Err(format!(
            "The discovery document's issuer “{shown}” does not match the URL's issuer {issuer}."
        ));
    }
    let jwks_uri = metadata
        .jwks_uri
        .ok_or("The discovery document has no jwks_uri.")?;
    let jwks_url = outbound::parse_url(&jwks_uri, allow_private)
        .map_err(|e| format!("The JWKS URL is refused: {e}"))?;
    let jwks: serde_json::Value =
        serde_json::from_slice(&fetch_json(&jwks_url, allow_private).await?)
            .map_err(|_| "The JWKS is not JSON.".to_string())?;
    let keys = jwks
        .get("keys")
        .and_then(|k| k.as_array())
        .map_or(0, Vec::len);
    if keys == 0 {
        return Err("The JWKS has no keys.".into());
    }
    Ok(Discovered {
        issuer: found,
        token_endpoint: metadata.token_endpoint,
        authorization_endpoint: metadata.authorization_endpoint,
        introspection_endpoint: metadata.introspection_endpoint,
        revocation_endpoint: metadata.revocation_endpoint,
        userinfo_endpoint: metadata.userinfo_endpoint,
        registration_endpoint: metadata.registration_endpoint,
        jwks_uri,
        grant_types: metadata.grant_types_supported.unwrap_or_default(),
    })
}

/// GETs a JSON document through the shared outbound client (`remote`).
async fn fetch_json(url: &Url, allow_private: bool) -> Result<Vec<u8>, String> {
    Remote::new(allow_private)
        .get_json_bytes(url.as_str())
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_expected_issuer_is_the_url_without_its_well_known_suffix() {
        let url = |s| Url::parse(s).unwrap();
        assert_eq!(
            expected_issuer(&url(
                "https://idp.example.com/.well-known/openid-configuration"
            ))
            .unwrap(),
            "https://idp.example.com"
        );
        assert_eq!(
            expected_issuer(&url(
                "https://idp.example.com/t/1/.well-known/oauth-authorization-server"
            ))
            .unwrap(),
            "https://idp.example.com/t/1"
        );
        assert_eq!(
            expected_issuer(&url(
                "https://idp.example.com/.well-known/oauth-authorization-server/t/1"
            ))
            .unwrap(),
            "https://idp.example.com/t/1"
        );
        assert_eq!(
            expected_issuer(&url(
                "https://idp.example.com:8443/.well-known/openid-configuration/tenant"
            ))
            .unwrap(),
            "https://idp.example.com:8443/tenant"
        );
        assert!(expected_issuer(&url("https://idp.example.com/metadata")).is_err());
        assert!(
            expected_issuer(&url(
                "https://idp.example.com/.well-known/openid-configuration?x=1"
            ))
            .is_err()
        );
    }
}
