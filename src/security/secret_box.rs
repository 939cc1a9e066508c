//! Secrets at rest that Portico must be able to read back (signing keys, connector credentials,
//! consumer secrets of external clients): AES-256-GCM under a key derived from the configured
//! secret key. Each value gets a fresh random nonce; the purpose is bound as associated data,
//! so a ciphertext moved to another column does not decrypt.

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use aws_lc_rs::hkdf;

/// Encrypts and decrypts secrets at rest.
pub struct SecretBox {
    key: LessSafeKey,
}

#[derive(Debug, thiserror::Error)]
#[error("a stored secret could not be decrypted (wrong secret key, or tampered data)")]
pub struct DecryptError;

struct KeyLength;

impl hkdf::KeyType for KeyLength {
    fn len(&self) -> usize {
        32
    }
}

impl SecretBox {
    /// A box under a key derived from `secret` (the configured secret key's bytes).
    pub fn new<K: AsRef<[u8]> + ?Sized>(secret: &K) -> Self {
        let salt = hkdf::Salt::new(hkdf::HKDF_SHA256, b"portico");
        let prk = salt.extract(secret.as_ref());
        let mut bytes = [0u8; 32];
        prk.expand(&[b"secrets at rest v1"], KeyLength)
            .and_then(|okm| okm.fill(&mut bytes))
            .expect("HKDF yields 32 bytes");
        let key = UnboundKey::new(&AES_256_GCM, &bytes).expect("a 256-bit key");
        Self {
            key: LessSafeKey::new(key),
        }
    }

    /// nonce ‖ ciphertext ‖ tag.
    pub fn seal(&self, purpose: &str, plaintext: &[u8]) -> Vec<u8> {
        let mut nonce = [0u8; NONCE_LEN];
        super::random::fill(&mut nonce);
        let mut sealed = plaintext.to_vec();
        self.key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(purpose.as_bytes()),
                &mut sealed,
            )
            .expect("AES-GCM sealing does not fail");
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        out
    }

    pub fn open(&self, purpose: &str, sealed: &[u8]) -> Result<Vec<u8>, DecryptError> {
        if sealed.len() < NONCE_LEN + AES_256_GCM.tag_len() {
            return Err(DecryptError);
        }
        let (nonce, ciphertext) = sealed.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| DecryptError)?;
        let mut buffer = ciphertext.to_vec();
        let plaintext = self
            .key
            .open_in_place(nonce, Aad::from(purpose.as_bytes()), &mut buffer)
            .map_err(|_| DecryptError)?;
        Ok(plaintext.to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_secrets_open_only_unchanged_and_for_their_purpose() {
        let secret_box = SecretBox::new(&[7u8; 32]);
        let sealed = secret_box.seal("signing key", b"private");
        assert_eq!(secret_box.open("signing key", &sealed).unwrap(), b"private");
        assert!(secret_box.open("connector secret", &sealed).is_err());
        let mut tampered = sealed.clone();
        *tampered.last_mut().unwrap() ^= 1;
        assert!(secret_box.open("signing key", &tampered).is_err());
        assert!(secret_box.open("signing key", b"short").is_err());
        let other = SecretBox::new(&[8u8; 32]);
        assert!(other.open("signing key", &sealed).is_err());
    }
}
