//! Verifying access tokens.

use std::collections::HashMap;

use jsonwebtoken::{Algorithm, DecodingKey, Validation};

use super::{Claims, KeyError, PublicKey, token_cache};
use crate::ApiError;

/// Verifies access tokens: EdDSA only, a known `kid`, and `iss`, `aud`, `exp` checked. A token that
/// verified is remembered (bounded, `exp` still checked on every use: see `auth/token_cache.rs`), so
/// its signature is checked once per instance rather than once per request.
pub struct JwtVerifier {
    keys: HashMap<String, DecodingKey>,
    validation: Validation,
    verified: token_cache::TokenCache,
}

impl JwtVerifier {
    pub fn new(keys: &[PublicKey], issuer: &str, audience: &str) -> Result<Self, String> {
        let mut map = HashMap::new();
        for key in keys {
            map.insert(
                key.kid.clone(),
                DecodingKey::from_ed_pem(&key.pem).map_err(|e| e.to_string())?,
            );
        }
        let mut validation = Validation::new(Algorithm::EdDSA);
        validation.set_issuer(&[issuer]);
        validation.set_audience(&[audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.leeway = 5;
        Ok(Self {
            keys: map,
            validation,
            verified: token_cache::TokenCache::new(token_cache::DEFAULT_CAPACITY),
        })
    }

    /// The same verifier remembering at most `capacity` tokens.
    pub fn with_token_cache_capacity(mut self, capacity: usize) -> Self {
        self.verified = token_cache::TokenCache::new(capacity);
        self
    }

    /// How many verified tokens this verifier remembers.
    pub fn remembered_tokens(&self) -> usize {
        self.verified.len()
    }

    /// Reads the PEM files named by the configuration.
    pub fn from_files(files: &[String], issuer: &str, audience: &str) -> Result<Self, KeyError> {
        let keys = files
            .iter()
            .map(|f| PublicKey::from_pem_file(f))
            .collect::<Result<Vec<_>, _>>()?;
        Self::new(&keys, issuer, audience).map_err(|reason| KeyError::Format {
            path: files.join(","),
            reason,
        })
    }

    /// Verifies a token and returns its claims; every failure is a 401.
    pub fn verify(&self, token: &str) -> Result<Claims, ApiError> {
        self.verify_at(token, chrono::Utc::now().timestamp())
    }

    /// [`JwtVerifier::verify`] at `now` (Unix seconds): a remembered token only has its `exp`
    /// checked; any other is verified in full and remembered when it passes.
    pub(super) fn verify_at(&self, token: &str, now: i64) -> Result<Claims, ApiError> {
        let leeway = i64::try_from(self.validation.leeway).unwrap_or(0);
        let key = token_cache::TokenCache::key(token);
        match self.verified.get(&key, now, leeway) {
            Some(Ok(claims)) => return Ok(claims),
            Some(Err(())) => return Err(ApiError::Unauthorized("access token expired".into())),
            None => {}
        }
        let claims = self.verify_signed(token)?;
        // jsonwebtoken checks `exp` against the clock; the cache against `now`, which tests move.
        if claims.exp.saturating_add(leeway) < now {
            return Err(ApiError::Unauthorized("access token expired".into()));
        }
        self.verified.put(key, &claims, now, leeway);
        Ok(claims)
    }

    /// The full check: header, key, signature and claims.
    fn verify_signed(&self, token: &str) -> Result<Claims, ApiError> {
        let invalid = |why: &str| ApiError::Unauthorized(format!("invalid access token: {why}"));
        let header = jsonwebtoken::decode_header(token).map_err(|_| invalid("malformed"))?;
        if header.alg != Algorithm::EdDSA {
            return Err(invalid("unexpected algorithm"));
        }
        let kid = header.kid.ok_or_else(|| invalid("no key id"))?;
        let key = self
            .keys
            .get(&kid)
            .ok_or_else(|| invalid("unknown key id"))?;
        jsonwebtoken::decode::<Claims>(token, key, &self.validation)
            .map(|data| data.claims)
            .map_err(|e| {
                use jsonwebtoken::errors::ErrorKind;
                match e.kind() {
                    ErrorKind::ExpiredSignature => {
                        ApiError::Unauthorized("access token expired".into())
                    }
                    ErrorKind::InvalidIssuer => invalid("wrong issuer"),
                    ErrorKind::InvalidAudience => invalid("wrong audience"),
                    ErrorKind::InvalidSignature => invalid("bad signature"),
                    _ => invalid("malformed"),
                }
            })
    }
}
