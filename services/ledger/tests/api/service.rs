//! The worker process: operator routes, reconciliation, metrics, and a clean stop.

use diesel_async::RunQueryDsl;
use inventory_ledger::config::Config;
use serde_json::Value;
use uuid::Uuid;

use crate::helpers::{DAY0, Ledger, event, settings};

#[tokio::test]
async fn serves_health_reconciles_and_stops_cleanly() {
    let mut ledger = Ledger::new().await;
    let (store, product) = (Uuid::now_v7(), Uuid::now_v7());
    let mut conn = ledger.conn().await;
    for sql in [
        format!("INSERT INTO stores (id, name) VALUES ('{store}', 'S')"),
        format!(
            "INSERT INTO products (id, sku, name, price_cents) \
             VALUES ('{product}', 'SKU-{product}', 'P', 250)"
        ),
        format!(
            "INSERT INTO stock_levels (id, store_id, product_id, quantity, reorder_level, version) \
             VALUES ('{}', '{store}', '{product}', 7, 0, 2)",
            Uuid::now_v7()
        ),
    ] {
        diesel::sql_query(sql).execute(&mut conn).await.unwrap();
    }

    let app = inventory_ledger::startup::build(Config {
        worker: settings("http"),
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

    ledger
        .publish(&[
            event(store, product, 10, 10, 1, 0, DAY0),
            event(store, product, -3, 7, 2, 0, DAY0 + 1),
        ])
        .await;
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
