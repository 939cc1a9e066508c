//! `LocalPath`: where a person may be sent after signing in — a path on this site, never
//! another host (`//evil`, `/\evil`, `https://evil`, or any of those percent-encoded).

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalPath(String);

impl LocalPath {
    pub fn parse(value: &str) -> Option<Self> {
        if value.len() > 2048 || !is_local(value) {
            return None;
        }
        // Decoded twice over, the path must still be local (`/%2F%2Fevil`, `/%252F...`).
        let once = percent_decode(value);
        let twice = percent_decode(&once);
        (is_local(&once) && is_local(&twice)).then(|| Self(value.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

fn is_local(path: &str) -> bool {
    path.starts_with('/')
        && !path.starts_with("//")
        && !path.contains('\\')
        && !path.chars().any(|c| c.is_control() || c.is_whitespace())
}

fn percent_decode(value: &str) -> String {
    url::form_urlencoded::parse(format!("x={}", value.replace('+', "%2B")).as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::LocalPath;

    #[test]
    fn only_local_paths_pass() {
        for bad in [
            "https://evil",
            "//evil",
            "/\\evil",
            "/%2F%2Fevil",
            "/%2f%2fevil",
            "/%5Cevil",
            "evil",
            "",
            "/%252F%252Fevil",
            "/\tevil",
        ] {
            assert!(LocalPath::parse(bad).is_none(), "{bad} must be refused");
        }
        for good in [
            "/",
            "/applications",
            "/applications/3?tab=keys",
            "/oauth2/authorize?client_id=a&redirect_uri=https%3A%2F%2Fx",
        ] {
            assert_eq!(LocalPath::parse(good).unwrap().as_str(), good);
        }
    }
}
