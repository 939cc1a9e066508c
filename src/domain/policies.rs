//! Throttling policies: how many requests an application, or a subscription, may make.

use super::{FieldErrors, text};
use crate::text_enum;

text_enum! {
    /// Application-level policies cap an application as a whole; subscription-level policies
    /// (the "tiers" an API allows) cap one application's use of one API.
    pub enum PolicyLevel { Application = "application", Subscription = "subscription" }
}

text_enum! {
    pub enum TimeUnit { Second = "sec", Minute = "min", Hour = "hour", Day = "day" }
}

impl TimeUnit {
    pub fn label(&self, count: i32) -> &'static str {
        match (self, count == 1) {
            (TimeUnit::Second, true) => "second",
            (TimeUnit::Second, false) => "seconds",
            (TimeUnit::Minute, true) => "minute",
            (TimeUnit::Minute, false) => "minutes",
            (TimeUnit::Hour, true) => "hour",
            (TimeUnit::Hour, false) => "hours",
            (TimeUnit::Day, true) => "day",
            (TimeUnit::Day, false) => "days",
        }
    }
}

/// The largest request count a policy can allow per time window.
pub const MAX_REQUEST_COUNT: i64 = 1_000_000_000;
/// The longest time window, in units.
pub const MAX_UNIT_TIME: i32 = 1000;

/// What the policy form sends. `requires_approval` is a check box: `true` when ticked.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct PolicyForm {
    #[serde(default)]
    pub level: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub display_name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub request_count: String,
    #[serde(default)]
    pub unit_time: String,
    #[serde(default)]
    pub time_unit: String,
    #[serde(default)]
    pub requires_approval: Option<String>,
}

impl PolicyForm {
    /// The empty form of a new policy, with the usual defaults chosen.
    pub fn blank() -> Self {
        Self {
            level: PolicyLevel::Subscription.as_str().to_string(),
            unit_time: "1".to_string(),
            time_unit: TimeUnit::Minute.as_str().to_string(),
            ..Self::default()
        }
    }

    pub fn approval_ticked(&self) -> bool {
        self.requires_approval.as_deref() == Some("true")
    }
}

/// A policy name: 1–64 of `[A-Za-z0-9_-]` (forms elsewhere refer to policies by it).
pub fn parse_name(value: &str) -> Result<String, String> {
    text::identifier(value, "Name", 64, &[('-', "hyphens"), ('_', "underscores")])
}

fn parse_level(value: &str) -> Result<PolicyLevel, String> {
    value
        .trim()
        .parse()
        .map_err(|_| "Choose a level: application or subscription.".to_string())
}

/// Empty means unlimited; otherwise a whole number from 1 to 1,000,000,000.
fn parse_request_count(value: &str) -> Result<Option<i64>, String> {
    let value = value.trim();
    if value.is_empty() {
        return Ok(None);
    }
    match value.parse::<i64>() {
        Ok(count)
            if value.bytes().all(|b| b.is_ascii_digit())
                && (1..=MAX_REQUEST_COUNT).contains(&count) =>
        {
            Ok(Some(count))
        }
        _ => Err(
            "Request count must be a whole number from 1 to 1000000000, or empty for unlimited."
                .into(),
        ),
    }
}

/// Empty means 1; otherwise a whole number from 1 to 1000.
fn parse_unit_time(value: &str) -> Result<i32, String> {
    let value = value.trim();
    if value.is_empty() {
        return Ok(1);
    }
    match value.parse::<i32>() {
        Ok(units)
            if value.bytes().all(|b| b.is_ascii_digit())
                && (1..=MAX_UNIT_TIME).contains(&units) =>
        {
            Ok(units)
        }
        _ => Err("Unit time must be a whole number from 1 to 1000.".into()),
    }
}

fn parse_time_unit(value: &str) -> Result<TimeUnit, String> {
    value
        .trim()
        .parse()
        .map_err(|_| "Choose a time unit: sec, min, hour or day.".to_string())
}

fn parse_check_box(value: Option<&str>, label: &str) -> Result<bool, String> {
    match value {
        None | Some("") | Some("false") => Ok(false),
        Some("true") => Ok(true),
        Some(_) => Err(format!("{label} is a check box: send true or nothing.")),
    }
}

const APPROVAL_LEVEL_ERROR: &str =
    "Only subscription policies can require approval; untick it for an application policy.";

/// What an administrator may change on an existing policy (level and name are fixed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyChanges {
    pub display_name: String,
    pub description: String,
    /// `None`: unlimited.
    pub request_count: Option<i64>,
    pub unit_time: i32,
    pub time_unit: TimeUnit,
    pub requires_approval: bool,
}

impl PolicyChanges {
    /// Checks the changeable fields of a policy of `level`, each error naming its form field.
    pub fn parse(form: &PolicyForm, level: PolicyLevel) -> Result<Self, FieldErrors> {
        let mut errors = FieldErrors::new();
        let changes = Self::collect(form, &mut errors);
        if level == PolicyLevel::Application && form.approval_ticked() {
            errors.add("requires_approval", APPROVAL_LEVEL_ERROR);
        }
        errors.into_result(changes)
    }

    fn collect(form: &PolicyForm, errors: &mut FieldErrors) -> Option<Self> {
        let display_name = errors.check(
            "display_name",
            text::required_line(&form.display_name, "Display name", 100),
        );
        let description = errors.check(
            "description",
            text::optional_text(&form.description, "Description", 512),
        );
        let request_count = errors.check("request_count", parse_request_count(&form.request_count));
        let unit_time = errors.check("unit_time", parse_unit_time(&form.unit_time));
        let time_unit = errors.check("time_unit", parse_time_unit(&form.time_unit));
        let requires_approval = errors.check(
            "requires_approval",
            parse_check_box(form.requires_approval.as_deref(), "Requires approval"),
        );
        Some(Self {
            display_name: display_name?,
            description: description?,
            request_count: request_count?,
            unit_time: unit_time?,
            time_unit: time_unit?,
            requires_approval: requires_approval?,
        })
    }
}

/// A validated new policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPolicy {
    pub level: PolicyLevel,
    pub name: String,
    pub changes: PolicyChanges,
}

impl NewPolicy {
    /// Validates every field of the form at once, so the administrator sees all problems.
    pub fn parse(form: &PolicyForm) -> Result<Self, FieldErrors> {
        let mut errors = FieldErrors::new();
        let new = Self::collect(form, &mut errors);
        errors.into_result(new)
    }

    fn collect(form: &PolicyForm, errors: &mut FieldErrors) -> Option<Self> {
        let level = errors.check("level", parse_level(&form.level));
        let name = errors.check("name", parse_name(&form.name));
        let changes = PolicyChanges::collect(form, errors);
        if level == Some(PolicyLevel::Application) && form.approval_ticked() {
            errors.add("requires_approval", APPROVAL_LEVEL_ERROR);
        }
        Some(Self {
            level: level?,
            name: name?,
            changes: changes?,
        })
    }
}

/// How many things use a policy; a policy in use cannot be deleted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PolicyUses {
    pub applications: i64,
    pub subscriptions: i64,
    pub apis: i64,
}

impl PolicyUses {
    pub fn total(&self) -> i64 {
        self.applications + self.subscriptions + self.apis
    }

    /// "2 subscriptions and 1 API", or "nothing".
    pub fn describe(&self) -> String {
        let plural =
            |n: i64, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
        let parts: Vec<String> = [
            (self.applications, "application", "applications"),
            (self.subscriptions, "subscription", "subscriptions"),
            (self.apis, "API", "APIs"),
        ]
        .into_iter()
        .filter(|(n, _, _)| *n > 0)
        .map(|(n, one, many)| plural(n, one, many))
        .collect();
        match parts.as_slice() {
            [] => "nothing".to_string(),
            [one] => one.clone(),
            [init @ .., last] => format!("{} and {last}", init.join(", ")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form() -> PolicyForm {
        PolicyForm {
            level: "subscription".into(),
            name: "Platinum".into(),
            display_name: "Platinum".into(),
            description: String::new(),
            request_count: "10000".into(),
            unit_time: "1".into(),
            time_unit: "min".into(),
            requires_approval: None,
        }
    }

    #[test]
    fn a_valid_form_parses() {
        let policy = NewPolicy::parse(&form()).unwrap();
        assert_eq!(policy.level, PolicyLevel::Subscription);
        assert_eq!(policy.changes.request_count, Some(10000));
        let unlimited = NewPolicy::parse(&PolicyForm {
            request_count: " ".into(),
            unit_time: String::new(),
            ..form()
        })
        .unwrap();
        assert_eq!(unlimited.changes.request_count, None);
        assert_eq!(unlimited.changes.unit_time, 1);
    }

    #[test]
    fn numbers_stay_in_range() {
        for bad in ["0", "-1", "+5", "1.5", "1000000001", "1e3", "abc"] {
            let errors = NewPolicy::parse(&PolicyForm {
                request_count: bad.into(),
                ..form()
            })
            .unwrap_err();
            assert!(errors.get("request_count").is_some(), "{bad}");
        }
        for bad in ["0", "1001", "x"] {
            let errors = NewPolicy::parse(&PolicyForm {
                unit_time: bad.into(),
                ..form()
            })
            .unwrap_err();
            assert!(errors.get("unit_time").is_some(), "{bad}");
        }
    }

    #[test]
    fn application_policies_cannot_require_approval() {
        let errors = NewPolicy::parse(&PolicyForm {
            level: "application".into(),
            requires_approval: Some("true".into()),
            display_name: String::new(),
            ..form()
        })
        .unwrap_err();
        assert!(errors.get("requires_approval").is_some());
        assert!(
            errors.get("display_name").is_some(),
            "every problem at once"
        );
    }

    #[test]
    fn uses_read_as_a_sentence() {
        let uses = PolicyUses {
            applications: 0,
            subscriptions: 2,
            apis: 1,
        };
        assert_eq!(uses.describe(), "2 subscriptions and 1 API");
        let uses = PolicyUses {
            applications: 1,
            subscriptions: 1,
            apis: 3,
        };
        assert_eq!(uses.describe(), "1 application, 1 subscription and 3 APIs");
    }
}
