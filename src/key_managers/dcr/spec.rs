//! What the `dcr` and `fs` connectors declare (their operations, configuration fields and the
//! longest token validity) and the rule every client ID of theirs passes before a request
//! carries it.

use super::super::{ConnectorSpec, KmResult, Operation};
use crate::domain::connector_fields::{DCR_FIELDS, FS_FIELDS};
use crate::domain::keys::KeyManagerKind;

/// The longest token validity the portal offers. RFC 6749 has no parameter for it: the key
/// manager decides, and the page shows what it answered.
const MAX_TOKEN_VALIDITY: i64 = 86_400;

pub static DCR_SPEC: ConnectorSpec = ConnectorSpec {
    kind: KeyManagerKind::Dcr,
    label: "Dynamic client registration (RFC 7591/7592)",
    operations: Operation::ALL,
    fields: DCR_FIELDS,
    application_fields: &[],
    max_token_validity: MAX_TOKEN_VALIDITY,
};

pub static FS_SPEC: ConnectorSpec = ConnectorSpec {
    kind: KeyManagerKind::Fs,
    label: "Financial-services key manager (open banking)",
    operations: Operation::ALL,
    fields: FS_FIELDS,
    application_fields: &[],
    max_token_validity: MAX_TOKEN_VALIDITY,
};

/// The longest client ID accepted for out-of-band provisioning.
const CLIENT_ID_MAX: usize = 255;

/// A client ID as RFC 6749 (Appendix A.1: visible ASCII) and RFC 7591 servers make them, with
/// no path separators and not only dots — nothing that could steer a request elsewhere —
/// checked before any request carries it.
pub fn check_client_id(consumer_key: &str) -> KmResult<()> {
    super::super::check_client_id(
        consumer_key,
        CLIENT_ID_MAX,
        |c| c.is_ascii_graphic() && !matches!(c, '/' | '\\'),
        format!(
            "A client ID of this key manager is 1 to {CLIENT_ID_MAX} visible ASCII characters, without “/” or “\\” and not only dots."
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::key_managers::KeyManagerError;

    #[test]
    fn client_ids_follow_rfc_6749_and_never_look_like_paths() {
        for good in [
            "s6BhdRkqt3",
            "a.b-c_d~e",
            "urn:client:42",
            "x%2Fy",
            &"a".repeat(255),
        ] {
            assert!(check_client_id(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            ".",
            "..",
            "...",
            "a/b",
            "/",
            "a\\b",
            "a b",
            "a\u{0}",
            "a\u{7f}",
            "a\tb",
            "é",
            &"a".repeat(256),
        ] {
            assert!(
                matches!(
                    check_client_id(bad),
                    Err(KeyManagerError::Invalid {
                        field: "consumer_key",
                        ..
                    })
                ),
                "{bad:?}"
            );
        }
    }
}
