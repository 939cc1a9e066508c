//! Keys: the two environments an application has credentials for.

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

    pub fn label(&self) -> &'static str {
        match self {
            KeyType::Production => "Production",
            KeyType::Sandbox => "Sandbox",
        }
    }
}
