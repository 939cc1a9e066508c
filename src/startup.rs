//! The one route table, the middleware stack and the shared state.
//!
//! Every HTML route is declared once below with who may use it; tests enumerate `ROUTES` to
//! check CSRF, access and ownership rules for every route, including ones added later.

use actix_session::SessionMiddleware;
use actix_session::config::{BrowserSession, CookieContentSecurity, TtlExtensionPolicy};
use actix_web::cookie::{Key, SameSite};
use actix_web::middleware::{Compress, from_fn};
use actix_web::{App, HttpResponse, web};

use crate::config::Settings;
use crate::db::DbPool;
use crate::key_managers::{Connectors, External};
use crate::oauth_server;
use crate::security::session_store::DbSessionStore;
use crate::security::{csrf, headers};
use crate::services::keys::Keys;
use crate::web::context::{identify, require_admin, require_signed_in};
use crate::web::{
    account, accounts, admin, apis, applications, assets, consent, end_session, errors, home,
    invitations, organisations, unsent_form,
};

/// Who may use a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone, signed in or not.
    Public,
    /// Signed-in accounts; anonymous visitors are sent to sign in.
    SignedIn,
    /// Administrators; TPPs get 403, anonymous visitors are sent to sign in.
    Admin,
}

/// One HTML route of the table.
#[derive(Debug, Clone, Copy)]
pub struct Route {
    pub method: &'static str,
    pub path: &'static str,
    pub access: Access,
}

/// Declares the route table once: `ROUTES` (for tests and docs) and `html_routes` (for actix).
macro_rules! route_table {
    ($($access:ident $method:ident $path:literal => $handler:path;)*) => {
        pub const ROUTES: &[Route] = &[
            $(Route { method: route_table!(@upper $method), path: $path, access: Access::$access },)*
        ];

        fn html_routes(cfg: &mut web::ServiceConfig) {
            // The method guard sits on the resource, so GET and POST of one path can be two
            // resources: the router moves on to the next one instead of answering 405.
            $(cfg.service(route_table!(@guarded $access,
                web::resource($path).guard(route_table!(@guard $method)).route(web::$method().to($handler))));)*
        }
    };
    (@upper get) => { "GET" };
    (@upper post) => { "POST" };
    (@guard get) => { actix_web::guard::Get() };
    (@guard post) => { actix_web::guard::Post() };
    (@guarded Public, $resource:expr) => { $resource };
    (@guarded SignedIn, $resource:expr) => { $resource.wrap(from_fn(require_signed_in)) };
    (@guarded Admin, $resource:expr) => { $resource.wrap(from_fn(require_admin)) };
}

route_table! {
    Public   get  "/"                          => home::show;
    Public   get  "/terms"                     => accounts::terms;
    Public   get  "/signup"                    => accounts::signup::form;
    Public   post "/signup"                    => accounts::signup::submit;
    Public   get  "/signup/pending"            => accounts::pending;
    Public   get  "/login"                     => accounts::login::form;
    Public   post "/login"                     => accounts::login::submit;
    SignedIn post "/logout"                    => accounts::login::logout;
    SignedIn get  "/account/consents"          => account::consents;
    SignedIn get  "/account/unsent-form"       => unsent_form::show;
    SignedIn post "/account/consents/{id}/revoke" => account::revoke;
    SignedIn get  "/organisation"              => organisations::show;
    SignedIn post "/organisation/switch"       => organisations::switch;
    SignedIn post "/organisation/members/{id}/role" => organisations::change_role;
    SignedIn post "/organisation/members/{id}/remove" => organisations::remove;
    SignedIn post "/organisation/leave"        => organisations::leave;
    SignedIn post "/organisation/invitations"  => organisations::invite;
    SignedIn post "/organisation/invitations/{id}/revoke" => organisations::revoke_invitation;
    Public   get  "/invitations/{token}"       => invitations::show;
    SignedIn post "/invitations/{token}/accept" => invitations::accept;
    Public   get  "/oauth2/authorize"          => consent::start;
    Public   post "/oauth2/authorize"          => consent::start;
    Public   post "/oauth2/authorize/decision" => consent::decide;
    Public   get  "/oauth2/logout"             => end_session::start;
    Public   post "/oauth2/logout"             => end_session::start;
    Public   post "/oauth2/logout/confirm"     => end_session::confirm;
    Public   get  "/apis"                      => apis::catalog;
    Public   get  "/apis/{id}"                 => apis::show;
    SignedIn post "/apis/{id}/subscribe"       => apis::subscribe;
    SignedIn get  "/applications"              => applications::list;
    SignedIn post "/applications"              => applications::create;
    SignedIn get  "/applications/new"          => applications::new;
    SignedIn get  "/applications/{id}"         => applications::show;
    SignedIn post "/applications/{id}"         => applications::update;
    SignedIn post "/applications/{id}/delete"  => applications::delete;
    SignedIn get  "/applications/{id}/subscriptions" => applications::subscriptions_tab;
    SignedIn post "/applications/{id}/subscriptions/{sub_id}/delete" => applications::unsubscribe;
    SignedIn get  "/applications/{id}/keys/{key_type}" => applications::keys::show;
    SignedIn post "/applications/{id}/keys/{key_type}/generate" => applications::keys::generate;
    SignedIn post "/applications/{id}/keys/{key_type}/map" => applications::keys::map;
    SignedIn post "/applications/{id}/keys/{key_type}/update" => applications::keys::update;
    SignedIn post "/applications/{id}/keys/{key_type}/regenerate-secret" => applications::keys::regenerate_secret;
    SignedIn post "/applications/{id}/keys/{key_type}/token" => applications::keys::token;
    SignedIn post "/applications/{id}/keys/{key_type}/remove" => applications::keys::remove;
    Admin    get  "/admin"                     => admin::index;
    Admin    get  "/admin/users"               => admin::users::list;
    Admin    post "/admin/users/{id}/approve"  => admin::users::approve;
    Admin    post "/admin/users/{id}/reject"   => admin::users::reject;
    Admin    post "/admin/users/{id}/lock"     => admin::users::lock;
    Admin    post "/admin/users/{id}/unlock"   => admin::users::unlock;
    Admin    post "/admin/users/{id}/roles"    => admin::users::roles;
    Admin    get  "/admin/organisations"       => admin::organisations::list;
    Admin    post "/admin/organisations/{id}/suspend" => admin::organisations::suspend;
    Admin    post "/admin/organisations/{id}/reinstate" => admin::organisations::reinstate;
    Admin    get  "/admin/subscriptions"       => admin::subscriptions::list;
    Admin    post "/admin/subscriptions/{id}/approve" => admin::subscriptions::approve;
    Admin    post "/admin/subscriptions/{id}/reject"  => admin::subscriptions::reject;
    Admin    get  "/admin/audit"               => admin::audit::list;
    Admin    get  "/admin/gateways"            => admin::gateways::list;
    Admin    post "/admin/gateways"            => admin::gateways::create;
    Admin    post "/admin/gateways/{id}/delete" => admin::gateways::delete;
    Admin    get  "/admin/key-manager-tasks"   => admin::key_manager_tasks::list;
    Admin    post "/admin/key-manager-tasks/{id}/retry"   => admin::key_manager_tasks::retry;
    Admin    post "/admin/key-manager-tasks/{id}/resolve" => admin::key_manager_tasks::resolve;
    Admin    get  "/admin/key-managers"        => admin::key_managers::list;
    Admin    get  "/admin/key-managers/new"    => admin::key_managers::new_form;
    Admin    post "/admin/key-managers"        => admin::key_managers::create;
    Admin    post "/admin/key-managers/discover" => admin::key_managers::discover;
    Admin    get  "/admin/key-managers/{id}"   => admin::key_managers::edit;
    Admin    post "/admin/key-managers/{id}"   => admin::key_managers::update;
    Admin    post "/admin/key-managers/{id}/enable"  => admin::key_managers::enable;
    Admin    post "/admin/key-managers/{id}/disable" => admin::key_managers::disable;
    Admin    post "/admin/key-managers/{id}/delete"  => admin::key_managers::delete;
    Admin    get  "/admin/throttling-policies"             => admin::policies::list;
    Admin    get  "/admin/throttling-policies/new"         => admin::policies::new_form;
    Admin    post "/admin/throttling-policies"             => admin::policies::create;
    Admin    get  "/admin/throttling-policies/{id}"        => admin::policies::edit;
    Admin    post "/admin/throttling-policies/{id}"        => admin::policies::update;
    Admin    post "/admin/throttling-policies/{id}/delete" => admin::policies::delete;
    Admin    get  "/admin/apis"                => admin::apis::list;
    Admin    get  "/admin/apis/new"            => admin::apis::new_form;
    Admin    post "/admin/apis"                => admin::apis::create;
    Admin    get  "/admin/apis/{id}"           => admin::apis::edit;
    Admin    post "/admin/apis/{id}"           => admin::apis::update;
    Admin    get  "/admin/apis/{id}/scopes"    => admin::api_scopes::page;
    Admin    post "/admin/apis/{id}/scopes"    => admin::api_scopes::save;
    Admin    post "/admin/apis/{id}/scopes/{scope}/delete" => admin::api_scopes::delete;
}

/// The largest form body Portico accepts.
pub const MAX_FORM_BYTES: usize = 64 * 1024;

/// The shared state handlers extract, built once at start and shared by every worker.
#[derive(Clone)]
pub struct AppState {
    pub pool: web::Data<DbPool>,
    pub settings: web::Data<Settings>,
    pub authorization_server: web::Data<oauth_server::AuthorizationServer>,
    /// The key managers' connectors.
    pub connectors: web::Data<Connectors>,
    /// The keys service over them.
    pub keys: web::Data<Keys>,
}

impl AppState {
    pub fn new(
        pool: DbPool,
        settings: Settings,
        authorization_server: web::Data<oauth_server::AuthorizationServer>,
    ) -> Self {
        let connectors = Connectors::of(authorization_server.clone()).with_external(External {
            pool: pool.clone(),
            secret_box: authorization_server.secret_box(),
            allow_private: settings.allow_private_km_urls,
        });
        let keys = Keys {
            pool: pool.clone(),
            connectors: connectors.clone(),
            provisioning: settings.key_provisioning,
            issuer: settings.base_url(),
        };
        AppState {
            pool: web::Data::new(pool),
            settings: web::Data::new(settings),
            authorization_server,
            connectors: web::Data::new(connectors),
            keys: web::Data::new(keys),
        }
    }
}

/// Builds the app: static files and health outside the session; every HTML route inside the
/// session, identity and CSRF middleware.
pub fn configure(state: AppState) -> impl Fn(&mut web::ServiceConfig) + Clone {
    move |cfg: &mut web::ServiceConfig| {
        let settings = state.settings.clone();
        let cookie_name = crate::security::session_store::cookie_name(settings.is_https());
        let session = SessionMiddleware::builder(
            DbSessionStore::new(state.pool.get_ref().clone()),
            Key::derive_from(settings.secret_key.bytes()),
        )
        .cookie_name(cookie_name.to_string())
        .cookie_secure(settings.is_https())
        .cookie_http_only(true)
        .cookie_same_site(SameSite::Lax)
        .cookie_path("/".to_string())
        .cookie_content_security(CookieContentSecurity::Private)
        .session_lifecycle(
            BrowserSession::default()
                .state_ttl_extension_policy(TtlExtensionPolicy::OnStateChanges),
        )
        .build();

        cfg.app_data(state.pool.clone())
            .app_data(state.settings.clone())
            .app_data(state.connectors.clone())
            .app_data(state.keys.clone())
            .app_data(web::Data::new(csrf::CsrfConfig::new(&settings)))
            .app_data(web::PayloadConfig::new(MAX_FORM_BYTES))
            .app_data(
                web::FormConfig::default()
                    .limit(MAX_FORM_BYTES)
                    .error_handler(form_error),
            )
            .app_data(web::PathConfig::default().error_handler(|_, _| {
                actix_web::error::InternalError::from_response(
                    "not found",
                    errors::error_page(errors::ErrorKind::NotFound, ""),
                )
                .into()
            }))
            .route("/static/{path:.*}", web::get().to(assets::serve))
            .route("/favicon.ico", web::get().to(assets::favicon))
            .route("/healthz", web::get().to(crate::web::healthz))
            .route("/readyz", web::get().to(crate::web::readyz))
            .app_data(state.authorization_server.clone())
            .configure(oauth_server::routes)
            .service(
                web::scope("")
                    .wrap(from_fn(csrf::guard))
                    .wrap(from_fn(oauth_server::client_cache::forget_after_changes))
                    .wrap(from_fn(errors::frame_errors))
                    .wrap(from_fn(identify))
                    .wrap(session)
                    .configure(html_routes)
                    .default_service(web::to(errors::not_found)),
            );
    }
}

/// Wraps the configured routes into an `App` with the response-wide middleware.
pub fn app(
    state: AppState,
) -> App<
    impl actix_web::dev::ServiceFactory<
        actix_web::dev::ServiceRequest,
        Config = (),
        Response = actix_web::dev::ServiceResponse<impl actix_web::body::MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    App::new()
        .wrap(from_fn(crate::telemetry::log_request))
        .wrap(headers::middleware(&state.settings))
        .wrap(Compress::default())
        .wrap(from_fn(crate::security::request_limits::body_deadline))
        .configure(configure(state))
}

fn form_error(
    error: actix_web::error::UrlencodedError,
    _req: &actix_web::HttpRequest,
) -> actix_web::Error {
    use actix_web::error::UrlencodedError;
    let response: HttpResponse = match error {
        UrlencodedError::Overflow { .. } => {
            errors::error_page(errors::ErrorKind::PayloadTooLarge, "")
        }
        _ => errors::error_page(
            errors::ErrorKind::BadRequest,
            "The form could not be read. Reload the page and send it again.",
        ),
    };
    actix_web::error::InternalError::from_response(error, response).into()
}
