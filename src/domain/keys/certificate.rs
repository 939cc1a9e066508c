//! The application certificate a TPP pastes (for mutual-TLS client authentication and
//! certificate-bound tokens), checked and summarised for the page.

use base64::Engine;
use serde::{Deserialize, Serialize};

use super::CERTIFICATE_MAX_BYTES;

/// An application certificate (for mutual-TLS client authentication and certificate-bound
/// tokens): the PEM as pasted and what the page shows of its first certificate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApplicationCertificate {
    pub pem: String,
    pub subject: String,
    pub issuer: String,
    /// Unix seconds.
    pub not_after: i64,
    /// SHA-256 of the DER, lower-case hex.
    pub thumbprint_sha256: String,
}

impl ApplicationCertificate {
    /// Parses pasted PEM text: empty means no certificate; otherwise at least one X.509
    /// certificate that parses and has not expired at `now`, no private key, at most 32 KiB.
    pub fn parse(value: &str, now: i64) -> Result<Option<Self>, String> {
        let value = value.trim();
        if value.is_empty() {
            return Ok(None);
        }
        if value.len() > CERTIFICATE_MAX_BYTES {
            return Err("The application certificate must be at most 32 KiB.".into());
        }
        let blocks = pem::parse_many(value).map_err(|_| {
            "The application certificate is not valid PEM (its base64 does not decode). Paste the whole -----BEGIN CERTIFICATE----- block.".to_string()
        })?;
        if blocks.iter().any(|b| b.tag().contains("PRIVATE KEY")) {
            return Err("That is a private key: paste the certificate only, and keep the private key secret.".into());
        }
        let certificates: Vec<&pem::Pem> =
            blocks.iter().filter(|b| b.tag() == "CERTIFICATE").collect();
        if certificates.is_empty() {
            return Err("Paste an X.509 certificate in PEM form (-----BEGIN CERTIFICATE----- … -----END CERTIFICATE-----).".into());
        }
        let mut first = None;
        for block in certificates {
            let der = block.contents();
            let certificate = match x509_parser::parse_x509_certificate(der) {
                Ok(([], certificate)) => certificate,
                _ => {
                    return Err(
                        "The application certificate could not be read as an X.509 certificate."
                            .into(),
                    );
                }
            };
            let not_after = certificate.validity().not_after.timestamp();
            if not_after <= now {
                let day = time::OffsetDateTime::from_unix_timestamp(not_after)
                    .map(|t| t.date().to_string())
                    .unwrap_or_default();
                return Err(format!("The application certificate expired on {day}."));
            }
            if first.is_none() {
                first = Some(ApplicationCertificate {
                    pem: value.to_string(),
                    subject: certificate.subject().to_string(),
                    issuer: certificate.issuer().to_string(),
                    not_after,
                    thumbprint_sha256: crate::security::sha256_hex(der),
                });
            }
        }
        Ok(first)
    }

    /// The SHA-256 thumbprint as `x5t#S256` (RFC 8705) carries it.
    pub fn x5t_s256(&self) -> String {
        let bytes = hex::decode(&self.thumbprint_sha256).unwrap_or_default();
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    }
}
