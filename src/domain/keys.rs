//! Keys: the two environments an application has credentials for, and the rules on what a TPP
//! asks a key manager for — grant types, callback URLs, PKCE, public clients, the application
//! certificate, regulatory applications, and the access tokens generated from the portal.
//! Each rule reports its error on the form field it belongs to.
//!
//! Over 600 lines: key types, key settings and their parse with its unit tests; issue #15 splits
//! the settings out.

use base64::Engine;
use serde::{Deserialize, Serialize};

use super::{FieldErrors, text};
use crate::text_enum;

text_enum! {
    /// Production keys serve live traffic; sandbox keys are for testing.
    pub enum KeyType { Production = "PRODUCTION", Sandbox = "SANDBOX" }
}

impl KeyType {
    /// The `{key_type}` of the keys routes: `production` or `sandbox`.
    pub fn from_path(segment: &str) -> Option<KeyType> {
        match segment {
            "production" => Some(KeyType::Production),
            "sandbox" => Some(KeyType::Sandbox),
            _ => None,
        }
    }

    /// The `{key_type}` path segment.
    pub fn path(&self) -> &'static str {
        match self {
            KeyType::Production => "production",
            KeyType::Sandbox => "sandbox",
        }
    }

    pub fn label(&self) -> &'static str {
        match self {
            KeyType::Production => "Production",
            KeyType::Sandbox => "Sandbox",
        }
    }
}

text_enum! {
    /// CREATED: the client was made through Portico and is deleted at the key manager with the
    /// keys. MAPPED: an existing client provisioned out-of-band; removing the keys only unlinks it.
    pub enum CreateMode { Created = "CREATED", Mapped = "MAPPED" }
}

text_enum! {
    /// RESERVED: a generation or mapping is under way (the key manager has not answered yet).
    /// ACTIVE: the keys are usable.
    pub enum MappingState { Reserved = "RESERVED", Active = "ACTIVE" }
}

text_enum! {
    /// The connector a key manager speaks through: the built-in authorization server, any RFC
    /// 7591/7592 server, an open-banking financial-services key manager, or Auth0.
    pub enum KeyManagerKind { Resident = "resident", Dcr = "dcr", Fs = "fs", Auth0 = "auth0" }
}

impl KeyManagerKind {
    /// How the type reads in titles and buttons ("New DCR key manager").
    pub fn label(&self) -> &'static str {
        match self {
            KeyManagerKind::Resident => "resident",
            KeyManagerKind::Dcr => "DCR",
            KeyManagerKind::Fs => "financial-services",
            KeyManagerKind::Auth0 => "Auth0",
        }
    }
}

pub const AUTHORIZATION_CODE: &str = "authorization_code";
pub const CLIENT_CREDENTIALS: &str = "client_credentials";

pub const CALLBACK_URL_MAX: usize = 2048;
pub const CALLBACK_URLS_MAX: usize = 20;
pub const CERTIFICATE_MAX_BYTES: usize = 32 * 1024;
pub const CONSUMER_KEY_MAX: usize = 255;
pub const SCOPES_MAX: usize = 1000;

/// The message for a wrong consumer secret and for an unknown client alike: the two must not be
/// told apart (SECURITY.md row 17).
pub const CREDENTIALS_MESSAGE: &str =
    "The consumer key and consumer secret do not match a client of this key manager.";

/// The grant types asked for: a non-empty subset of what the key manager offers, in its order.
pub fn parse_grant_types(values: &[String], offered: &[String]) -> Result<Vec<String>, String> {
    let asked: Vec<&str> = values
        .iter()
        .map(|v| v.trim())
        .filter(|v| !v.is_empty())
        .collect();
    if asked.is_empty() {
        return Err("Choose at least one grant type.".into());
    }
    if let Some(unknown) = asked.iter().find(|g| !offered.iter().any(|o| o == *g)) {
        let shown: String = unknown.chars().take(60).collect();
        return Err(format!(
            "This key manager does not offer the grant type “{shown}”. Choose from: {}.",
            offered.join(", ")
        ));
    }
    Ok(offered
        .iter()
        .filter(|o| asked.contains(&o.as_str()))
        .cloned()
        .collect())
}

/// True for the hosts a plain-http callback may point at (RFC 8252 §7.3, native apps).
fn is_loopback(host: &url::Host<&str>) -> bool {
    match host {
        url::Host::Domain(name) => name.eq_ignore_ascii_case("localhost"),
        url::Host::Ipv4(ip) => *ip == std::net::Ipv4Addr::LOCALHOST,
        url::Host::Ipv6(ip) => *ip == std::net::Ipv6Addr::LOCALHOST,
    }
}

/// One callback (redirect) URL: absolute https, or http on a loopback host; no fragment, no
/// wildcard, no credentials, at most 2048 characters.
pub fn parse_callback_url(value: &str) -> Result<String, String> {
    let value = value.trim();
    let shown: String = value.chars().take(80).collect();
    if value.chars().count() > CALLBACK_URL_MAX {
        return Err(format!(
            "A callback URL must be at most {CALLBACK_URL_MAX} characters."
        ));
    }
    if value.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!(
            "The callback URL “{shown}” contains spaces or control characters."
        ));
    }
    if value.contains('*') {
        return Err(format!(
            "The callback URL “{shown}” contains a wildcard (*): give each exact URL."
        ));
    }
    let scheme = value
        .split(':')
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase();
    if matches!(
        scheme.as_str(),
        "javascript" | "data" | "file" | "vbscript" | "blob"
    ) {
        return Err(format!("{scheme}: URLs cannot be callback URLs."));
    }
    if value.contains('#') {
        return Err(format!(
            "The callback URL “{shown}” has a fragment (#…): callback URLs must not have one."
        ));
    }
    let url = url::Url::parse(value).map_err(|_| {
        format!("“{shown}” is not an absolute URL such as https://app.example/callback.")
    })?;
    let host = url
        .host()
        .ok_or_else(|| format!("The callback URL “{shown}” has no host."))?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(format!(
            "The callback URL “{shown}” must not carry a user name or password."
        ));
    }
    match url.scheme() {
        "https" => {}
        "http" if is_loopback(&host) => {}
        "http" => {
            return Err(format!(
                "The callback URL “{shown}” must use https (plain http only on 127.0.0.1, ::1 or localhost)."
            ));
        }
        _ => {
            return Err(format!(
                "The callback URL “{shown}” must be an https URL (or http on 127.0.0.1, ::1 or localhost)."
            ));
        }
    }
    Ok(value.to_string())
}

/// Callback URLs from repeated fields, each of which may hold one URL per line.
pub fn parse_callback_urls(values: &[String]) -> Result<Vec<String>, String> {
    let mut urls: Vec<String> = Vec::new();
    for line in values.iter().flat_map(|v| v.lines()) {
        if line.trim().is_empty() {
            continue;
        }
        let url = parse_callback_url(line)?;
        if !urls.contains(&url) {
            urls.push(url);
        }
    }
    if urls.len() > CALLBACK_URLS_MAX {
        return Err(format!("Give at most {CALLBACK_URLS_MAX} callback URLs."));
    }
    Ok(urls)
}

/// An application certificate (for mutual-TLS client authentication and certificate-bound
/// tokens): the PEM as pasted and what the page shows of its first certificate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApplicationCertificate {
    pub pem: String,
    pub subject: String,
    pub issuer: String,
    /// Unix seconds.
    pub not_after: i64,
    /// SHA-256 of the DER, lower-case hex.
    pub thumbprint_sha256: String,
}

impl ApplicationCertificate {
    /// Parses pasted PEM text: empty means no certificate; otherwise at least one X.509
    /// certificate that parses and has not expired at `now`, no private key, at most 32 KiB.
    pub fn parse(value: &str, now: i64) -> Result<Option<Self>, String> {
        let value = value.trim();
        if value.is_empty() {
            return Ok(None);
        }
        if value.len() > CERTIFICATE_MAX_BYTES {
            return Err("The application certificate must be at most 32 KiB.".into());
        }
        let blocks = pem::parse_many(value).map_err(|_| {
            "The application certificate is not valid PEM (its base64 does not decode). Paste the whole -----BEGIN CERTIFICATE----- block.".to_string()
        })?;
        if blocks.iter().any(|b| b.tag().contains("PRIVATE KEY")) {
            return Err("That is a private key: paste the certificate only, and keep the private key secret.".into());
        }
        let certificates: Vec<&pem::Pem> =
            blocks.iter().filter(|b| b.tag() == "CERTIFICATE").collect();
        if certificates.is_empty() {
            return Err("Paste an X.509 certificate in PEM form (-----BEGIN CERTIFICATE----- … -----END CERTIFICATE-----).".into());
        }
        let mut first = None;
        for block in certificates {
            let der = block.contents();
            let certificate = match x509_parser::parse_x509_certificate(der) {
                Ok(([], certificate)) => certificate,
                _ => {
                    return Err(
                        "The application certificate could not be read as an X.509 certificate."
                            .into(),
                    );
                }
            };
            let not_after = certificate.validity().not_after.timestamp();
            if not_after <= now {
                let day = time::OffsetDateTime::from_unix_timestamp(not_after)
                    .map(|t| t.date().to_string())
                    .unwrap_or_default();
                return Err(format!("The application certificate expired on {day}."));
            }
            if first.is_none() {
                first = Some(ApplicationCertificate {
                    pem: value.to_string(),
                    subject: certificate.subject().to_string(),
                    issuer: certificate.issuer().to_string(),
                    not_after,
                    thumbprint_sha256: crate::security::sha256_hex(der),
                });
            }
        }
        Ok(first)
    }

    /// The SHA-256 thumbprint as `x5t#S256` (RFC 8705) carries it.
    pub fn x5t_s256(&self) -> String {
        let bytes = hex::decode(&self.thumbprint_sha256).unwrap_or_default();
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    }
}

/// What a client is registered with at its key manager. Stored as a key mapping's `app_info`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct KeySettings {
    pub grant_types: Vec<String>,
    pub callback_urls: Vec<String>,
    pub pkce_mandatory: bool,
    pub pkce_support_plain: bool,
    pub public_client: bool,
    pub regulatory: bool,
    pub certificate: Option<ApplicationCertificate>,
}

impl KeySettings {
    /// Validates the generate / update form against the grant types the key manager offers.
    pub fn parse(form: &KeysForm, offered: &[String], now: i64) -> Result<Self, FieldErrors> {
        let mut errors = FieldErrors::new();
        let grant_types = errors
            .check("grant_types", parse_grant_types(&form.grant_types, offered))
            .unwrap_or_default();
        let has = |grant: &str| grant_types.iter().any(|g| g == grant);
        let callback_urls = errors.check("callback_url", parse_callback_urls(&form.callback_url));
        if let Some(urls) = &callback_urls
            && errors.get("grant_types").is_none()
        {
            if has(AUTHORIZATION_CODE) && urls.is_empty() {
                errors.add(
                    "callback_url",
                    "The authorization_code grant needs at least one callback URL.",
                );
            } else if !has(AUTHORIZATION_CODE) && !urls.is_empty() {
                errors.add(
                    "callback_url",
                    "Callback URLs are used only with the authorization_code grant: remove them, or choose that grant.",
                );
            }
        }
        if form.public_client
            && errors.get("grant_types").is_none()
            && !(has(AUTHORIZATION_CODE) && form.pkce_mandatory)
        {
            errors.add(
                "public_client",
                "A public client (no secret) needs the authorization_code grant with PKCE mandatory.",
            );
        }
        let certificate = errors.check(
            "application_certificate",
            ApplicationCertificate::parse(&form.application_certificate, now),
        );
        if form.regulatory {
            if errors.get("grant_types").is_none() && !has(AUTHORIZATION_CODE) {
                errors.add(
                    "regulatory",
                    "A regulatory application must use the authorization_code grant.",
                );
            }
            if matches!(certificate, Some(None)) {
                errors.add(
                    "application_certificate",
                    "A regulatory application needs its application certificate.",
                );
            }
        }
        match (callback_urls, certificate) {
            (Some(callback_urls), Some(certificate)) if errors.is_empty() => Ok(Self {
                grant_types,
                callback_urls,
                pkce_mandatory: form.pkce_mandatory,
                pkce_support_plain: form.pkce_support_plain,
                public_client: form.public_client,
                regulatory: form.regulatory,
                certificate,
            }),
            _ => Err(errors),
        }
    }

    pub fn allows(&self, grant: &str) -> bool {
        self.grant_types.iter().any(|g| g == grant)
    }

    /// The form filled with these settings (the update form of existing keys).
    pub fn to_form(&self, key_manager: &str) -> KeysForm {
        KeysForm {
            key_manager: key_manager.to_string(),
            grant_types: self.grant_types.clone(),
            callback_url: vec![self.callback_urls.join("\n")],
            pkce_mandatory: self.pkce_mandatory,
            pkce_support_plain: self.pkce_support_plain,
            public_client: self.public_client,
            regulatory: self.regulatory,
            application_certificate: self
                .certificate
                .as_ref()
                .map(|c| c.pem.clone())
                .unwrap_or_default(),
            ..KeysForm::default()
        }
    }
}

/// Every field the keys forms send (generate, update, map, token, regenerate, remove). Grant
/// types and callback URLs repeat; check boxes send `true`. The consumer secret is read but never
/// shown again.
#[derive(Debug, Clone, Default)]
pub struct KeysForm {
    pub key_manager: String,
    pub grant_types: Vec<String>,
    pub callback_url: Vec<String>,
    pub pkce_mandatory: bool,
    pub pkce_support_plain: bool,
    pub public_client: bool,
    pub application_certificate: String,
    pub regulatory: bool,
    pub consumer_key: String,
    pub consumer_secret: String,
    pub scopes: String,
    pub validity_period: String,
}

impl KeysForm {
    /// Reads the decoded form pairs; unknown fields are ignored, a repeated single field keeps
    /// its last value.
    pub fn from_pairs(pairs: Vec<(String, String)>) -> Self {
        let mut form = Self::default();
        for (key, value) in pairs {
            match key.as_str() {
                "key_manager" => form.key_manager = value,
                "grant_types" => form.grant_types.push(value),
                "callback_url" => form.callback_url.push(value),
                "pkce_mandatory" => form.pkce_mandatory = value == "true",
                "pkce_support_plain" => form.pkce_support_plain = value == "true",
                "public_client" => form.public_client = value == "true",
                "application_certificate" => form.application_certificate = value,
                "regulatory" => form.regulatory = value == "true",
                "consumer_key" => form.consumer_key = value,
                "consumer_secret" => form.consumer_secret = value,
                "scopes" => form.scopes = value,
                "validity_period" => form.validity_period = value,
                _ => {}
            }
        }
        form
    }

    /// The form to draw again after a refusal: the consumer secret is never sent back.
    pub fn without_secret(mut self) -> Self {
        self.consumer_secret.clear();
        self
    }

    pub fn has_grant(&self, grant: &str) -> bool {
        self.grant_types.iter().any(|g| g == grant)
    }

    /// The callback URLs as the textarea shows them, one per line.
    pub fn callback_text(&self) -> String {
        self.callback_url
            .iter()
            .flat_map(|v| v.lines())
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// A consumer key typed into the out-of-band form.
pub fn parse_consumer_key(value: &str) -> Result<String, String> {
    let value = text::required_line(value, "The consumer key", CONSUMER_KEY_MAX)?;
    if value.chars().any(char::is_whitespace) {
        return Err("The consumer key must not contain spaces.".into());
    }
    Ok(value)
}

/// A consumer secret typed into a form: required, kept as typed (secrets may hold any character).
pub fn parse_consumer_secret(value: &str) -> Result<String, String> {
    if value.is_empty() {
        return Err("Enter the consumer secret.".into());
    }
    if value.len() > 1024 {
        return Err("The consumer secret must be at most 1024 characters.".into());
    }
    Ok(value.to_string())
}

/// Scopes: space-separated tokens of NQCHAR (RFC 6749 §3.3), without repeats.
pub fn parse_scopes(value: &str) -> Result<Vec<String>, String> {
    if value.len() > SCOPES_MAX {
        return Err(format!("Scopes must be at most {SCOPES_MAX} characters."));
    }
    let mut scopes: Vec<String> = Vec::new();
    for token in value.split(' ').filter(|t| !t.is_empty()) {
        if !token
            .chars()
            .all(|c| c == '!' || ('#'..='[').contains(&c) || (']'..='~').contains(&c))
        {
            return Err(
                "Scopes are separated by spaces and may not contain quotes, backslashes or other special characters."
                    .into(),
            );
        }
        if !scopes.iter().any(|s| s == token) {
            scopes.push(token.to_string());
        }
    }
    Ok(scopes)
}

/// A token's validity in seconds: a whole number from 1 to `max`.
pub fn parse_validity_period(value: &str, max: i64) -> Result<i64, String> {
    let value = value.trim();
    if value.is_empty() {
        return Err("Enter the validity period in seconds.".into());
    }
    match value.parse::<i64>() {
        Ok(seconds) if (1..=max).contains(&seconds) => Ok(seconds),
        Ok(_) => Err(format!(
            "The validity period must be between 1 and {max} seconds."
        )),
        Err(_) => Err("The validity period must be a whole number of seconds.".into()),
    }
}

/// A validated token request from the portal.
#[derive(Debug, Clone)]
pub struct TokenInput {
    pub scopes: Vec<String>,
    pub validity_period: i64,
    pub consumer_secret: String,
}

impl TokenInput {
    pub fn parse(form: &KeysForm, max_validity: i64) -> Result<Self, FieldErrors> {
        let mut errors = FieldErrors::new();
        let scopes = errors.check("scopes", parse_scopes(&form.scopes));
        let validity = errors.check(
            "validity_period",
            parse_validity_period(&form.validity_period, max_validity),
        );
        let secret = errors.check(
            "consumer_secret",
            parse_consumer_secret(&form.consumer_secret),
        );
        match (scopes, validity, secret) {
            (Some(scopes), Some(validity_period), Some(consumer_secret)) => Ok(Self {
                scopes,
                validity_period,
                consumer_secret,
            }),
            _ => Err(errors),
        }
    }
}

/// A validated out-of-band mapping request.
#[derive(Debug, Clone)]
pub struct MapInput {
    pub consumer_key: String,
    pub consumer_secret: String,
}

impl MapInput {
    pub fn parse(form: &KeysForm) -> Result<Self, FieldErrors> {
        let mut errors = FieldErrors::new();
        let key = errors.check("consumer_key", parse_consumer_key(&form.consumer_key));
        let secret = errors.check(
            "consumer_secret",
            parse_consumer_secret(&form.consumer_secret),
        );
        match (key, secret) {
            (Some(consumer_key), Some(consumer_secret)) => Ok(Self {
                consumer_key,
                consumer_secret,
            }),
            _ => Err(errors),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn offered() -> Vec<String> {
        ["client_credentials", "authorization_code", "refresh_token"]
            .map(String::from)
            .to_vec()
    }

    #[test]
    fn callback_urls_must_be_exact_https_or_loopback_http() {
        for good in [
            "https://app.example/callback",
            "https://app.example:8443/cb?x=1",
            "http://127.0.0.1:8080/cb",
            "http://[::1]/cb",
            "http://localhost/cb",
        ] {
            assert_eq!(parse_callback_url(good).as_deref(), Ok(good), "{good}");
        }
        for bad in [
            "javascript:alert(1)",
            "JavaScript:alert(1)",
            "data:text/html,hi",
            "file:///etc/passwd",
            "http://app.example/cb",
            "http://127.0.0.2/cb",
            "https://app.example/cb#frag",
            "https://*.example/cb",
            "https://user:pw@app.example/cb",
            "/relative",
            "app.example/cb",
            "ftp://app.example/cb",
            "https://app.example/a b",
        ] {
            assert!(parse_callback_url(bad).is_err(), "{bad}");
        }
        let long = format!("https://app.example/{}", "a".repeat(2048));
        assert!(parse_callback_url(&long).unwrap_err().contains("2048"));
        assert_eq!(
            parse_callback_urls(&["https://a.example/1\r\nhttps://b.example/2\n".into()]).unwrap(),
            vec!["https://a.example/1", "https://b.example/2"]
        );
    }

    #[test]
    fn grant_types_are_a_non_empty_subset_of_the_offer() {
        assert_eq!(
            parse_grant_types(
                &["refresh_token".into(), "client_credentials".into()],
                &offered()
            )
            .unwrap(),
            vec!["client_credentials", "refresh_token"]
        );
        assert!(parse_grant_types(&[], &offered()).is_err());
        assert!(parse_grant_types(&["password".into()], &offered()).is_err());
    }

    #[test]
    fn callback_urls_go_with_the_authorization_code_grant_only() {
        let form = KeysForm {
            grant_types: vec!["client_credentials".into()],
            callback_url: vec!["https://app.example/cb".into()],
            ..Default::default()
        };
        let errors = KeySettings::parse(&form, &offered(), 0).unwrap_err();
        assert!(errors.get("callback_url").is_some());
        let form = KeysForm {
            grant_types: vec!["authorization_code".into()],
            ..Default::default()
        };
        let errors = KeySettings::parse(&form, &offered(), 0).unwrap_err();
        assert!(errors.get("callback_url").unwrap().contains("needs"));
        let form = KeysForm {
            grant_types: vec!["client_credentials".into()],
            public_client: true,
            ..Default::default()
        };
        let errors = KeySettings::parse(&form, &offered(), 0).unwrap_err();
        assert!(errors.get("public_client").is_some());
    }

    #[test]
    fn scopes_and_validity() {
        assert_eq!(
            parse_scopes("read  write read").unwrap(),
            vec!["read", "write"]
        );
        assert!(parse_scopes("bad\"quote").is_err());
        assert!(parse_scopes("back\\slash").is_err());
        assert_eq!(parse_validity_period(" 3600 ", 86_400), Ok(3600));
        for bad in ["0", "-1", "86401", "1.5", "abc", ""] {
            assert!(parse_validity_period(bad, 86_400).is_err(), "{bad}");
        }
    }

    #[test]
    fn certificates_refuse_what_is_not_one() {
        assert_eq!(ApplicationCertificate::parse("  ", 0), Ok(None));
        assert!(ApplicationCertificate::parse("hello", 0).is_err());
        assert!(
            ApplicationCertificate::parse(
                "-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----",
                0
            )
            .is_err()
        );
        assert!(
            ApplicationCertificate::parse(
                "-----BEGIN CERTIFICATE-----\n!!!notbase64!!!\n-----END CERTIFICATE-----",
                0
            )
            .is_err()
        );
        assert!(
            ApplicationCertificate::parse(
                "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----",
                0
            )
            .unwrap_err()
            .contains("private key")
        );
    }
}
