//! Applications and their subscriptions: names that cannot pose as one another, and the
//! subscription statuses.

use super::{FieldErrors, text};
use crate::text_enum;

text_enum! {
    /// ACTIVE: usable. ON_HOLD: waiting for an administrator (the tier requires approval).
    /// REJECTED: an administrator declined it, with a reason the TPP sees.
    pub enum SubscriptionStatus { Active = "ACTIVE", OnHold = "ON_HOLD", Rejected = "REJECTED" }
}

impl SubscriptionStatus {
    pub fn label(&self) -> &'static str {
        match self {
            SubscriptionStatus::Active => "Active",
            SubscriptionStatus::OnHold => "Waiting for approval",
            SubscriptionStatus::Rejected => "Rejected",
        }
    }
}

pub const NAME_MAX: usize = 100;
pub const DESCRIPTION_MAX: usize = 512;

/// An application name: trimmed, NFC-normalised, 1–100 characters, no control or invisible
/// characters. Two names are the same application when their `key()`s are equal.
pub type AppName = text::FoldedName;

/// Reads an application name (the form's `name`).
pub fn app_name(value: &str) -> Result<AppName, String> {
    AppName::parse(value, "Name", NAME_MAX)
}

/// What the application form sends.
#[derive(Debug, Default, Clone, serde::Deserialize)]
pub struct ApplicationForm {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub throttling_policy: String,
    #[serde(default)]
    pub description: String,
}

/// A validated application form. The policy name is checked against the database later.
pub struct ApplicationInput {
    pub name: AppName,
    pub description: String,
    pub policy_name: String,
}

impl ApplicationInput {
    pub fn parse(form: &ApplicationForm) -> Result<Self, FieldErrors> {
        let mut errors = FieldErrors::new();
        let name = errors.check("name", app_name(&form.name));
        let description = errors.check(
            "description",
            text::optional_text(&form.description, "Description", DESCRIPTION_MAX),
        );
        let policy_name = form.throttling_policy.trim().to_string();
        if policy_name.is_empty() {
            errors.add("throttling_policy", "Choose a throttling policy.");
        }
        let input = name.zip(description).map(|(name, description)| Self {
            name,
            description,
            policy_name,
        });
        errors.into_result(input)
    }
}

/// The reason an administrator gives when rejecting a subscription.
pub fn rejection_reason(value: &str) -> Result<String, String> {
    text::required_line(value, "Reason", 500).map_err(|e| {
        if e.ends_with("is required.") {
            "Give the reason: the applicant sees it.".to_string()
        } else {
            e
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_that_look_alike_share_a_key() {
        let composed = app_name("Café").unwrap();
        let decomposed = app_name("Cafe\u{0301}").unwrap();
        assert_eq!(composed.key(), decomposed.key());
        assert_eq!(app_name("  CAFÉ ").unwrap().key(), composed.key());
        assert!(app_name("Caf\u{200B}é").is_err());
        assert!(app_name(&"a".repeat(101)).is_err());
        assert!(app_name(&"é".repeat(100)).is_ok());
    }
}
