//! Accounts pages: sign-up with the terms, sign-in and sign-out, and the waiting-for-approval page.

pub mod login;
pub mod signup;

use actix_web::HttpResponse;
use askama::Template;

use super::PageContext;

#[derive(Template)]
#[template(path = "accounts/terms.html")]
struct TermsPage {
    ctx: PageContext,
}

/// `GET /terms`: the terms and conditions a TPP accepts at sign-up.
pub async fn terms(ctx: PageContext) -> HttpResponse {
    super::ok(&TermsPage { ctx })
}

#[derive(Template)]
#[template(path = "accounts/pending.html")]
pub struct PendingPage {
    pub ctx: PageContext,
    pub rejected: bool,
}

/// `GET /signup/pending`: what a person sees while their account waits for an administrator.
pub async fn pending(ctx: PageContext) -> HttpResponse {
    super::ok(&PendingPage {
        ctx,
        rejected: false,
    })
}
