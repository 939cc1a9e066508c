//! The API rules and the OpenAPI reader, case by case.

use super::*;

#[test]
fn the_lifecycle_moves_forward_and_back_only_where_allowed() {
    use ApiStatus::*;
    assert!(Created.can_become(Published));
    assert!(Deprecated.can_become(Published));
    assert!(!Published.can_become(Created));
    assert!(!Retired.can_become(Published));
    assert!(Retired.can_become(Retired));
    assert_eq!(
        Published.check_transition(Created).unwrap_err(),
        "An API cannot go from PUBLISHED back to CREATED."
    );
    assert_eq!(Created.choices(), vec![Created, Published, Retired]);
}

#[test]
fn every_problem_of_an_update_is_reported_at_once() {
    let known = vec!["Bronze".to_string(), "Gold".to_string()];
    let form = ApiForm {
        name: "Pets".into(),
        version: "1".into(),
        context: "/pets/".into(),
        tiers: vec!["Bronze".into(), "Platinum".into()],
        status: "CREATED".into(),
        ..ApiForm::default()
    };
    let errors = ApiInput::parse_update(&form, ApiStatus::Published, &known).unwrap_err();
    assert!(errors.get("context").is_some());
    assert_eq!(
        errors.get("tiers"),
        Some("Not a subscription policy: Platinum. Choose the tiers from the list.")
    );
    assert_eq!(
        errors.get("status"),
        Some("An API cannot go from PUBLISHED back to CREATED.")
    );
    let form = ApiForm {
        context: "/pets".into(),
        tiers: vec!["Gold".into(), "Gold".into()],
        status: "DEPRECATED".into(),
        ..form
    };
    let input = ApiInput::parse_update(&form, ApiStatus::Published, &known).unwrap();
    assert_eq!(input.tiers, vec!["Gold"]);
    assert!(
        ApiInput::parse_new(&form, &known).is_err(),
        "new APIs start CREATED or PUBLISHED"
    );
}

#[test]
fn contexts_follow_the_rules() {
    assert_eq!(
        parse_context(" /pets/{v}/x.y_z-1 ").unwrap(),
        "/pets/{v}/x.y_z-1"
    );
    for bad in [
        "", "pets", "/", "/pets/", "//pets", "/a//b", "/a b", "/a?b", "/../x", "/a/.",
    ] {
        assert!(parse_context(bad).is_err(), "{bad:?}");
    }
    assert!(parse_context(&format!("/{}", "a".repeat(199))).is_ok());
    assert!(parse_context(&format!("/{}", "a".repeat(200))).is_err());
}

#[test]
fn openapi_json_and_yaml_give_their_operations() {
    let json = r#"{"openapi":"3.0.3","info":{"title":"t","version":"1"},
        "paths":{"/pets":{"get":{"summary":"List pets"},"post":{}},"x-ext":{}}}"#;
    let doc = OpenApiDocument::parse(json).unwrap();
    assert_eq!(
        doc.operations,
        vec![
            Operation {
                method: "GET".into(),
                path: "/pets".into(),
                summary: "List pets".into(),
                scopes: vec![],
            },
            Operation {
                method: "POST".into(),
                path: "/pets".into(),
                summary: String::new(),
                scopes: vec![],
            },
        ]
    );
    let yaml = "openapi: 3.1.0\ninfo: {title: t, version: '1'}\npaths:\n  /pets/{id}:\n    delete:\n      summary: Remove a pet\n      responses:\n        204:\n          description: gone\n";
    let doc = OpenApiDocument::parse(yaml).unwrap();
    assert_eq!(doc.operations[0].method, "DELETE");
    assert_eq!(doc.operations[0].summary, "Remove a pet");
}

#[test]
fn bad_documents_are_explained() {
    let err = OpenApiDocument::parse("openapi: 3.0.0\npaths:\n  /a: [\n").unwrap_err();
    assert!(err.contains("not valid JSON or YAML (line"), "{err}");
    let err = OpenApiDocument::parse("{\"openapi\": \"3.0.0\",\n \"paths\": {").unwrap_err();
    assert!(
        err.contains("not valid JSON or YAML (line 2, column 11: EOF"),
        "{err}"
    );
    let err = OpenApiDocument::parse("swagger: '2.0'\npaths: {}\n").unwrap_err();
    assert!(err.contains("must declare openapi 3.x"), "{err}");
    let err = OpenApiDocument::parse("openapi: 3.0.0\n").unwrap_err();
    assert!(err.contains("has no paths"), "{err}");
    let err = OpenApiDocument::parse("openapi: '3.0'\npaths: {}\n").unwrap_err();
    assert!(err.contains("must declare openapi 3.x"), "{err}");
    let big = format!(
        "openapi: 3.0.0\npaths: {{}}\n#{}",
        "x".repeat(MAX_OPENAPI_BYTES)
    );
    assert!(
        OpenApiDocument::parse(&big)
            .unwrap_err()
            .contains("at most 60 KiB")
    );
}

#[test]
fn oauth2_schemes_give_the_scopes_and_what_each_operation_requires() {
    let yaml = r#"
openapi: 3.0.3
info: {title: t, version: '1'}
security: [{petstore_auth: ["pets:read"]}]
components:
  securitySchemes:
    petstore_auth:
      type: oauth2
      flows:
        clientCredentials:
          tokenUrl: https://example.com/token
          scopes: {"pets:read": "Read pets", "pets:write": "Change pets"}
        authorizationCode:
          authorizationUrl: https://example.com/a
          tokenUrl: https://example.com/token
          scopes: {"pets:read": "Read pets again", "pets:admin": "Run the shop"}
    key: {type: apiKey, in: header, name: X-Key}
paths:
  /pets:
    get: {summary: List}
    post: {summary: Add, security: [{petstore_auth: ["pets:write"]}, {key: []}]}
  /health:
    get: {summary: Health, security: []}
"#;
    let doc = OpenApiDocument::parse(yaml).unwrap();
    assert_eq!(
        doc.scopes,
        // By name; a scope two flows declare keeps the description of the first flow by name.
        vec![
            ("pets:admin".to_string(), "Run the shop".to_string()),
            ("pets:read".to_string(), "Read pets again".to_string()),
            ("pets:write".to_string(), "Change pets".to_string()),
        ]
    );
    let required: Vec<(&str, Vec<String>)> = doc
        .operations
        .iter()
        .map(|o| (o.summary.as_str(), o.scopes.clone()))
        .collect();
    assert_eq!(
        required,
        vec![
            ("Health", vec![]),
            ("List", vec!["pets:read".to_string()]),
            ("Add", vec!["pets:write".to_string()]),
        ]
    );
    let bad = "openapi: 3.0.3\npaths: {}\ncomponents:\n  securitySchemes:\n    o:\n      type: oauth2\n      flows:\n        implicit:\n          authorizationUrl: https://e/a\n          scopes: {\"has space\": x}\n";
    let err = OpenApiDocument::parse(bad).unwrap_err();
    assert!(err.contains("declares a scope Portico cannot use"), "{err}");
    assert!(err.contains("has space"), "{err}");
}

#[test]
fn scope_names_follow_rfc_6749_and_leave_the_openid_scopes_alone() {
    use super::scopes::parse_scope_name;
    for good in [
        "payments:write",
        "read",
        "https://api.example.com/x.read",
        "a!#[]~",
    ] {
        assert_eq!(parse_scope_name(good).as_deref(), Ok(good), "{good}");
    }
    for bad in [
        "",
        "two words",
        "quote\"",
        "back\\slash",
        "é",
        "openid",
        "offline_access",
    ] {
        assert!(parse_scope_name(bad).is_err(), "{bad:?}");
    }
    assert!(parse_scope_name(&"s".repeat(100)).is_ok());
    assert!(parse_scope_name(&"s".repeat(101)).is_err());
}

#[test]
fn resource_identifiers_default_to_the_public_url_and_context() {
    use super::scopes::{parse_resource_identifier, resource_identifier};
    assert_eq!(
        resource_identifier("https://portal.example/", "/pets/v1", None),
        "https://portal.example/pets/v1"
    );
    assert_eq!(
        resource_identifier("https://portal.example", "/pets/v1", Some("urn:pets")),
        "urn:pets"
    );
    assert_eq!(parse_resource_identifier("  "), Ok(None));
    assert_eq!(
        parse_resource_identifier("https://api.example/pets").unwrap(),
        Some("https://api.example/pets".to_string())
    );
    for bad in [
        "pets",
        "/pets",
        "https://a.example/#x",
        "https://a b.example",
        "mailto:x@y",
    ] {
        let err = parse_resource_identifier(bad).unwrap_err();
        assert!(err.starts_with("The resource identifier "), "{bad}: {err}");
    }
}

#[test]
fn the_scope_form_checks_each_field() {
    use super::{ScopeForm, ScopeInput};
    let form = ScopeForm {
        name: " pets:write ".into(),
        description: "Change pets".into(),
        roles: "partner, regulated-tpp".into(),
    };
    let input = ScopeInput::parse(&form).unwrap();
    assert_eq!(input.name, "pets:write");
    assert_eq!(input.roles, ["partner", "regulated-tpp"]);
    let form = ScopeForm {
        name: "bad name".into(),
        roles: "Upper".into(),
        ..ScopeForm::default()
    };
    let errors = ScopeInput::parse(&form).unwrap_err();
    assert!(errors.get("name").is_some());
    assert!(errors.get("roles").is_some());
}
