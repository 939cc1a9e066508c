//! `subscriptions`: which application uses which API under which tier.
