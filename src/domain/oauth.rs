//! The values OAuth2 exchanges, each checked once: a redirect (callback) URI, a grant type, a
//! scope list, a consumer key. Past the handler, code holds these types rather than strings, so
//! a value that broke a rule cannot travel further.

use serde::{Deserialize, Serialize};

use super::text;
use crate::text_enum;

/// The longest callback URL.
pub const REDIRECT_URI_MAX: usize = 2048;
/// The longest scope text.
pub const SCOPES_MAX: usize = 1000;
/// The longest consumer key.
pub const CONSUMER_KEY_MAX: usize = 255;

checked_text! {
    /// A redirect (callback) URI that passed `RedirectUri::parse`. Stored values deserialize as
    /// they were checked when written.
    #[derive(Serialize, Deserialize)]
    #[serde(transparent)]
    pub struct RedirectUri;
}

impl RedirectUri {
    /// A redirect URI a key manager already holds for a client, read back from it: shown and
    /// sent back as it is, not typed by a user (`parse` is for what users type).
    pub fn registered(value: String) -> Self {
        RedirectUri(value)
    }
}

/// True for the hosts a plain-http callback may point at (RFC 8252 §7.3, native apps).
fn is_loopback(host: &url::Host<&str>) -> bool {
    match host {
        url::Host::Domain(name) => name.eq_ignore_ascii_case("localhost"),
        url::Host::Ipv4(ip) => *ip == std::net::Ipv4Addr::LOCALHOST,
        url::Host::Ipv6(ip) => *ip == std::net::Ipv6Addr::LOCALHOST,
    }
}

impl RedirectUri {
    /// One callback (redirect) URL: absolute https, http on a loopback host, or a private-use
    /// scheme of a native app (`com.example.app:/callback`, RFC 8252 §7.1); no fragment, no
    /// wildcard, no credentials, at most 2048 characters. Whether a private-use scheme suits
    /// the client (a public one) is the keys settings' rule.
    pub fn parse(value: &str) -> Result<Self, String> {
        let value = value.trim();
        let shown: String = value.chars().take(80).collect();
        if value.chars().count() > REDIRECT_URI_MAX {
            return Err(format!(
                "A callback URL must be at most {REDIRECT_URI_MAX} characters."
            ));
        }
        if value.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(format!(
                "The callback URL “{shown}” contains spaces or control characters."
            ));
        }
        if value.contains('*') {
            return Err(format!(
                "The callback URL “{shown}” contains a wildcard (*): give each exact URL."
            ));
        }
        let scheme = value
            .split(':')
            .next()
            .unwrap_or_default()
            .to_ascii_lowercase();
        if matches!(
            scheme.as_str(),
            "javascript" | "data" | "file" | "vbscript" | "blob"
        ) {
            return Err(format!("{scheme}: URLs cannot be callback URLs."));
        }
        if value.contains('#') {
            return Err(format!(
                "The callback URL “{shown}” has a fragment (#…): callback URLs must not have one."
            ));
        }
        let url = url::Url::parse(value).map_err(|_| {
            format!("“{shown}” is not an absolute URL such as https://app.example/callback.")
        })?;
        if !url.username().is_empty() || url.password().is_some() {
            return Err(format!(
                "The callback URL “{shown}” must not carry a user name or password."
            ));
        }
        if is_private_use_scheme(url.scheme()) {
            return Ok(RedirectUri(value.to_string()));
        }
        let host = url
            .host()
            .ok_or_else(|| format!("The callback URL “{shown}” has no host."))?;
        match url.scheme() {
            "https" => {}
            "http" if is_loopback(&host) => {}
            "http" => {
                return Err(format!(
                    "The callback URL “{shown}” must use https (plain http only on 127.0.0.1, ::1 or localhost)."
                ));
            }
            _ => {
                return Err(format!(
                    "The callback URL “{shown}” must be an https URL (or http on 127.0.0.1, ::1 or localhost, or a native app's private-use scheme such as com.example.app:/callback)."
                ));
            }
        }
        Ok(RedirectUri(value.to_string()))
    }

    /// True for a native app's private-use scheme URI (`com.example.app:/callback`).
    pub fn is_private_use(&self) -> bool {
        is_private_use(&self.0)
    }
}

/// True for a private-use URI scheme (RFC 8252 §7.1): a reverse domain name such as
/// `com.example.app` — letters, digits, `+ - .`, with at least one dot.
fn is_private_use_scheme(scheme: &str) -> bool {
    scheme.contains('.')
        && scheme.starts_with(|c: char| c.is_ascii_alphabetic())
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
}

/// True when a redirect URI uses a private-use scheme (a native app's).
pub fn is_private_use(uri: &str) -> bool {
    uri.split_once(':')
        .is_some_and(|(scheme, _)| is_private_use_scheme(&scheme.to_ascii_lowercase()))
}

/// True when an authorization request's `requested` redirect URI is the `registered` one:
/// exactly, or — for http on a loopback IP literal (127.0.0.1, [::1]) — on any port, since a
/// native app listens on whatever port the system gives it (RFC 8252 §7.3).
pub fn redirect_matches(registered: &str, requested: &str) -> bool {
    if registered == requested {
        return true;
    }
    let (Ok(mut expected), Ok(asked)) = (url::Url::parse(registered), url::Url::parse(requested))
    else {
        return false;
    };
    let loopback_ip = matches!(
        expected.host(),
        Some(url::Host::Ipv4(ip)) if ip.is_loopback()
    ) || matches!(expected.host(), Some(url::Host::Ipv6(ip)) if ip.is_loopback());
    expected.scheme() == "http"
        && loopback_ip
        && expected.set_port(asked.port()).is_ok()
        && expected.as_str() == requested
}

/// The web origin of an http(s) URI (`scheme://host[:port]`, as browsers send it in
/// `Origin`); `None` for other schemes and for what is no URL.
pub fn web_origin(uri: &str) -> Option<String> {
    let url = url::Url::parse(uri).ok()?;
    matches!(url.scheme(), "http" | "https").then(|| url.origin().ascii_serialization())
}

/// The web origin an `Origin` header names, when it is one: not `null`, not a URL with a path.
pub fn parse_origin(value: &str) -> Option<String> {
    let url = url::Url::parse(value).ok()?;
    let bare = url.path() == "/"
        && !value.ends_with('/')
        && url.query().is_none()
        && url.fragment().is_none()
        && url.username().is_empty();
    bare.then(|| web_origin(value)).flatten()
}

text_enum! {
    /// The OAuth2 grant types a key manager can offer, in the order the forms list them.
    pub enum GrantType {
        ClientCredentials = "client_credentials",
        AuthorizationCode = "authorization_code",
        RefreshToken = "refresh_token",
        Password = "password",
        Implicit = "implicit",
        JwtBearer = "urn:ietf:params:oauth:grant-type:jwt-bearer",
        DeviceCode = "urn:ietf:params:oauth:grant-type:device_code",
        TokenExchange = "urn:ietf:params:oauth:grant-type:token-exchange",
    }
}

impl GrantType {
    /// How the grant type reads on the forms, beside its registered name.
    pub fn label(&self) -> &'static str {
        match self {
            GrantType::ClientCredentials => "Client credentials",
            GrantType::AuthorizationCode => "Authorization code",
            GrantType::RefreshToken => "Refresh token",
            GrantType::Password => "Resource owner password (not recommended)",
            GrantType::Implicit => "Implicit (not recommended)",
            GrantType::JwtBearer => "JWT bearer",
            GrantType::DeviceCode => "Device code",
            GrantType::TokenExchange => "Token exchange",
        }
    }
}

/// Scopes that passed `Scopes::parse`: space-separated NQCHAR tokens (RFC 6749 §3.3), each once,
/// in the order asked.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Scopes(Vec<String>);

impl Scopes {
    pub fn parse(value: &str) -> Result<Self, String> {
        if value.len() > SCOPES_MAX {
            return Err(format!("Scopes must be at most {SCOPES_MAX} characters."));
        }
        let mut scopes: Vec<String> = Vec::new();
        for token in value.split(' ').filter(|t| !t.is_empty()) {
            if !token
                .chars()
                .all(|c| c == '!' || ('#'..='[').contains(&c) || (']'..='~').contains(&c))
            {
                return Err(
                    "Scopes are separated by spaces and may not contain quotes, backslashes or other special characters."
                        .into(),
                );
            }
            if !scopes.iter().any(|s| s == token) {
                scopes.push(token.to_string());
            }
        }
        Ok(Scopes(scopes))
    }

    pub fn as_slice(&self) -> &[String] {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The `scope` parameter: the tokens joined by spaces.
    pub fn to_param(&self) -> String {
        self.0.join(" ")
    }
}

checked_text! {
    /// A consumer key (OAuth2 client id) typed into the out-of-band form: one line, no spaces.
    pub struct ConsumerKey;
}

impl ConsumerKey {
    pub fn parse(value: &str) -> Result<Self, String> {
        let value = text::required_line(value, "The consumer key", CONSUMER_KEY_MAX)?;
        if value.chars().any(char::is_whitespace) {
            return Err("The consumer key must not contain spaces.".into());
        }
        Ok(ConsumerKey(value))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_grant_type_has_a_label_of_its_own() {
        for grant in GrantType::ALL {
            assert_ne!(grant.label(), grant.as_str(), "{grant} has no label");
        }
    }

    #[test]
    fn callback_urls_must_be_exact_https_or_loopback_http() {
        for good in [
            "https://app.example/callback",
            "https://app.example:8443/cb?x=1",
            "http://127.0.0.1:8080/cb",
            "http://[::1]/cb",
            "http://localhost/cb",
        ] {
            assert_eq!(RedirectUri::parse(good).as_deref(), Ok(good), "{good}");
        }
        for bad in [
            "javascript:alert(1)",
            "JavaScript:alert(1)",
            "data:text/html,hi",
            "file:///etc/passwd",
            "http://app.example/cb",
            "http://127.0.0.2/cb",
            "https://app.example/cb#frag",
            "https://*.example/cb",
            "https://user:pw@app.example/cb",
            "/relative",
            "app.example/cb",
            "ftp://app.example/cb",
            "https://app.example/a b",
        ] {
            assert!(RedirectUri::parse(bad).is_err(), "{bad}");
        }
        let long = format!("https://app.example/{}", "a".repeat(2048));
        assert!(RedirectUri::parse(&long).unwrap_err().contains("2048"));
    }

    #[test]
    fn native_apps_may_use_private_use_schemes() {
        for good in ["com.example.app:/callback", "com.example.app://callback"] {
            let uri = RedirectUri::parse(good).unwrap();
            assert!(uri.is_private_use(), "{good}");
        }
        assert!(
            !RedirectUri::parse("https://app.example/cb")
                .unwrap()
                .is_private_use()
        );
        for bad in [
            "myapp:/callback",
            "com.example.app:/cb#x",
            "1com.example:/cb",
        ] {
            assert!(RedirectUri::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn loopback_ip_redirects_match_on_any_port_and_nothing_else_does() {
        let cases = [
            (
                "http://127.0.0.1:8080/cb",
                "http://127.0.0.1:51234/cb",
                true,
            ),
            ("http://127.0.0.1/cb", "http://127.0.0.1:51234/cb", true),
            ("http://[::1]:8080/cb", "http://[::1]:9/cb", true),
            (
                "http://127.0.0.1:8080/cb",
                "http://127.0.0.1:51234/other",
                false,
            ),
            (
                "http://127.0.0.1:8080/cb",
                "http://127.0.0.1:51234/cb?x=1",
                false,
            ),
            (
                "http://127.0.0.1:8080/cb",
                "https://127.0.0.1:51234/cb",
                false,
            ),
            (
                "http://localhost:8080/cb",
                "http://localhost:9000/cb",
                false,
            ),
            (
                "https://app.example:8443/cb",
                "https://app.example:9443/cb",
                false,
            ),
            (
                "http://127.0.0.1:8080/cb",
                "http://127.0.0.2:8080/cb",
                false,
            ),
            (
                "http://127.0.0.1:8080/cb",
                "http://user@127.0.0.1:8080/cb",
                false,
            ),
        ];
        for (registered, requested, matches) in cases {
            assert_eq!(
                redirect_matches(registered, requested),
                matches,
                "{registered} / {requested}"
            );
        }
    }

    #[test]
    fn web_origins_are_what_browsers_send() {
        for (uri, origin) in [
            ("https://App.Example:443/cb?x", Some("https://app.example")),
            ("http://[::1]:8080/cb", Some("http://[::1]:8080")),
            ("com.example.app:/cb", None),
        ] {
            assert_eq!(web_origin(uri).as_deref(), origin, "{uri}");
        }
        // An Origin header is a bare origin.
        assert_eq!(
            parse_origin("http://127.0.0.1:5173").as_deref(),
            Some("http://127.0.0.1:5173")
        );
        for bad in [
            "null",
            "https://a.example/",
            "https://a.example/x",
            "a.example",
            "",
        ] {
            assert_eq!(parse_origin(bad), None, "{bad}");
        }
    }

    #[test]
    fn scopes_are_nqchar_tokens_each_once() {
        assert_eq!(
            Scopes::parse("read  write read").unwrap().as_slice(),
            ["read", "write"]
        );
        assert!(Scopes::parse("bad\"quote").is_err());
        assert!(Scopes::parse("back\\slash").is_err());
    }

    #[test]
    fn consumer_keys_are_one_line_without_spaces() {
        assert_eq!(ConsumerKey::parse(" abc ").unwrap().as_str(), "abc");
        assert!(ConsumerKey::parse("a b").is_err());
        assert!(ConsumerKey::parse("").is_err());
    }
}
