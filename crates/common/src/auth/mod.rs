//! Access tokens: the claims, signing (used by the auth service only) and verification (used by every
//! service). Tokens are EdDSA (Ed25519) JWTs whose `kid` is the RFC 7638 thumbprint of the key.
//!
//! Here: the claims and the caller they describe. `keys.rs`: the key files; `verify.rs`: the
//! verifier (with its bounded cache of verified tokens, `token_cache.rs`); `sign.rs`: the signer;
//! `extract.rs`: the request extractors.

#[cfg(feature = "web")]
mod extract;
mod keys;
mod sign;
#[cfg(test)]
mod tests;
mod token_cache;
mod verify;

#[cfg(feature = "web")]
pub use extract::Admin;
pub use keys::{KeyError, PublicKey};
pub use sign::JwtSigner;
pub use token_cache::DEFAULT_CAPACITY as TOKEN_CACHE_CAPACITY;
pub use verify::JwtVerifier;

use serde::{Deserialize, Serialize};
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
