//! The worker's metrics (rendered on `/metrics` by the recorder the service context installs).

use std::time::Duration;

use inventory_common::redis::RedisPool;
use tokio::sync::watch;

use crate::{
    health::Health,
    models::heal::Repaired,
    stream::{StreamKeys, backlog},
};

/// How often the backlog gauges are refreshed.
pub const BACKLOG_INTERVAL: Duration = Duration::from_secs(5);

/// An event applied for the first time, `age` after it was committed by the stock service.
pub fn event_applied(age: Duration) {
    metrics::counter!("ledger_events_applied_total").increment(1);
    metrics::histogram!("ledger_event_age_seconds").record(age.as_secs_f64());
}

/// A redelivered event that changed nothing.
pub fn duplicate() {
    metrics::counter!("ledger_events_duplicate_total").increment(1);
}

/// A batch handled (read to acknowledged).
pub fn batch_done(elapsed: Duration) {
    metrics::histogram!("ledger_batch_duration_seconds").record(elapsed.as_secs_f64());
}

/// Entries taken over from an idle consumer.
pub fn reclaimed(count: usize) {
    metrics::counter!("ledger_events_reclaimed_total").increment(count as u64);
}

/// An entry moved to the DLQ (`kind`: `undecodable` or `max_deliveries`).
pub fn dead_lettered(kind: &'static str) {
    metrics::counter!("ledger_events_dead_lettered_total", "reason" => kind).increment(1);
}

/// A low-stock alert opened or closed.
pub fn alert(opened: bool) {
    let state = if opened { "open" } else { "closed" };
    metrics::counter!("ledger_alerts_total", "state" => state).increment(1);
}

/// The last gap check: movements past the backfill cut-off without an entry (`ledger_gap_movements`)
/// and the age of the oldest movement without one (`ledger_oldest_unapplied_seconds`, 0 if none).
pub fn gaps(overdue: i64, oldest_age_seconds: f64) {
    metrics::gauge!("ledger_gap_movements").set(overdue as f64);
    metrics::gauge!("ledger_oldest_unapplied_seconds").set(oldest_age_seconds);
}

/// Entries taken from `stock_movements` because the stream did not deliver them.
pub fn backfilled(count: usize) {
    metrics::counter!("ledger_backfilled_entries_total").increment(count as u64);
}

/// A reconciliation of everything, or of recent changes, found `differences` (0: in sync).
pub fn reconciled(everything: bool, differences: i64) {
    let scope = if everything { "everything" } else { "recent" };
    metrics::counter!("ledger_reconcile_runs_total", "scope" => scope).increment(1);
    metrics::gauge!("ledger_reconcile_differences").set(differences as f64);
    if differences > 0 {
        metrics::counter!("ledger_reconcile_differences_total").increment(differences as u64);
    }
}

/// Rows a repair or rebuild changed, by kind.
pub fn repaired(r: &Repaired) {
    for (kind, n) in [
        ("backfilled", r.backfilled),
        ("orphan_deleted", r.orphans_deleted),
        ("entry_corrected", r.entries_corrected),
        ("daily", r.daily_rows),
        ("level", r.levels),
        ("alert", r.alerts),
    ] {
        metrics::counter!("ledger_repaired_rows_total", "kind" => kind).increment(n as u64);
    }
}

/// The consumer group (and maybe the stream) was missing and has been recreated.
pub fn group_recreated() {
    metrics::counter!("ledger_group_recreated_total").increment(1);
}

/// Refreshes `ledger_pending`, `ledger_lag`, `ledger_queue_depth` (pending + lag, what the worker is
/// scaled on) and `ledger_dlq_length` every [`BACKLOG_INTERVAL`] until shutdown.
/// The depth is also reported to `health` (a backlog that does not move makes the worker unready).
pub async fn poll_backlog(
    redis: RedisPool,
    keys: StreamKeys,
    health: Health,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        match redis.get().await {
            Ok(mut conn) => match backlog(&mut *conn, &keys).await {
                Ok(b) => {
                    health.backlog(b.pending + b.lag);
                    metrics::gauge!("ledger_pending").set(b.pending as f64);
                    metrics::gauge!("ledger_lag").set(b.lag as f64);
                    metrics::gauge!("ledger_queue_depth").set((b.pending + b.lag) as f64);
                    metrics::gauge!("ledger_dlq_length").set(b.dlq as f64);
                }
                Err(e) => tracing::warn!(error = %e, "cannot read the stream backlog"),
            },
            Err(e) => tracing::warn!(error = %e, "cannot read the stream backlog"),
        }
        tokio::select! {
            _ = tokio::time::sleep(BACKLOG_INTERVAL) => {}
            _ = shutdown.wait_for(|stop| *stop) => return,
        }
    }
}
