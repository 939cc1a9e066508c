//! Settings: an optional `portico.toml` overridden by `PORTICO_*` environment variables.
//!
//! Every key of the file has an environment twin (`listen` ↔ `PORTICO_LISTEN`). An unknown key in
//! the file is an error that names it, so a typo never silently falls back to a default.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use secrecy::{ExposeSecret, SecretBox, SecretString};
use serde::Deserialize;
use url::Url;

use crate::db::Database;
use crate::security::client_address::TrustedProxies;
use crate::text_enum;

text_enum! {
    /// The JWS algorithms the resident authorization server signs with (`signing_algorithm`).
    pub enum SigningAlgorithm { Es256 = "ES256", Rs256 = "RS256", Ps256 = "PS256", EdDsa = "EdDSA" }
}

/// What a `portico.toml` may contain. Every field is optional; unknown keys are refused. No
/// `Debug`: it holds the secret key and the first administrator's password.
#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileSettings {
    pub listen: Option<String>,
    pub database_url: Option<String>,
    pub database_pool_size: Option<u32>,
    /// Milliseconds a PostgreSQL statement may run (or wait for a lock) before it is cancelled.
    pub database_statement_timeout: Option<u64>,
    /// PostgreSQL's `sslmode` (disable, prefer, require, verify-ca, verify-full) when the URL
    /// does not say it.
    pub database_sslmode: Option<String>,
    pub public_url: Option<String>,
    pub secret_key: Option<String>,
    pub admin_username: Option<String>,
    pub admin_password: Option<String>,
    pub signup_approval: Option<bool>,
    pub key_provisioning: Option<bool>,
    pub allow_private_km_urls: Option<bool>,
    pub signing_algorithm: Option<String>,
    /// `"10.0.0.0/8, 192.0.2.7"` or `["10.0.0.0/8", "192.0.2.7"]`.
    pub trusted_proxies: Option<TextList>,
}

/// A setting given as one comma-separated string or as a TOML array of strings.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum TextList {
    One(String),
    Many(Vec<String>),
}

impl TextList {
    fn joined(self) -> String {
        match self {
            TextList::One(text) => text,
            TextList::Many(items) => items.join(","),
        }
    }
}

/// The resolved settings Portico runs with.
pub struct Settings {
    pub listen: SocketAddr,
    /// The SQLite file or the PostgreSQL server (`PORTICO_DATABASE_URL`).
    pub database: Database,
    /// How many pooled database connections (and blocking threads) Portico keeps.
    pub database_pool_size: u32,
    pub public_url: Url,
    /// True when no public URL was configured: it then follows the bound listener's address.
    pub public_url_from_listen: bool,
    pub secret_key: SecretKey,
    pub first_admin: Option<(String, SecretString)>,
    pub signup_approval: bool,
    pub key_provisioning: bool,
    pub allow_private_km_urls: bool,
    /// The algorithm the resident authorization server signs with (ES256 by default).
    pub signing_algorithm: SigningAlgorithm,
    /// Reverse proxies whose `X-Forwarded-For` / `Forwarded` headers are believed.
    pub trusted_proxies: TrustedProxies,
}

/// The 256-bit key that encrypts secrets at rest and protects session cookies.
pub struct SecretKey(SecretBox<[u8; 32]>);

/// `SecretBox::new` and the CSRF keys take the key's bytes, not the settings.
impl AsRef<[u8]> for SecretKey {
    fn as_ref(&self) -> &[u8] {
        self.bytes()
    }
}

impl SecretKey {
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(SecretBox::new(Box::new(bytes)))
    }

    pub fn parse_hex(value: &str) -> Result<Self, String> {
        let bytes = hex::decode(value.trim()).map_err(|_| "must be 64 hexadecimal characters")?;
        let bytes: [u8; 32] = bytes
            .try_into()
            .map_err(|_| "must be 64 hexadecimal characters (32 bytes)")?;
        Ok(Self::from_bytes(bytes))
    }

    pub fn bytes(&self) -> &[u8; 32] {
        self.0.expose_secret()
    }

    /// Reads the key kept beside the database, or makes one and keeps it in a 0600 file.
    fn load_or_create(path: &Path) -> Result<Self, SettingsError> {
        let io = |e: std::io::Error| {
            SettingsError::new(format!("secret key file {}: {e}", path.display()))
        };
        if path.exists() {
            crate::security::files::restrict_to_owner(path).map_err(io)?;
            let text = std::fs::read_to_string(path).map_err(io)?;
            return Self::parse_hex(&text).map_err(|e| {
                SettingsError::new(format!("secret key file {}: {e}", path.display()))
            });
        }
        let mut bytes = [0u8; 32];
        crate::security::random::fill(&mut bytes);
        write_private_file(path, hex::encode(bytes).as_bytes()).map_err(io)?;
        Ok(Self::from_bytes(bytes))
    }
}

#[cfg(unix)]
fn write_private_file(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(contents)?;
    file.sync_all()
}

#[cfg(not(unix))]
fn write_private_file(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    std::fs::write(path, contents)
}

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct SettingsError(String);

impl SettingsError {
    fn new(message: impl Into<String>) -> Self {
        Self(message.into())
    }
}

impl Settings {
    /// Loads the settings the way the `portico` binary does: the file named by `--config` or
    /// `PORTICO_CONFIG` (else `./portico.toml` when present), then the process environment.
    pub fn load(config_path: Option<PathBuf>) -> Result<Self, SettingsError> {
        let path = config_path
            .or_else(|| std::env::var_os("PORTICO_CONFIG").map(PathBuf::from))
            .or_else(|| Some(PathBuf::from("portico.toml")).filter(|p| p.exists()));
        let file = match path {
            Some(path) => {
                let text = std::fs::read_to_string(&path).map_err(|e| {
                    SettingsError::new(format!("cannot read {}: {e}", path.display()))
                })?;
                Self::parse_file(&text)
                    .map_err(|e| SettingsError::new(format!("{}: {e}", path.display())))?
            }
            None => FileSettings::default(),
        };
        Self::resolve(file, |name| std::env::var(name).ok())
    }

    /// Parses the TOML file; an unknown key is an error naming it.
    pub fn parse_file(text: &str) -> Result<FileSettings, SettingsError> {
        toml::from_str(text).map_err(|e| SettingsError::new(e.message().to_string()))
    }

    /// Combines the file with the environment (read through `env`), environment first.
    pub fn resolve(
        file: FileSettings,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, SettingsError> {
        let pick = |name: &str, from_file: Option<String>| env(name).or(from_file);
        let flag =
            |name: &str, from_file: Option<bool>, default: bool| -> Result<bool, SettingsError> {
                match env(name) {
                    Some(v) => parse_bool(&v).ok_or_else(|| {
                        SettingsError::new(format!("{name}: expected true or false, got {v:?}"))
                    }),
                    None => Ok(from_file.unwrap_or(default)),
                }
            };

        let listen_text =
            pick("PORTICO_LISTEN", file.listen).unwrap_or_else(|| "127.0.0.1:8080".into());
        let listen: SocketAddr = listen_text.parse().map_err(|_| {
            SettingsError::new(format!(
                "PORTICO_LISTEN (listen): {listen_text:?} is not an address like 127.0.0.1:8080"
            ))
        })?;

        let database = database(
            pick("PORTICO_DATABASE_URL", file.database_url),
            number(
                "PORTICO_DATABASE_STATEMENT_TIMEOUT (database_statement_timeout)",
                env("PORTICO_DATABASE_STATEMENT_TIMEOUT"),
                file.database_statement_timeout,
            )?,
            pick("PORTICO_DATABASE_SSLMODE", file.database_sslmode),
        )?;
        let database_pool_size = number(
            "PORTICO_DATABASE_POOL_SIZE (database_pool_size)",
            env("PORTICO_DATABASE_POOL_SIZE"),
            file.database_pool_size.map(u64::from),
        )?
        .map_or(Ok(crate::db::POOL_SIZE), |n| {
            u32::try_from(n)
                .ok()
                .filter(|n| (1..=1000).contains(n))
                .ok_or_else(|| {
                    SettingsError::new(
                        "PORTICO_DATABASE_POOL_SIZE (database_pool_size): must be 1 to 1000",
                    )
                })
        })?;

        let (public_url, public_url_from_listen) = match pick("PORTICO_PUBLIC_URL", file.public_url)
        {
            Some(text) => (parse_public_url(&text)?, false),
            None => (listen_url(listen), true),
        };

        let secret_key = match pick("PORTICO_SECRET_KEY", file.secret_key) {
            Some(hex) => SecretKey::parse_hex(&hex)
                .map_err(|e| SettingsError::new(format!("PORTICO_SECRET_KEY (secret_key) {e}")))?,
            None => match &database {
                Database::Sqlite(path) => SecretKey::load_or_create(&secret_key_path(path))?,
                Database::Postgres { .. } => {
                    return Err(SettingsError::new(
                        "PORTICO_SECRET_KEY (secret_key) is required with PostgreSQL: every \
                         instance must use the same key (64 hexadecimal characters)",
                    ));
                }
            },
        };

        let first_admin = first_admin(
            pick("PORTICO_ADMIN_USERNAME", file.admin_username),
            pick("PORTICO_ADMIN_PASSWORD", file.admin_password),
        )?;

        let trusted_proxies = match pick(
            "PORTICO_TRUSTED_PROXIES",
            file.trusted_proxies.map(TextList::joined),
        ) {
            None => TrustedProxies::default(),
            Some(text) => TrustedProxies::parse(&text).map_err(|e| {
                SettingsError::new(format!("PORTICO_TRUSTED_PROXIES (trusted_proxies): {e}"))
            })?,
        };

        Ok(Settings {
            trusted_proxies,
            listen,
            database,
            database_pool_size,
            public_url,
            public_url_from_listen,
            secret_key,
            first_admin,
            signup_approval: flag("PORTICO_SIGNUP_APPROVAL", file.signup_approval, false)?,
            key_provisioning: flag("PORTICO_KEY_PROVISIONING", file.key_provisioning, true)?,
            allow_private_km_urls: flag(
                "PORTICO_ALLOW_PRIVATE_KM_URLS",
                file.allow_private_km_urls,
                false,
            )?,
            signing_algorithm: signing_algorithm(pick(
                "PORTICO_SIGNING_ALGORITHM",
                file.signing_algorithm,
            ))?,
        })
    }

    /// True when Portico is reached over https: cookies then get `Secure` and the `__Host-` prefix.
    pub fn is_https(&self) -> bool {
        self.public_url.scheme() == "https"
    }

    /// The issuer and the base of every absolute URL: the public URL without a trailing slash.
    pub fn base_url(&self) -> String {
        self.public_url.as_str().trim_end_matches('/').to_string()
    }
}

/// `http://` + the address Portico listens on.
pub fn listen_url(address: SocketAddr) -> Url {
    Url::parse(&format!("http://{address}")).expect("a socket address makes a URL")
}

/// The key file kept beside the database: `portico.db` → `portico.db.key`.
pub fn secret_key_path(database_path: &Path) -> PathBuf {
    let mut name = database_path.as_os_str().to_owned();
    name.push(".key");
    PathBuf::from(name)
}

/// The first administrator: both the user name and the password, or neither.
fn first_admin(
    username: Option<String>,
    password: Option<String>,
) -> Result<Option<(String, SecretString)>, SettingsError> {
    match (username, password) {
        (Some(user), Some(password)) => Ok(Some((user, SecretString::from(password)))),
        (None, None) => Ok(None),
        (Some(_), None) => Err(SettingsError::new(
            "PORTICO_ADMIN_USERNAME is set but PORTICO_ADMIN_PASSWORD is not",
        )),
        (None, Some(_)) => Err(SettingsError::new(
            "PORTICO_ADMIN_PASSWORD is set but PORTICO_ADMIN_USERNAME is not",
        )),
    }
}

/// The signing algorithm setting (ES256 when unset).
fn signing_algorithm(text: Option<String>) -> Result<SigningAlgorithm, SettingsError> {
    match text {
        None => Ok(SigningAlgorithm::Es256),
        Some(text) => text.trim().parse().map_err(|_| {
            SettingsError::new(format!(
                "PORTICO_SIGNING_ALGORITHM (signing_algorithm): {text:?} is not one of ES256, RS256, PS256, EdDSA"
            ))
        }),
    }
}

fn parse_public_url(text: &str) -> Result<Url, SettingsError> {
    let url = Url::parse(text.trim())
        .map_err(|e| SettingsError::new(format!("PORTICO_PUBLIC_URL (public_url): {e}")))?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return Err(SettingsError::new(
            "PORTICO_PUBLIC_URL (public_url): must be an http or https URL with a host",
        ));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(SettingsError::new(
            "PORTICO_PUBLIC_URL (public_url): must not have a query or a fragment",
        ));
    }
    Ok(url)
}

/// The database setting: a `postgres://` or `postgresql://` URL selects PostgreSQL (with the
/// statement timeout and, unless the URL says it, the sslmode); anything else names a SQLite
/// file (`sqlite://` or `sqlite:` prefixes allowed), `portico.db` when unset.
fn database(
    url: Option<String>,
    statement_timeout_ms: Option<u64>,
    sslmode: Option<String>,
) -> Result<Database, SettingsError> {
    let text = url.unwrap_or_else(|| "portico.db".into());
    if !(text.starts_with("postgres://") || text.starts_with("postgresql://")) {
        let path = text
            .strip_prefix("sqlite://")
            .or_else(|| text.strip_prefix("sqlite:"))
            .unwrap_or(&text);
        return Ok(Database::Sqlite(PathBuf::from(path)));
    }
    let mut parsed = Url::parse(&text).map_err(|e| {
        SettingsError::new(format!(
            "PORTICO_DATABASE_URL (database_url): not a valid URL: {e}"
        ))
    })?;
    if let Some(mode) = sslmode {
        const MODES: &[&str] = &[
            "disable",
            "allow",
            "prefer",
            "require",
            "verify-ca",
            "verify-full",
        ];
        if !MODES.contains(&mode.as_str()) {
            return Err(SettingsError::new(format!(
                "PORTICO_DATABASE_SSLMODE (database_sslmode): {mode:?} is not one of {}",
                MODES.join(", ")
            )));
        }
        if !parsed.query_pairs().any(|(k, _)| k == "sslmode") {
            parsed.query_pairs_mut().append_pair("sslmode", &mode);
        }
    }
    let statement_timeout = statement_timeout_ms.map_or(
        crate::db::STATEMENT_TIMEOUT,
        std::time::Duration::from_millis,
    );
    Ok(Database::Postgres {
        url: SecretString::from(parsed.to_string()),
        statement_timeout,
    })
}

/// A whole-number setting from the environment (text) or the file (a number).
fn number(
    name: &str,
    from_env: Option<String>,
    from_file: Option<u64>,
) -> Result<Option<u64>, SettingsError> {
    match from_env {
        Some(text) => text.trim().parse().map(Some).map_err(|_| {
            SettingsError::new(format!("{name}: expected a whole number, got {text:?}"))
        }),
        None => Ok(from_file),
    }
}

fn parse_bool(value: &str) -> Option<bool> {
    match value.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Some(true),
        "false" | "0" | "no" | "off" => Some(false),
        _ => None,
    }
}
