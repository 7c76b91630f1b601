//! Access tokens: the claims, signing (used by the auth service only) and verification (used by every
//! service). Tokens are EdDSA (Ed25519) JWTs whose `kid` is the RFC 7638 thumbprint of the key.

use std::collections::HashMap;

use base64::{Engine, engine::general_purpose::STANDARD, engine::general_purpose::URL_SAFE_NO_PAD};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::ApiError;

/// What a user may do: `admin` everything; `manager` and `clerk` stock changes in their stores.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "web", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Admin,
    Manager,
    Clerk,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Manager => "manager",
            Role::Clerk => "clerk",
        }
    }
}

impl std::str::FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "admin" => Ok(Role::Admin),
            "manager" => Ok(Role::Manager),
            "clerk" => Ok(Role::Clerk),
            other => Err(format!(
                "unknown role `{other}`; expected admin, manager or clerk"
            )),
        }
    }
}

/// The claims of an access token.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Claims {
    pub iss: String,
    pub aud: String,
    pub sub: Uuid,
    pub exp: i64,
    pub iat: i64,
    pub jti: Uuid,
    pub role: Role,
    pub store_ids: Vec<Uuid>,
}

/// Claims already verified for this request (by the rate limiter), so the signature is checked once.
#[derive(Debug, Clone)]
pub struct VerifiedClaims(pub Claims);

/// The authenticated caller of a request.
#[derive(Debug, Clone)]
pub struct Caller {
    pub user_id: Uuid,
    pub role: Role,
    pub store_ids: Vec<Uuid>,
}

impl Caller {
    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }

    /// Admin only: 403 for anyone else.
    pub fn require_admin(&self) -> Result<(), ApiError> {
        if self.is_admin() {
            Ok(())
        } else {
            Err(ApiError::Forbidden(
                "this action needs the admin role".into(),
            ))
        }
    }

    /// Whether the caller may read and change stock in `store_id`.
    pub fn can_manage_store(&self, store_id: Uuid) -> bool {
        self.is_admin() || self.store_ids.contains(&store_id)
    }

    /// Admin, or a member of `store_id`: 403 for anyone else.
    pub fn require_store(&self, store_id: Uuid) -> Result<(), ApiError> {
        if self.can_manage_store(store_id) {
            Ok(())
        } else {
            Err(ApiError::Forbidden(format!(
                "you are not assigned to store {store_id}"
            )))
        }
    }
}

/// The stores whose stock data (levels, movements, reports) a caller may read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreScope {
    /// Every store (an admin).
    All,
    /// Only these (a manager's or clerk's assignments, or the one store asked for); may be empty.
    Only(Vec<Uuid>),
}

impl StoreScope {
    /// The stores to filter on: `None` for every store.
    pub fn store_ids(&self) -> Option<&[Uuid]> {
        match self {
            StoreScope::All => None,
            StoreScope::Only(ids) => Some(ids),
        }
    }

    /// Whether nothing can match (a user without stores): the answer is an empty list.
    pub fn is_empty(&self) -> bool {
        matches!(self, StoreScope::Only(ids) if ids.is_empty())
    }
}

impl Caller {
    /// The scope of a read of stock data. An explicit `store` must be one the caller may read
    /// (403 otherwise — never a silently empty answer) and is the whole scope; without one, an
    /// admin reads every store and anyone else only their assigned stores (none: nothing).
    pub fn read_scope(&self, store: Option<Uuid>) -> Result<StoreScope, ApiError> {
        match store {
            Some(id) => {
                self.require_store(id)?;
                Ok(StoreScope::Only(vec![id]))
            }
            None if self.is_admin() => Ok(StoreScope::All),
            None => Ok(StoreScope::Only(self.store_ids.clone())),
        }
    }
}

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
    pem: Vec<u8>,
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
fn thumbprint(x: &str) -> String {
    let canonical = format!(r#"{{"crv":"Ed25519","kty":"OKP","x":"{x}"}}"#);
    URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes()))
}

mod token_cache;

pub use token_cache::DEFAULT_CAPACITY as TOKEN_CACHE_CAPACITY;

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
    fn verify_at(&self, token: &str, now: i64) -> Result<Claims, ApiError> {
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

#[cfg(test)]
mod tests;

#[cfg(feature = "web")]
pub use extract::Admin;

#[cfg(feature = "web")]
mod extract {
    use actix_web::{FromRequest, HttpRequest, dev::Payload, web};
    use futures_util::future::{Ready, ready};

    use super::{Caller, JwtVerifier};
    use crate::ApiError;

    /// The caller of an admin-only route: 401 without a valid token, 403 for any other role. As a
    /// handler's first argument it refuses a non-admin before the body or the path is read, so a
    /// non-admin learns nothing about validation from a request it may not make.
    #[derive(Debug, Clone)]
    pub struct Admin(pub Caller);

    impl FromRequest for Admin {
        type Error = ApiError;
        type Future = Ready<Result<Self, Self::Error>>;

        fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
            ready(
                caller_from(req).and_then(|caller| caller.require_admin().map(|()| Admin(caller))),
            )
        }
    }

    /// Extracts the caller from `Authorization: Bearer <token>`; 401 when absent or invalid.
    impl FromRequest for Caller {
        type Error = ApiError;
        type Future = Ready<Result<Self, Self::Error>>;

        fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
            ready(caller_from(req))
        }
    }

    fn caller_from(req: &HttpRequest) -> Result<Caller, ApiError> {
        let verifier = req
            .app_data::<web::Data<JwtVerifier>>()
            .ok_or_else(|| ApiError::internal("JwtVerifier is not registered as app data"))?;
        let header = req
            .headers()
            .get(actix_web::http::header::AUTHORIZATION)
            .ok_or_else(|| ApiError::Unauthorized("missing bearer token".into()))?;
        let token = header
            .to_str()
            .ok()
            .and_then(|v| {
                v.strip_prefix("Bearer ")
                    .or_else(|| v.strip_prefix("bearer "))
            })
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| {
                ApiError::Unauthorized("expected `Authorization: Bearer <token>`".into())
            })?;
        let verified = actix_web::HttpMessage::extensions(req)
            .get::<super::VerifiedClaims>()
            .cloned();
        let claims = match verified {
            Some(super::VerifiedClaims(claims)) => claims,
            None => verifier.verify(token)?,
        };
        tracing::Span::current().record("user_id", tracing::field::display(claims.sub));
        let caller = Caller {
            user_id: claims.sub,
            role: claims.role,
            store_ids: claims.store_ids,
        };
        // For the request's audit record (see `web::request_context`).
        actix_web::HttpMessage::extensions_mut(req).insert(caller.clone());
        Ok(caller)
    }
}
