//! What a client is registered with at its key manager (`KeySettings`), and the keys forms'
//! fields (`KeysForm`), with the rules that tie grant types, callback URLs, PKCE, public clients
//! and regulatory applications together.

use serde::{Deserialize, Serialize};

use super::{AUTHORIZATION_CODE, ApplicationCertificate, CALLBACK_URLS_MAX, parse_grant_types};
use crate::domain::FieldErrors;
use crate::domain::oauth::RedirectUri;

/// What a client is registered with at its key manager. Stored as a key mapping's `app_info`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct KeySettings {
    pub grant_types: Vec<String>,
    pub callback_urls: Vec<RedirectUri>,
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
        if let Some(urls) = &callback_urls
            && !form.public_client
            && urls.iter().any(RedirectUri::is_private_use)
        {
            errors.add(
                "callback_url",
                "A private-use callback URL (such as com.example.app:/callback) is for native apps, which are public clients: tick Public client, or give an https URL.",
            );
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
        let settings = callback_urls
            .zip(certificate)
            .map(|(callback_urls, certificate)| Self {
                grant_types,
                callback_urls,
                pkce_mandatory: form.pkce_mandatory,
                pkce_support_plain: form.pkce_support_plain,
                public_client: form.public_client,
                regulatory: form.regulatory,
                certificate,
            });
        errors.into_result(settings)
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
/// No `Debug`: it holds the consumer secret as typed.
#[derive(Clone, Default)]
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

/// Callback URLs from repeated fields, each of which may hold one URL per line.
pub fn parse_callback_urls(values: &[String]) -> Result<Vec<RedirectUri>, String> {
    let mut urls: Vec<RedirectUri> = Vec::new();
    for line in values.iter().flat_map(|v| v.lines()) {
        if line.trim().is_empty() {
            continue;
        }
        let url = RedirectUri::parse(line)?;
        if !urls.contains(&url) {
            urls.push(url);
        }
    }
    if urls.len() > CALLBACK_URLS_MAX {
        return Err(format!("Give at most {CALLBACK_URLS_MAX} callback URLs."));
    }
    Ok(urls)
}
