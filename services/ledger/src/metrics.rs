//! The worker's metrics (rendered on `/metrics` by the recorder the service context installs).

use std::time::Duration;

use crate::{models::heal::Repaired, stream::Backlog};

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

/// The `ledger` group's backlog: `ledger_pending`, `ledger_lag`, `ledger_queue_depth` (pending +
/// lag, what the worker is scaled on) and `ledger_dlq_length`.
pub fn backlog(b: &Backlog) {
    metrics::gauge!("ledger_pending").set(b.pending as f64);
    metrics::gauge!("ledger_lag").set(b.lag as f64);
    metrics::gauge!("ledger_queue_depth").set((b.pending + b.lag) as f64);
    metrics::gauge!("ledger_dlq_length").set(b.dlq as f64);
}

/// Consumed entries trimmed from the event stream.
pub fn trimmed(entries: usize) {
    metrics::counter!("ledger_stream_trimmed_entries_total").increment(entries as u64);
}
