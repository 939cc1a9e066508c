//! Usability as a newcomer judges it, checked in real Chromium on every page a TPP and an
//! administrator can reach: a crawl follows every internal link and fails on a broken link, a
//! JavaScript console error, a page without a title or heading, more than one primary action, a
//! form control without a label, a destructive action that does not ask first, or text below
//! WCAG AA contrast. Keyboard use is checked by
//! tabbing through pages: every control is reached, and focus is always visible.

use std::collections::{BTreeSet, VecDeque};

use fantoccini::key::Key;
use serde_json::Value;

use crate::browser::Chrome;
use crate::helpers::*;

/// Runs in the page and reports what a newcomer would trip over (JSON).
const AUDIT: &str = r#"
const problems = [];
const visible = (el) => {
  const style = getComputedStyle(el);
  return el.getClientRects().length > 0 && style.visibility !== 'hidden' && style.display !== 'none';
};
const parse = (c) => {
  const m = c.match(/rgba?\(([^)]+)\)/);
  if (!m) return null;
  const p = m[1].split(/[ ,\/]+/).filter(Boolean).map(parseFloat);
  return [p[0], p[1], p[2], p.length > 3 ? p[3] : 1];
};
const over = (top, bottom) => {
  const a = top[3];
  return [0, 1, 2].map((i) => top[i] * a + bottom[i] * (1 - a)).concat([1]);
};
const background = (el) => {
  const layers = [];
  for (let e = el; e; e = e.parentElement) {
    const style = getComputedStyle(e);
    if (style.backgroundImage !== 'none') return null;
    const c = parse(style.backgroundColor);
    if (c && c[3] > 0) layers.push(c);
    if (c && c[3] >= 1) break;
  }
  let colour = [255, 255, 255, 1];
  for (const layer of layers.reverse()) colour = over(layer, colour);
  return colour;
};
const channel = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
const luminance = (c) => 0.2126 * channel(c[0]) + 0.7152 * channel(c[1]) + 0.0722 * channel(c[2]);
const ratio = (a, b) => { const [x, y] = [luminance(a), luminance(b)].sort((p, q) => q - p); return (x + 0.05) / (y + 0.05); };

const title = document.title.trim();
if (!title || !title.endsWith('· Portico') || title === '· Portico') problems.push(`title "${title}"`);
const headings = [...document.querySelectorAll('h1')].filter(visible);
if (headings.length !== 1) problems.push(`${headings.length} visible h1`);
const primaries = [...document.querySelectorAll('main .btn-primary')].filter(visible);
if (primaries.length > 1) problems.push(`${primaries.length} primary actions: ${primaries.map((p) => p.textContent.trim()).join(' | ')}`);

for (const control of document.querySelectorAll('input, select, textarea')) {
  if (['hidden', 'submit', 'button', 'reset', 'image'].includes(control.type)) continue;
  const named = control.labels.length > 0 || control.getAttribute('aria-label') || control.getAttribute('aria-labelledby');
  if (!named) problems.push(`control without a label: ${control.outerHTML.slice(0, 120)}`);
}

for (const button of document.querySelectorAll('form .btn-danger')) {
  const form = button.closest('form');
  if (!form.dataset.confirm) problems.push(`a destructive action without confirmation: ${form.getAttribute('action')}`);
}

const low = new Set();
for (const el of document.querySelectorAll('body *')) {
  if (!visible(el) || el.closest('[aria-hidden=true]')) continue;
  const text = [...el.childNodes].filter((n) => n.nodeType === 3).map((n) => n.textContent).join('').trim();
  if (!text) continue;
  if (el.disabled || el.closest('[disabled]')) continue;
  const style = getComputedStyle(el);
  const fg = parse(style.color);
  const bg = background(el);
  if (!fg || !bg) continue;
  const size = parseFloat(style.fontSize);
  const bold = parseInt(style.fontWeight, 10) >= 700;
  const large = size >= 24 || (bold && size >= 18.66);
  const r = ratio(over(fg, bg), bg);
  if (r < (large ? 3 : 4.5)) low.add(`"${text.slice(0, 40)}" ${r.toFixed(2)}:1 (${style.color} on rgb(${bg.slice(0, 3).map(Math.round)}))`);
}
for (const l of low) problems.push(`low contrast ${l}`);

// Wording a newcomer stumbles on: plural hedges, a word twice in a row, "X — X".
const words = document.body.innerText;
for (const m of words.matchAll(/\w\(s\)/g)) problems.push(`a plural hedge "${words.slice(m.index - 20, m.index + 3)}"`);
for (const m of words.matchAll(/\b([A-Za-z][\w:-]{2,})(?: +| +— +)\1\b/g)) problems.push(`a repeated word "${m[0]}"`);
for (const m of words.matchAll(/: *\n/g)) {
  const line = words.slice(words.lastIndexOf('\n', m.index - 1) + 1, m.index + 1).trim();
  if (line.length > 1 && line.length < 40) problems.push(`a label without a value "${line}"`);
}

const nav = performance.getEntriesByType('navigation')[0];
const links = [...document.querySelectorAll('a[href]')].map((a) => a.href);
return { status: nav ? nav.responseStatus : 0, problems, links };
"#;

/// Where a crawl may go: this Portico's own pages, never sign-out or the static files.
fn internal(base: &str, href: &str) -> Option<String> {
    let rest = href.strip_prefix(base)?;
    let path = rest.split('#').next().unwrap_or_default();
    if path.is_empty() || path.starts_with("/static/") || path.starts_with("/oauth2/") {
        return None;
    }
    Some(path.to_string())
}

/// One screenshot name per kind of page: ids become `id`.
fn page_kind(path: &str) -> String {
    let path = path.split('?').next().unwrap_or_default();
    let kind: Vec<String> = path
        .split('/')
        .filter(|s| !s.is_empty())
        .map(|s| {
            if s.chars().all(|c| c.is_ascii_digit()) {
                "id".to_string()
            } else {
                s.to_string()
            }
        })
        .collect();
    if kind.is_empty() {
        "home".into()
    } else {
        kind.join("-")
    }
}

/// What the current page does wrong on a 390-px phone: scrolling sideways.
async fn phone_problems(chrome: &Chrome) -> Vec<String> {
    chrome.client.set_window_size(390, 844).await.unwrap();
    let widths = chrome
        .run("return [document.documentElement.scrollWidth, document.documentElement.clientWidth];")
        .await;
    chrome.client.set_window_size(1280, 800).await.unwrap();
    let (scroll, client) = (widths[0].as_i64().unwrap(), widths[1].as_i64().unwrap());
    if scroll > client {
        vec![format!(
            "scrolls sideways on a 390-px phone ({scroll} px wide in {client} px)"
        )]
    } else {
        Vec::new()
    }
}

struct Crawl {
    pages: usize,
    problems: Vec<String>,
}

/// Visits every internal page reachable from `start`, auditing each; screenshots each kind of
/// page once under `prefix`.
async fn crawl(chrome: &Chrome, base: &str, start: &[&str], prefix: &str) -> Crawl {
    let mut queue: VecDeque<String> = start.iter().map(|s| s.to_string()).collect();
    let mut seen: BTreeSet<String> = queue.iter().cloned().collect();
    let mut kinds = BTreeSet::new();
    let mut crawl = Crawl {
        pages: 0,
        problems: Vec::new(),
    };
    while let Some(path) = queue.pop_front() {
        chrome.goto(&path).await;
        let landed = chrome.path().await;
        let report = chrome.run(AUDIT).await;
        crawl.pages += 1;
        let status = report["status"].as_i64().unwrap_or_default();
        if !(200..400).contains(&status) {
            crawl
                .problems
                .push(format!("{path}: a broken link answers {status}"));
        }
        for problem in report["problems"].as_array().unwrap() {
            crawl
                .problems
                .push(format!("{path}: {}", problem.as_str().unwrap()));
        }
        for problem in phone_problems(chrome).await {
            crawl.problems.push(format!("{path}: {problem}"));
        }
        let kind = page_kind(&landed);
        if kinds.insert(kind.clone()) {
            chrome.screenshots(&format!("{prefix}-{kind}")).await;
        }
        for link in report["links"].as_array().unwrap() {
            if let Some(next) = internal(base, link.as_str().unwrap_or_default())
                && seen.len() < 400
                && seen.insert(next.clone())
            {
                queue.push_back(next);
            }
        }
    }
    crawl
}

/// A portal with something on every page: an API with a document, an application with a
/// subscription and keys in both environments, a consent, a gateway, an external key manager, a
/// pending user and a waiting subscription.
async fn furnished() -> Scenario {
    let portal = TestApp::new()
        .env("PORTICO_ALLOW_PRIVATE_KM_URLS", "true")
        .with_approval_required("Gold")
        .with_api("Payments", "/payments", &["Bronze", "Gold"])
        .with_api("Premium", "/premium", &["Gold"])
        .with_subscriber("crawler", "Crawled App", "Payments", "Bronze")
        .with_subscription("Crawled App", "Premium", "Gold")
        .with_keys("Crawled App", "production")
        .with_keys("Crawled App", "sandbox")
        .build()
        .await;
    let admin = portal.admin_session();
    admin
        .post(
            "/admin/gateways",
            &[("name", "edge-gateway"), ("description", "The API gateway")],
        )
        .await;
    admin
        .post(
            "/admin/key-managers",
            &[
                ("name", "partner-idp"),
                ("display_name", "Partner IdP"),
                ("type", "dcr"),
                ("issuer", "http://127.0.0.1:9/partner"),
                (
                    "client_registration_endpoint",
                    "http://127.0.0.1:9/partner/reg",
                ),
                ("token_endpoint", "http://127.0.0.1:9/partner/token"),
                ("grant_types", "client_credentials"),
                ("permission_type", "PUBLIC"),
                ("enabled", "true"),
            ],
        )
        .await;
    portal.browser().sign_up("newcomer").await;
    portal
}

#[actix_web::test]
async fn every_page_a_tpp_or_an_admin_reaches_is_whole_labelled_and_readable() {
    let app = furnished().await;
    let base = app.address.clone();

    let visitor = Chrome::start(&app).await;
    let anonymous = crawl(&visitor, &base, &["/"], "visitor").await;
    visitor.close().await;

    let chrome = Chrome::start(&app).await;
    chrome.sign_in("crawler", PASSWORD).await;
    let tpp = crawl(&chrome, &base, &["/applications", "/"], "tpp").await;
    chrome.close().await;

    let chrome = Chrome::start(&app).await;
    chrome.sign_in(ADMIN, ADMIN_PASSWORD).await;
    let admin = crawl(&chrome, &base, &["/admin", "/"], "admin").await;
    chrome.close().await;

    println!(
        "crawled {} visitor, {} TPP and {} admin pages",
        anonymous.pages, tpp.pages, admin.pages
    );
    assert!(
        anonymous.pages >= 4,
        "the visitor crawl found the public pages"
    );
    assert!(tpp.pages >= 12, "the TPP crawl found the TPP's pages");
    assert!(admin.pages >= 20, "the admin crawl found the admin pages");
    let problems: Vec<String> = [anonymous, tpp, admin]
        .into_iter()
        .flat_map(|c| c.problems)
        .collect();
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[actix_web::test]
async fn the_audit_sees_a_missing_label_low_contrast_and_a_broken_link() {
    let app = spawn_app().await;
    let chrome = Chrome::start(&app).await;
    chrome.goto("/").await;
    chrome
        .run(
            "const main = document.querySelector('main');
             main.insertAdjacentHTML('beforeend', '<input id=unnamed><p id=faint>faint words</p>');
             const faint = document.getElementById('faint');
             faint.style.color = '#ccc';
             faint.style.background = '#fff';",
        )
        .await;
    let report: Value = chrome.run(AUDIT).await;
    let problems = report["problems"].to_string();
    assert!(problems.contains("control without a label"), "{problems}");
    assert!(
        problems.contains("low contrast \\\"faint words\\\""),
        "{problems}"
    );
    // A 404 logs a network error by design; only the audit's status matters here.
    chrome.client.goto(&app.url("/no/such/page")).await.unwrap();
    let report: Value = chrome.run(AUDIT).await;
    assert_eq!(report["status"], 404);
    chrome.close().await;
}

/// Tabs through a page: every link, button and field is reached in order, and each shows where
/// the focus is (an outline or a ring). The contents of a closed disclosure (the account menu)
/// count once it is opened; its summary counts always.
async fn tab_through(chrome: &Chrome, path: &str) -> Vec<String> {
    chrome.goto(path).await;
    let expected = chrome
        .run(
            "return [...document.querySelectorAll('a[href], button, input, select, textarea, summary')]
               .filter((e) => e.type !== 'hidden' && !e.disabled && e.getClientRects().length > 0
                 && getComputedStyle(e).visibility !== 'hidden'
                 && !(e.closest('details:not([open])') && !e.closest('summary'))).length;",
        )
        .await
        .as_u64()
        .unwrap();
    let body = chrome
        .client
        .find(fantoccini::Locator::Css("body"))
        .await
        .unwrap();
    let mut problems = Vec::new();
    let mut reached = BTreeSet::new();
    for _ in 0..expected + 5 {
        body.send_keys(&String::from(char::from(Key::Tab)))
            .await
            .ok();
        let focus = chrome
            .run(
                "const e = document.activeElement;
                 if (!e || e === document.body) return null;
                 if (!e.dataset.tabbed) e.dataset.tabbed = String(document.querySelectorAll('[data-tabbed]').length);
                 const s = getComputedStyle(e);
                 const ring = (s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0) || s.boxShadow !== 'none';
                 return { id: e.dataset.tabbed, what: e.outerHTML.slice(0, 100), ring };",
            )
            .await;
        if focus.is_null() {
            continue;
        }
        if !focus["ring"].as_bool().unwrap_or(false) {
            problems.push(format!(
                "{path}: no visible focus on {}",
                focus["what"].as_str().unwrap()
            ));
        }
        reached.insert(focus["id"].as_str().unwrap().to_string());
    }
    if (reached.len() as u64) < expected {
        let missed = chrome
            .run(
                "return [...document.querySelectorAll('a[href], button, input, select, textarea, summary')]
                   .filter((e) => e.type !== 'hidden' && !e.disabled && e.getClientRects().length > 0
                     && getComputedStyle(e).visibility !== 'hidden' && !e.dataset.tabbed
                     && !(e.closest('details:not([open])') && !e.closest('summary')))
                   .map((e) => e.outerHTML.slice(0, 100));",
            )
            .await;
        problems.push(format!(
            "{path}: Tab reached {} of {expected} controls, not {missed}",
            reached.len()
        ));
    }
    problems
}

#[actix_web::test]
async fn everything_is_reachable_by_keyboard_with_visible_focus() {
    let app = furnished().await;
    let id = app.application("Crawled App");
    let chrome = Chrome::start(&app).await;
    let mut problems = Vec::new();
    problems.extend(tab_through(&chrome, "/signup").await);
    chrome.sign_in("crawler", PASSWORD).await;
    for path in [
        "/applications".to_string(),
        format!("/applications/{id}"),
        format!("/applications/{id}/keys/production"),
        "/apis".to_string(),
    ] {
        problems.extend(tab_through(&chrome, &path).await);
    }
    chrome.close().await;
    let problems: BTreeSet<String> = problems.into_iter().collect();
    assert!(
        problems.is_empty(),
        "{}",
        problems.into_iter().collect::<Vec<_>>().join("\n")
    );
}

#[actix_web::test]
async fn a_destructive_action_asks_first_and_a_no_changes_nothing() {
    let app = TestApp::new()
        .with_tpp("careful")
        .with_application("careful", "Careful App")
        .with_keys("Careful App", "production")
        .build()
        .await;
    let id = app.application("Careful App");
    let chrome = Chrome::start(&app).await;
    chrome.sign_in("careful", PASSWORD).await;
    chrome
        .goto(&format!("/applications/{id}/keys/production"))
        .await;
    let remove = "form[action$='/remove'] button[type=submit]";
    let question = "Remove the production keys of Careful App?";
    assert_eq!(chrome.confirm(remove, false).await, question);
    assert_eq!(app.count("SELECT COUNT(*) FROM key_mappings"), 1);
    assert_eq!(chrome.confirm(remove, true).await, question);
    for _ in 0..50 {
        if app.count("SELECT COUNT(*) FROM key_mappings") == 0 {
            break;
        }
        actix_web::rt::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(app.count("SELECT COUNT(*) FROM key_mappings"), 0);
    chrome.close().await;
}
