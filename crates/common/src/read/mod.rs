//! The read/write split: a primary pool for writes and a read pool on a streaming replica, with
//! read-your-writes and a bypass of a replica that is down or lagging.
//!
//! * Writes, reads inside a write transaction, idempotency lookups, the outbox relay and the ledger
//!   worker use [`Db::primary`]. Reads that may be served by a replica ask [`Db::read`] with the
//!   request's [`Freshness`], and get a connection to the replica only when it is up, not more than
//!   `INVENTORY_PG_READ_MAX_LAG_MS` behind, and has replayed every write the request must see;
//!   otherwise the primary's. Without `INVENTORY_PG_READ_URL` every read uses the primary.
//! * What a request must see is a WAL position ([`Lsn`]): the larger of the `Consistency-Token` the
//!   client sent (the position of a write it was told about, on any device), the caller's last
//!   write (kept in Redis under `ryw:{user}` for `INVENTORY_PG_RYW_TTL_MS`, so every instance knows
//!   it without the client's help), and, for a cache fill, the position of the write that last
//!   invalidated the key ([`fill_after`], set by the cache) — so the cache never stores what a
//!   replica read before it replayed that write. When that position cannot be known (Redis does not
//!   answer), the read goes to the primary.
//! * A monitor polls the replica every [`POLL`]: whether it answers, its replay position and its lag
//!   (how long ago the primary was at the oldest position the replica has not replayed; 0 when it
//!   has replayed everything the primary had written at the last poll), published as
//!   `db_replica_up`, `db_replica_lag_seconds` and `db_replica_replay_lsn`.
//!   Each read is counted in `db_reads_total{pool, reason}` (a closed set of labels); the read
//!   pool's size and waits are `db_read_pool_connections{state}` and `db_read_pool_wait_seconds`.

mod lsn;
mod monitor;

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::Duration,
};

use diesel::{
    QueryableByName,
    sql_types::{Bool, Text},
};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use inventory_db::fixed::fixed;
use uuid::Uuid;

pub(crate) use lsn::KEEP_MAX;
pub use lsn::{Lsn, position_from_value, position_value};
pub use monitor::POLL;
use monitor::{ReplicaState, spawn_monitor};

use crate::{
    ApiError,
    db::{PgConn, PgPool, conn},
    redis::RedisPool,
};

tokio::task_local! {
    /// The position a cache fill must have been replayed to (see [`fill_after`]).
    static FILL_AFTER: Option<Lsn>;
}

/// Runs `load` (a cache fill) so that every [`Db::read`] inside it reads at or after `lsn`.
pub async fn fill_after<F: Future>(lsn: Option<Lsn>, load: F) -> F::Output {
    FILL_AFTER.scope(lsn, load).await
}

/// Where a committed write left the primary's WAL, found on the write's own connection
/// ([`Db::position_after`]). A handler leaves it in its response's extensions; the consistency
/// middleware hands it out as the `Consistency-Token` and remembers it for the caller, instead of
/// asking the primary again on another connection.
#[derive(Debug, Clone, Copy)]
pub struct Committed {
    pub lsn: Lsn,
    /// Whether the caller's position is already remembered (sent to Redis with the write's cache
    /// invalidation, [`Db::remember_cmd`]); otherwise the middleware remembers it.
    pub remembered: bool,
}

/// What one request must see: the token it presented and who it is (for their own last write).
#[derive(Debug, Clone, Default)]
pub struct Freshness {
    /// The `Consistency-Token` the client sent.
    pub token: Option<Lsn>,
    /// The authenticated caller, whose last write must be visible.
    pub user: Option<Uuid>,
}

/// Read-your-writes settings.
#[derive(Clone)]
struct Writes {
    redis: RedisPool,
    prefix: String,
    ttl: Duration,
    redis_timeout: Duration,
}

#[derive(Clone)]
struct Replica {
    pool: PgPool,
    state: Arc<ReplicaState>,
}

/// The service's database: the primary pool and, when configured, the replica's read pool.
#[derive(Clone)]
pub struct Db {
    primary: PgPool,
    replica: Option<Replica>,
    writes: Writes,
}

#[derive(QueryableByName)]
struct Position {
    #[diesel(sql_type = Text)]
    lsn: String,
}

#[derive(QueryableByName)]
struct Replayed {
    #[diesel(sql_type = Bool)]
    replayed: bool,
}

/// Why a read went where it went (the `reason` label of `db_reads_total`).
#[derive(Clone, Copy)]
enum Route {
    Replica,
    NoReplica,
    ReplicaDown,
    ReplicaLagging,
    NotReplayed,
    PositionUnknown,
}

impl Route {
    fn labels(self) -> (&'static str, &'static str) {
        match self {
            Route::Replica => ("replica", "fresh"),
            Route::NoReplica => ("primary", "no_replica"),
            Route::ReplicaDown => ("primary", "replica_down"),
            Route::ReplicaLagging => ("primary", "replica_lagging"),
            Route::NotReplayed => ("primary", "not_replayed"),
            Route::PositionUnknown => ("primary", "position_unknown"),
        }
    }

    const ALL: [Route; 6] = [
        Route::Replica,
        Route::NoReplica,
        Route::ReplicaDown,
        Route::ReplicaLagging,
        Route::NotReplayed,
        Route::PositionUnknown,
    ];
}

/// Settings of [`Db::new`].
pub struct DbSettings<'a> {
    /// `INVENTORY_PG_READ_URL`; `None`: every read uses the primary.
    pub read_url: Option<&'a str>,
    pub pool_size: u32,
    pub pool_timeout: Duration,
    /// `INVENTORY_PG_READ_MAX_LAG_MS`.
    pub max_lag: Duration,
    /// `INVENTORY_PG_RYW_TTL_MS`.
    pub ryw_ttl: Duration,
    pub redis_prefix: String,
    pub redis_timeout: Duration,
}

impl Db {
    /// Builds the read pool (without connecting) and starts its monitor; `primary` is the
    /// service's pool of `DATABASE_URL`.
    pub fn new(primary: PgPool, redis: RedisPool, settings: DbSettings<'_>) -> Self {
        for route in Route::ALL {
            let (pool, reason) = route.labels();
            metrics::counter!("db_reads_total", "pool" => pool, "reason" => reason).increment(0);
        }
        let replica = settings.read_url.map(|url| {
            let replica = Replica {
                pool: crate::db::build_pg_pool(url, settings.pool_size, settings.pool_timeout),
                state: Arc::default(),
            };
            spawn_monitor(replica.clone(), primary.clone(), settings.max_lag);
            replica
        });
        Self {
            primary,
            replica,
            writes: Writes {
                redis,
                prefix: settings.redis_prefix,
                ttl: settings.ryw_ttl,
                redis_timeout: settings.redis_timeout,
            },
        }
    }

    /// The primary pool: writes, and reads that must see the latest state.
    pub fn primary(&self) -> &PgPool {
        &self.primary
    }

    /// Whether reads may be served by a replica at all.
    pub fn has_replica(&self) -> bool {
        self.replica.is_some()
    }

    /// A connection for a read that `fresh` must see: the replica's when it may serve it, else the
    /// primary's.
    pub async fn read(&self, fresh: &Freshness) -> Result<PgConn<'_>, ApiError> {
        let (conn, route) = self.route(fresh).await?;
        let (pool, reason) = route.labels();
        metrics::counter!("db_reads_total", "pool" => pool, "reason" => reason).increment(1);
        Ok(conn)
    }

    async fn route(&self, fresh: &Freshness) -> Result<(PgConn<'_>, Route), ApiError> {
        let Some(replica) = &self.replica else {
            return Ok((conn(&self.primary).await?, Route::NoReplica));
        };
        if !AtomicBool::load(&replica.state.up, Ordering::Relaxed) {
            return Ok((conn(&self.primary).await?, Route::ReplicaDown));
        }
        if AtomicBool::load(&replica.state.lagging, Ordering::Relaxed) {
            return Ok((conn(&self.primary).await?, Route::ReplicaLagging));
        }
        let needed = match self.needed(fresh).await {
            Some(needed) => needed,
            None => return Ok((conn(&self.primary).await?, Route::PositionUnknown)),
        };
        let started = std::time::Instant::now();
        let checked_out = replica.pool.get().await;
        metrics::histogram!("db_read_pool_wait_seconds").record(started.elapsed().as_secs_f64());
        let Ok(mut replica_conn) = checked_out else {
            return Ok((conn(&self.primary).await?, Route::ReplicaDown));
        };
        if let Some(lsn) = needed
            && lsn > Lsn(AtomicU64::load(&replica.state.replay, Ordering::Relaxed))
        {
            // The monitor's figure is up to POLL old: ask the replica itself before giving up on it.
            if lsn == Lsn::MAX || !replayed(&mut replica_conn, lsn).await {
                drop(replica_conn);
                return Ok((conn(&self.primary).await?, Route::NotReplayed));
            }
        }
        Ok((replica_conn, Route::Replica))
    }

    /// The position the read must see: `Some(None)` nothing in particular, `None` unknown.
    async fn needed(&self, fresh: &Freshness) -> Option<Option<Lsn>> {
        let fill = FILL_AFTER.try_with(|lsn| *lsn).ok().flatten();
        let own = match fresh.user {
            Some(user) => self.last_write_of(user).await?,
            None => None,
        };
        Some([fresh.token, fill, own].into_iter().flatten().max())
    }

    async fn last_write_of(&self, user: Uuid) -> Option<Option<Lsn>> {
        let key = format!("{}ryw:{user}", self.writes.prefix);
        let run = async {
            let mut redis = self.writes.redis.get().await.ok()?;
            redis::cmd("GET")
                .arg(&key)
                .query_async::<Option<String>>(&mut *redis)
                .await
                .ok()
        };
        let value = tokio::time::timeout(self.writes.redis_timeout, run)
            .await
            .ok()??;
        Some(value.as_deref().and_then(Lsn::from_key_value))
    }

    /// The primary's current WAL insert position: at or after every commit made so far.
    pub async fn primary_position(&self) -> Result<Lsn, ApiError> {
        let mut conn = conn(&self.primary).await?;
        position_on(&mut conn).await
    }

    /// With a replica: the position after a commit just made on `conn` (a primary connection),
    /// which every later read of that write must see. `None` without a replica (there is nothing
    /// to hand out), or when the position cannot be read (then it is asked for again later).
    pub async fn position_after(&self, conn: &mut AsyncPgConnection) -> Option<Lsn> {
        if !self.has_replica() {
            return None;
        }
        position_on(conn)
            .await
            .inspect_err(|error| tracing::warn!(%error, "no position for a committed write"))
            .ok()
    }

    /// After a committed write by `user` (called only with a replica): the position every later
    /// read must see — `committed` when the write found it on its own connection, otherwise the
    /// primary's current one — remembered for that user and returned as the `Consistency-Token`.
    pub async fn wrote(
        &self,
        user: Option<Uuid>,
        committed: Option<Committed>,
    ) -> Result<Lsn, ApiError> {
        let (lsn, remembered) = match committed {
            Some(c) => (c.lsn, c.remembered),
            None => (self.primary_position().await?, false),
        };
        if let Some(user) = user
            && !remembered
        {
            self.remember(user, lsn).await;
        }
        Ok(lsn)
    }

    /// The Redis command that keeps the larger of the stored and `lsn` under `ryw:{user}` for the
    /// TTL: sent by [`Db::wrote`], or by a write in the same round trip as its cache invalidation.
    pub fn remember_cmd(&self, user: Uuid, lsn: Lsn) -> redis::Cmd {
        let mut cmd = redis::cmd("EVAL");
        cmd.arg(KEEP_MAX)
            .arg(1)
            .arg(format!("{}ryw:{user}", self.writes.prefix))
            .arg(lsn.to_key_value())
            .arg(self.writes.ttl.as_millis() as u64);
        cmd
    }

    /// Remembers `lsn` as `user`'s last write ([`Db::remember_cmd`]). A failure is logged: the
    /// user's next reads may then lag (Redis is down, so they go to the primary anyway).
    async fn remember(&self, user: Uuid, lsn: Lsn) {
        let cmd = self.remember_cmd(user, lsn);
        let run = async {
            let mut redis = self.writes.redis.get().await.map_err(|e| e.to_string())?;
            cmd.query_async::<i64>(&mut *redis)
                .await
                .map_err(|e| e.to_string())
        };
        match tokio::time::timeout(self.writes.redis_timeout * 4, run).await {
            Ok(Ok(_)) => {}
            Ok(Err(error)) => tracing::warn!(%error, "cannot remember the caller's last write"),
            Err(_) => tracing::warn!("cannot remember the caller's last write: timed out"),
        }
    }
}

/// The WAL insert position of the primary `conn` is connected to: at or after every commit made
/// so far, this connection's included (a prepared statement: one round trip).
async fn position_on(conn: &mut AsyncPgConnection) -> Result<Lsn, ApiError> {
    lsn_of(conn, "SELECT pg_current_wal_insert_lsn()::text AS lsn").await
}

/// The primary's flushed WAL position: what it can have sent to a replica (the insert position may
/// lie past a page header no record follows yet, which no replica ever replays).
async fn flushed_on(conn: &mut AsyncPgConnection) -> Result<Lsn, ApiError> {
    lsn_of(conn, "SELECT pg_current_wal_flush_lsn()::text AS lsn").await
}

async fn lsn_of(conn: &mut AsyncPgConnection, sql: &'static str) -> Result<Lsn, ApiError> {
    let row: Position = fixed(sql).get_result(conn).await.map_err(ApiError::from)?;
    row.lsn
        .parse()
        .map_err(|_| ApiError::internal(format!("unexpected pg_lsn `{}`", row.lsn)))
}

/// Whether the replica `conn` is connected to has replayed `lsn` (one text with the position bound,
/// prepared once per connection, rather than a text per position).
async fn replayed(conn: &mut PgConn<'_>, lsn: Lsn) -> bool {
    fixed("SELECT NOT pg_is_in_recovery() OR pg_last_wal_replay_lsn() >= $1::pg_lsn AS replayed")
        .bind::<diesel::sql_types::Text, _>(lsn.to_string())
        .get_result::<Replayed>(conn)
        .await
        .is_ok_and(|r| r.replayed)
}
