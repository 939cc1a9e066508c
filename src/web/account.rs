//! The person's own account: the applications they have authorized through
//! `/oauth2/authorize`, and withdrawing that permission.

use actix_web::{HttpResponse, web};
use askama::Template;

use crate::db::models::consents::{Consent, ConsentLine};
use crate::db::{self, DbPool};
use crate::error::AppError;
use crate::oauth_server::tokens::Family;
use crate::web::OnObject;
use crate::web::{PageContext, SignedIn, Url, success};

#[derive(Template)]
#[template(path = "account/consents.html")]
struct ConsentsPage {
    ctx: PageContext,
    consents: Vec<ConsentLine>,
}

#[cfg(test)]
mod render_test;

pub async fn consents(
    ctx: PageContext,
    SignedIn(viewer): SignedIn,
    pool: web::Data<DbPool>,
) -> Result<HttpResponse, AppError> {
    let consents = db::run(&pool, move |conn| {
        Consent::lines_of(conn, viewer.id).map_err(AppError::from)
    })
    .await?;
    Ok(super::ok(&ConsentsPage { ctx, consents }))
}

/// Withdraws a consent and revokes the tokens the application holds for this person.
pub async fn revoke(post: OnObject<i64>) -> Result<HttpResponse, AppError> {
    let (viewer, session, pool, id) = post.into_parts();
    db::run(&pool, move |conn| {
        db::write(conn, |conn| {
            let consent = Consent::withdraw(conn, id, viewer.id)?.ok_or(AppError::NotFound)?;
            Family::revoke_for(conn, viewer.id, &consent.client_id)?;
            Ok::<_, AppError>(())
        })
    })
    .await?;
    let withdrawn = "Permission withdrawn. The application must ask again to act for you.";
    Ok(success(&session, Url::Consents, withdrawn))
}
