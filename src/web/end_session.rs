//! The pages of the end-session endpoint (`GET/POST /oauth2/logout`, RP-Initiated Logout): the
//! session ends and the browser goes where the application asked, or the person is asked first
//! on a confirmation page, or a refused request is explained. What a request means is
//! `oauth_server::end_session`'s; this module draws it.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;

use crate::error::AppError;
use crate::oauth_server::end_session::{LogoutRequest, LogoutStep, check};
use crate::web::errors::{ErrorKind, error_page};
use crate::web::protocol::{ProtocolRequest, Visit, hidden_fields};
use crate::web::{PageContext, Url, render, see_other};

/// `GET/POST /oauth2/logout`: the application's request (a POST is outside the CSRF guard).
pub async fn start(
    visit: Visit,
    request: ProtocolRequest<LogoutRequest>,
) -> Result<HttpResponse, AppError> {
    answer(visit, request.params, false).await
}

/// `POST /oauth2/logout/confirm`: the person said yes (a CSRF-guarded form).
pub async fn confirm(
    visit: Visit,
    form: web::Form<LogoutRequest>,
) -> Result<HttpResponse, AppError> {
    answer(visit, form.into_inner(), true).await
}

async fn answer(
    visit: Visit,
    request: LogoutRequest,
    confirmed: bool,
) -> Result<HttpResponse, AppError> {
    let signed_in = visit.ctx.viewer.as_ref().map(|v| v.id);
    match check(&visit.server, signed_in, request.clone(), confirmed).await? {
        LogoutStep::End { to } => {
            visit.session.purge();
            Ok(see_other(
                &to.unwrap_or_else(|| Url::Login.query("signed_out", true)),
            ))
        }
        LogoutStep::Confirm { application_name } => Ok(render(
            StatusCode::OK,
            &ConfirmPage {
                ctx: visit.ctx,
                application_name,
                hidden: hidden_fields(&request),
            },
        )),
        LogoutStep::Refuse(message) => Ok(error_page(ErrorKind::BadRequest, &message)),
    }
}

/// "Sign out of Portico?", with the request carried in hidden fields.
#[derive(Template)]
#[template(path = "oauth/logout.html")]
struct ConfirmPage {
    ctx: PageContext,
    application_name: Option<String>,
    /// The request, carried to the confirmation.
    hidden: Vec<(String, String)>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::web::render_tests::{HOSTILE, HOSTILE_ESCAPED, assert_shows, render, signed_in};

    #[test]
    fn the_confirmation_names_the_application_and_carries_the_request() {
        let html = render(&ConfirmPage {
            ctx: signed_in(false),
            application_name: Some(HOSTILE.into()),
            hidden: hidden_fields(&LogoutRequest {
                client_id: "wallet-client".into(),
                post_logout_redirect_uri: "https://wallet.example/bye".into(),
                state: HOSTILE.into(),
                ..LogoutRequest::default()
            }),
        });
        assert_shows(
            &html,
            &[
                "Sign out of Portico?",
                r#"action="/oauth2/logout/confirm""#,
                r#"name="post_logout_redirect_uri" value="https://wallet.example/bye""#,
                HOSTILE_ESCAPED,
            ],
        );
    }
}
