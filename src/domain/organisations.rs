//! Organisations: the company a TPP is. Its name (unique as folded), legal identifier and
//! country; its members' roles and what each role may do.

use super::text;
use crate::text_enum;

text_enum! {
    /// Where an organisation stands: a new one waits for an administrator when sign-ups need
    /// approval; a suspended one gets no tokens and its members cannot work in it.
    pub enum OrganisationStatus {
        Pending = "pending",
        Active = "active",
        Suspended = "suspended",
        Rejected = "rejected",
    }
}

text_enum! {
    /// A member's role. Owner and Admin manage members and every application; Developer
    /// creates and manages applications, keys and subscriptions; Viewer reads applications and
    /// subscriptions, never sees a secret and cannot get a token.
    pub enum MemberRole {
        Owner = "owner",
        Admin = "admin",
        Developer = "developer",
        Viewer = "viewer",
    }
}

impl MemberRole {
    pub fn label(&self) -> &'static str {
        match self {
            MemberRole::Owner => "Owner",
            MemberRole::Admin => "Admin",
            MemberRole::Developer => "Developer",
            MemberRole::Viewer => "Viewer",
        }
    }

    /// Creating, changing and deleting applications, their keys and subscriptions; seeing
    /// secrets and getting tokens.
    pub fn may_change_applications(&self) -> bool {
        !matches!(self, MemberRole::Viewer)
    }

    /// Inviting and removing members, changing roles, moving applications.
    pub fn may_manage_members(&self) -> bool {
        matches!(self, MemberRole::Owner | MemberRole::Admin)
    }
}

pub const NAME_MAX: usize = 200;
pub const LEGAL_IDENTIFIER_MAX: usize = 64;

/// An organisation name: trimmed, NFC-normalised, 1–200 characters on one line. Two names are
/// the same organisation when their `key()`s are equal.
pub type OrganisationName = text::FoldedName;

/// Reads an organisation name.
pub fn organisation_name(value: &str) -> Result<OrganisationName, String> {
    OrganisationName::parse(value, "Organisation", NAME_MAX)
}

/// The name with a suffix that tells it apart from a taken one, cut to fit.
pub fn with_suffix(name: &OrganisationName, suffix: &str) -> OrganisationName {
    let room = NAME_MAX.saturating_sub(suffix.chars().count() + 1);
    let base: String = name.as_str().chars().take(room).collect();
    OrganisationName::of_valid(format!("{} {suffix}", base.trim_end()))
}

/// A legal identifier (a registration number, LEI …): optional, one line, up to 64 characters.
pub fn legal_identifier(value: &str) -> Result<String, String> {
    text::optional_line(value, "Legal identifier", LEGAL_IDENTIFIER_MAX)
}

/// A country: empty, or two letters (ISO 3166-1 alpha-2), stored in capitals.
pub fn country(value: &str) -> Result<String, String> {
    let value = value.trim();
    if value.is_empty() {
        return Ok(String::new());
    }
    if value.len() == 2 && value.chars().all(|c| c.is_ascii_alphabetic()) {
        Ok(value.to_ascii_uppercase())
    } else {
        Err("Country must be a two-letter ISO 3166 code, such as GB or DE.".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_suffix_keeps_the_name_within_its_limit() {
        let long = organisation_name(&"x".repeat(NAME_MAX)).unwrap();
        let told_apart = with_suffix(&long, "(alice)");
        assert_eq!(told_apart.as_str().chars().count(), NAME_MAX);
        assert!(told_apart.as_str().ends_with(" (alice)"));
    }

    #[test]
    fn countries_are_two_letters() {
        assert_eq!(country(" gb ").unwrap(), "GB");
        assert_eq!(country("").unwrap(), "");
        assert!(country("GBR").is_err());
        assert!(country("1A").is_err());
    }

    #[test]
    fn viewers_change_nothing_and_only_owners_and_admins_manage_members() {
        assert!(!MemberRole::Viewer.may_change_applications());
        assert!(MemberRole::Developer.may_change_applications());
        assert!(!MemberRole::Developer.may_manage_members());
        assert!(MemberRole::Admin.may_manage_members());
        assert!(MemberRole::Owner.may_manage_members());
    }
}
