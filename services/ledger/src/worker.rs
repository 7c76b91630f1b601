//! The consumer loop: read a batch, apply it in one transaction, acknowledge after commit; reclaim
//! entries left pending by dead consumers; dead-letter what can never be applied.

use std::{
    collections::HashMap,
    sync::Arc,
    time::{Duration, Instant},
};

use inventory_common::{db::PgPool, retry::Backoff};
use redis::streams::StreamId;
use tokio::sync::{Notify, watch};
use tracing::Instrument;

use crate::{
    config::WorkerSettings,
    event::LedgerEvent,
    health::{Health, Part},
    metrics,
    models::ledger::{self, Applied, ApplyError},
    stream::{Consumer, StreamKeys},
};

/// Why a step of the loop stopped early; the loop backs off and retries.
#[derive(Debug, thiserror::Error)]
pub enum WorkerError {
    #[error("redis: {0}")]
    Redis(#[from] redis::RedisError),
    #[error("shutting down")]
    ShuttingDown,
}

/// The waits of the loop after a failed step or an unavailable database: 100 ms doubling to 5 s.
const BACKOFF: Backoff = Backoff::new(Duration::from_millis(100), Duration::from_secs(5));

/// One consumer of the `ledger` group.
pub struct Worker {
    settings: WorkerSettings,
    pg: PgPool,
    client: redis::Client,
    keys: StreamKeys,
    consumer: Option<Consumer>,
    shutdown: watch::Receiver<bool>,
    /// Where re-reading this consumer's own pending entries continues; `None` once done.
    own_pending: Option<String>,
    last_claim: Option<Instant>,
    health: Health,
    /// Notified after the group had to be recreated (the healer reconciles soon after).
    lost: Arc<Notify>,
}

/// A decoded entry waiting to be applied.
struct Ready {
    entry: StreamId,
    event: LedgerEvent,
    deliveries: usize,
    span: tracing::Span,
}

impl Worker {
    /// A worker that stops when `shutdown` turns true (after finishing its current batch).
    pub fn new(
        settings: WorkerSettings,
        pg: PgPool,
        client: redis::Client,
        keys: StreamKeys,
        shutdown: watch::Receiver<bool>,
    ) -> Self {
        Self {
            settings,
            pg,
            client,
            keys,
            consumer: None,
            shutdown,
            own_pending: Some("0".into()),
            last_claim: None,
            health: Health::new(Duration::from_secs(60)),
            lost: Arc::new(Notify::new()),
        }
    }

    /// Reports to `health`, and notifies `lost` when the consumer group had to be recreated.
    pub fn reporting(mut self, health: Health, lost: Arc<Notify>) -> Self {
        self.health = health;
        self.lost = lost;
        self
    }

    /// Runs until shutdown. Errors are logged and retried with backoff; the batch in hand when the
    /// shutdown flag turns is finished and acknowledged first.
    pub async fn run(mut self) {
        tracing::info!(consumer = %self.settings.consumer, "ledger worker started");
        let mut backoff = BACKOFF;
        while !self.stopping() {
            match self.step().await {
                Ok(()) => {
                    self.health.ok(Part::Consumer);
                    backoff.reset();
                }
                Err(WorkerError::ShuttingDown) => break,
                Err(WorkerError::Redis(e)) if e.code() == Some("NOGROUP") => {
                    if self.recreate_group().await {
                        backoff.reset();
                        continue;
                    }
                    self.pause(backoff.next_delay()).await;
                }
                Err(e) => {
                    let delay = backoff.next_delay();
                    tracing::warn!(error = %e, retry_in_ms = delay.as_millis() as u64, "ledger worker step failed");
                    self.health.failed(Part::Consumer, &e);
                    if matches!(e, WorkerError::Redis(_)) {
                        self.consumer = None;
                    }
                    self.pause(delay).await;
                }
            }
        }
        tracing::info!(consumer = %self.settings.consumer, "ledger worker stopped");
    }

    /// The stream or the group is gone (Redis lost its data): recreates them and asks the healer to
    /// reconcile. Entries the group had not read are lost with it; the healer backfills their
    /// movements. Returns whether the group exists again.
    async fn recreate_group(&mut self) -> bool {
        let created = match self.consumer().await {
            Ok(consumer) => consumer.create_group().await.map_err(WorkerError::from),
            Err(e) => Err(e),
        };
        match created {
            Ok(start) => {
                tracing::warn!(
                    start = start.unwrap_or("existing"),
                    "the consumer group was missing: recreated it; the healer backfills what was lost"
                );
                metrics::group_recreated();
                self.health.ok(Part::Consumer);
                self.own_pending = Some("0".into());
                self.lost.notify_one();
                true
            }
            Err(e) => {
                tracing::error!(error = %e, "the consumer group is missing and cannot be recreated");
                self.health.failed(
                    Part::Consumer,
                    format!("the consumer group is missing and cannot be recreated: {e}"),
                );
                self.consumer = None;
                false
            }
        }
    }

    /// Reads one batch without applying or acknowledging it: the entries stay pending on this
    /// consumer, as when a worker dies in the middle of a batch.
    pub async fn read_batch(&mut self) -> Result<Vec<StreamId>, WorkerError> {
        let (count, block) = (self.settings.batch_size, self.settings.block);
        self.consumer()
            .await?
            .read(">", count, Some(block))
            .await
            .map_err(Into::into)
    }

    /// One turn of the loop: own pending entries first, then due reclaims, then new entries.
    async fn step(&mut self) -> Result<(), WorkerError> {
        if let Some(after) = self.own_pending.clone() {
            let count = self.settings.batch_size;
            let batch = self.consumer().await?.read(&after, count, None).await?;
            self.own_pending = batch.last().map(|e| e.id.clone());
            return self.handle(batch, true).await;
        }
        let claim_every = (self.settings.claim_idle / 2).max(Duration::from_millis(50));
        if self.last_claim.is_none_or(|at| at.elapsed() >= claim_every) {
            self.reclaim().await?;
            self.last_claim = Some(Instant::now());
        }
        let batch = self.read_batch().await?;
        self.handle(batch, false).await
    }

    /// Takes over entries idle longer than the claim time on any consumer (a dead one, or this one
    /// after a failure) and handles them.
    async fn reclaim(&mut self) -> Result<(), WorkerError> {
        let mut start = "0-0".to_owned();
        loop {
            let (idle, count) = (self.settings.claim_idle, self.settings.batch_size);
            let claimed = self
                .consumer()
                .await?
                .autoclaim(&start, idle, count)
                .await?;
            if !claimed.entries.is_empty() {
                tracing::info!(count = claimed.entries.len(), "reclaimed idle entries");
                metrics::reclaimed(claimed.entries.len());
            }
            self.handle(claimed.entries, true).await?;
            if claimed.next == "0-0" || self.stopping() {
                return Ok(());
            }
            start = claimed.next;
        }
    }

    /// Applies a batch and acknowledges it after commit.
    async fn handle(&mut self, batch: Vec<StreamId>, redelivered: bool) -> Result<(), WorkerError> {
        if batch.is_empty() {
            return Ok(());
        }
        let started = Instant::now();
        let span = tracing::info_span!("ledger.batch", size = batch.len(), redelivered, consumer = %self.settings.consumer);
        async {
            let counts = if redelivered {
                let ids: Vec<&str> = batch.iter().map(|e| e.id.as_str()).collect();
                self.consumer().await?.delivery_counts(&ids).await?
            } else {
                HashMap::new()
            };
            let mut ready = Vec::with_capacity(batch.len());
            for entry in batch {
                let deliveries = counts.get(&entry.id).copied().unwrap_or(1);
                match LedgerEvent::from_fields(&entry.map) {
                    Err(e) => {
                        self.dead_letter(
                            &entry,
                            &format!("undecodable: {e}"),
                            deliveries,
                            "undecodable",
                        )
                        .await?;
                    }
                    Ok(event) => {
                        let span = crate::tracing_context::event_span(&event);
                        ready.push(Ready {
                            entry,
                            event,
                            deliveries,
                            span,
                        });
                    }
                }
            }
            self.apply(ready).await?;
            metrics::batch_done(started.elapsed());
            Ok(())
        }
        .instrument(span)
        .await
    }

    /// One transaction for the whole batch; when the database rejects it for a reason other than
    /// availability, each entry alone, so that one bad entry does not hold back the others. An entry
    /// is dead-lettered only when applying it failed on its own at its last allowed delivery: a
    /// delivery count raised by reclaims during an outage never sends a good entry to the DLQ.
    async fn apply(&mut self, ready: Vec<Ready>) -> Result<(), WorkerError> {
        if ready.is_empty() {
            return Ok(());
        }
        match self.apply_retrying(&ready).await? {
            Ok(applied) => self.committed(&ready, applied).await,
            Err(e) => {
                tracing::warn!(error = %e, size = ready.len(), "batch rejected; applying its entries one by one");
                for one in ready {
                    let single = std::slice::from_ref(&one);
                    match self.apply_retrying(single).await? {
                        Ok(applied) => self.committed(single, applied).await?,
                        Err(e) if one.deliveries >= self.settings.max_deliveries => {
                            let reason = format!("failed {} times: {e}", one.deliveries);
                            self.dead_letter(&one.entry, &reason, one.deliveries, "max_deliveries")
                                .await?;
                        }
                        Err(e) => {
                            // Left pending: reclaimed (and counted) again after the claim idle time.
                            tracing::warn!(parent: &one.span, error = %e, entry = %one.entry.id, deliveries = one.deliveries, "entry not applied; will retry");
                        }
                    }
                }
                Ok(())
            }
        }
    }

    /// Applies `ready`, retrying while the database is unavailable (without a redelivery, so an
    /// outage does not count against the entries). The inner error is the database's refusal.
    async fn apply_retrying(
        &mut self,
        ready: &[Ready],
    ) -> Result<Result<Applied, ApplyError>, WorkerError> {
        let events: Vec<LedgerEvent> = ready.iter().map(|r| r.event.clone()).collect();
        let mut backoff = BACKOFF;
        loop {
            let cause = match self.pg.get().await {
                Err(e) => e.to_string(),
                Ok(mut conn) => match ledger::apply(&mut conn, &events).await {
                    Err(ApplyError::Db(e)) if is_transient(&e) => e.to_string(),
                    outcome => {
                        self.health.ok(Part::Apply);
                        return Ok(outcome);
                    }
                },
            };
            self.health.failed(Part::Apply, &cause);
            if self.stopping() {
                return Err(WorkerError::ShuttingDown);
            }
            let delay = backoff.next_delay();
            tracing::warn!(error = %cause, retry_in_ms = delay.as_millis() as u64, "database unavailable; retrying the batch");
            self.pause(delay).await;
        }
    }

    /// After commit: publish the alerts, acknowledge, record the metrics.
    async fn committed(&mut self, ready: &[Ready], applied: Applied) -> Result<(), WorkerError> {
        let consumer = self.consumer().await?;
        if let Err(e) = consumer.publish_alerts(&applied.alerts).await {
            tracing::error!(error = %e, count = applied.alerts.len(), "low-stock alerts not published");
        }
        let ids: Vec<&str> = ready.iter().map(|r| r.entry.id.as_str()).collect();
        consumer.ack(&ids).await?;
        self.health.progressed();
        let now = chrono::Utc::now();
        for r in ready {
            if applied.new_events.contains(&r.event.event_id) {
                let age = (now - r.event.occurred_at).to_std().unwrap_or_default();
                metrics::event_applied(age);
                tracing::debug!(parent: &r.span, age_ms = age.as_millis() as u64, "event applied");
            } else {
                metrics::duplicate();
                tracing::debug!(parent: &r.span, "duplicate event ignored");
            }
        }
        for a in &applied.alerts {
            metrics::alert(a.opened);
            tracing::info!(store_id = %a.store_id, product_id = %a.product_id, quantity = a.quantity, reorder_level = a.reorder_level, opened = a.opened, "low-stock alert");
        }
        Ok(())
    }

    async fn dead_letter(
        &mut self,
        entry: &StreamId,
        reason: &str,
        deliveries: usize,
        kind: &'static str,
    ) -> Result<(), WorkerError> {
        self.consumer()
            .await?
            .dead_letter(entry, reason, deliveries)
            .await?;
        metrics::dead_lettered(kind);
        tracing::error!(entry = %entry.id, deliveries, reason, "entry moved to the dead-letter stream");
        Ok(())
    }

    async fn consumer(&mut self) -> Result<&mut Consumer, WorkerError> {
        if self.consumer.is_none() {
            let consumer = Consumer::connect(
                &self.client,
                self.keys.clone(),
                &self.settings.consumer,
                self.settings.block,
            )
            .await?;
            self.consumer = Some(consumer);
        }
        self.consumer.as_mut().ok_or(WorkerError::ShuttingDown)
    }

    fn stopping(&self) -> bool {
        *self.shutdown.borrow()
    }

    /// Sleeps `delay`, or less when the shutdown flag turns.
    async fn pause(&mut self, delay: Duration) {
        let mut shutdown = self.shutdown.clone();
        tokio::select! {
            _ = tokio::time::sleep(delay) => {}
            _ = shutdown.wait_for(|stop| *stop) => {}
        }
    }
}

/// Errors after which the same batch may well succeed (a lost or refused connection, a deadlock, a
/// serialization conflict with another worker, a statement timeout): the shared SQLSTATE rule.
fn is_transient(e: &diesel::result::Error) -> bool {
    inventory_common::error::classify_db_error(e).is_transient()
}
