//! Throttling policies: how many requests an application, or a subscription, may make.

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
