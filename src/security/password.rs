//! Password hashing with argon2id (m = 19456 KiB, t = 2, p = 1: OWASP's recommendation), always
//! on the blocking thread pool. Unknown users are checked against a dummy hash so that a wrong
//! username costs as much time as a wrong password.

use std::sync::LazyLock;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};

fn argon2() -> Argon2<'static> {
    let params = Params::new(19_456, 2, 1, None).expect("valid argon2 parameters");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Hashes a password into a PHC string with a fresh random salt. Blocking: call via `hash`.
pub fn hash_blocking(password: &str) -> String {
    let mut salt = [0u8; 16];
    super::random::fill(&mut salt);
    let salt = SaltString::encode_b64(&salt).expect("a 16-byte salt encodes");
    argon2()
        .hash_password(password.as_bytes(), &salt)
        .expect("argon2 hashing does not fail for valid parameters")
        .to_string()
}

static DUMMY_HASH: LazyLock<String> =
    LazyLock::new(|| hash_blocking("portico dummy password for unknown users"));

/// Verifies `password` against `stored` (or the dummy hash when there is no user). Blocking.
pub fn verify_blocking(password: &str, stored: Option<&str>) -> bool {
    let (phc, real) = match stored {
        Some(phc) => (phc, true),
        None => (DUMMY_HASH.as_str(), false),
    };
    let Ok(parsed) = PasswordHash::new(phc) else {
        return false;
    };
    argon2()
        .verify_password(password.as_bytes(), &parsed)
        .is_ok()
        && real
}

/// Hashes off the async executor.
pub async fn hash(password: String) -> String {
    actix_web::web::block(move || hash_blocking(&password))
        .await
        .expect("the password hashing task panicked")
}

/// Verifies off the async executor.
pub async fn verify(password: String, stored: Option<String>) -> bool {
    actix_web::web::block(move || verify_blocking(&password, stored.as_deref()))
        .await
        .unwrap_or(false)
}

/// Computes the dummy hash ahead of the first sign-in, so that it does not stand out in timing.
pub fn warm_up() {
    LazyLock::force(&DUMMY_HASH);
}
