//! The replica monitor: every [`POLL`], whether the replica answers, its replay position and lag.

use std::{
    sync::atomic::{AtomicBool, AtomicU64, Ordering},
    time::Duration,
};

use diesel::{
    QueryableByName,
    sql_types::{BigInt, Bool, Text},
};
use diesel_async::RunQueryDsl;

use super::{Lsn, Replica};

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
    #[diesel(sql_type = BigInt)]
    lag_ms: i64,
}

/// Polls the replica every [`POLL`] for as long as the process runs.
pub(super) fn spawn_monitor(replica: Replica, max_lag: Duration) {
    const PROBE: &str = "SELECT pg_is_in_recovery() AS standby, \
        coalesce(pg_last_wal_replay_lsn(), '0/0')::text AS replay, \
        CASE WHEN NOT pg_is_in_recovery() OR pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0 \
             ELSE coalesce((extract(epoch FROM now() - pg_last_xact_replay_timestamp()) * 1000)::bigint, 0) \
        END AS lag_ms";
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(POLL);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
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
            let seen = tokio::time::timeout(Duration::from_secs(2), probe)
                .await
                .ok()
                .flatten();
            let state = &replica.state;
            match seen {
                Some(probe) => {
                    // A standby promoted under an open connection is a primary: fresh by definition.
                    let replay = if probe.standby {
                        probe.replay.parse().unwrap_or(Lsn(0))
                    } else {
                        Lsn::MAX
                    };
                    let lag = Duration::from_millis(probe.lag_ms.max(0) as u64);
                    let lagging = lag > max_lag;
                    if lagging != state.lagging.swap(lagging, Ordering::Relaxed) {
                        tracing::warn!(
                            lag_ms = probe.lag_ms,
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
