//! The healer: a task of every worker that closes gaps the stream left (movements whose events
//! were lost with Redis's data) from `stock_movements`, and periodically reconciles and repairs.
//!
//! Every `gap_check` it looks at the movements of the last `gap_window` and backfills those without
//! an entry that are older than `backfill_after` (younger ones are most likely still in the outbox
//! or the stream; backfilling them anyway would be safe, as an entry is keyed by its movement, but
//! pointless). What a check found complete is not read again: the next one starts [`SETTLE`] before
//! the oldest movement that was still missing (or before the cut, when none was), so it reads about
//! the last 70 s of movements, not the whole window, and its cost follows the rate of sales, not
//! the window. The whole window is read again by the first check after a start, after a loss of
//! Redis's data, and after every comparison of everything, so a movement that became visible later
//! than that (a long batch, a commit waiting for a synchronous replica, a clock that jumped) and
//! whose event was lost too is still found within `full_reconcile_interval` plus one check. (It
//! was read after every periodic check, once a minute: under 1,100 sales/s that cost 2.6 s of
//! PostgreSQL time a minute.)
//!
//! Every `reconcile_interval` it compares what changed since the last check (of any worker) found
//! the ledger in sync, less [`RECHECK`]: movements, entries, and the levels and days the movements
//! touch (see [`Scope`]); a check that finds differences does not move that mark, so
//! the next one looks at them again. Once every `full_reconcile_interval` one worker of all takes
//! the turn to compare everything instead (what changes cannot show: an entry edited by hand, a
//! restored database, a lost reorder-level change), and so does the
//! worker that had to recreate the consumer group (at start too), `backfill_after` after the loss.
//! What differs is repaired after a loss at once, otherwise when two checks in a row of this worker
//! found differences (one alone may just see a worker that is behind); a comparison of everything
//! that differed is followed by another one, which can repair what only it sees.

use std::{
    sync::{
        Arc,
        atomic::{AtomicI64, Ordering},
    },
    time::Instant,
};

use chrono::{DateTime, SubsecRound, Utc};
use diesel_async::AsyncConnection;
use inventory_common::db::PgPool;
use tokio::sync::{Notify, watch};

use crate::{
    config::HealSettings,
    health::{Health, Part},
    metrics,
    models::{
        checks::{mark_in_sync, marks, take_full_turn},
        heal::{backfill, gaps, v7_floor},
        ledger::{ApplyError, lock_shared, project_new},
        reconcile::Scope,
    },
    reconcile,
};

/// Movements backfilled per transaction.
pub const BACKFILL_BATCH: i64 = 5_000;

/// How long after its id was taken a movement is expected to be committed and visible, as far as
/// the frequent gap check is concerned: movements older than the oldest one a check found missing
/// (or than its cut) by more than this are not read again until the window is read whole (see the
/// module docs). A single statement of the stock service times out after 5 s; a batch takes its
/// lines' ids as it runs them, so a long one can take longer.
pub const SETTLE: chrono::TimeDelta = chrono::TimeDelta::seconds(60);

/// How long before the last check's cut a check of recent changes starts: a movement committed
/// later than this after its id was taken is not compared until everything is (the gap check reads
/// its whole window again then too). Each worker's check reads this overlap again: with N workers
/// the checks read about (60 + 20 N) seconds of movements a minute, at the default interval.
pub const RECHECK: chrono::TimeDelta = chrono::TimeDelta::seconds(20);

/// [`Healer`]'s `complete_before` before any check completed (below every time a check records).
const NOTHING_COMPLETE: i64 = i64::MIN;

/// Why a healing round failed; the next one retries.
#[derive(Debug, thiserror::Error)]
pub enum HealError {
    #[error("database pool: {0}")]
    Pool(String),
    #[error(transparent)]
    Apply(#[from] ApplyError),
    #[error("{0}")]
    Other(String),
}

impl From<diesel::result::Error> for HealError {
    fn from(e: diesel::result::Error) -> Self {
        Self::Apply(ApplyError::Db(e))
    }
}

/// The healing task of one worker.
pub struct Healer {
    pub pg: PgPool,
    pub settings: HealSettings,
    pub health: Health,
    /// Notified when the consumer group was recreated (data was lost): reconcile soon.
    pub lost: Arc<Notify>,
    /// Every movement created before this time (microseconds since the epoch; [`NOTHING_COMPLETE`]
    /// when unknown) had an entry at the last gap check (see the module docs).
    complete_before: AtomicI64,
}

impl Healer {
    /// A healer whose first gap check reads the whole window.
    pub fn new(pg: PgPool, settings: HealSettings, health: Health, lost: Arc<Notify>) -> Self {
        Self {
            pg,
            settings,
            health,
            lost,
            complete_before: AtomicI64::new(NOTHING_COMPLETE),
        }
    }

    /// Runs until `shutdown` turns true.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        let mut next_check = Instant::now() + self.settings.backfill_after;
        // Repair at once after a loss; otherwise only differences seen by two checks in a row (one
        // alone may see a worker that is merely behind). What only a comparison of everything
        // found is compared whole again by the next check, so that one can repair it.
        let (mut after_loss, mut differed, mut everything) = (false, false, false);
        loop {
            match self.close_gaps().await {
                Ok(_) => self.health.ok(Part::Heal),
                Err(e) => {
                    tracing::warn!(error = %e, "cannot check the ledger for gaps");
                    self.health.failed(Part::Heal, &e);
                }
            }
            if Instant::now() >= next_check {
                let repair = after_loss || differed;
                match self.periodic_scope(after_loss || everything).await {
                    Ok(scope) => match self.reconcile(scope, repair).await {
                        Ok(differs) => {
                            differed = differs;
                            everything = differs && scope.since.is_none();
                            // Only a check that ran ends what a loss asked for.
                            after_loss = false;
                        }
                        Err(e) => {
                            tracing::warn!(error = %e, "periodic reconciliation failed");
                            self.health.failed(Part::Heal, &e);
                        }
                    },
                    Err(e) => {
                        tracing::warn!(error = %e, "cannot read what was reconciled");
                        self.health.failed(Part::Heal, &e);
                    }
                }
                next_check = Instant::now() + self.settings.reconcile_interval;
            }
            tokio::select! {
                _ = tokio::time::sleep(self.settings.gap_check) => {}
                _ = self.lost.notified() => {
                    after_loss = true;
                    self.forget_complete();
                    next_check = next_check.min(Instant::now() + self.settings.backfill_after);
                }
                _ = shutdown.wait_for(|stop| *stop) => return,
            }
        }
    }

    /// Finds the movements of the gap window without an entry, records the gap metrics, and
    /// backfills those older than `backfill_after`. Returns how many were backfilled.
    pub async fn close_gaps(&self) -> Result<usize, HealError> {
        let now = Utc::now();
        let window = now - self.settings.gap_window;
        let complete_before = match self.complete_before.load(Ordering::Relaxed) {
            NOTHING_COMPLETE => None,
            micros => DateTime::from_timestamp_micros(micros),
        };
        let cut = now - self.settings.backfill_after;
        // Never past the cut less SETTLE, whatever was remembered (a clock that went back).
        let since = v7_floor(complete_before.map_or(window, |at| at.max(window).min(cut - SETTLE)));
        let mut conn = self
            .pg
            .get()
            .await
            .map_err(|e| HealError::Pool(e.to_string()))?;
        let found = gaps(&mut conn, since, cut).await?;
        let oldest_age = found.oldest.map_or(0.0, |at| {
            (now - at).num_milliseconds().max(0) as f64 / 1_000.0
        });
        metrics::gaps(found.overdue, oldest_age);
        // Complete before the oldest movement still missing (overdue ones are backfilled below; if
        // that fails, this is not reached), less the time a movement may take to commit.
        let checked = found.oldest.map_or(cut, |oldest| oldest.min(cut)) - SETTLE;
        if found.overdue == 0 {
            self.mark_complete(checked);
            return Ok(0);
        }
        let started = Instant::now();
        let mut total = 0;
        loop {
            let (count, alerts) = conn
                .transaction::<_, HealError, _>(async |conn| {
                    lock_shared(conn).await?;
                    let events = backfill(conn, since, cut, BACKFILL_BATCH).await?;
                    let alerts = project_new(conn, &events).await?;
                    Ok((events.len(), alerts.len()))
                })
                .await?;
            total += count;
            metrics::backfilled(count);
            if alerts > 0 {
                tracing::info!(alerts, "low-stock alerts changed by backfilled movements");
            }
            if (count as i64) < BACKFILL_BATCH {
                break;
            }
        }
        tracing::warn!(
            gap = found.overdue,
            backfilled = total,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "closed a gap in the ledger from stock_movements"
        );
        self.mark_complete(checked);
        Ok(total)
    }

    /// Records that every movement created before `at` has an entry (never moving backwards).
    fn mark_complete(&self, at: DateTime<Utc>) {
        self.complete_before
            .fetch_max(at.timestamp_micros(), Ordering::Relaxed);
    }

    /// The next gap check reads the whole window again (Redis lost data: anything may be missing).
    pub fn forget_complete(&self) {
        self.complete_before
            .store(NOTHING_COMPLETE, Ordering::Relaxed);
    }

    /// What the periodic check compares: everything when asked (after a loss, or again after a
    /// comparison of everything differed), when no check found the ledger in sync yet, or when this
    /// worker takes the turn; otherwise what changed since the last check that found it in sync,
    /// less [`RECHECK`].
    pub async fn periodic_scope(&self, everything: bool) -> Result<Scope, HealError> {
        let mut conn = self
            .pg
            .get()
            .await
            .map_err(|e| HealError::Pool(e.to_string()))?;
        // The database's clock, as every worker's mark is: a worker whose clock runs ahead cannot
        // leave a mark past the others' cuts.
        let marks = marks(&mut conn).await?;
        let cut = (marks.now - self.settings.backfill_after).trunc_subsecs(6);
        if everything || take_full_turn(&mut conn, self.settings.full_reconcile_interval).await? {
            return Ok(Scope::everything(cut));
        }
        Ok(match marks.in_sync_before {
            // Never past the cut less RECHECK, whatever was recorded (a clock that went back).
            Some(at) => Scope {
                since: Some(at.min(cut) - RECHECK),
                cut,
            },
            None => Scope::everything(cut),
        })
    }

    /// Compares what `scope` covers; logs and counts differences, and repairs everything changed
    /// before its cut when `repair` (else the next check does if they are still there). Records
    /// what it found in sync. Returns whether anything differed.
    pub async fn reconcile(&self, scope: Scope, repair: bool) -> Result<bool, HealError> {
        let everything = scope.since.is_none();
        if everything {
            // Whatever became visible behind what the gap checks found complete is found next.
            self.forget_complete();
        }
        let report = reconcile::report(&self.pg, scope)
            .await
            .map_err(|e| HealError::Other(e.to_string()))?;
        metrics::reconciled(everything, report.total());
        if !report.in_sync {
            tracing::warn!(
                missing = report.movements.missing,
                orphaned = report.movements.orphaned,
                differing = report.movements.differing,
                days = report.day_difference_count,
                levels = report.difference_count,
                since = ?scope.since,
                repair,
                "the ledger differs from the stock tables"
            );
            if !repair {
                return Ok(true);
            }
            let repaired = reconcile::repair(&self.pg, scope.cut)
                .await
                .map_err(|e| HealError::Other(e.to_string()))?;
            tracing::warn!(?repaired, "the ledger was repaired");
        } else {
            tracing::debug!(since = ?scope.since, "the ledger is in sync");
        }
        let mut conn = self
            .pg
            .get()
            .await
            .map_err(|e| HealError::Pool(e.to_string()))?;
        // A repair leaves everything before the cut in sync, whatever the comparison covered.
        mark_in_sync(&mut conn, scope.cut, everything || !report.in_sync).await?;
        Ok(!report.in_sync)
    }
}
