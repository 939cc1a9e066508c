//! The `fs` profile: what open-banking key managers take as client metadata on top of RFC 7591
//! — the regulatory flag, the PKCE flags, the four token lifetimes configured on the key
//! manager, and the application certificate: its public key as `jwks` (converted here from the
//! X.509 certificate), and its subject as `tls_client_auth_subject_dn` when the server's
//! discovery document offers `tls_client_auth` (RFC 8705).

use std::collections::BTreeMap;

use base64::Engine;
use reqwest::Method;
use serde::Deserialize;
use serde_json::{Map, Value, json};
use x509_parser::x509::SubjectPublicKeyInfo;

use super::super::remote::{Auth, Body};
use super::super::{KeyManagerError, KmResult};
use super::DcrKeyManager;
use crate::domain::connector_fields::FS_LIFETIMES;
use crate::domain::keys::{ApplicationCertificate, KeySettings};

/// The client metadata name of each `fs` token lifetime field.
fn lifetime_metadata(field: &str) -> Option<&'static str> {
    Some(match field {
        "application_access_token_expiry_time" => "ext_application_token_lifetime",
        "user_access_token_expiry_time" => "ext_user_token_lifetime",
        "refresh_token_expiry_time" => "ext_refresh_token_lifetime",
        "id_token_expiry_time" => "ext_id_token_lifetime",
        _ => return None,
    })
}

/// The token lifetimes an `fs` key manager's connector fields set: (metadata name, seconds).
pub(super) fn lifetimes(plain: &BTreeMap<String, String>) -> Vec<(&'static str, i64)> {
    FS_LIFETIMES
        .iter()
        .filter_map(|field| {
            let value = plain.get(field.name)?.trim().parse::<i64>().ok()?;
            Some((lifetime_metadata(field.name)?, value))
        })
        .collect()
}

impl DcrKeyManager {
    /// Adds the `fs` client metadata of these settings.
    pub(super) async fn fs_metadata(
        &self,
        settings: &KeySettings,
        metadata: &mut Map<String, Value>,
    ) -> KmResult<()> {
        metadata.insert("regulatory".into(), json!(settings.regulatory));
        metadata.insert("ext_pkce_mandatory".into(), json!(settings.pkce_mandatory));
        metadata.insert(
            "ext_pkce_support_plain".into(),
            json!(settings.pkce_support_plain),
        );
        for (name, seconds) in &self.lifetimes {
            metadata.insert((*name).into(), json!(seconds));
        }
        if let Some(certificate) = &settings.certificate {
            metadata.insert("jwks".into(), certificate_jwks(certificate)?);
            if self.offers_tls_client_auth().await? {
                metadata.insert(
                    "tls_client_auth_subject_dn".into(),
                    json!(certificate.subject),
                );
            }
        }
        Ok(())
    }

    /// Whether the server's discovery document lists `tls_client_auth` (RFC 8705) among its
    /// token endpoint authentication methods.
    async fn offers_tls_client_auth(&self) -> KmResult<bool> {
        let Some(url) = &self.well_known_url else {
            return Ok(false);
        };
        #[derive(Deserialize)]
        struct Discovery {
            #[serde(default)]
            token_endpoint_auth_methods_supported: Vec<String>,
        }
        let discovery: Discovery = self
            .remote
            .json(Method::GET, url, Auth::None, Body::Empty)
            .await?;
        Ok(discovery
            .token_endpoint_auth_methods_supported
            .iter()
            .any(|m| m == "tls_client_auth"))
    }
}

fn invalid(message: &str) -> KeyManagerError {
    KeyManagerError::Invalid {
        field: "application_certificate",
        message: message.to_string(),
    }
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// The application certificate's public key as a JWK set (RFC 7517), with the certificate
/// itself in `x5c` and its thumbprint as `kid` and `x5t#S256`.
pub fn certificate_jwks(certificate: &ApplicationCertificate) -> KmResult<Value> {
    let block = pem::parse_many(&certificate.pem)
        .ok()
        .and_then(|blocks| blocks.into_iter().find(|b| b.tag() == "CERTIFICATE"))
        .ok_or_else(|| invalid("The application certificate cannot be read."))?;
    let der = block.contents();
    let (_, parsed) = x509_parser::parse_x509_certificate(der)
        .map_err(|_| invalid("The application certificate cannot be read."))?;
    let mut jwk = public_jwk(parsed.public_key())?;
    let object = jwk.as_object_mut().expect("a JWK is an object");
    object.insert("use".into(), json!("sig"));
    object.insert("kid".into(), json!(certificate.x5t_s256()));
    object.insert("x5t#S256".into(), json!(certificate.x5t_s256()));
    object.insert(
        "x5c".into(),
        json!([base64::engine::general_purpose::STANDARD.encode(der)]),
    );
    Ok(json!({ "keys": [jwk] }))
}

/// The JWK members of an RSA key or an EC key on a curve key managers take.
fn public_jwk(spki: &SubjectPublicKeyInfo<'_>) -> KmResult<Value> {
    use x509_parser::public_key::PublicKey;
    let unsigned = |bytes: &[u8]| {
        let start = bytes.iter().position(|b| *b != 0).unwrap_or(bytes.len());
        b64(&bytes[start..])
    };
    match spki.parsed() {
        Ok(PublicKey::RSA(rsa)) => Ok(json!({
            "kty": "RSA",
            "n": unsigned(rsa.modulus),
            "e": unsigned(rsa.exponent),
        })),
        Ok(PublicKey::EC(point)) => {
            let curve = spki
                .algorithm
                .parameters
                .as_ref()
                .and_then(|p| p.as_oid().ok())
                .map(|oid| oid.to_id_string());
            let (crv, size) = match curve.as_deref() {
                Some("1.2.840.10045.3.1.7") => ("P-256", 32),
                Some("1.3.132.0.34") => ("P-384", 48),
                Some("1.3.132.0.35") => ("P-521", 66),
                _ => {
                    return Err(invalid(
                        "The application certificate's key is on a curve key managers do not take (use P-256, P-384, P-521 or RSA).",
                    ));
                }
            };
            let data = point.data();
            if data.len() != 1 + 2 * size || data[0] != 4 {
                return Err(invalid(
                    "The application certificate's EC key is not an uncompressed point.",
                ));
            }
            Ok(json!({
                "kty": "EC",
                "crv": crv,
                "x": b64(&data[1..=size]),
                "y": b64(&data[1 + size..]),
            }))
        }
        _ => Err(invalid(
            "The application certificate's key is neither RSA nor EC.",
        )),
    }
}
