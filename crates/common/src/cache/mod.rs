//! Redis cache-aside for read endpoints.
//!
//! * Entries are rendered response bodies ([`Rendered`]: the JSON with its entity tag, stored as
//!   `<etag>\n<json>`), so a hit is sent as stored, with no decoding, re-encoding or hashing, in a
//!   Redis hash per cache key (`products:all`, `product:{id}`,
//!   `stock:store:{id}`, ...) with one field per variant (a page, a filter), so one `DEL` drops every
//!   variant of a key. A key (with all its variants) lives at most `ttl` (default 60 s) from its
//!   first fill: later fills do not extend it, so a busy key cannot grow or age without bound.
//! * No stale read after a write, whichever instance serves it: a writer bumps the key's version
//!   (`{key}:v`) and deletes the key after its commit; a reader stores what it loaded only if the version
//!   is still the one it saw before loading (checked atomically in Redis).
//! * A Redis outage or a slow Redis (over `timeout`) degrades to the database, never to an error, and is
//!   counted in `cache_errors_total`. An invalidation that could not be delivered is retried until it
//!   is (entries survive a Redis restart in its AOF), and meanwhile this instance reads those keys
//!   from the database.
//! * No stale fill from a lagging replica: with a read replica ([`Cache::with_positions`]), an
//!   invalidation also stores the primary's WAL position after the write (`{key}:lsn`, kept for
//!   [`POSITION_TTL`]), and a fill reads inside [`crate::read::fill_after`] that position, so the
//!   replica serves it only once it has replayed the write (otherwise the primary does).
//! * Concurrent misses of one key in one instance share one load (single flight).
//! * Bounded whatever clients ask for: a key holds at most `max_fields` variants (default
//!   [`MAX_FIELDS_PER_KEY`] = 64); a load beyond that is answered from the database and not stored
//!   (counted in `cache_full_total`). Callers cache only variants worth it — first pages, not pages
//!   after a client-chosen cursor ([`Cache::get_or_render_variant`] with `None`) — and only values that
//!   loaded (a 404 for a made-up id stores nothing), so the keys are the list keys plus one per
//!   existing entity. Redis therefore holds at most `keys × 64 × one page (≤ 500 rows)`, each key for
//!   at most `ttl`, however many cursors, searches or ids clients invent.

use std::{
    collections::{HashMap, HashSet},
    future::Future,
    sync::{Arc, Mutex},
    time::Duration,
};

use serde::Serialize;

use crate::{
    ApiError,
    read::{Db, Lsn, fill_after, position_from_value},
    redis::RedisPool,
};

mod invalidate;
mod rendered;

pub use rendered::Rendered;

/// How long the position of a key's last invalidation is kept: far longer than a replica may lag
/// before reads bypass it (`INVENTORY_PG_READ_MAX_LAG_MS`).
pub const POSITION_TTL: Duration = Duration::from_secs(60);

const STORE_IF_UNCHANGED: &str = r"
local current = redis.call('GET', KEYS[2]) or '0'
if current ~= ARGV[1] then return 0 end
if redis.call('HEXISTS', KEYS[1], ARGV[2]) == 0
   and redis.call('HLEN', KEYS[1]) >= tonumber(ARGV[5]) then return 2 end
redis.call('HSET', KEYS[1], ARGV[2], ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[4], 'NX')
return 1
";

/// What [`STORE_IF_UNCHANGED`] answers when the key already holds `max_fields` other variants.
const FULL: i64 = 2;

/// The default bound on the variants (hash fields) of one cache key.
pub const MAX_FIELDS_PER_KEY: usize = 64;

/// The key of a store's cached stock reads. Owned here because two services use it: the stock
/// service fills and invalidates it, the catalog drops it when the store is archived.
pub fn stock_store_key(store_id: uuid::Uuid) -> String {
    format!("stock:store:{store_id}")
}

/// A cache over one Redis pool. Cheap to clone.
#[derive(Clone)]
pub struct Cache {
    pool: RedisPool,
    prefix: String,
    ttl: Duration,
    max_fields: usize,
    timeout: Duration,
    flights: Arc<Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>>,
    /// Keys whose invalidation failed (Redis was down): retried in the background, and bypassed by
    /// this instance's reads until it succeeds, so an entry that outlived the outage is never served.
    unflushed: Arc<Mutex<HashSet<String>>>,
    /// With a read replica: where invalidations read the primary's position (see the module docs).
    positions: Option<Db>,
}

impl Cache {
    /// `prefix` is prepended to every key (see `INVENTORY_REDIS_KEY_PREFIX`).
    pub fn new(
        pool: RedisPool,
        prefix: impl Into<String>,
        ttl: Duration,
        timeout: Duration,
    ) -> Self {
        // The series exist from the start, at zero, so dashboards and alerts see "no errors"
        // rather than "no data".
        metrics::counter!("cache_hits_total").increment(0);
        metrics::counter!("cache_misses_total").increment(0);
        for op in ["get", "set", "version", "invalidate"] {
            metrics::counter!("cache_errors_total", "op" => op).increment(0);
        }
        Self {
            pool,
            prefix: prefix.into(),
            ttl,
            max_fields: MAX_FIELDS_PER_KEY,
            timeout,
            flights: Arc::default(),
            unflushed: Arc::default(),
            positions: None,
        }
    }

    /// The same cache over a database with a read replica: fills never store what the replica read
    /// before it replayed the write that invalidated the key. (Without a replica: unchanged.)
    pub fn with_positions(mut self, db: &Db) -> Self {
        self.positions = db.has_replica().then(|| db.clone());
        self
    }

    /// The same cache with at most `max_fields` variants per key.
    pub fn with_max_fields(mut self, max_fields: usize) -> Self {
        self.max_fields = max_fields;
        self
    }

    /// Like [`Cache::get_or_render`] for a variant that may not be worth caching: `None` (e.g. a
    /// page after a client-chosen cursor) loads and renders every time and stores nothing.
    pub async fn get_or_render_variant<T, F, Fut>(
        &self,
        key: &str,
        field: Option<&str>,
        load: F,
    ) -> Result<Rendered, ApiError>
    where
        T: Serialize,
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, ApiError>>,
    {
        match field {
            Some(field) => self.get_or_render(key, field, load).await,
            None => Rendered::of(&load().await?),
        }
    }

    /// Returns the cached body of `key`/`field` as stored, or loads the value with `load`, renders
    /// it and caches it (unless the key already holds its maximum of variants).
    pub async fn get_or_render<T, F, Fut>(
        &self,
        key: &str,
        field: &str,
        load: F,
    ) -> Result<Rendered, ApiError>
    where
        T: Serialize,
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, ApiError>>,
    {
        let key = format!("{}{}", self.prefix, key);
        if self.is_unflushed(&key) {
            return Rendered::of(&load().await?);
        }
        if let Some(hit) = self.lookup(&key, field).await {
            return Ok(hit);
        }
        let flight = self.flight(&key, field);
        let guard = flight.lock().await;
        // Whoever held the flight before us may have filled the entry.
        if let Some(hit) = self.lookup(&key, field).await {
            drop(guard);
            self.land(&key, field, flight);
            return Ok(hit);
        }
        metrics::counter!("cache_misses_total").increment(1);
        let (version, after) = match self.version(&key).await {
            Some((version, after)) => (Some(version), after),
            None => (None, None),
        };
        let result = match fill_after(after, load()).await {
            Ok(value) => Rendered::of(&value),
            Err(e) => Err(e),
        };
        if let (Ok(rendered), Some(version)) = (&result, version) {
            self.store(&key, field, &version, rendered).await;
        }
        drop(guard);
        self.land(&key, field, flight);
        result
    }

    async fn lookup(&self, key: &str, field: &str) -> Option<Rendered> {
        let mut cmd = redis::cmd("HGET");
        cmd.arg(key).arg(field);
        let stored = self.call::<Option<Vec<u8>>>("get", &cmd).await??;
        let rendered = Rendered::from_stored(stored)?;
        metrics::counter!("cache_hits_total").increment(1);
        Some(rendered)
    }

    /// The key's version before loading, and the position its fill must have been replayed to (see
    /// [`Cache::with_positions`]); `None` when Redis is unreachable (then nothing is stored).
    async fn version(&self, key: &str) -> Option<(String, Option<Lsn>)> {
        let mut cmd = redis::cmd("MGET");
        cmd.arg(format!("{key}:v")).arg(format!("{key}:lsn"));
        let (v, lsn) = self
            .call::<(Option<String>, Option<String>)>("version", &cmd)
            .await?;
        Some((
            v.unwrap_or_else(|| "0".into()),
            lsn.as_deref().and_then(position_from_value),
        ))
    }

    async fn store(&self, key: &str, field: &str, version: &str, rendered: &Rendered) {
        // EVAL, not EVALSHA: it works on a Redis that restarted without its script cache (Redis
        // keeps the compiled script by its hash either way).
        let mut cmd = redis::cmd("EVAL");
        cmd.arg(STORE_IF_UNCHANGED)
            .arg(2)
            .arg(key)
            .arg(format!("{key}:v"))
            .arg(version)
            .arg(field)
            .arg(rendered.to_stored())
            .arg(self.ttl.as_millis() as u64)
            .arg(self.max_fields);
        if self.call::<i64>("set", &cmd).await == Some(FULL) {
            metrics::counter!("cache_full_total").increment(1);
        }
    }

    /// Runs `cmd` within the timeout; a failure or a timeout is counted under `op` (see
    /// [`Cache::failed`]) and answers `None`, so the caller uses the database.
    async fn call<T: redis::FromRedisValue>(
        &self,
        op: &'static str,
        cmd: &redis::Cmd,
    ) -> Option<T> {
        let run = async {
            let mut conn = self.pool.get().await.map_err(|e| e.to_string())?;
            cmd.query_async::<T>(&mut *conn)
                .await
                .map_err(|e| e.to_string())
        };
        match tokio::time::timeout(self.timeout, run).await {
            Ok(Ok(value)) => Some(value),
            Ok(Err(e)) => {
                self.failed(op, &e);
                None
            }
            Err(_) => {
                self.failed(op, "timed out");
                None
            }
        }
    }

    fn failed(&self, op: &'static str, error: &str) {
        metrics::counter!("cache_errors_total", "op" => op).increment(1);
        tracing::warn!(op, error, "cache unavailable; using the database");
    }

    /// Versions outlive entries so a late reader cannot resurrect an old version number.
    fn version_ttl_ms(&self) -> u64 {
        (self.ttl.as_millis() as u64).saturating_mul(10).max(60_000)
    }

    fn flight(&self, key: &str, field: &str) -> Arc<tokio::sync::Mutex<()>> {
        let mut flights = self.flights.lock().unwrap_or_else(|e| e.into_inner());
        flights
            .entry(format!("{key}\u{0}{field}"))
            .or_default()
            .clone()
    }

    fn land(&self, key: &str, field: &str, flight: Arc<tokio::sync::Mutex<()>>) {
        let mut flights = self.flights.lock().unwrap_or_else(|e| e.into_inner());
        // Two references: ours and the map's. Anyone else still waiting keeps the entry alive.
        if Arc::strong_count(&flight) <= 2 {
            flights.remove(&format!("{key}\u{0}{field}"));
        }
    }
}
