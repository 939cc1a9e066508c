//! Settings: `portico.toml` plus `PORTICO_*` environment overrides.

use portico::config::{FileSettings, Settings};

fn env_of(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> + use<> {
    let vars: Vec<(String, String)> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    move |name| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
}

const KEY: &str = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

#[test]
fn an_unknown_key_in_the_file_is_an_error_naming_it() {
    // The file's settings hold secrets and have no `Debug`: match instead of `expect_err`.
    let Err(error) =
        Settings::parse_file("listen = \"127.0.0.1:9000\"\nlisten_adress = \"oops\"\n")
    else {
        panic!("an unknown key is refused");
    };
    assert!(error.to_string().contains("listen_adress"), "{error}");
}

#[test]
fn the_environment_overrides_the_file() {
    let file = Settings::parse_file(&format!(
        "listen = \"127.0.0.1:9000\"\npublic_url = \"https://file.example\"\nsecret_key = \"{KEY}\"\nsignup_approval = true\n"
    ))
    .unwrap();
    let settings = Settings::resolve(
        file,
        env_of(&[
            ("PORTICO_LISTEN", "127.0.0.1:9100"),
            ("PORTICO_SIGNUP_APPROVAL", "false"),
        ]),
    )
    .unwrap();
    assert_eq!(settings.listen.to_string(), "127.0.0.1:9100");
    assert_eq!(settings.public_url.as_str(), "https://file.example/");
    assert!(!settings.signup_approval);
    assert!(settings.key_provisioning, "provisioning is on by default");
    assert!(!settings.allow_private_km_urls);
    assert!(settings.is_https());
}

#[test]
fn defaults_follow_the_contract() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("d.db");
    let settings = Settings::resolve(
        FileSettings::default(),
        env_of(&[("PORTICO_DATABASE_URL", db.to_str().unwrap())]),
    )
    .unwrap();
    assert_eq!(settings.listen.to_string(), "127.0.0.1:8080");
    assert_eq!(settings.public_url.as_str(), "http://127.0.0.1:8080/");
    assert!(settings.first_admin.is_none());
}

#[test]
fn bad_values_name_their_setting() {
    let cases = [
        (vec![("PORTICO_SECRET_KEY", "abc")], "PORTICO_SECRET_KEY"),
        (
            vec![("PORTICO_SECRET_KEY", KEY), ("PORTICO_LISTEN", "nowhere")],
            "PORTICO_LISTEN",
        ),
        (
            vec![
                ("PORTICO_SECRET_KEY", KEY),
                ("PORTICO_PUBLIC_URL", "ftp://x"),
            ],
            "PORTICO_PUBLIC_URL",
        ),
        (
            vec![
                ("PORTICO_SECRET_KEY", KEY),
                ("PORTICO_SIGNUP_APPROVAL", "maybe"),
            ],
            "PORTICO_SIGNUP_APPROVAL",
        ),
        (
            vec![
                ("PORTICO_SECRET_KEY", KEY),
                ("PORTICO_ADMIN_USERNAME", "root"),
            ],
            "PORTICO_ADMIN_PASSWORD",
        ),
        // PostgreSQL: every instance needs the same key, so none is made up.
        (
            vec![("PORTICO_DATABASE_URL", "postgres://u@127.0.0.1/p")],
            "PORTICO_SECRET_KEY",
        ),
        (
            vec![
                ("PORTICO_SECRET_KEY", KEY),
                ("PORTICO_DATABASE_URL", "postgres://u@127.0.0.1/p"),
                ("PORTICO_DATABASE_SSLMODE", "sometimes"),
            ],
            "PORTICO_DATABASE_SSLMODE",
        ),
        (
            vec![
                ("PORTICO_SECRET_KEY", KEY),
                ("PORTICO_DATABASE_POOL_SIZE", "0"),
            ],
            "PORTICO_DATABASE_POOL_SIZE",
        ),
        (
            vec![
                ("PORTICO_SECRET_KEY", KEY),
                ("PORTICO_DATABASE_URL", "postgres://u@127.0.0.1/p"),
                ("PORTICO_DATABASE_STATEMENT_TIMEOUT", "soon"),
            ],
            "PORTICO_DATABASE_STATEMENT_TIMEOUT",
        ),
    ];
    for (vars, named) in cases {
        let error = Settings::resolve(FileSettings::default(), env_of(&vars))
            .err()
            .expect("refused");
        assert!(
            error.to_string().contains(named),
            "{error} should name {named}"
        );
    }
}

#[test]
fn without_a_configured_key_one_is_generated_once_in_a_private_file() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("portal.db");
    let env = env_of(&[("PORTICO_DATABASE_URL", db.to_str().unwrap())]);
    let first = Settings::resolve(FileSettings::default(), &env).unwrap();
    let key_file = dir.path().join("portal.db.key");
    assert!(key_file.exists());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&key_file).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    let second = Settings::resolve(FileSettings::default(), &env).unwrap();
    assert_eq!(
        first.secret_key.bytes(),
        second.secret_key.bytes(),
        "the same key after a restart"
    );
}

#[test]
fn the_binary_reports_an_unknown_key_in_its_config_file() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("portico.toml");
    std::fs::write(&config, "database_url = \"x.db\"\nsignup_aproval = true\n").unwrap();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_portico"))
        .args(["--config", config.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("signup_aproval"), "{stderr}");
}
