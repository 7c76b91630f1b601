//! The replica monitor: every [`POLL`], whether the replica answers, its replay position and lag.
//!
//! The lag is measured against the primary, as a reader would notice it: every poll notes the
//! primary's flushed position and when it was seen; the lag is the age of the oldest noted position
//! the replica has not replayed yet (0 once it has replayed them all). The replica's own view
//! cannot say that: a replica cut off from its primary has replayed everything it *received* and
//! looks current while it falls behind for good, and the age of its last replayed commit counts
//! idle time as lag the moment new WAL arrives after a quiet spell.
//!
//! The primary is asked on the monitor's own connection, outside the pool (requests may hold every
//! pooled connection exactly when the replica falls behind). When the primary cannot be asked at
//! all (it is down), the replica is judged by the positions noted before: a primary that is down
//! commits nothing newer.

use std::{
    collections::VecDeque,
    sync::atomic::{AtomicBool, AtomicU64, Ordering},
    time::{Duration, Instant},
};

use diesel::{
    QueryableByName,
    sql_types::{Bool, Text},
};
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use super::{Lsn, Replica, flushed_on};
use crate::db::PgPool;

/// How often the monitor looks at the replica.
pub const POLL: Duration = Duration::from_millis(200);

/// What the monitor last saw of the replica.
#[derive(Default)]
pub(super) struct ReplicaState {
    pub(super) up: AtomicBool,
    pub(super) lagging: AtomicBool,
    pub(super) replay: AtomicU64,
}

#[derive(QueryableByName)]
struct Probe {
    #[diesel(sql_type = Bool)]
    standby: bool,
    #[diesel(sql_type = Text)]
    replay: String,
}

/// The primary's positions the replica has not replayed yet, each with when it was first seen.
/// Bounded: at most [`Behind::KEPT`] positions (minutes of polls); when full, the newest position
/// replaces the last one kept but keeps that one's older time, so the lag is overstated rather than
/// understated until the replica catches up.
#[derive(Default)]
struct Behind {
    seen: VecDeque<(Lsn, Instant)>,
}

impl Behind {
    const KEPT: usize = 1_024;

    /// The primary was at `lsn` at `at` (positions only grow; an idle primary keeps the older time).
    fn primary_at(&mut self, lsn: Lsn, at: Instant) {
        let full = self.seen.len() >= Self::KEPT;
        match self.seen.back_mut() {
            Some((last, _)) if *last >= lsn => {}
            Some((last, _)) if full => *last = lsn,
            _ => self.seen.push_back((lsn, at)),
        }
    }

    /// The replica has replayed up to `replay`: how long ago the primary was at the oldest position
    /// it has not replayed.
    fn lag(&mut self, replay: Lsn, now: Instant) -> Duration {
        while self.seen.front().is_some_and(|(lsn, _)| *lsn <= replay) {
            self.seen.pop_front();
        }
        self.seen
            .front()
            .map_or(Duration::ZERO, |(_, at)| now.saturating_duration_since(*at))
    }
}

/// The primary's flushed position, on a connection of the monitor's own (made again after a
/// failure: after a failover the pool's URL leads it to the new primary).
struct Primary {
    pool: PgPool,
    conn: Option<AsyncPgConnection>,
}

impl Primary {
    async fn position(&mut self) -> Option<Lsn> {
        if self.conn.is_none() {
            self.conn = self.pool.dedicated_connection().await.ok();
        }
        let lsn = flushed_on(self.conn.as_mut()?).await.ok();
        if lsn.is_none() {
            self.conn = None;
        }
        lsn
    }
}

/// Polls the replica (and the primary's position) every [`POLL`] for as long as the process runs.
pub(super) fn spawn_monitor(replica: Replica, primary: PgPool, max_lag: Duration) {
    const PROBE: &str = "SELECT pg_is_in_recovery() AS standby, \
        coalesce(pg_last_wal_replay_lsn(), '0/0')::text AS replay";
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(POLL);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut behind = Behind::default();
        let mut primary = Primary {
            pool: primary,
            conn: None,
        };
        loop {
            tick.tick().await;
            let pool = replica.pool.state();
            metrics::gauge!("db_read_pool_connections", "state" => "idle")
                .set(f64::from(pool.idle_connections));
            metrics::gauge!("db_read_pool_connections", "state" => "in_use").set(f64::from(
                pool.connections.saturating_sub(pool.idle_connections),
            ));
            let probe = async {
                let mut conn = replica.pool.get().await.ok()?;
                diesel::sql_query(PROBE)
                    .get_result::<Probe>(&mut conn)
                    .await
                    .ok()
            };
            // Both at once: a slow primary does not delay the replica's probe. A position noted a
            // moment after the replica answered only counts from now, so the lag is never
            // understated.
            let (noted, seen) = tokio::join!(
                tokio::time::timeout(Duration::from_secs(1), primary.position()),
                tokio::time::timeout(Duration::from_secs(2), probe),
            );
            match noted {
                Ok(Some(lsn)) => behind.primary_at(lsn, Instant::now()),
                Ok(None) => {}
                // Cut off mid-statement: that connection is not used again.
                Err(_) => primary.conn = None,
            }
            let seen = seen.ok().flatten();
            let state = &replica.state;
            match seen {
                Some(probe) => {
                    // A standby promoted under an open connection is a primary: fresh by definition.
                    let replay = if probe.standby {
                        probe.replay.parse().unwrap_or(Lsn(0))
                    } else {
                        Lsn::MAX
                    };
                    let lag = behind.lag(replay, Instant::now());
                    let lagging = lag > max_lag;
                    if lagging != state.lagging.swap(lagging, Ordering::Relaxed) {
                        tracing::warn!(
                            lag_ms = lag.as_millis() as u64,
                            lagging,
                            "replica lag crossed the limit"
                        );
                    }
                    state.replay.store(replay.0, Ordering::Relaxed);
                    if !state.up.swap(true, Ordering::Relaxed) {
                        tracing::info!("the replica answers: reads may use it");
                    }
                    metrics::gauge!("db_replica_lag_seconds").set(lag.as_secs_f64());
                    metrics::gauge!("db_replica_replay_lsn").set(replay.0.min(1 << 53) as f64);
                    metrics::gauge!("db_replica_up").set(1.0);
                }
                None => {
                    if state.up.swap(false, Ordering::Relaxed) {
                        tracing::warn!("the replica does not answer: reads use the primary");
                    }
                    metrics::gauge!("db_replica_up").set(0.0);
                }
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECOND: Duration = Duration::from_secs(1);

    #[test]
    fn a_replica_that_replayed_what_the_primary_wrote_is_not_behind() {
        let (mut behind, t0) = (Behind::default(), Instant::now());
        behind.primary_at(Lsn(100), t0);
        assert_eq!(behind.lag(Lsn(100), t0 + SECOND), Duration::ZERO);
        // An idle primary: the same position again and again, replayed long ago.
        for i in 2..10 {
            behind.primary_at(Lsn(100), t0 + i * SECOND);
            assert_eq!(behind.lag(Lsn(100), t0 + i * SECOND), Duration::ZERO);
        }
    }

    #[test]
    fn a_replica_that_stopped_receiving_falls_behind_by_the_age_of_what_it_misses() {
        let (mut behind, t0) = (Behind::default(), Instant::now());
        behind.primary_at(Lsn(100), t0);
        behind.primary_at(Lsn(200), t0 + SECOND);
        behind.primary_at(Lsn(300), t0 + 2 * SECOND);
        // Stuck at 150 (it replayed all it received): behind since the primary was at 200.
        assert_eq!(behind.lag(Lsn(150), t0 + 5 * SECOND), 4 * SECOND);
        assert_eq!(behind.lag(Lsn(250), t0 + 5 * SECOND), 3 * SECOND);
        assert_eq!(behind.lag(Lsn(300), t0 + 5 * SECOND), Duration::ZERO);
    }

    #[test]
    fn the_positions_kept_are_bounded_and_the_lag_is_never_understated() {
        let (mut behind, t0) = (Behind::default(), Instant::now());
        let n = Behind::KEPT as u64 + 500;
        for i in 1..=n {
            behind.primary_at(Lsn(i), t0 + Duration::from_millis(i));
        }
        assert_eq!(behind.seen.len(), Behind::KEPT);
        let now = t0 + Duration::from_secs(10);
        // Replayed up to the position before the last one kept: behind since the primary reached
        // that last one — the newer positions folded into it count from its (older) time.
        let kept = Behind::KEPT as u64;
        assert_eq!(
            behind.lag(Lsn(kept - 1), now),
            now - (t0 + Duration::from_millis(kept))
        );
        assert_eq!(behind.lag(Lsn(n), now), Duration::ZERO);
    }
}
