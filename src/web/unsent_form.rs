//! `GET /account/unsent-form`: a form that arrived after its session expired, offered again to
//! the person who typed it once they have signed in (see `security::expired_form`).

use actix_web::{HttpRequest, HttpResponse};
use askama::Template;

use crate::security::expired_form::FormDraft;
use crate::web::{PageContext, SignedIn, Url, ok, redirect};

#[derive(Template)]
#[template(path = "account/unsent_form.html")]
struct UnsentFormPage {
    ctx: PageContext,
    draft: FormDraft,
}

#[cfg(test)]
mod render_test;

impl UnsentFormPage {
    /// A field name as people read it: `throttling_policy` → "Throttling policy".
    fn label(&self, name: &str) -> String {
        let spaced = name.replace('_', " ");
        let mut chars = spaced.chars();
        match chars.next() {
            Some(first) => first.to_uppercase().chain(chars).collect(),
            None => spaced,
        }
    }
}

pub async fn show(req: HttpRequest, ctx: PageContext, viewer: SignedIn) -> HttpResponse {
    match FormDraft::for_user(&req, viewer.0.id) {
        Some(draft) => ok(&UnsentFormPage { ctx, draft }),
        // Nothing kept (sent already, expired, or another person's): the usual start page.
        None => redirect(Url::Applications),
    }
}
