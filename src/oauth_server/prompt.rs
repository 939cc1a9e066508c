//! What an authorization request asks of the person (OIDC Core §3.1.2.1): `prompt` —
//! `none` (answer without showing anything), `login` (sign in again), `consent` (ask again
//! even when a consent is remembered), `select_account` (the sign-in page, where another
//! account may be chosen) — and `max_age`, the oldest sign-in that still counts.

/// A parsed `prompt` parameter.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Prompt {
    pub none: bool,
    pub login: bool,
    pub consent: bool,
    pub select_account: bool,
}

impl Prompt {
    /// Space-separated values, each once; `none` stands alone (§3.1.2.1).
    pub fn parse(value: &str) -> Result<Self, String> {
        let mut prompt = Prompt::default();
        for word in value.split(' ').filter(|w| !w.is_empty()) {
            let flag = match word {
                "none" => &mut prompt.none,
                "login" => &mut prompt.login,
                "consent" => &mut prompt.consent,
                "select_account" => &mut prompt.select_account,
                other => {
                    let shown: String = other.chars().take(40).collect();
                    return Err(format!(
                        "prompt {shown:?} is not supported: use none, login, consent or select_account."
                    ));
                }
            };
            *flag = true;
        }
        if prompt.none && (prompt.login || prompt.consent || prompt.select_account) {
            return Err("prompt=none cannot be combined with other values.".into());
        }
        Ok(prompt)
    }

    /// True when the person must sign in (again) whatever their session.
    pub fn wants_sign_in(self) -> bool {
        self.login || self.select_account
    }
}

/// The prompt left once the person has signed in for the request: the values that asked for
/// the sign-in are met, the rest (`consent`) stands.
pub fn after_sign_in(prompt: &str) -> String {
    prompt
        .split(' ')
        .filter(|w| !w.is_empty() && *w != "login" && *w != "select_account")
        .collect::<Vec<_>>()
        .join(" ")
}

/// A `max_age` parameter: whole seconds, 0 or more (empty: none).
pub fn parse_max_age(value: &str) -> Result<Option<i64>, String> {
    if value.is_empty() {
        return Ok(None);
    }
    if value.len() > 12 || !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err("max_age must be a whole number of seconds (0 or more).".into());
    }
    value
        .parse()
        .map(Some)
        .map_err(|_| "max_age must be a whole number of seconds (0 or more).".into())
}

/// True when a sign-in at `auth_time` still counts at `now` under `max_age` (a session that
/// did not record its sign-in time counts as too old).
pub fn fresh_enough(auth_time: Option<i64>, max_age: Option<i64>, now: i64) -> bool {
    match (auth_time, max_age) {
        (None, _) => false,
        (Some(_), None) => true,
        (Some(at), Some(max)) => now - at <= max,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prompt_values_are_the_four_of_oidc_and_none_stands_alone() {
        let both = Prompt::parse("login consent").unwrap();
        assert!(both.login && both.consent && both.wants_sign_in());
        assert_eq!(Prompt::parse("").unwrap(), Prompt::default());
        for bad in [
            "none login",
            "consent none",
            "create",
            "LOGIN",
            "login\tconsent",
        ] {
            assert!(Prompt::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(after_sign_in("login consent"), "consent");
        assert_eq!(after_sign_in("select_account"), "");
    }

    #[test]
    fn max_age_is_whole_seconds() {
        assert_eq!(parse_max_age("0"), Ok(Some(0)));
        assert_eq!(parse_max_age("3600"), Ok(Some(3600)));
        assert_eq!(parse_max_age(""), Ok(None));
        for bad in ["-1", "+5", "1.5", "ten", "9999999999999", " 5"] {
            assert!(parse_max_age(bad).is_err(), "{bad}");
        }
        assert!(fresh_enough(Some(100), Some(60), 160));
        assert!(!fresh_enough(Some(100), Some(60), 161));
        assert!(!fresh_enough(None, None, 0));
    }
}
