//! Accounts: who may sign up and with what. Usernames, emails, passwords, roles and statuses.

use secrecy::{ExposeSecret, SecretString};

use super::FieldErrors;
use super::organisations::{self, OrganisationName};
use super::text;
use crate::text_enum;

text_enum! {
    /// What an account may do: administer the portal, or consume APIs as a third-party provider.
    pub enum Role { Admin = "admin", Tpp = "tpp" }
}

text_enum! {
    /// Where an account stands: only `Active` accounts may sign in.
    pub enum AccountStatus { Active = "active", Pending = "pending", Locked = "locked", Rejected = "rejected" }
}

checked_text! {
    /// A username: 3–64 of `[A-Za-z0-9._-]`, unique case-insensitively (compare by `key()`).
    pub struct Username;
}

impl Username {
    pub fn parse(value: &str) -> Result<Self, String> {
        let value = text::required(value, "Username")?;
        let len = value.chars().count();
        if !(3..=64).contains(&len) {
            return Err("Username must be 3 to 64 characters long.".into());
        }
        if !value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
        {
            return Err(
                "Username may contain only letters, digits, dots, hyphens and underscores.".into(),
            );
        }
        Ok(Self(value.to_string()))
    }

    /// The case-folded form that uniqueness is decided on.
    pub fn key(&self) -> String {
        self.0.to_ascii_lowercase()
    }
}

/// The case-folded lookup key of whatever a person typed in a sign-in form.
pub fn username_key(typed: &str) -> String {
    typed.trim().to_ascii_lowercase()
}

checked_text! {
    /// An email address in the syntax of RFC 5322 (addr-spec), at most 254 characters.
    pub struct Email;
}

impl Email {
    pub fn parse(value: &str) -> Result<Self, String> {
        let value = text::required(value, "Email")?;
        if value.len() > 254 {
            return Err("Email must be at most 254 characters.".into());
        }
        let valid = value.parse::<email_address::EmailAddress>().is_ok()
            && !value.contains(['<', '>', ' '])
            && value
                .rsplit_once('@')
                .is_some_and(|(_, domain)| !domain.is_empty());
        if !valid {
            return Err("Enter an email address like name@example.com.".into());
        }
        Ok(Self(value.to_string()))
    }
}

/// A new password: at least 12 characters, not containing the username, typed twice alike.
pub struct NewPassword(SecretString);

pub const PASSWORD_MIN: usize = 12;
pub const PASSWORD_MAX: usize = 1024;

impl NewPassword {
    /// Checks the password; errors go to `password` or `password_confirm`.
    pub fn parse(
        password: &str,
        confirmation: &str,
        username: Option<&Username>,
        errors: &mut FieldErrors,
    ) -> Option<Self> {
        let len = password.chars().count();
        let problem = if password.is_empty() {
            Some("Password is required.".to_string())
        } else if len < PASSWORD_MIN {
            Some(format!(
                "Password must be at least {PASSWORD_MIN} characters long."
            ))
        } else if len > PASSWORD_MAX {
            Some(format!(
                "Password must be at most {PASSWORD_MAX} characters long."
            ))
        } else if username.is_some_and(|u| password.to_ascii_lowercase().contains(&u.key())) {
            Some("Password must not contain the username.".to_string())
        } else {
            None
        };
        if let Some(message) = problem {
            errors.add("password", message);
            return None;
        }
        if password != confirmation {
            errors.add("password_confirm", "The two passwords do not match.");
            return None;
        }
        Some(Self(SecretString::from(password.to_string())))
    }

    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }
}

/// What the sign-up form sends. `Debug` leaves the passwords out.
#[derive(serde::Deserialize, Default, Clone)]
pub struct SignupForm {
    #[serde(default)]
    pub username: String,
    #[serde(default)]
    pub email: String,
    #[serde(default)]
    pub first_name: String,
    #[serde(default)]
    pub last_name: String,
    #[serde(default)]
    pub organization: String,
    /// The new organisation's registration number or similar (optional).
    #[serde(default)]
    pub legal_identifier: String,
    /// The new organisation's country, ISO 3166-1 alpha-2 (optional).
    #[serde(default)]
    pub country: String,
    #[serde(default)]
    pub password: String,
    #[serde(default)]
    pub password_confirm: String,
    #[serde(default)]
    pub accept_terms: Option<String>,
    /// Where to go once signed in (a local path; anything else is dropped).
    #[serde(default)]
    pub next: String,
}

impl std::fmt::Debug for SignupForm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignupForm")
            .field("username", &self.username)
            .field("email", &self.email)
            .finish_non_exhaustive()
    }
}

/// A validated sign-up: everything needed to create a TPP account.
pub struct NewAccount {
    pub username: Username,
    pub email: Email,
    pub first_name: String,
    pub last_name: String,
    pub organization: String,
    pub password: NewPassword,
    /// The organisation the person founds: named as they typed it (`None`: after them).
    pub founds: Founding,
}

impl NewAccount {
    /// Validates every field of the form at once, so the person sees all problems together.
    pub fn parse(form: &SignupForm) -> Result<Self, FieldErrors> {
        let mut errors = FieldErrors::new();
        let account = Self::collect(form, &mut errors);
        if form.accept_terms.as_deref() != Some("true") {
            errors.add(
                "accept_terms",
                "You must accept the terms and conditions to sign up.",
            );
        }
        errors.into_result(account)
    }

    /// The account, when every field is valid; each error goes to its field.
    fn collect(form: &SignupForm, errors: &mut FieldErrors) -> Option<Self> {
        let username = errors.check("username", Username::parse(&form.username));
        let email = errors.check("email", Email::parse(&form.email));
        let first_name = errors.check(
            "first_name",
            text::required_line(&form.first_name, "First name", 100),
        );
        let last_name = errors.check(
            "last_name",
            text::required_line(&form.last_name, "Last name", 100),
        );
        let organization = errors.check(
            "organization",
            text::optional_line(&form.organization, "Organization", 200),
        );
        let legal_identifier = errors.check(
            "legal_identifier",
            organisations::legal_identifier(&form.legal_identifier),
        );
        let country = errors.check("country", organisations::country(&form.country));
        let password = NewPassword::parse(
            &form.password,
            &form.password_confirm,
            username.as_ref(),
            errors,
        );
        Some(Self {
            username: username?,
            email: email?,
            first_name: first_name?,
            last_name: last_name?,
            founds: Founding {
                name: organisations::organisation_name(organization.as_deref()?).ok(),
                legal_identifier: legal_identifier?,
                country: country?,
                invitation: form
                    .next
                    .strip_prefix("/invitations/")
                    .filter(|t| !t.is_empty() && !t.contains('/'))
                    .map(str::to_string),
            },
            organization: organization?,
            password: password?,
        })
    }
}

/// The organisation a sign-up founds.
#[derive(Debug, Default, Clone)]
pub struct Founding {
    pub name: Option<OrganisationName>,
    pub legal_identifier: String,
    pub country: String,
    /// The token of the invitation the sign-up came from (its `next`): when it invites this
    /// address, the account joins that organisation instead of founding one.
    pub invitation: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_follow_the_rules() {
        assert!(Username::parse("ab").is_err());
        assert!(Username::parse(&"a".repeat(65)).is_err());
        assert!(Username::parse("has space").is_err());
        assert!(Username::parse("ünï").is_err());
        assert_eq!(
            Username::parse("Ada.Lovelace_1-x").unwrap().key(),
            "ada.lovelace_1-x"
        );
    }

    #[test]
    fn passwords_follow_the_rules() {
        let user = Username::parse("alice").unwrap();
        // Whether a password and its confirmation pass, and the errors they get.
        let parse = |password: &str, confirmation: &str| {
            let mut errors = FieldErrors::new();
            let parsed = NewPassword::parse(password, confirmation, Some(&user), &mut errors);
            (parsed.is_some(), errors)
        };
        let (passed, errors) = parse("short", "short");
        assert!(!passed && errors.get("password").unwrap().contains("12"));
        let (passed, errors) = parse("xxALICExx-long", "xxALICExx-long");
        assert!(!passed && errors.get("password").unwrap().contains("username"));
        let (passed, errors) = parse("a long passphrase", "a long passphrasf");
        assert!(!passed && errors.get("password_confirm").is_some());
        let (passed, errors) = parse("a long passphrase", "a long passphrase");
        assert!(passed && errors.is_empty());
    }

    #[test]
    fn emails_follow_the_syntax() {
        assert!(Email::parse("name@example.com").is_ok());
        assert!(Email::parse("no-at-sign").is_err());
        assert!(Email::parse("a@").is_err());
        assert!(Email::parse("<a@b.c>").is_err());
    }
}
