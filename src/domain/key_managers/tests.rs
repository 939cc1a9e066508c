//! The key-manager form's rules, field by field.

use super::*;
use crate::domain::keys::KeyManagerKind;

/// The errors of a form that must be refused (the input holds secrets, so it has no `Debug`).
fn refused(
    result: Result<KeyManagerInput, crate::domain::FieldErrors>,
) -> crate::domain::FieldErrors {
    match result {
        Ok(_) => panic!("the form was accepted"),
        Err(errors) => errors,
    }
}

fn form(pairs: &[(&str, &str)]) -> KeyManagerForm {
    KeyManagerForm::from_pairs(
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    )
}

fn dcr() -> Vec<(&'static str, &'static str)> {
    vec![
        ("type", "dcr"),
        ("name", "partner.idp_1-eu"),
        ("display_name", "Partner"),
        ("issuer", "https://idp.example.com/"),
        ("token_endpoint", "https://idp.example.com/token"),
        (
            "client_registration_endpoint",
            "https://idp.example.com/reg",
        ),
        ("grant_types", "refresh_token"),
        ("grant_types", "client_credentials"),
        ("permission_type", "ALLOW"),
        ("permission_roles", "partner, regulated-tpp"),
        ("connector_password", "pw"),
    ]
}

#[test]
fn a_valid_form_parses_into_config_and_connector_fields() {
    let input = KeyManagerInput::parse(&form(&dcr()), None, &[], false).unwrap();
    assert_eq!(input.issuer.as_deref(), Some("https://idp.example.com"));
    assert_eq!(
        input.config.grant_types,
        ["client_credentials", "refresh_token"]
    );
    assert_eq!(input.config.permission_roles, ["partner", "regulated-tpp"]);
    assert_eq!(
        input.connector_secrets.get("password").map(String::as_str),
        Some("pw")
    );
    assert!(input.connector_plain.is_empty());
}

#[test]
fn each_rule_names_its_field() {
    for (field, value) in [
        ("name", "has space"),
        ("name", ""),
        ("type", "resident"),
        ("issuer", "ftp://idp.example.com"),
        ("token_endpoint", "https://10.0.0.1/token"),
        ("client_registration_endpoint", ""),
        ("permission_type", "SOME"),
        ("permission_roles", "Upper"),
        ("token_validation", "guess"),
        ("certificate_type", "X509"),
    ] {
        let mut pairs: Vec<(&str, &str)> = dcr().into_iter().filter(|(k, _)| *k != field).collect();
        pairs.push((field, value));
        let errors = refused(KeyManagerInput::parse(&form(&pairs), None, &[], false));
        assert!(errors.get(field).is_some(), "{field}={value}");
    }
    let mut pairs = dcr();
    pairs.retain(|(k, _)| *k != "permission_roles");
    let errors = refused(KeyManagerInput::parse(&form(&pairs), None, &[], false));
    assert!(
        errors.get("permission_roles").is_some(),
        "ALLOW needs a role"
    );
    let pairs = vec![
        ("type", "dcr"),
        ("certificate_type", "PEM"),
        ("certificate_value", "not pem"),
    ];
    let errors = refused(KeyManagerInput::parse(&form(&pairs), None, &[], false));
    assert!(errors.get("certificate_value").is_some());
}

#[test]
fn a_required_masked_field_may_stay_empty_only_when_stored() {
    let pairs = vec![
        ("type", "auth0"),
        ("name", "auth0"),
        ("display_name", "Auth0"),
        ("issuer", "https://t.auth0.com"),
        ("token_endpoint", "https://t.auth0.com/oauth/token"),
        ("grant_types", "client_credentials"),
        ("connector_client_id", "abc"),
        ("connector_audience", "https://t.auth0.com/api/v2/"),
    ];
    let errors = refused(KeyManagerInput::parse(&form(&pairs), None, &[], false));
    assert!(errors.get("connector_client_secret").is_some());
    let stored = vec!["client_secret".to_string()];
    let fixed = Some(("auth0", KeyManagerKind::Auth0));
    assert!(KeyManagerInput::parse(&form(&pairs), fixed, &stored, false).is_ok());
}

#[test]
fn roles_are_lower_case_at_most_twenty_and_deduplicated() {
    assert_eq!(
        parse_roles(&["partner".into(), "partner".into(), "a.b_c-1".into()]).unwrap(),
        ["a.b_c-1", "partner"]
    );
    assert!(parse_roles(&["Partner".into()]).is_err());
    assert!(parse_roles(&["x".repeat(65)]).is_err());
    let many: Vec<String> = (0..21).map(|i| format!("r{i}")).collect();
    assert!(parse_roles(&many).is_err());
}
