//! Signing keys: generated at first start (ES256 unless the settings choose RS256, PS256 or
//! EdDSA), private keys encrypted at rest, parsed once and held in memory. Beside the configured
//! algorithm's key an RS256 key is always kept: OpenID Connect Discovery requires RS256 for ID
//! tokens, and a client may register it as its ID-token algorithm. Rotation makes new active
//! keys and keeps the old public keys in the JWKS until every token they signed has expired. A
//! running Portico picks up a rotation made by `portico rotate-signing-key` within a minute.

use crate::db::DbConnection;
use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{
    self, ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, Ed25519KeyPair, KeyPair, RsaKeyPair,
};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use diesel::prelude::*;
use jsonwebtoken::{Algorithm, DecodingKey};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::json;

use crate::db::schema::signing_keys;
use crate::security::random;
use crate::security::secret_box::SecretBox;

pub use crate::config::SigningAlgorithm;

impl SigningAlgorithm {
    fn jwt(self) -> Algorithm {
        match self {
            SigningAlgorithm::Es256 => Algorithm::ES256,
            SigningAlgorithm::Rs256 => Algorithm::RS256,
            SigningAlgorithm::Ps256 => Algorithm::PS256,
            SigningAlgorithm::EdDsa => Algorithm::EdDSA,
        }
    }
}

const PURPOSE: &str = "signing key";

#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = signing_keys)]
struct StoredKey {
    kid: String,
    algorithm: SigningAlgorithm,
    private_key: Vec<u8>,
    public_jwk: String,
    active: bool,
}

enum Signer {
    Ecdsa(EcdsaKeyPair),
    Rsa(RsaKeyPair, &'static dyn signature::RsaEncoding),
    Ed(Ed25519KeyPair),
}

/// The key that signs new tokens, parsed once.
struct ActiveKey {
    kid: String,
    algorithm: SigningAlgorithm,
    signer: Signer,
}

/// Everything derived from the stored keys: the signers, the verifiers and the JWKS document.
struct KeySet {
    /// The active key of each algorithm kept, the configured one first.
    active: Vec<ActiveKey>,
    verifiers: HashMap<String, (Algorithm, DecodingKey)>,
    jwks: String,
}

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error(transparent)]
    Database(#[from] diesel::result::Error),
    #[error("a signing key cannot be read: {0}")]
    Unreadable(String),
}

/// Why a token did not verify.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error("the token is not a JWT signed by one of our keys")]
    Invalid,
}

pub struct SigningKeys {
    current: RwLock<Arc<KeySet>>,
    rng: SystemRandom,
    /// The configured algorithm: access tokens and, unless a client chose, ID tokens.
    primary: SigningAlgorithm,
}

/// The algorithms Portico keeps an active key of when `primary` is configured: it, and RS256.
pub fn kept_algorithms(primary: SigningAlgorithm) -> Vec<SigningAlgorithm> {
    let mut kept = vec![primary];
    if primary != SigningAlgorithm::Rs256 {
        kept.push(SigningAlgorithm::Rs256);
    }
    kept
}

impl SigningKeys {
    /// Loads the stored keys, creating an active key of `algorithm` (and of RS256) when there
    /// is none of it; an active key of an algorithm no longer configured is retired.
    pub fn load_or_create(
        conn: &mut DbConnection,
        secret_box: &SecretBox,
        algorithm: SigningAlgorithm,
        max_token_lifetime: i64,
    ) -> Result<Self, KeyError> {
        let kept = kept_algorithms(algorithm);
        // Checked and created in one immediate transaction: two processes starting on a new
        // database must not both make an active key.
        crate::db::write(conn, |conn| {
            let active: Vec<SigningAlgorithm> = signing_keys::table
                .filter(signing_keys::active.eq(true))
                .select(signing_keys::algorithm)
                .load(conn)?;
            for wanted in &kept {
                if !active.contains(wanted) {
                    replace_active_key(conn, secret_box, *wanted, max_token_lifetime)?;
                }
            }
            diesel::update(
                signing_keys::table
                    .filter(signing_keys::active.eq(true))
                    .filter(signing_keys::algorithm.ne_all(&kept)),
            )
            .set((
                signing_keys::active.eq(false),
                signing_keys::publish_until.eq(crate::db::now() + max_token_lifetime),
            ))
            .execute(conn)?;
            Ok::<_, KeyError>(())
        })?;
        let set = load_set(conn, secret_box, algorithm)?;
        Ok(Self {
            current: RwLock::new(Arc::new(set)),
            rng: SystemRandom::new(),
            primary: algorithm,
        })
    }

    /// Re-reads the keys (after a rotation by another process).
    pub fn reload(&self, conn: &mut DbConnection, secret_box: &SecretBox) -> Result<(), KeyError> {
        let set = load_set(conn, secret_box, self.primary)?;
        *self.current.write().expect("the key lock") = Arc::new(set);
        Ok(())
    }

    fn set(&self) -> Arc<KeySet> {
        self.current.read().expect("the key lock").clone()
    }

    pub fn algorithm(&self) -> SigningAlgorithm {
        self.primary
    }

    /// The algorithms ID tokens can be signed with: the configured one first, then RS256.
    pub fn id_token_algorithms(&self) -> Vec<SigningAlgorithm> {
        self.set().active.iter().map(|k| k.algorithm).collect()
    }

    /// Signs `claims` as a compact JWS with the configured algorithm's active key; `typ` is
    /// `at+jwt` or `JWT`.
    pub fn sign(&self, typ: &str, claims: &impl Serialize) -> String {
        self.sign_with(self.primary, typ, claims)
    }

    /// Signs an ID token with the algorithm its client registered (`None`: the configured
    /// one). A registered algorithm Portico keeps no key of falls back to the configured one.
    pub fn sign_id_token(
        &self,
        algorithm: Option<SigningAlgorithm>,
        claims: &impl Serialize,
    ) -> String {
        self.sign_with(algorithm.unwrap_or(self.primary), "JWT", claims)
    }

    fn sign_with(&self, algorithm: SigningAlgorithm, typ: &str, claims: &impl Serialize) -> String {
        let set = self.set();
        let key = set
            .active
            .iter()
            .find(|k| k.algorithm == algorithm)
            .unwrap_or(&set.active[0]);
        let header = json!({ "alg": key.algorithm.as_str(), "typ": typ, "kid": key.kid });
        let mut token = URL_SAFE_NO_PAD.encode(header.to_string());
        token.push('.');
        token.push_str(
            &URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims).expect("claims serialize")),
        );
        let signature = match &key.signer {
            Signer::Ecdsa(pair) => pair
                .sign(&self.rng, token.as_bytes())
                .expect("ECDSA signing")
                .as_ref()
                .to_vec(),
            Signer::Rsa(pair, encoding) => {
                let mut signature = vec![0; pair.public_modulus_len()];
                pair.sign(*encoding, &self.rng, token.as_bytes(), &mut signature)
                    .expect("RSA signing");
                signature
            }
            Signer::Ed(pair) => pair.sign(token.as_bytes()).as_ref().to_vec(),
        };
        token.push('.');
        token.push_str(&URL_SAFE_NO_PAD.encode(signature));
        token
    }

    /// The JWKS document (RFC 7517): every public key still in use.
    pub fn jwks(&self) -> String {
        self.set().jwks.clone()
    }

    /// Verifies the signature (by `kid`, with the key's own algorithm only) and the time claims,
    /// and returns the claims. Audience and issuer are the caller's to check.
    pub fn verify<T: DeserializeOwned>(
        &self,
        token: &str,
        expected_typ: &str,
    ) -> Result<T, VerifyError> {
        self.verify_checking(token, expected_typ, true)
    }

    /// Verifies one of our ID tokens presented back as a hint (RP-Initiated Logout): the
    /// signature and issuer must hold, but it may have expired since.
    pub fn verify_hint<T: DeserializeOwned>(&self, token: &str) -> Result<T, VerifyError> {
        self.verify_checking(token, "JWT", false)
    }

    fn verify_checking<T: DeserializeOwned>(
        &self,
        token: &str,
        expected_typ: &str,
        check_expiry: bool,
    ) -> Result<T, VerifyError> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| VerifyError::Invalid)?;
        if header.typ.as_deref() != Some(expected_typ) {
            return Err(VerifyError::Invalid);
        }
        let kid = header.kid.ok_or(VerifyError::Invalid)?;
        let set = self.set();
        let (algorithm, key) = set.verifiers.get(&kid).ok_or(VerifyError::Invalid)?;
        if header.alg != *algorithm {
            return Err(VerifyError::Invalid);
        }
        let mut validation = jsonwebtoken::Validation::new(*algorithm);
        validation.validate_aud = false;
        validation.validate_exp = check_expiry;
        validation.leeway = 0;
        validation.set_required_spec_claims(&["exp", "iat", "iss"]);
        jsonwebtoken::decode::<T>(token, key, &validation)
            .map(|data| data.claims)
            .map_err(|_| VerifyError::Invalid)
    }
}

/// Makes a new active key of `algorithm` and of RS256 beside it; the previous active keys stay
/// published for `max_token_lifetime` seconds, then leave the JWKS. Answers the new kids.
pub fn rotate(
    conn: &mut DbConnection,
    secret_box: &SecretBox,
    algorithm: SigningAlgorithm,
    max_token_lifetime: i64,
) -> Result<Vec<String>, KeyError> {
    crate::db::write(conn, |conn| {
        conn.announce(crate::db::changes::Change::Keys)?;
        kept_algorithms(algorithm)
            .into_iter()
            .map(|kept| replace_active_key(conn, secret_box, kept, max_token_lifetime))
            .collect()
    })
}

/// A new active key of `algorithm` in place of the one before (inside the caller's
/// transaction).
fn replace_active_key(
    conn: &mut DbConnection,
    secret_box: &SecretBox,
    algorithm: SigningAlgorithm,
    max_token_lifetime: i64,
) -> Result<String, KeyError> {
    let (pkcs8, mut jwk) = generate(algorithm)?;
    let kid = random::token(12);
    jwk["kid"] = json!(kid);
    jwk["alg"] = json!(algorithm.as_str());
    jwk["use"] = json!("sig");
    let now = crate::db::now();
    diesel::update(
        signing_keys::table
            .filter(signing_keys::active.eq(true))
            .filter(signing_keys::algorithm.eq(algorithm)),
    )
    .set((
        signing_keys::active.eq(false),
        signing_keys::publish_until.eq(now + max_token_lifetime),
    ))
    .execute(conn)?;
    diesel::insert_into(signing_keys::table)
        .values((
            signing_keys::kid.eq(&kid),
            signing_keys::algorithm.eq(algorithm),
            signing_keys::private_key.eq(secret_box.seal(PURPOSE, &pkcs8)),
            signing_keys::public_jwk.eq(jwk.to_string()),
            signing_keys::active.eq(true),
            signing_keys::created_at.eq(now),
        ))
        .execute(conn)?;
    // Keys whose tokens have all expired leave the JWKS for good.
    diesel::delete(signing_keys::table.filter(signing_keys::publish_until.lt(now)))
        .execute(conn)?;
    Ok(kid)
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// A new key pair: PKCS#8 DER and the public JWK.
fn generate(algorithm: SigningAlgorithm) -> Result<(Vec<u8>, serde_json::Value), KeyError> {
    let rng = SystemRandom::new();
    let failed =
        |e: &dyn std::fmt::Debug| KeyError::Unreadable(format!("key generation failed: {e:?}"));
    match algorithm {
        SigningAlgorithm::Es256 => {
            let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
                .map_err(|e| failed(&e))?;
            let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref())
                .map_err(|e| failed(&e))?;
            let point = pair.public_key().as_ref();
            let jwk = json!({ "kty": "EC", "crv": "P-256", "x": b64(&point[1..33]), "y": b64(&point[33..65]) });
            Ok((pkcs8.as_ref().to_vec(), jwk))
        }
        SigningAlgorithm::Rs256 | SigningAlgorithm::Ps256 => {
            let pair =
                aws_lc_rs::rsa::KeyPair::generate(KeySize::Rsa2048).map_err(|e| failed(&e))?;
            let pkcs8 =
                AsDer::<aws_lc_rs::encoding::Pkcs8V1Der>::as_der(&pair).map_err(|e| failed(&e))?;
            let public = pair.public_key();
            let jwk = json!({
                "kty": "RSA",
                "n": b64(public.modulus().big_endian_without_leading_zero()),
                "e": b64(public.exponent().big_endian_without_leading_zero()),
            });
            Ok((pkcs8.as_ref().to_vec(), jwk))
        }
        SigningAlgorithm::EdDsa => {
            let pkcs8 = Ed25519KeyPair::generate_pkcs8(&rng).map_err(|e| failed(&e))?;
            let pair = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).map_err(|e| failed(&e))?;
            let jwk =
                json!({ "kty": "OKP", "crv": "Ed25519", "x": b64(pair.public_key().as_ref()) });
            Ok((pkcs8.as_ref().to_vec(), jwk))
        }
    }
}

fn load_set(
    conn: &mut DbConnection,
    secret_box: &SecretBox,
    primary: SigningAlgorithm,
) -> Result<KeySet, KeyError> {
    let now = crate::db::now();
    let mut stored: Vec<StoredKey> = signing_keys::table
        .filter(
            signing_keys::active
                .eq(true)
                .or(signing_keys::publish_until.ge(now)),
        )
        .order(signing_keys::id.desc())
        .select(StoredKey::as_select())
        .load(conn)?;
    // The configured algorithm's active key first (in the JWKS too), then the other active
    // ones, then the retired ones still published; the newest first within each.
    stored.sort_by_key(|k| (!(k.active && k.algorithm == primary), !k.active));
    let mut verifiers = HashMap::new();
    let mut keys = Vec::new();
    let mut active: Vec<ActiveKey> = Vec::new();
    for key in &stored {
        let jwk: serde_json::Value = serde_json::from_str(&key.public_jwk)
            .map_err(|e| KeyError::Unreadable(e.to_string()))?;
        let decoding = decoding_key(key.algorithm, &jwk)?;
        verifiers.insert(key.kid.clone(), (key.algorithm.jwt(), decoding));
        keys.push(jwk);
        if key.active && !active.iter().any(|k| k.algorithm == key.algorithm) {
            let pkcs8 = secret_box
                .open(PURPOSE, &key.private_key)
                .map_err(|e| KeyError::Unreadable(e.to_string()))?;
            active.push(ActiveKey {
                kid: key.kid.clone(),
                algorithm: key.algorithm,
                signer: signer(key.algorithm, &pkcs8)?,
            });
        }
    }
    if active.is_empty() {
        return Err(KeyError::Unreadable(
            "there is no active signing key".into(),
        ));
    }
    Ok(KeySet {
        active,
        verifiers,
        jwks: json!({ "keys": keys }).to_string(),
    })
}

fn signer(algorithm: SigningAlgorithm, pkcs8: &[u8]) -> Result<Signer, KeyError> {
    let rejected = |e: aws_lc_rs::error::KeyRejected| KeyError::Unreadable(e.to_string());
    Ok(match algorithm {
        SigningAlgorithm::Es256 => Signer::Ecdsa(
            EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8).map_err(rejected)?,
        ),
        SigningAlgorithm::Rs256 => Signer::Rsa(
            RsaKeyPair::from_pkcs8(pkcs8).map_err(rejected)?,
            &signature::RSA_PKCS1_SHA256,
        ),
        SigningAlgorithm::Ps256 => Signer::Rsa(
            RsaKeyPair::from_pkcs8(pkcs8).map_err(rejected)?,
            &signature::RSA_PSS_SHA256,
        ),
        SigningAlgorithm::EdDsa => Signer::Ed(Ed25519KeyPair::from_pkcs8(pkcs8).map_err(rejected)?),
    })
}

fn decoding_key(
    algorithm: SigningAlgorithm,
    jwk: &serde_json::Value,
) -> Result<DecodingKey, KeyError> {
    let field = |name: &str| jwk[name].as_str().unwrap_or_default().to_string();
    let bad = |e: jsonwebtoken::errors::Error| KeyError::Unreadable(e.to_string());
    match algorithm {
        SigningAlgorithm::Es256 => {
            DecodingKey::from_ec_components(&field("x"), &field("y")).map_err(bad)
        }
        SigningAlgorithm::Rs256 | SigningAlgorithm::Ps256 => {
            DecodingKey::from_rsa_components(&field("n"), &field("e")).map_err(bad)
        }
        SigningAlgorithm::EdDsa => DecodingKey::from_ed_components(&field("x")).map_err(bad),
    }
}
