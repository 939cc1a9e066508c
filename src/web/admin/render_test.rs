use super::AdminHome;
use crate::web::render_tests::{assert_shows, render, signed_in};

#[test]
fn the_dashboard_links_every_admin_page() {
    let mut ctx = signed_in(true);
    ctx.path = "/admin".into();
    let html = render(&AdminHome { ctx });
    for path in [
        "/admin/users",
        "/admin/subscriptions",
        "/admin/gateways",
        "/admin/audit",
        "/admin/throttling-policies",
        "/admin/key-managers",
        "/admin/key-manager-tasks",
        "/admin/apis",
    ] {
        assert_shows(&html, &[&format!(r#"href="{path}""#)]);
    }
    assert_shows(&html, &[r#"href="/admin" aria-current"#]);
}
