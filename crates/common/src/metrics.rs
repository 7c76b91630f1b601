//! The Prometheus recorder shared by a process's components.

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

const LATENCY_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.5, 1.0, 2.5, 5.0,
];

/// Installs the global recorder once and returns the handle that renders `/metrics`.
pub fn install() -> PrometheusHandle {
    static HANDLE: std::sync::OnceLock<PrometheusHandle> = std::sync::OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let builder = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), LATENCY_BUCKETS)
                .unwrap_or_else(|_| PrometheusBuilder::new());
            match builder.install_recorder() {
                Ok(handle) => handle,
                // Another recorder is already installed (tests): render from a private one.
                Err(_) => PrometheusBuilder::new().build_recorder().handle(),
            }
        })
        .clone()
}

/// Publishes the pools' sizes every few seconds as `db_pool_connections` and
/// `redis_pool_connections` gauges (`state` = `idle` or `in_use`).
pub fn watch_pools(pg: crate::db::PgPool, redis: crate::redis::RedisPool) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(5));
        loop {
            tick.tick().await;
            let pg_state = pg.state();
            metrics::gauge!("db_pool_connections", "state" => "idle")
                .set(f64::from(pg_state.idle_connections));
            metrics::gauge!("db_pool_connections", "state" => "in_use").set(f64::from(
                pg_state
                    .connections
                    .saturating_sub(pg_state.idle_connections),
            ));
            let redis_state = redis.state();
            metrics::gauge!("redis_pool_connections", "state" => "idle")
                .set(f64::from(redis_state.idle_connections));
            metrics::gauge!("redis_pool_connections", "state" => "in_use").set(f64::from(
                redis_state
                    .connections
                    .saturating_sub(redis_state.idle_connections),
            ));
        }
    });
}
