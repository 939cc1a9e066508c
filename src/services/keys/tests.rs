//! The keys saga against a stub key manager: what a failure leaves behind.

use std::sync::{Arc, Mutex};

use secrecy::SecretString;

use super::*;
use crate::db::models::audit_events::Actor;
use crate::domain::keys::CREDENTIALS_MESSAGE;
use crate::key_managers::{
    AccessToken, ClientRequest, ConnectorSpec, KeyManagerError, MapRequest, TokenRequest,
};
use crate::key_managers::{
    KmFuture, OAuthApplicationInfo, TokenMetadata, resident::SPEC as RESIDENT,
};

/// A connector that fails (or succeeds) as told and remembers what it was asked.
struct Stub {
    fail_create: bool,
    fail_delete: bool,
    /// Deletes the application while "creating", as a concurrent request would.
    delete_application_meanwhile: Option<DbPool>,
    deleted: Mutex<Vec<String>>,
}

impl Stub {
    fn new() -> Self {
        Self {
            fail_create: false,
            fail_delete: false,
            delete_application_meanwhile: None,
            deleted: Mutex::new(Vec::new()),
        }
    }
}

fn down<'a, T: Send + 'a>() -> KmFuture<'a, T> {
    Box::pin(async { Err(KeyManagerError::Unavailable("connection refused".into())) })
}

impl KeyManager for Stub {
    fn spec(&self) -> &'static ConnectorSpec {
        &RESIDENT
    }
    fn create_application<'a>(
        &'a self,
        request: &'a ClientRequest,
    ) -> KmFuture<'a, OAuthApplicationInfo> {
        Box::pin(async move {
            if self.fail_create {
                return Err(KeyManagerError::Timeout);
            }
            if let Some(pool) = &self.delete_application_meanwhile {
                let id = request.application_id;
                db::run(pool, move |conn| {
                    Application::delete(conn, id).map_err(KeyManagerError::from)
                })
                .await?;
            }
            Ok(OAuthApplicationInfo {
                consumer_key: "stub-client".into(),
                consumer_secret: Some(SecretString::from("stub-secret")),
                settings: request.settings.clone(),
            })
        })
    }
    fn update_application<'a>(
        &'a self,
        _: &'a str,
        _: &'a ClientRequest,
    ) -> KmFuture<'a, OAuthApplicationInfo> {
        down()
    }
    fn retrieve_application<'a>(&'a self, _: &'a str) -> KmFuture<'a, OAuthApplicationInfo> {
        down()
    }
    fn delete_application<'a>(&'a self, consumer_key: &'a str) -> KmFuture<'a, ()> {
        Box::pin(async move {
            if self.fail_delete {
                return Err(KeyManagerError::Unavailable("HTTP 500".into()));
            }
            self.deleted.lock().unwrap().push(consumer_key.to_string());
            Ok(())
        })
    }
    fn map_oauth_application<'a>(
        &'a self,
        _: &'a MapRequest,
    ) -> KmFuture<'a, OAuthApplicationInfo> {
        Box::pin(async { Err(KeyManagerError::InvalidCredentials) })
    }
    fn delete_mapped_application<'a>(&'a self, _: &'a str) -> KmFuture<'a, ()> {
        Box::pin(async { Ok(()) })
    }
    fn regenerate_secret<'a>(&'a self, _: &'a str) -> KmFuture<'a, SecretString> {
        down()
    }
    fn get_new_application_access_token<'a>(
        &'a self,
        _: &'a TokenRequest,
    ) -> KmFuture<'a, AccessToken> {
        down()
    }
    fn get_token_metadata<'a>(&'a self, _: &'a str) -> KmFuture<'a, TokenMetadata> {
        down()
    }
    fn revoke_token<'a>(&'a self, _: &'a str, _: &'a str) -> KmFuture<'a, ()> {
        down()
    }
}

struct Fixture {
    _dir: tempfile::TempDir,
    pool: DbPool,
    actor: Actor,
    application_id: crate::domain::ids::ApplicationId,
}

fn fixture() -> Fixture {
    use diesel::RunQueryDsl;
    let dir = tempfile::tempdir().unwrap();
    let pool = db::connect(&dir.path().join("keys.db")).unwrap();
    let mut pooled = pool.get().unwrap();
    let conn: &mut db::DbConnection = &mut pooled;
    diesel::sql_query(
        "INSERT INTO users (username, username_key, email, first_name, last_name, password_hash, role, status, created_at, updated_at) \
         VALUES ('tpp', 'tpp', 'tpp@example.com', 'T', 'P', 'x', 'tpp', 'active', 0, 0)",
    )
    .execute(conn)
    .unwrap();
    diesel::sql_query(
        "INSERT INTO applications (owner_id, name, name_key, description, policy_id, created_at, updated_at) \
         SELECT 1, 'Wallet', 'wallet', '', id, 0, 0 FROM throttling_policies WHERE name = '10PerMin'",
    )
    .execute(conn)
    .unwrap();
    // The account from before organisations becomes the Owner of organisation 1, with it.
    assert_eq!(
        crate::services::organisations::adopt_accounts(conn).unwrap(),
        1
    );
    Fixture {
        _dir: dir,
        pool,
        actor: Actor {
            id: crate::domain::ids::UserId(1),
            name: "tpp".into(),
            organisation: Some(crate::domain::ids::OrganisationId(1)),
        },
        application_id: crate::domain::ids::ApplicationId(1),
    }
}

fn service(fixture: &Fixture, stub: Arc<Stub>) -> Keys {
    Keys {
        pool: fixture.pool.clone(),
        connectors: Connectors::new(stub),
        provisioning: true,
        issuer: "https://portal.example".into(),
    }
}

fn request(fixture: &Fixture, key_type: KeyType, form: KeysForm) -> KeysRequest {
    KeysRequest {
        actor: fixture.actor.clone(),
        target: Target {
            application_id: fixture.application_id,
            key_type,
        },
        form,
    }
}

/// Generates keys of `key_type` for the fixture's application.
async fn generate(keys: &Keys, fixture: &Fixture, key_type: KeyType) -> ServiceResult<Issued> {
    keys.provision(Provision::Generate, &request(fixture, key_type, form()))
        .await
}

fn form() -> KeysForm {
    KeysForm {
        key_manager: "resident".into(),
        grant_types: vec!["client_credentials".into()],
        ..Default::default()
    }
}

fn count(pool: &DbPool, sql: &str) -> i64 {
    use diesel::RunQueryDsl;
    #[derive(diesel::QueryableByName)]
    struct N {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    diesel::sql_query(sql)
        .get_result::<N>(&mut **pool.get().unwrap())
        .unwrap()
        .n
}

#[actix_web::test]
async fn a_failing_key_manager_leaves_no_reservation_and_no_audit() {
    let fixture = fixture();
    let stub = Arc::new(Stub {
        fail_create: true,
        ..Stub::new()
    });
    let keys = service(&fixture, stub);
    let error = generate(&keys, &fixture, KeyType::Production)
        .await
        .err()
        .unwrap();
    assert!(matches!(error, ServiceError::Timeout), "{error:?}");
    assert_eq!(
        count(&fixture.pool, "SELECT COUNT(*) AS n FROM key_mappings"),
        0
    );
    assert_eq!(
        count(&fixture.pool, "SELECT COUNT(*) AS n FROM audit_events"),
        0
    );
    // And the keys can be generated once the key manager is back.
    let working = service(&fixture, Arc::new(Stub::new()));
    let issued = generate(&working, &fixture, KeyType::Production)
        .await
        .unwrap();
    assert_eq!(issued.consumer_key, "stub-client");
    assert_eq!(
        count(
            &fixture.pool,
            "SELECT COUNT(*) AS n FROM key_mappings WHERE state = 'ACTIVE' AND consumer_key = 'stub-client'"
        ),
        1
    );
}

#[actix_web::test]
async fn a_client_made_for_a_vanished_reservation_is_deleted_again() {
    let fixture = fixture();
    let stub = Arc::new(Stub {
        delete_application_meanwhile: Some(fixture.pool.clone()),
        ..Stub::new()
    });
    let keys = service(&fixture, stub.clone());
    let error = generate(&keys, &fixture, KeyType::Sandbox)
        .await
        .err()
        .unwrap();
    assert!(matches!(error, ServiceError::NotFound), "{error:?}");
    assert_eq!(*stub.deleted.lock().unwrap(), vec!["stub-client"]);
    assert_eq!(
        count(&fixture.pool, "SELECT COUNT(*) AS n FROM key_mappings"),
        0
    );
}

#[actix_web::test]
async fn a_key_manager_that_cannot_delete_leaves_a_task_for_the_administrator() {
    let fixture = fixture();
    let stub = Arc::new(Stub {
        fail_delete: true,
        ..Stub::new()
    });
    let keys = service(&fixture, stub.clone());
    generate(&keys, &fixture, KeyType::Production)
        .await
        .unwrap();
    let connectors = Connectors::new(stub);
    let application = crate::services::applications::delete(
        &fixture.pool,
        &connectors,
        fixture.actor.clone(),
        fixture.application_id,
    )
    .await
    .unwrap();
    assert_eq!(application.name, "Wallet");
    assert_eq!(
        count(&fixture.pool, "SELECT COUNT(*) AS n FROM applications"),
        0
    );
    assert_eq!(
        count(
            &fixture.pool,
            "SELECT COUNT(*) AS n FROM key_manager_tasks WHERE consumer_key = 'stub-client' \
             AND application_name = 'Wallet' AND resolved_at IS NULL AND error LIKE '%HTTP 500%'"
        ),
        1
    );
    // A failed removal keeps the keys instead.
    let fixture = self::fixture();
    let stub = Arc::new(Stub {
        fail_delete: true,
        ..Stub::new()
    });
    let keys = service(&fixture, stub);
    generate(&keys, &fixture, KeyType::Production)
        .await
        .unwrap();
    let error = keys
        .remove(&request(&fixture, KeyType::Production, form()))
        .await
        .err()
        .unwrap();
    assert!(matches!(error, ServiceError::Unavailable(_)), "{error:?}");
    assert_eq!(
        count(&fixture.pool, "SELECT COUNT(*) AS n FROM key_mappings"),
        1
    );
}

#[test]
fn key_manager_failures_become_502_and_504_pages() {
    use actix_web::ResponseError;
    let status = |e: KeyManagerError| {
        crate::error::AppError::from(ServiceError::from(e))
            .status_code()
            .as_u16()
    };
    assert_eq!(status(KeyManagerError::Unavailable("HTTP 500".into())), 502);
    assert_eq!(status(KeyManagerError::Timeout), 504);
    assert_eq!(status(KeyManagerError::InvalidCredentials), 422);
    assert_eq!(status(KeyManagerError::Conflict("mapped".into())), 409);
    assert_eq!(status(KeyManagerError::Unsupported("dcr".into())), 403);
}

#[actix_web::test]
async fn wrong_credentials_at_mapping_store_nothing() {
    let fixture = fixture();
    let keys = service(&fixture, Arc::new(Stub::new()));
    let mut form = form();
    form.consumer_key = "someone-elses".into();
    form.consumer_secret = "guess".into();
    let error = keys
        .provision(
            Provision::Map,
            &request(&fixture, KeyType::Production, form),
        )
        .await
        .err()
        .unwrap();
    match error {
        ServiceError::Invalid(errors) => {
            assert_eq!(errors.get("consumer_secret"), Some(CREDENTIALS_MESSAGE))
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        count(&fixture.pool, "SELECT COUNT(*) AS n FROM key_mappings"),
        0
    );
}
