//! Background tasks of each stock instance: the outbox relay and the idempotency-key cleanup.
//!
//! The relay publishes outbox rows to the Redis stream `inventory.stock-events`. It is woken right
//! after a commit of this instance and otherwise polls (commits of other instances). Each round
//! leases the oldest unleased rows for a while in one short statement (`FOR UPDATE SKIP LOCKED`, so
//! instances never publish the same row at once), XADDs them with no transaction or database
//! connection held, and deletes them only after Redis accepted them (or releases them when it did
//! not). A crash in between publishes them again once the lease runs out (at-least-once; consumers
//! deduplicate by event id). With Redis down the rows stay and the relay retries with backoff; writes
//! are not affected. The stream is never trimmed here, so nothing the ledger group has not read can
//! be lost. A round starts after the newest row the relay took a moment ago rather than from the
//! first row, with sweeps twice a second from a little further back and every 5 s from the first
//! row (see `floor`).

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use inventory_common::{
    config::ServiceConfig,
    db::{PgPool, build_pg_pool_with_setup},
    redis::RedisPool,
    retry::Backoff,
};
use inventory_events::fields;
use tokio::sync::Notify;

use crate::models::{
    idempotency,
    outbox::{self, OutboxRow},
};

mod floor;

use floor::Floor;

/// Why a relay round failed; the rows it claimed stay in the outbox.
#[derive(Debug, thiserror::Error)]
enum RelayError {
    #[error("database: {0}")]
    Db(#[from] diesel::result::Error),
    #[error("database pool: {0}")]
    Pool(String),
    #[error("redis: {0}")]
    Redis(String),
    #[error(transparent)]
    Incomplete(#[from] outbox::IncompleteRow),
}

/// The relay of one instance.
pub struct Relay {
    /// The relay's own pool ([`pool`]).
    pub pg: PgPool,
    pub redis: RedisPool,
    /// The stream, with the configured key prefix.
    pub stream: String,
    pub batch: i64,
    pub poll: Duration,
    /// Bound on one XADD round trip.
    pub redis_timeout: Duration,
    /// Notified after every commit that wrote events.
    pub wake: Arc<Notify>,
}

/// What every relay connection runs when it connects ([`pool`]):
/// its statements are planned without sequential scans. The outbox is a queue whose size swings
/// from nothing to thousands of rows within seconds, and vacuum often truncates it to no pages; a
/// connection keeps the plan it made at a statement's sixth execution, and a plan made while the
/// table had no pages scans the whole table on every claim and delete, by then thousands of pages
/// under load (33 ms a claim under batches of sales). Without sequential scans every statement of
/// the relay walks the primary key, whatever the table looked like when it was planned. Only the
/// relay's own connections are set so.
pub const SESSION: &str = "SET enable_seqscan = off";
/// Connections of the relay's pool: a round holds one at a time (the lease, then the delete).
const POOL_SIZE: u32 = 2;

/// The relay's own pool on the primary, its connections set up with [`SESSION`].
pub fn pool(service: &ServiceConfig) -> PgPool {
    build_pg_pool_with_setup(
        &service.database_url,
        POOL_SIZE,
        service.db_pool_timeout,
        SESSION,
    )
}

/// The waits after failed rounds: 200 ms doubling to 5 s, from the first again after a success.
const BACKOFF: Backoff = Backoff::new(Duration::from_millis(200), Duration::from_secs(5));
const GAUGE_EVERY: Duration = Duration::from_secs(5);
/// How long a relay holds the rows it is publishing; a relay that dies meanwhile leaves them to
/// another one after this. Far longer than a publish (bounded by the Redis timeout).
const LEASE: Duration = Duration::from_secs(30);

impl Relay {
    /// Runs the relay on the current runtime until the runtime stops.
    pub fn spawn(self) -> tokio::task::JoinHandle<()> {
        tokio::spawn(self.run())
    }

    async fn run(self) {
        // At zero from the start: "no failures" rather than "no data" for the alerts.
        metrics::counter!("outbox_published_total").increment(0);
        metrics::counter!("outbox_publish_failures_total").increment(0);
        let mut backoff = BACKOFF;
        let mut gauge_at: Option<Instant> = None;
        let mut floor = Floor::default();
        loop {
            match self.drain(&mut floor).await {
                Ok(0) => backoff.reset(),
                Ok(published) => {
                    backoff.reset();
                    tracing::debug!(published, "outbox events published");
                }
                Err(e) => {
                    metrics::counter!("outbox_publish_failures_total").increment(1);
                    let wait = backoff.next_delay();
                    tracing::warn!(error = %e, retry_in_ms = wait.as_millis() as u64, "outbox relay failed; events stay queued");
                    self.report_backlog(&mut gauge_at).await;
                    tokio::time::sleep(wait).await;
                    continue;
                }
            }
            self.report_backlog(&mut gauge_at).await;
            tokio::select! {
                () = self.wake.notified() => {}
                () = tokio::time::sleep(self.poll) => {}
            }
        }
    }

    /// Publishes until the outbox has no unclaimed rows left (after the floor's start).
    async fn drain(&self, floor: &mut Floor) -> Result<usize, RelayError> {
        let mut total = 0;
        loop {
            let start = floor.start(Instant::now());
            let (published, newest) = self.publish_batch(start).await?;
            let full = published as i64 >= self.batch;
            floor.took(Instant::now(), newest, full);
            total += published;
            if !full {
                return Ok(total);
            }
        }
    }

    /// Publishes the oldest unclaimed rows after key `start`: how many, and the newest key.
    async fn publish_batch(&self, start: i64) -> Result<(usize, Option<i64>), RelayError> {
        // Redis first: while it is down, rows are not even claimed.
        let mut redis = self
            .redis
            .get()
            .await
            .map_err(|e| RelayError::Redis(e.to_string()))?;
        // No database connection or transaction is held while Redis is called: rows are leased in one
        // short statement, published, then deleted (or released when publishing failed).
        let rows = {
            let mut conn = self
                .pg
                .get()
                .await
                .map_err(|e| RelayError::Pool(e.to_string()))?;
            outbox::lease(&mut conn, start, self.batch, LEASE).await?
        };
        if rows.is_empty() {
            return Ok((0, None));
        }
        // In key order (`lease` sorts them): the last is the newest.
        let seqs: Vec<i64> = rows.iter().map(|r| r.seq).collect();
        let sent = self.send(&mut redis, &rows).await;
        let mut conn = self
            .pg
            .get()
            .await
            .map_err(|e| RelayError::Pool(e.to_string()))?;
        if let Err(e) = sent {
            // Some entries may have been added before the failure: they will be added again
            // (delivery is at least once; consumers deduplicate by event id). A row that cannot be
            // put together (ruled out by the table's check constraint) is a failed round too.
            outbox::release(&mut conn, &seqs).await?;
            return Err(e);
        }
        let newest = seqs.last().copied();
        outbox::delete(&mut conn, seqs).await?;
        metrics::counter!("outbox_published_total").increment(rows.len() as u64);
        Ok((rows.len(), newest))
    }

    /// XADDs `rows` in one pipelined round trip, bounded by the Redis timeout.
    async fn send(
        &self,
        redis: &mut inventory_common::redis::Connection,
        rows: &[OutboxRow],
    ) -> Result<(), RelayError> {
        let payloads = rows
            .iter()
            .map(OutboxRow::payload)
            .collect::<Result<Vec<_>, _>>()?;
        let mut pipe = redis::pipe();
        for (row, payload) in rows.iter().zip(&payloads) {
            pipe.cmd("XADD")
                .arg(&self.stream)
                .arg("*")
                .arg(fields::EVENT_ID)
                .arg(row.event_id.to_string())
                .arg(fields::TYPE)
                .arg(&row.event_type)
                .arg(fields::PAYLOAD)
                .arg(&payload[..])
                .arg(fields::TRACEPARENT)
                .arg(row.traceparent.as_deref().unwrap_or_default());
        }
        tokio::time::timeout(self.redis_timeout, pipe.query_async::<Vec<String>>(redis))
            .await
            .map_err(|_| RelayError::Redis("XADD timed out".into()))?
            .map(drop)
            .map_err(|e| RelayError::Redis(e.to_string()))
    }

    /// Sets the `outbox_backlog` gauge, at most once every [`GAUGE_EVERY`] (a count reads the whole
    /// queue, with the rows deleted since the last vacuum).
    async fn report_backlog(&self, last: &mut Option<Instant>) {
        if last.is_some_and(|at| at.elapsed() < GAUGE_EVERY) {
            return;
        }
        *last = Some(Instant::now());
        let Ok(mut conn) = self.pg.get().await else {
            return;
        };
        if let Ok(n) = outbox::backlog(&mut conn).await {
            metrics::gauge!("outbox_backlog").set(n as f64);
        }
    }
}

/// Deletes expired idempotency keys every `every`, in bounded chunks.
pub fn spawn_idempotency_cleanup(pg: PgPool, every: Duration) -> tokio::task::JoinHandle<()> {
    const CHUNK: i64 = 1_000;
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let Ok(mut conn) = pg.get().await else {
                continue;
            };
            let mut deleted = 0;
            loop {
                match idempotency::delete_expired(&mut conn, CHUNK).await {
                    Ok(n) => {
                        deleted += n;
                        if (n as i64) < CHUNK {
                            break;
                        }
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "idempotency cleanup failed");
                        break;
                    }
                }
            }
            if deleted > 0 {
                tracing::info!(deleted, "expired idempotency keys deleted");
            }
        }
    })
}
