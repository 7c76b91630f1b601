//! The token keys: Ed25519 PEM files and their JWK form.

use base64::{Engine, engine::general_purpose::STANDARD, engine::general_purpose::URL_SAFE_NO_PAD};
use jsonwebtoken::DecodingKey;
use sha2::{Digest, Sha256};

/// A key or token file that could not be used.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("cannot read key file {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("key file {path} is not an Ed25519 PEM key: {reason}")]
    Format { path: String, reason: String },
}

/// An Ed25519 public key with its JWK form.
#[derive(Debug, Clone)]
pub struct PublicKey {
    pub kid: String,
    /// The raw 32-byte key, base64url (the JWK `x` member).
    pub x: String,
    pub(super) pem: Vec<u8>,
}

impl PublicKey {
    /// Reads an SPKI PEM file (`openssl pkey -pubout`).
    pub fn from_pem_file(path: &str) -> Result<Self, KeyError> {
        let pem = std::fs::read(path).map_err(|source| KeyError::Io {
            path: path.into(),
            source,
        })?;
        Self::from_pem(&pem).map_err(|reason| KeyError::Format {
            path: path.into(),
            reason,
        })
    }

    pub fn from_pem(pem: &[u8]) -> Result<Self, String> {
        let der = pem_body(pem)?;
        // SPKI for Ed25519 is a fixed 12-byte prefix followed by the 32-byte key.
        if der.len() != 44 {
            return Err(format!(
                "expected a 44-byte Ed25519 SubjectPublicKeyInfo, got {} bytes",
                der.len()
            ));
        }
        let x = URL_SAFE_NO_PAD.encode(&der[12..]);
        let kid = thumbprint(&x);
        DecodingKey::from_ed_pem(pem).map_err(|e| e.to_string())?;
        Ok(Self {
            kid,
            x,
            pem: pem.to_vec(),
        })
    }

    /// The JWK of this key, as served by `/auth/jwks.json`.
    pub fn jwk(&self) -> serde_json::Value {
        serde_json::json!({ "kty": "OKP", "crv": "Ed25519", "alg": "EdDSA", "use": "sig", "kid": self.kid, "x": self.x })
    }
}

fn pem_body(pem: &[u8]) -> Result<Vec<u8>, String> {
    let text = std::str::from_utf8(pem).map_err(|_| "not UTF-8".to_owned())?;
    let body: String = text
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .map(str::trim)
        .collect();
    STANDARD.decode(body).map_err(|e| e.to_string())
}

/// RFC 7638 thumbprint of an Ed25519 JWK.
pub(super) fn thumbprint(x: &str) -> String {
    let canonical = format!(r#"{{"crv":"Ed25519","kty":"OKP","x":"{x}"}}"#);
    URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes()))
}
