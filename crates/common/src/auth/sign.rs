//! Signing access tokens (the auth service only).

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use uuid::Uuid;

use super::{Caller, Claims, JwtVerifier, KeyError, PublicKey, Role};
use crate::ApiError;

/// Signs access tokens (the auth service only holds the private key).
pub struct JwtSigner {
    key: EncodingKey,
    pub public: PublicKey,
    pub issuer: String,
    pub audience: String,
}

impl JwtSigner {
    pub fn from_pem(
        private_pem: &[u8],
        public_pem: &[u8],
        issuer: &str,
        audience: &str,
    ) -> Result<Self, String> {
        Ok(Self {
            key: EncodingKey::from_ed_pem(private_pem).map_err(|e| e.to_string())?,
            public: PublicKey::from_pem(public_pem)?,
            issuer: issuer.to_owned(),
            audience: audience.to_owned(),
        })
    }

    pub fn from_files(
        private_path: &str,
        public_path: &str,
        issuer: &str,
        audience: &str,
    ) -> Result<Self, KeyError> {
        let read = |path: &str| {
            std::fs::read(path).map_err(|source| KeyError::Io {
                path: path.into(),
                source,
            })
        };
        Self::from_pem(&read(private_path)?, &read(public_path)?, issuer, audience).map_err(
            |reason| KeyError::Format {
                path: private_path.into(),
                reason,
            },
        )
    }

    /// Loads the private key and pairs it with whichever of `public_paths` is its public half
    /// (checked by verifying a probe token). The order of the configured public keys then does not
    /// matter during a key rotation, and a private key that matches none of them stops the service
    /// at start instead of letting it issue tokens that no service accepts.
    pub fn from_key_files(
        private_path: &str,
        public_paths: &[String],
        issuer: &str,
        audience: &str,
    ) -> Result<Self, KeyError> {
        for public_path in public_paths {
            let signer = Self::from_files(private_path, public_path, issuer, audience)?;
            if signer.matches_public_key() {
                return Ok(signer);
            }
        }
        Err(KeyError::Format {
            path: private_path.into(),
            reason: format!(
                "it is the private half of none of the public keys [{}]",
                public_paths.join(", ")
            ),
        })
    }

    /// Whether tokens this signer issues verify with its public key.
    fn matches_public_key(&self) -> bool {
        let Ok(verifier) = JwtVerifier::new(
            std::slice::from_ref(&self.public),
            &self.issuer,
            &self.audience,
        ) else {
            return false;
        };
        let probe = Caller {
            user_id: Uuid::nil(),
            role: Role::Clerk,
            store_ids: Vec::new(),
        };
        self.sign(&probe, 60)
            .is_ok_and(|token| verifier.verify(&token).is_ok())
    }

    /// Issues a token for `user` valid for `ttl_secs`.
    pub fn sign(&self, user: &Caller, ttl_secs: i64) -> Result<String, ApiError> {
        let now = chrono::Utc::now().timestamp();
        let claims = Claims {
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            sub: user.user_id,
            exp: now + ttl_secs,
            iat: now,
            jti: Uuid::now_v7(),
            role: user.role,
            store_ids: user.store_ids.clone(),
        };
        self.sign_claims(&claims)
    }

    /// Signs arbitrary claims (tests use it to build expired or foreign tokens).
    pub fn sign_claims(&self, claims: &Claims) -> Result<String, ApiError> {
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(self.public.kid.clone());
        jsonwebtoken::encode(&header, claims, &self.key).map_err(ApiError::internal)
    }
}
