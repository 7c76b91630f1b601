//! Faults lose nothing: a PostgreSQL restart (requests answer 503 meanwhile, the pools reconnect
//! by themselves) and a Redis restart (writes keep succeeding, reads come from the database, and every
//! movement still reaches the stream exactly once). It stops processes of the stack it runs against,
//! so it is its own test binary, run alone against the throwaway test stack.

#![allow(clippy::expect_used, clippy::unwrap_used)] // tests: failing loudly is the point

use std::{
    collections::HashMap,
    process::Command,
    time::{Duration, Instant},
};

use inventory_e2e::{
    Api, expect_json,
    stack::{RestartOnDrop, alive, env},
};
use inventory_events::{STOCK_EVENTS_STREAM, StockEvent};
use reqwest::Method;
use serde_json::json;
use uuid::Uuid;

use inventory_e2e::stack::state_dir;

/// Stops the stack's `name` process with `signal` and waits until it is gone.
async fn stop(name: &str, signal: &str) {
    let pid = std::fs::read_to_string(state_dir().join(format!("pids/{name}.pid")))
        .expect("pid file")
        .trim()
        .to_owned();
    assert!(alive(&pid), "{name} runs before the test");
    assert!(
        Command::new("kill")
            .args([signal, &pid])
            .status()
            .expect("kill")
            .success()
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    while alive(&pid) {
        assert!(Instant::now() < deadline, "{name} did not stop");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn sale(api: &Api, admin: &str, store: &str, product: &str, key: &str) -> reqwest::Response {
    api.request(Method::POST, "/stock/movements", Some(admin))
        .header("Idempotency-Key", key)
        .json(&json!({ "store_id": store, "product_id": product, "type": "SALE", "quantity": 1 }))
        .send()
        .await
        .expect("request")
}

async fn database_restart(api: &Api, admin: &str) {
    let (store, product) = api.store_and_product(admin, "Fault", 1).await;
    let (store, product) = (store.to_string(), product.to_string());
    expect_json(
        api.post(
            "/stock",
            Some(admin),
            &json!({ "store_id": store, "product_id": product, "quantity": 10 }),
        )
        .await,
        201,
    )
    .await;

    let guard = RestartOnDrop::new(state_dir());
    stop("postgres", "-INT").await;
    let key = Uuid::now_v7().to_string();
    let res = sale(api, admin, &store, &product, &key).await;
    assert_eq!(
        res.status(),
        503,
        "a write while the database is down is refused, not failed"
    );
    assert_eq!(res.headers()["content-type"], "application/problem+json");
    assert!(res.headers().contains_key("retry-after"));
    guard.restart();

    // The same request, retried as a client would, goes through once the pools reconnect.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let res = sale(api, admin, &store, &product, &key).await;
        if res.status() == 201 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the service did not recover: {}",
            res.status()
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let history = api.store_movements(admin, &store).await;
    let types: Vec<&str> = history
        .iter()
        .map(|m| m["type"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(types, ["SALE", "STOCK_IN"], "nothing lost, nothing doubled");
    assert_eq!(history[0]["quantity_after"], 9);
}

/// The events on the stream for `movement_ids`, counted once per event id.
async fn events_for(movement_ids: &[String]) -> HashMap<String, usize> {
    let mut conn = redis::Client::open(env("REDIS_URL"))
        .expect("url")
        .get_multiplexed_async_connection()
        .await
        .expect("redis");
    let entries: redis::streams::StreamRangeReply = redis::cmd("XRANGE")
        .arg(STOCK_EVENTS_STREAM)
        .arg("-")
        .arg("+")
        .query_async(&mut conn)
        .await
        .expect("xrange");
    let mut seen_events = std::collections::HashSet::new();
    let mut per_movement = HashMap::new();
    for entry in entries.ids {
        let Some(redis::Value::BulkString(payload)) = entry.map.get("payload") else {
            continue;
        };
        let Ok(event) = StockEvent::from_bytes(payload) else {
            continue;
        };
        if movement_ids.contains(&event.movement_id) && seen_events.insert(event.event_id.clone()) {
            *per_movement.entry(event.movement_id).or_insert(0) += 1;
        }
    }
    per_movement
}

async fn redis_restart(api: &Api, admin: &str) {
    let (store, product) = api.store_and_product(admin, "Fault", 1).await;
    let (store, product) = (store.to_string(), product.to_string());
    expect_json(
        api.post(
            "/stock",
            Some(admin),
            &json!({ "store_id": store, "product_id": product, "quantity": 5 }),
        )
        .await,
        201,
    )
    .await;

    // Cached before the outage: Redis keeps the entry in its AOF across the restart.
    assert_eq!(api.store_quantity(admin, &store).await, 5);
    tokio::time::sleep(Duration::from_millis(1200)).await;

    let guard = RestartOnDrop::new(state_dir());
    stop("redis", "-TERM").await;
    // Writes keep succeeding (their events wait in the outbox); reads come from the database.
    let during = expect_json(
        sale(api, admin, &store, &product, &Uuid::now_v7().to_string()).await,
        201,
    )
    .await;
    assert_eq!(api.store_quantity(admin, &store).await, 4);
    guard.restart();

    // The invalidation missed during the outage is delivered: the old entry is not served again.
    let deadline = Instant::now() + Duration::from_secs(5);
    while api.store_quantity(admin, &store).await != 4 {
        assert!(
            Instant::now() < deadline,
            "the cache still serves the level from before the sale"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    for _ in 0..10 {
        assert_eq!(
            api.store_quantity(admin, &store).await,
            4,
            "no instance serves the old level any more"
        );
    }

    let ids: Vec<String> = api
        .store_movements(admin, &store)
        .await
        .iter()
        .map(|m| m["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids.len(), 2);
    assert!(ids.contains(&during["movement"]["id"].as_str().unwrap().to_owned()));
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let seen = events_for(&ids).await;
        if ids.iter().all(|id| seen.get(id) == Some(&1)) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "every movement reaches the stream exactly once: {seen:?}"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

#[tokio::test]
async fn restarts_of_the_database_and_of_redis_lose_nothing() {
    let api = Api::new();
    let admin = api.admin_token().await;
    // One after the other: each stops a process every service shares.
    database_restart(&api, &admin).await;
    redis_restart(&api, &admin).await;
}
