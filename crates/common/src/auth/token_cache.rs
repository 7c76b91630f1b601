//! Tokens already verified by this instance, so that a client's token is checked once (signature,
//! `alg`, `kid`, `iss`, `aud`) rather than on every request.
//!
//! * Only tokens that verified are kept, keyed by their SHA-256 (32 bytes), with their claims; a token
//!   that fails is never stored, so a client cannot fill the cache with invented tokens.
//! * `exp` is honoured on every hit, with the verifier's leeway: an expired token is refused (401,
//!   as when its signature is checked) and dropped.
//! * Bounded by construction: at most `capacity` entries ([`DEFAULT_CAPACITY`] = 4,096). When full,
//!   expired entries are dropped; when none were, the whole cache is emptied (each token is then
//!   verified once more). An entry is a 32-byte key and one token's claims, which the gateway bounds
//!   (a request header of at most 8 KiB): the cache holds at most 4,096 × ~8 KiB ≈ 32 MiB even with
//!   tokens carrying thousands of store ids, and about 1 MiB with ordinary ones.

use std::{collections::HashMap, sync::Mutex};

use sha2::{Digest, Sha256};

use super::Claims;

/// The default bound on remembered tokens.
pub const DEFAULT_CAPACITY: usize = 4_096;

/// The verified tokens of one verifier.
pub(super) struct TokenCache {
    capacity: usize,
    entries: Mutex<HashMap<[u8; 32], Claims>>,
}

impl TokenCache {
    pub(super) fn new(capacity: usize) -> Self {
        Self {
            capacity,
            entries: Mutex::new(HashMap::new()),
        }
    }

    pub(super) fn key(token: &str) -> [u8; 32] {
        Sha256::digest(token.as_bytes()).into()
    }

    /// The claims of a token verified before, if it has not expired by `now` (seconds; `leeway`
    /// seconds past `exp` are still accepted, as by the signature check). `Err(())`: it has.
    pub(super) fn get(&self, key: &[u8; 32], now: i64, leeway: i64) -> Option<Result<Claims, ()>> {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        let claims = entries.get(key)?;
        if claims.exp.saturating_add(leeway) < now {
            entries.remove(key);
            return Some(Err(()));
        }
        Some(Ok(claims.clone()))
    }

    /// Remembers a verified token's claims.
    pub(super) fn put(&self, key: [u8; 32], claims: &Claims, now: i64, leeway: i64) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= self.capacity && !entries.contains_key(&key) {
            entries.retain(|_, c| c.exp.saturating_add(leeway) >= now);
            if entries.len() >= self.capacity {
                entries.clear();
            }
        }
        entries.insert(key, claims.clone());
    }

    /// How many tokens are remembered.
    pub(super) fn len(&self) -> usize {
        self.entries.lock().unwrap_or_else(|e| e.into_inner()).len()
    }
}
