//! The keys rules, field by field.

use super::settings::parse_callback_urls;
use super::*;

fn offered() -> Vec<String> {
    ["client_credentials", "authorization_code", "refresh_token"]
        .map(String::from)
        .to_vec()
}

#[test]
fn callback_urls_are_read_one_per_line_each_once() {
    assert_eq!(
        parse_callback_urls(&["https://a.example/1\r\nhttps://b.example/2\n".into()]).unwrap(),
        vec!["https://a.example/1", "https://b.example/2"]
    );
}

#[test]
fn grant_types_are_a_non_empty_subset_of_the_offer() {
    assert_eq!(
        parse_grant_types(
            &["refresh_token".into(), "client_credentials".into()],
            &offered()
        )
        .unwrap(),
        vec!["client_credentials", "refresh_token"]
    );
    assert!(parse_grant_types(&[], &offered()).is_err());
    assert!(parse_grant_types(&["password".into()], &offered()).is_err());
}

#[test]
fn callback_urls_go_with_the_authorization_code_grant_only() {
    let form = KeysForm {
        grant_types: vec!["client_credentials".into()],
        callback_url: vec!["https://app.example/cb".into()],
        ..Default::default()
    };
    let errors = KeySettings::parse(&form, &offered(), 0).unwrap_err();
    assert!(errors.get("callback_url").is_some());
    let form = KeysForm {
        grant_types: vec!["authorization_code".into()],
        ..Default::default()
    };
    let errors = KeySettings::parse(&form, &offered(), 0).unwrap_err();
    assert!(errors.get("callback_url").unwrap().contains("needs"));
    let form = KeysForm {
        grant_types: vec!["client_credentials".into()],
        public_client: true,
        ..Default::default()
    };
    let errors = KeySettings::parse(&form, &offered(), 0).unwrap_err();
    assert!(errors.get("public_client").is_some());
}

#[test]
fn validity_is_whole_seconds_up_to_the_most() {
    assert_eq!(parse_validity_period(" 3600 ", 86_400), Ok(3600));
    for bad in ["0", "-1", "86401", "1.5", "abc", ""] {
        assert!(parse_validity_period(bad, 86_400).is_err(), "{bad}");
    }
}

#[test]
fn certificates_refuse_what_is_not_one() {
    assert_eq!(ApplicationCertificate::parse("  ", 0), Ok(None));
    assert!(ApplicationCertificate::parse("hello", 0).is_err());
    assert!(
        ApplicationCertificate::parse("-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----", 0)
            .is_err()
    );
    assert!(
        ApplicationCertificate::parse(
            "-----BEGIN CERTIFICATE-----\n!!!notbase64!!!\n-----END CERTIFICATE-----",
            0
        )
        .is_err()
    );
    assert!(
        ApplicationCertificate::parse(
            "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----",
            0
        )
        .unwrap_err()
        .contains("private key")
    );
}
