//! The healer: a task of every worker that closes gaps the stream left (movements whose events
//! were lost with Redis's data) from `stock_movements`, and periodically reconciles and repairs.
//!
//! Every `gap_check` it looks at the movements of the last `gap_window` and backfills those without
//! an entry that are older than `backfill_after` (younger ones are most likely still in the outbox
//! or the stream; backfilling them anyway would be safe, as an entry is keyed by its movement, but
//! pointless). What a check found complete is not read again: a check starts [`RECENT_SETTLE`]
//! before the oldest movement the last check found still missing (or before its cut, when none
//! was), and once every [`SETTLE`] a settling check starts [`SETTLE`] before what the last settling
//! check found so, which finds a movement that became visible up to a minute after its id was taken
//! (a long batch). So a check reads about the last 30 s of movements, a settling one the last 75 s,
//! not the whole window, and their cost follows the rate of sales, not the window. (Every check
//! read 75 s of movements, each movement about 13 times: 0.2–0.45 s of PostgreSQL time a check
//! under 1,000 sales/s.) The whole window is read again by the first check after a start, after a
//! loss of Redis's data, and after every comparison of everything, so a movement that became
//! visible later than that (a commit waiting for a synchronous replica, a clock that jumped) and
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
/// the settling gap checks are concerned: movements older than the oldest one a settling check
/// found missing (or than its cut) by more than this are not read again until the window is read
/// whole (see the module docs). A batch takes its lines' ids as it runs them, so a long one can
/// take longer than a single statement. A settling check runs once every this long.
pub const SETTLE: chrono::TimeDelta = chrono::TimeDelta::seconds(60);

/// The same for the checks between settling ones: a single statement of the stock service times
/// out after 5 s, so a single movement is visible well within this after its id was taken.
pub const RECENT_SETTLE: chrono::TimeDelta = chrono::TimeDelta::seconds(15);

/// Which movements a gap check reads again (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reach {
    /// From [`RECENT_SETTLE`] before what the last check found complete.
    Recent,
    /// From [`SETTLE`] before what the last settling check found complete.
    Settling,
}

impl Reach {
    fn settle(self) -> chrono::TimeDelta {
        match self {
            Reach::Recent => RECENT_SETTLE,
            Reach::Settling => SETTLE,
        }
    }
}

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
    /// when unknown) had an entry at the last settling gap check (see the module docs).
    complete_before: AtomicI64,
    /// The same as of the last gap check of either reach, for a movement visible within
    /// [`RECENT_SETTLE`] of its id.
    recent_before: AtomicI64,
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
            recent_before: AtomicI64::new(NOTHING_COMPLETE),
        }
    }

    /// Runs until `shutdown` turns true.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        let mut next_check = Instant::now() + self.settings.backfill_after;
        // Repair at once after a loss; otherwise only differences seen by two checks in a row (one
        // alone may see a worker that is merely behind). What only a comparison of everything
        // found is compared whole again by the next check, so that one can repair it.
        let (mut after_loss, mut differed, mut everything) = (false, false, false);
        let mut next_settling = Instant::now();
        loop {
            let reach = if Instant::now() >= next_settling {
                next_settling = Instant::now() + SETTLE.to_std().unwrap_or_default();
                Reach::Settling
            } else {
                Reach::Recent
            };
            match self.close_gaps(reach).await {
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

    /// Finds the movements of the gap window without an entry (from what `reach` says on),
    /// records the gap metrics, and backfills those older than `backfill_after`. Returns how many
    /// were backfilled.
    pub async fn close_gaps(&self, reach: Reach) -> Result<usize, HealError> {
        let now = Utc::now();
        let window = now - self.settings.gap_window;
        let mark = match reach {
            Reach::Recent => &self.recent_before,
            Reach::Settling => &self.complete_before,
        };
        let complete_before = match mark.load(Ordering::Relaxed) {
            NOTHING_COMPLETE => None,
            micros => DateTime::from_timestamp_micros(micros),
        };
        let cut = now - self.settings.backfill_after;
        // Never past the cut less the settling time, whatever was remembered (a clock that went
        // back).
        let since =
            v7_floor(complete_before.map_or(window, |at| at.max(window).min(cut - reach.settle())));
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
        // that fails, this is not reached); `mark_complete` keeps the time a movement may take to
        // commit below it.
        let checked = found.oldest.map_or(cut, |oldest| oldest.min(cut));
        if found.overdue == 0 {
            self.mark_complete(reach, checked);
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
        self.mark_complete(reach, checked);
        Ok(total)
    }

    /// Records that a check of `reach` found every movement visible and created before `at` with
    /// an entry (the marks never move backwards): the next checks start a settling time before.
    /// A settling check's range holds a recent one's.
    fn mark_complete(&self, reach: Reach, at: DateTime<Utc>) {
        if reach == Reach::Settling {
            self.complete_before
                .fetch_max((at - SETTLE).timestamp_micros(), Ordering::Relaxed);
        }
        self.recent_before
            .fetch_max((at - RECENT_SETTLE).timestamp_micros(), Ordering::Relaxed);
    }

    /// The next gap check, of either reach, reads the whole window again (Redis lost data: anything
    /// may be missing).
    pub fn forget_complete(&self) {
        for mark in [&self.complete_before, &self.recent_before] {
            mark.store(NOTHING_COMPLETE, Ordering::Relaxed);
        }
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
