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
//!   after a client-chosen cursor ([`Cache::get_or_load_variant`] with `None`) — and only values that
//!   loaded (a 404 for a made-up id stores nothing), so the keys are the list keys plus one per
//!   existing entity. Redis therefore holds at most `keys × 64 × one page (≤ 500 rows)`, each key for
//!   at most `ttl`, however many cursors, searches or ids clients invent.

use std::{
    collections::{HashMap, HashSet},
    future::Future,
    sync::{Arc, Mutex},
    time::Duration,
};

use bytes::Bytes;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::{
    ApiError,
    read::{Db, KEEP_MAX, Lsn, fill_after, position_from_value, position_value},
    redis::RedisPool,
};

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

/// A response body as the cache keeps it: the JSON and its strong entity tag (the first 128 bits
/// of the body's SHA-256, quoted), computed once when the body is rendered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub etag: String,
    /// Shares the buffer Redis's answer was read into: a hit is sent without copying it again.
    pub body: Bytes,
}

impl Rendered {
    /// Renders `value` as JSON and tags it.
    pub fn of<T: Serialize>(value: &T) -> Result<Self, ApiError> {
        let body = serde_json::to_vec(value).map_err(ApiError::internal)?;
        let digest = Sha256::digest(&body);
        let hex: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
        Ok(Self {
            etag: format!("\"{hex}\""),
            body: Bytes::from(body),
        })
    }

    /// The stored form: `<etag>\n<json>` (compact JSON has no newline).
    fn to_stored(&self) -> Vec<u8> {
        let mut stored = Vec::with_capacity(self.etag.len() + 1 + self.body.len());
        stored.extend_from_slice(self.etag.as_bytes());
        stored.push(b'\n');
        stored.extend_from_slice(&self.body);
        stored
    }

    /// Reads the stored form; `None` for anything else (an entry of an older format is a miss).
    fn from_stored(stored: Vec<u8>) -> Option<Self> {
        let newline = stored.iter().position(|b| *b == b'\n')?;
        let etag = std::str::from_utf8(&stored[..newline]).ok()?.to_owned();
        let body = Bytes::from(stored).slice(newline + 1..);
        (etag.len() > 2 && etag.starts_with('"') && etag.ends_with('"'))
            .then_some(Self { etag, body })
    }
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
    script: Arc<redis::Script>,
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
            script: Arc::new(redis::Script::new(STORE_IF_UNCHANGED)),
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

    /// Drops `keys` after a committed write, so the next read of any instance reloads them. When
    /// Redis cannot be reached, the keys are retried in the background until it can. `committed`
    /// is the write's position when it found it on its own connection ([`Db::position_after`]);
    /// otherwise, with a replica, the primary is asked for its current one. `also` (e.g.
    /// [`Db::remember_cmd`]) is sent in the same round trip; the answer is whether it was.
    pub async fn invalidate(
        &self,
        keys: &[String],
        committed: Option<Lsn>,
        also: Option<redis::Cmd>,
    ) -> bool {
        let keys: Vec<String> = keys
            .iter()
            .map(|k| format!("{}{}", self.prefix, k))
            .collect();
        // After the commit: the position every fill of these keys must have been replayed to.
        let position = match (&self.positions, committed) {
            (None, _) => None,
            (Some(_), Some(lsn)) => Some(lsn),
            (Some(db), None) => Some(db.primary_position().await.unwrap_or(Lsn::MAX)),
        };
        let sent = also.is_some();
        if let Err(e) = self.flush(&keys, position, also).await {
            self.failed("invalidate", &e);
            let first = {
                let mut unflushed = self.unflushed.lock().unwrap_or_else(|e| e.into_inner());
                let was_empty = unflushed.is_empty();
                unflushed.extend(keys);
                was_empty
            };
            if first {
                self.retry_unflushed();
            }
            return false;
        }
        sent
    }

    fn is_unflushed(&self, key: &str) -> bool {
        let unflushed = self.unflushed.lock().unwrap_or_else(|e| e.into_inner());
        !unflushed.is_empty() && unflushed.contains(key)
    }

    /// Retries the failed invalidations every half second until they all went through.
    fn retry_unflushed(&self) {
        let cache = self.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_millis(500)).await;
                let keys: Vec<String> = cache
                    .unflushed
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .iter()
                    .cloned()
                    .collect();
                // The writes are older than the outage; their positions are not known any more.
                let position = cache.positions.as_ref().map(|_| Lsn::MAX);
                if keys.is_empty() || cache.flush(&keys, position, None).await.is_ok() {
                    let mut unflushed = cache.unflushed.lock().unwrap_or_else(|e| e.into_inner());
                    for key in &keys {
                        unflushed.remove(key);
                    }
                    if unflushed.is_empty() {
                        tracing::info!(
                            keys = keys.len(),
                            "cache invalidations delivered after an outage"
                        );
                        return;
                    }
                }
            }
        });
    }

    /// Bumps the versions of `keys` (already prefixed) and deletes them; first, with a replica, keeps
    /// `position` as theirs, so a reader that sees the new version also sees the position.
    async fn flush(
        &self,
        keys: &[String],
        position: Option<Lsn>,
        also: Option<redis::Cmd>,
    ) -> Result<(), String> {
        let mut pipe = redis::pipe();
        if let Some(cmd) = also {
            pipe.add_command(cmd).ignore();
        }
        for key in keys {
            if let Some(position) = position {
                pipe.cmd("EVAL")
                    .arg(KEEP_MAX)
                    .arg(1)
                    .arg(format!("{key}:lsn"))
                    .arg(position_value(position))
                    .arg(POSITION_TTL.as_millis() as u64)
                    .ignore();
            }
            pipe.cmd("INCR").arg(format!("{key}:v")).ignore();
            pipe.cmd("PEXPIRE")
                .arg(format!("{key}:v"))
                .arg(self.version_ttl_ms())
                .ignore();
            pipe.cmd("DEL").arg(key).ignore();
        }
        let run = async {
            let mut conn = self.pool.get().await.map_err(|e| e.to_string())?;
            pipe.query_async::<()>(&mut *conn)
                .await
                .map_err(|e| e.to_string())
        };
        tokio::time::timeout(self.timeout * 4, run)
            .await
            .unwrap_or_else(|_| Err("timed out".into()))
    }

    async fn lookup(&self, key: &str, field: &str) -> Option<Rendered> {
        let run = async {
            let mut conn = self.pool.get().await.map_err(|e| e.to_string())?;
            redis::cmd("HGET")
                .arg(key)
                .arg(field)
                .query_async::<Option<Vec<u8>>>(&mut *conn)
                .await
                .map_err(|e| e.to_string())
        };
        match tokio::time::timeout(self.timeout, run).await {
            Ok(Ok(Some(stored))) => match Rendered::from_stored(stored) {
                Some(rendered) => {
                    metrics::counter!("cache_hits_total").increment(1);
                    Some(rendered)
                }
                None => None,
            },
            Ok(Ok(None)) => None,
            Ok(Err(e)) => {
                self.failed("get", &e);
                None
            }
            Err(_) => {
                self.failed("get", "timed out");
                None
            }
        }
    }

    /// The key's version before loading, and the position its fill must have been replayed to (see
    /// [`Cache::with_positions`]); `None` when Redis is unreachable (then nothing is stored).
    async fn version(&self, key: &str) -> Option<(String, Option<Lsn>)> {
        let run = async {
            let mut conn = self.pool.get().await.map_err(|e| e.to_string())?;
            redis::cmd("MGET")
                .arg(format!("{key}:v"))
                .arg(format!("{key}:lsn"))
                .query_async::<(Option<String>, Option<String>)>(&mut *conn)
                .await
                .map_err(|e| e.to_string())
        };
        match tokio::time::timeout(self.timeout, run).await {
            Ok(Ok((v, lsn))) => Some((
                v.unwrap_or_else(|| "0".into()),
                lsn.as_deref().and_then(position_from_value),
            )),
            Ok(Err(e)) => {
                self.failed("version", &e);
                None
            }
            Err(_) => {
                self.failed("version", "timed out");
                None
            }
        }
    }

    async fn store(&self, key: &str, field: &str, version: &str, rendered: &Rendered) {
        let stored = rendered.to_stored();
        let run = async {
            let mut conn = self.pool.get().await.map_err(|e| e.to_string())?;
            self.script
                .key(key)
                .key(format!("{key}:v"))
                .arg(version)
                .arg(field)
                .arg(stored)
                .arg(self.ttl.as_millis() as u64)
                .arg(self.max_fields)
                .invoke_async::<i64>(&mut *conn)
                .await
                .map_err(|e| e.to_string())
        };
        match tokio::time::timeout(self.timeout, run).await {
            Ok(Ok(FULL)) => metrics::counter!("cache_full_total").increment(1),
            Ok(Ok(_)) => {}
            Ok(Err(e)) => self.failed("set", &e),
            Err(_) => self.failed("set", "timed out"),
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

#[cfg(test)]
#[allow(clippy::expect_used)] // tests: failing loudly is the point
mod tests {
    use super::Rendered;

    #[test]
    fn a_rendered_body_is_stored_and_read_back_whole() {
        let rendered =
            Rendered::of(&serde_json::json!({"name": "a\nb", "n": [1, 2]})).expect("renders");
        assert_eq!(rendered.etag.len(), 34);
        assert_eq!(
            Rendered::from_stored(rendered.to_stored()),
            Some(rendered.clone())
        );
        let other =
            Rendered::of(&serde_json::json!({"name": "a\nc", "n": [1, 2]})).expect("renders");
        assert_ne!(rendered.etag, other.etag);
    }

    #[test]
    fn an_entry_of_another_format_is_a_miss() {
        assert_eq!(
            Rendered::from_stored(br#"{"name":"plain json"}"#.to_vec()),
            None
        );
        assert_eq!(Rendered::from_stored(b"\n{}".to_vec()), None);
    }
}
