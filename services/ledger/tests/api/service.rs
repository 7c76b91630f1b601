//! The worker process: operator routes, reconciliation, metrics, and a clean stop.

use std::time::Duration;

use inventory_ledger::config::{Config, HealSettings};
use serde_json::Value;
use uuid::Uuid;

use crate::helpers::{DAY0, Ledger, event, settings};

#[tokio::test]
async fn serves_health_reconciles_and_stops_cleanly() {
    let mut ledger = Ledger::new().await;
    let (store, product) = (Uuid::now_v7(), Uuid::now_v7());
    // The stock service committed two movements; their events have not reached the ledger yet.
    let events = [
        event(store, product, 10, 10, 1, 0, DAY0),
        event(store, product, -3, 7, 2, 0, DAY0 + 1),
    ];
    crate::stock_side::record(&mut ledger.conn().await, &events).await;

    let app = inventory_ledger::startup::build(Config {
        worker: settings("http"),
        // Not backfilled during this test: the stream delivers them.
        heal: HealSettings {
            backfill_after: Duration::from_secs(3_600 * 24 * 365),
            ..HealSettings::default()
        },
        ..ledger.config.clone()
    })
    .await
    .expect("the worker starts");
    let base = format!("http://127.0.0.1:{}", app.port);
    let stopper = app.stopper();
    let running = tokio::spawn(app.run_until_stopped());
    let client = reqwest::Client::new();

    let health = client.get(format!("{base}/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200);
    let ready = client.get(format!("{base}/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), 200);

    // The stock level exists, the ledger has not seen its events yet.
    let report: Value = client
        .get(format!("{base}/reconcile"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(report["in_sync"], false, "{report}");
    assert_eq!(report["difference_count"], 1);
    assert_eq!(report["differences"][0]["stock_quantity"], 7);
    assert_eq!(report["differences"][0]["ledger_quantity"], Value::Null);

    ledger.publish(&events).await;
    ledger.drained().await;
    let report: Value = client
        .get(format!("{base}/reconcile"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(report["in_sync"], true, "{report}");
    assert_eq!(report["differences"], Value::Array(vec![]));

    let metrics = client
        .get(format!("{base}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(metrics.contains("ledger_events_applied_total"), "{metrics}");
    assert!(
        metrics.contains("ledger_batch_duration_seconds"),
        "{metrics}"
    );

    // Stopping ends both the consumer and the HTTP server; the process would exit 0.
    stopper.stop().await;
    let result = tokio::time::timeout(std::time::Duration::from_secs(30), running)
        .await
        .expect("stops in time")
        .expect("no panic");
    assert!(result.is_ok());
    assert!(client.get(format!("{base}/healthz")).send().await.is_err());
}

/// `REDIS_STREAM_URL`: the worker consumes the stream there, whatever `REDIS_URL` says.
#[tokio::test]
async fn the_stream_is_read_from_redis_stream_url() {
    let mut ledger = Ledger::new().await;
    let (store, product) = (Uuid::now_v7(), Uuid::now_v7());
    let events = [event(store, product, 4, 4, 1, 0, DAY0)];
    crate::stock_side::record(&mut ledger.conn().await, &events).await;
    let mut config = ledger.config.clone();
    config.service.redis_stream_url = Some(config.service.redis_url.clone());
    // Nothing listens on port 1: only the stream's Redis is reachable.
    config.service.redis_url = "redis://127.0.0.1:1".into();
    let app = inventory_ledger::startup::build(Config {
        worker: settings("stream-url"),
        heal: HealSettings {
            backfill_after: Duration::from_secs(3_600 * 24 * 365),
            ..HealSettings::default()
        },
        ..config
    })
    .await
    .expect("the worker starts");
    let base = format!("http://127.0.0.1:{}", app.port);
    let stopper = app.stopper();
    let running = tokio::spawn(app.run_until_stopped());
    let ready = reqwest::get(format!("{base}/readyz")).await.unwrap();
    assert_eq!(ready.status(), 200);

    ledger.publish(&events).await;
    ledger.drained().await;
    assert_eq!(ledger.projections().await.entries, 1);
    stopper.stop().await;
    let _ = tokio::time::timeout(std::time::Duration::from_secs(30), running).await;
}
