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
                summary: "List pets".into()
            },
            Operation {
                method: "POST".into(),
                path: "/pets".into(),
                summary: String::new()
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
