//! Security mechanisms shared by every HTML route: server-side sessions, the CSRF guard (with
//! the form checks it makes for every POST), the response headers, password hashing,
//! randomness, request limits, and the files only their owner may read.

pub mod client_address;
pub mod csrf;
pub mod expired_form;
pub mod files;
pub mod form_text;
pub mod headers;
pub mod outbound;
pub mod password;
pub mod random;
pub mod request_limits;
pub mod secret_box;
pub mod session_store;

/// SHA-256 of `data` as lower-case hex.
pub fn sha256_hex(data: &[u8]) -> String {
    hex::encode(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, data))
}

/// Compares two byte strings in time that does not depend on where they differ.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    #[allow(deprecated)]
    aws_lc_rs::constant_time::verify_slices_are_equal(a, b).is_ok()
}
