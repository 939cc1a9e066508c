//! Organisations (SECURITY.md row 8 grown to roles): a sign-up founds an organisation; its
//! members read or change its applications by role; Owners and Admins manage the members and
//! the organisation always keeps an Owner; the accounts from before organisations each became
//! the Owner of one.

use portico::startup::{Access, ROUTES};
use reqwest::StatusCode;

use crate::helpers::*;

/// Adds `username` to `owner`'s organisation with `role` (what an accepted invitation does),
/// and has their browser work in it.
async fn join(app: &TestApp, browser: &Browser, username: &str, owner: &str, role: &str) {
    let organisation = app.organisation_of(owner);
    let user = app.user_id(username);
    app.execute(&format!(
        "INSERT INTO memberships (organisation_id, user_id, role, created_at) \
         VALUES ({organisation}, {user}, '{role}', 0)"
    ));
    let chosen = organisation.to_string();
    browser
        .post_ok("/organisation/switch", &[("organisation_id", &chosen)])
        .await;
}

/// Tries to create an application named `name`: the answer's status.
async fn create(browser: &Browser, name: &str) -> StatusCode {
    let fields = [("name", name), ("throttling_policy", "10PerMin")];
    browser.post("/applications", &fields).await.status()
}

#[actix_web::test]
async fn a_viewer_reads_every_page_and_gets_403_on_every_change() {
    let app = crate::ownership::owner_and("watcher").build().await;
    let (id, watcher) = (app.application("Private App"), app.session("watcher"));
    join(&app, watcher, "watcher", "owner", "viewer").await;
    let sub = app.count("SELECT id AS n FROM subscriptions");
    let before = app.snapshot();

    let (status, list) = watcher.page("/applications").await;
    assert_eq!(status, StatusCode::OK);
    assert!(list.contains("Private App"), "{list}");
    assert!(
        !list.contains("/applications/new"),
        "no create for a Viewer"
    );
    let fields = [
        ("name", "Changed"),
        ("throttling_policy", "10PerMin"),
        ("description", "x"),
        ("key_manager", "Resident Key Manager"),
        ("consumer_secret", "x"),
        ("consumer_key", "x"),
        ("grant_types", "client_credentials"),
        ("validity_period", "3600"),
    ];
    let (mut reads, mut refusals) = (0, 0);
    for route in ROUTES
        .iter()
        .filter(|r| r.access == Access::SignedIn && r.path.starts_with("/applications/{id}"))
    {
        for key_type in ["production", "sandbox"] {
            let path = fill_route_with(route.path, id, sub, key_type);
            let response = watcher.send(route.method, &path, &fields).await;
            if route.method == "GET" {
                assert_eq!(response.status(), StatusCode::OK, "GET {path}");
                let page = body_of(response).await;
                assert!(page.contains("Private App"), "GET {path}");
                assert!(!page.contains("/delete\""), "GET {path} offers a deletion");
                reads += 1;
            } else {
                assert_eq!(response.status(), StatusCode::FORBIDDEN, "POST {path}");
                let page = body_of(response).await;
                assert!(page.contains("Viewers can read"), "POST {path}: {page}");
                refusals += 1;
            }
        }
    }
    let response = watcher
        .try_subscribe(app.api("Payments"), &id.to_string(), "Bronze")
        .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(create(watcher, "Viewer's own").await, StatusCode::FORBIDDEN);
    assert_eq!(app.snapshot(), before, "nothing changed");
    assert!(
        reads >= 6 && refusals >= 12,
        "{reads} reads, {refusals} refusals"
    );
    println!("viewer: {reads} pages read, {refusals} changes refused with 403, nothing changed");
}

#[actix_web::test]
async fn a_developer_works_on_the_organisations_applications_and_a_removed_one_loses_them_at_once()
{
    let app = TestApp::new()
        .with_tpp("owner")
        .with_tpp("dev")
        .build()
        .await;
    let (dev, owner) = (app.session("dev"), app.session("owner"));
    let id = owner.create_application("Shared App").await;
    join(&app, dev, "dev", "owner", "developer").await;
    let made = dev.create_application("Made by dev").await;
    let renamed = [("name", "Renamed"), ("throttling_policy", "10PerMin")];
    dev.post_ok(&format!("/applications/{id}"), &renamed).await;
    let (_, list) = owner.page("/applications").await;
    assert!(
        list.contains("Made by dev") && list.contains("Renamed"),
        "{list}"
    );
    // Names are the organisation's: the owner cannot make a second "Made by dev".
    assert_eq!(create(owner, "MADE BY DEV").await, StatusCode::CONFLICT);

    // The owner removes the developer: their very next request finds nothing.
    let dev_id = app.user_id("dev");
    let response = owner
        .post(&format!("/organisation/members/{dev_id}/remove"), &[])
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    for path in [
        format!("/applications/{id}"),
        format!("/applications/{made}"),
    ] {
        assert_eq!(dev.get_status(&path).await, StatusCode::NOT_FOUND, "{path}");
    }
    let (_, list) = dev.page("/applications").await;
    assert!(!list.contains("Renamed"), "{list}");
    // The applications stay the organisation's, and so does its history; the developer's own
    // organisation's history holds none of it.
    let (_, list) = owner.page("/applications").await;
    assert!(list.contains("Made by dev"), "{list}");
    let (_, page) = owner.page("/organisation").await;
    assert!(page.contains("Created application “Made by dev”"), "{page}");
    assert!(page.contains("Removed dev from the organisation"), "{page}");
    let (_, own) = dev.page("/organisation").await;
    assert!(!own.contains("Made by dev"), "{own}");

    // Suspended, the organisation is closed to its members too; reinstated, it opens again.
    let admin = app.admin().await;
    let organisation = app.organisation_of("owner");
    let suspend = format!("/admin/organisations/{organisation}/suspend");
    admin.post_ok(&suspend, &[]).await;
    let response = owner.get(&format!("/applications/{id}")).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert!(body_of(response).await.contains("suspended"));
    let reinstate = format!("/admin/organisations/{organisation}/reinstate");
    admin.post_ok(&reinstate, &[]).await;
    assert_eq!(
        owner.get_status(&format!("/applications/{id}")).await,
        StatusCode::OK
    );
}

#[actix_web::test]
async fn the_last_owner_cannot_leave_or_be_demoted_and_only_owners_touch_owners() {
    let app = TestApp::new()
        .with_tpp("founder")
        .with_tpp("helper")
        .build()
        .await;
    let (founder, helper) = (app.session("founder"), app.session("helper"));
    join(&app, helper, "helper", "founder", "admin").await;
    let (founder_id, helper_id) = (app.user_id("founder"), app.user_id("helper"));
    let before = app.snapshot();

    let response = founder.post("/organisation/leave", &[]).await;
    assert_eq!(response.status(), StatusCode::CONFLICT);
    assert!(body_of(response).await.contains("last Owner"));
    let demote = format!("/organisation/members/{founder_id}/role");
    let response = founder.post(&demote, &[("role", "developer")]).await;
    assert_eq!(response.status(), StatusCode::CONFLICT);
    // An Admin cannot change an Owner, nor make one.
    let response = helper.post(&demote, &[("role", "viewer")]).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let promote = format!("/organisation/members/{helper_id}/role");
    let response = helper.post(&promote, &[("role", "owner")]).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let response = founder.post(&promote, &[("role", "chief")]).await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(app.snapshot(), before, "the refusals changed nothing");

    // With a second Owner, the founder may leave.
    let response = founder.post(&promote, &[("role", "owner")]).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let (_, page) = founder.page("/organisation").await;
    assert!(page.contains("Owner"), "{page}");
    let response = founder.post("/organisation/leave", &[]).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let (_, page) = helper.page("/organisation").await;
    assert!(!page.contains("data-member=\"founder\""), "{page}");
}

#[actix_web::test]
async fn a_sign_up_founds_its_organisation_and_a_taken_name_is_refused_with_nothing_made() {
    let app = spawn_app().await;
    let first = app.browser();
    let fields = with_field(
        with_field(
            with_field(
                signup_fields("acme-one"),
                "organization",
                "Acme Payments Ltd",
            ),
            "legal_identifier",
            "12345678",
        ),
        "country",
        "gb",
    );
    assert_eq!(
        first.post("/signup", &fields).await.status(),
        StatusCode::SEE_OTHER
    );
    first.sign_in("acme-one", PASSWORD).await;
    let (_, page) = first.page("/organisation").await;
    assert!(
        page.contains("Acme Payments Ltd") && page.contains("12345678"),
        "{page}"
    );
    assert!(page.contains(">GB<"), "{page}");
    assert!(page.contains("Owner"), "{page}");

    let users = app.count("SELECT COUNT(*) FROM users");
    let fields = with_field(
        signup_fields("acme-two"),
        "organization",
        "ACME payments ltd",
    );
    let response = app.browser().post("/signup", &fields).await;
    let body = body_with(response, StatusCode::CONFLICT).await;
    assert!(
        error_on(&body, "organization").is_some_and(|e| e.contains("exists already")),
        "{body}"
    );
    assert_eq!(input_value(&body, "username").as_deref(), Some("acme-two"));
    assert_eq!(
        app.count("SELECT COUNT(*) FROM users"),
        users,
        "no account made"
    );
    let fields = with_field(signup_fields("acme-three"), "country", "Britain");
    let response = app.browser().post("/signup", &fields).await;
    let body = body_with(response, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert!(
        error_on(&body, "country").is_some_and(|e| e.contains("two-letter")),
        "{body}"
    );
}

/// The link shown once on the organisation page after an invitation (its path).
async fn invite(owner: &Browser, email: &str, role: &str) -> String {
    owner
        .post_ok(
            "/organisation/invitations",
            &[("email", email), ("role", role)],
        )
        .await;
    let (_, page) = owner.page("/organisation").await;
    let link = data_field(&page, "invitation_link").expect("the link, this once");
    let (_, again) = owner.page("/organisation").await;
    assert!(
        data_field(&again, "invitation_link").is_none(),
        "shown only once"
    );
    let path = link
        .split_once("/invitations/")
        .expect("an invitation link")
        .1;
    format!("/invitations/{path}")
}

#[actix_web::test]
async fn an_invitation_is_a_single_use_link_for_one_address_that_expires() {
    let app = TestApp::new().with_tpp("boss").build().await;
    let boss = app.session("boss");
    let link = invite(boss, "newcomer@example.com", "developer").await;
    let token = link.rsplit('/').next().unwrap().to_string();
    assert!(
        !String::from_utf8_lossy(&app.stored_bytes()).contains(&token),
        "only the token's hash is stored"
    );

    // A visitor is asked to sign in or up, with the way back.
    let (status, page) = app.browser().page(&link).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains("newcomer@example.com") && page.contains("Developer"),
        "{page}"
    );
    assert!(page.contains("next=%2Finvitations%2F"), "{page}");

    // Someone signed in with another address is refused and nothing changes.
    let other = app.browser();
    let fields = with_field(signup_fields("other"), "email", "other@example.com");
    other.post_ok("/signup", &fields).await;
    other.sign_in("other", PASSWORD).await;
    let before = app.snapshot();
    let response = other.post(&format!("{link}/accept"), &[]).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert!(body_of(response).await.contains("newcomer@example.com"));
    assert_eq!(app.snapshot(), before);

    // The person invited signs up with that address and accepts: they work in it now.
    let newcomer = app.browser();
    let fields = with_field(signup_fields("newcomer"), "email", "Newcomer@Example.com");
    newcomer.post_ok("/signup", &fields).await;
    newcomer.sign_in("newcomer", PASSWORD).await;
    newcomer.post_ok(&format!("{link}/accept"), &[]).await;
    let (_, page) = newcomer.page("/organisation").await;
    assert!(page.contains("data-member=\"boss\""), "{page}");
    assert!(page.contains("Joined boss as Developer"), "{page}");
    assert!(newcomer.create_application("Newcomer's").await > 0);

    // Used: the link works no more, for anyone.
    let before = app.snapshot();
    for browser in [&newcomer, &other, &app.browser()] {
        let (status, page) = browser.page(&link).await;
        assert_eq!(status, StatusCode::GONE);
        assert!(page.contains("used already"), "{page}");
    }
    let response = newcomer.post(&format!("{link}/accept"), &[]).await;
    assert_eq!(response.status(), StatusCode::GONE);
    assert_eq!(app.snapshot(), before);

    // Withdrawn and expired invitations are refused with their reason.
    let withdrawn = invite(boss, "late@example.com", "viewer").await;
    let id = app.count("SELECT max(id) AS n FROM invitations");
    boss.post_ok(&format!("/organisation/invitations/{id}/revoke"), &[])
        .await;
    let (status, page) = app.browser().page(&withdrawn).await;
    assert_eq!(status, StatusCode::GONE);
    assert!(page.contains("withdrawn"), "{page}");
    let expired = invite(boss, "slow@example.com", "viewer").await;
    app.execute("UPDATE invitations SET expires_at = 1 WHERE email = 'slow@example.com'");
    let (status, page) = app.browser().page(&expired).await;
    assert_eq!(status, StatusCode::GONE);
    assert!(page.contains("expired"), "{page}");
    assert_eq!(
        app.browser().get_status("/invitations/no-such-link").await,
        StatusCode::NOT_FOUND
    );
}

#[actix_web::test]
async fn only_owners_and_admins_invite_and_a_refused_invitation_keeps_the_values() {
    let app = TestApp::new()
        .with_tpp("boss")
        .with_tpp("admin-one")
        .with_tpp("reader")
        .build()
        .await;
    let boss = app.session("boss");
    let admin = app.session("admin-one");
    join(&app, admin, "admin-one", "boss", "admin").await;
    let reader = app.session("reader");
    join(&app, reader, "reader", "boss", "viewer").await;
    let before = app.snapshot();
    let try_invite = async |browser: &Browser, email: &str, role: &str| {
        let fields = [("email", email), ("role", role)];
        browser.post("/organisation/invitations", &fields).await
    };
    let response = try_invite(admin, "x@example.com", "owner").await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let response = try_invite(reader, "x@example.com", "viewer").await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let response = try_invite(boss, "not an address", "viewer").await;
    let body = unprocessable(response, "email").await;
    assert!(error_on(&body, "email").is_some(), "{body}");
    assert_eq!(
        input_value(&body, "email").as_deref(),
        Some("not an address")
    );
    // Every test account's address is dev@example.com: the members have it already.
    let response = try_invite(boss, "DEV@example.com", "viewer").await;
    assert_eq!(response.status(), StatusCode::CONFLICT);
    assert_eq!(app.snapshot(), before, "nothing made");
    invite(admin, "helper@example.com", "developer").await;
}

#[actix_web::test]
async fn a_sign_up_from_an_invitation_joins_at_once_instead_of_founding() {
    let app = spawn_app_with(&[("PORTICO_SIGNUP_APPROVAL", "true")]).await;
    let boss = app.browser();
    boss.post_ok("/signup", &signup_fields("boss")).await;
    let admin = app.admin().await;
    admin
        .post_ok(
            &format!("/admin/users/{}/approve", app.user_id("boss")),
            &[],
        )
        .await;
    boss.sign_in("boss", PASSWORD).await;
    let link = invite(&boss, "joiner@example.com", "viewer").await;
    let organisations = app.count("SELECT COUNT(*) FROM organisations");

    // Signing up from the link, with the address invited: no approval to wait for, no
    // organisation of one's own.
    let joiner = app.browser();
    let (_, form) = joiner.page(&format!("/signup?next={link}")).await;
    assert_eq!(input_value(&form, "next").as_deref(), Some(link.as_str()));
    let fields = with_field(
        with_field(signup_fields("joiner"), "email", "joiner@example.com"),
        "next",
        &link,
    );
    let response = joiner.post("/signup", &fields).await;
    assert_eq!(location(&response), "/login?next=%2Fapplications");
    let (status, page) = joiner.page("/organisation").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("data-member=\"boss\""), "{page}");
    assert_eq!(
        app.count("SELECT COUNT(*) FROM organisations"),
        organisations
    );
    let (status, _) = app.browser().page(&link).await;
    assert_eq!(status, StatusCode::GONE, "used");

    // Another address from the same kind of link founds (and waits) as usual.
    let other = invite(&boss, "someone@example.com", "viewer").await;
    let fields = with_field(signup_fields("stranger"), "next", &other);
    let response = app.browser().post("/signup", &fields).await;
    assert_eq!(location(&response), "/signup/pending");
    assert_eq!(
        app.count("SELECT COUNT(*) FROM organisations"),
        organisations + 1
    );
}
