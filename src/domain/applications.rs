//! Applications and their subscriptions.
