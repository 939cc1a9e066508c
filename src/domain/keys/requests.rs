//! What the portal asks of existing keys: an out-of-band mapping (consumer key and secret) and
//! an access token (scopes, validity, the consumer secret).

use super::KeysForm;
use crate::domain::FieldErrors;
use crate::domain::oauth::{ConsumerKey, Scopes};

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
/// No `Debug`: it holds the consumer secret.
#[derive(Clone)]
pub struct TokenInput {
    pub scopes: Scopes,
    pub validity_period: i64,
    pub consumer_secret: String,
}

impl TokenInput {
    pub fn parse(form: &KeysForm, max_validity: i64) -> Result<Self, FieldErrors> {
        let mut errors = FieldErrors::new();
        let scopes = errors.check("scopes", Scopes::parse(&form.scopes));
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
/// No `Debug`: it holds the consumer secret.
#[derive(Clone)]
pub struct MapInput {
    pub consumer_key: ConsumerKey,
    pub consumer_secret: String,
}

impl MapInput {
    pub fn parse(form: &KeysForm) -> Result<Self, FieldErrors> {
        let mut errors = FieldErrors::new();
        let key = errors.check("consumer_key", ConsumerKey::parse(&form.consumer_key));
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
