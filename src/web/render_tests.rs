//! What the render tests share. Each page template has a test beside its handler
//! (`<handler>/render_test.rs`, a child module so that it can build the private page struct) that
//! fills the page with representative data, renders it and checks what a person would see; the
//! data carries `HOSTILE` text, which must come out as text and never as markup.

use askama::Template;

use crate::db::models::apis::{Api, ApiSummary};
use crate::db::models::applications::Application;
use crate::db::models::key_managers::KeyManagerRow;
use crate::db::models::throttling_policies::ThrottlingPolicy;
use crate::db::models::users::User;
use crate::domain::accounts::{AccountStatus, Role};
use crate::domain::apis::ApiStatus;
use crate::domain::keys::KeyManagerKind;
use crate::domain::policies::{PolicyLevel, TimeUnit};
use crate::web::PageContext;
use crate::web::context::{Flash, Viewer};

/// Text a person could type into any field.
pub const HOSTILE: &str = "<script>alert('owned')</script> & co";

/// `HOSTILE` as the page must show it.
pub const HOSTILE_ESCAPED: &str =
    "&#60;script&#62;alert(&#39;owned&#39;)&#60;/script&#62; &#38; co";

/// A signed-in TPP (or administrator) with a hostile display name and a hostile flash message.
pub fn signed_in(is_admin: bool) -> PageContext {
    let mut ctx = PageContext::blank();
    ctx.viewer = Some(Viewer {
        id: crate::domain::ids::UserId(1),
        username: "alice".into(),
        display_name: HOSTILE.into(),
        is_admin,
        membership: Some(membership()),
        memberships: vec![membership()],
    });
    ctx.flashes.push(Flash {
        level: "success".into(),
        message: HOSTILE.into(),
    });
    ctx
}

/// A visitor who has not signed in.
pub fn visitor() -> PageContext {
    PageContext::blank()
}

/// Renders a page and checks that no hostile text came out as markup and that every form that
/// POSTs carries the CSRF field.
pub fn render(page: &impl Template) -> String {
    let html = page.render().expect("the page renders");
    assert!(
        !html.contains("<script>alert"),
        "user text came out as markup:\n{html}"
    );
    for form in html.split(r#"method="post""#).skip(1) {
        let form = form.split("</form>").next().unwrap_or_default();
        assert!(
            form.contains(r#"name="csrf_token""#),
            "a POST form without the CSRF field:\n{form}"
        );
    }
    html
}

/// Checks that the page shows each of `texts`.
pub fn assert_shows(html: &str, texts: &[&str]) {
    for text in texts {
        assert!(
            html.contains(text),
            "the page does not show {text:?}:\n{html}"
        );
    }
}

/// The viewer's organisation, with a hostile name, where they are a Developer.
pub fn membership() -> crate::db::models::organisations::Membership {
    crate::db::models::organisations::Membership {
        organisation_id: crate::domain::ids::OrganisationId(1),
        organisation_name: HOSTILE.into(),
        organisation_status: crate::domain::organisations::OrganisationStatus::Active,
        role: crate::domain::organisations::MemberRole::Developer,
    }
}

pub fn application(id: i64, name: &str) -> Application {
    Application {
        id: crate::domain::ids::ApplicationId(id),
        owner_id: Some(crate::domain::ids::UserId(1)),
        organisation_id: Some(crate::domain::ids::OrganisationId(1)),
        name: name.into(),
        name_key: name.to_lowercase(),
        description: HOSTILE.into(),
        policy_id: 1,
        created_at: 1_764_547_200,
        updated_at: 1_764_547_200,
    }
}

pub fn policy(id: i64, level: PolicyLevel, name: &str) -> ThrottlingPolicy {
    ThrottlingPolicy {
        id,
        level,
        name: name.into(),
        display_name: format!("{name} {HOSTILE}"),
        description: String::new(),
        request_count: Some(100),
        unit_time: 1,
        time_unit: TimeUnit::Minute,
        requires_approval: level == PolicyLevel::Subscription,
        created_at: 0,
        updated_at: 0,
    }
}

pub fn api(id: i64, name: &str) -> Api {
    let summary = api_summary(id, name);
    Api {
        id: crate::domain::ids::ApiId(id),
        name: summary.name,
        version: summary.version,
        context: summary.context,
        description: summary.description,
        status: summary.status,
        openapi_document: None,
        operations: "[]".into(),
        created_at: 0,
        updated_at: 0,
        resource_identifier: None,
    }
}

pub fn api_summary(id: i64, name: &str) -> ApiSummary {
    ApiSummary {
        id: crate::domain::ids::ApiId(id),
        name: name.into(),
        version: "1.0.0".into(),
        context: "/payments/v1".into(),
        description: HOSTILE.into(),
        status: ApiStatus::Published,
    }
}

pub fn key_manager(id: i64, name: &str, kind: KeyManagerKind, enabled: bool) -> KeyManagerRow {
    KeyManagerRow {
        id: crate::domain::ids::KeyManagerId(id),
        name: name.into(),
        display_name: HOSTILE.into(),
        kind,
        description: String::new(),
        enabled,
        config: "{}".into(),
        created_at: 0,
        updated_at: 0,
        issuer: None,
        connector_config: "{}".into(),
        connector_secrets: None,
    }
}

pub fn user(id: i64, username: &str, status: AccountStatus) -> User {
    User {
        id: crate::domain::ids::UserId(id),
        username: username.into(),
        username_key: username.to_lowercase(),
        email: format!("{username}@example.com"),
        first_name: HOSTILE.into(),
        last_name: "Hopper".into(),
        organization: "Acme".into(),
        password_hash: String::new(),
        role: Role::Tpp,
        status,
        terms_accepted_at: None,
        created_at: 0,
        updated_at: 0,
        decision_reason: None,
    }
}

#[test]
fn an_error_page_names_the_status_and_leads_home() {
    let html = render(&crate::web::errors::ErrorPage {
        ctx: signed_in(false),
        code: 404,
        title: "Not found",
        message: HOSTILE,
    });
    assert_shows(&html, &["404", "Not found", r#"href="/""#, HOSTILE_ESCAPED]);
}
