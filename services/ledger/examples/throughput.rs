//! How many events per second one ledger worker applies.
//!
//! Needs the stack's environment (`. .state/dev/stack.env`), then:
//! `cargo run --example throughput -p inventory-ledger [events] [batch_size]` (defaults 50000, 200).
//! It publishes the events to a fresh stream (own key prefix, own database), then times one worker
//! from start until every entry is acknowledged.

#![allow(clippy::expect_used, clippy::unwrap_used)] // a measuring tool: failing loudly is the point

use std::time::{Duration, Instant};

use inventory_common::web::ServiceContext;
use inventory_events::{MovementType, StockEvent, fields};
use inventory_ledger::{
    config::{Config, WorkerSettings},
    startup::ensure_group,
    stream::{StreamKeys, backlog},
    worker::Worker,
};
use uuid::Uuid;

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let total: usize = args.next().map_or(50_000, |a| a.parse().expect("events"));
    let batch_size: usize = args.next().map_or(200, |a| a.parse().expect("batch size"));

    let db = inventory_testkit::TestDb::new().await;
    let config = Config {
        service: inventory_testkit::service_config("ledger", &db),
        worker: WorkerSettings {
            batch_size,
            block: Duration::from_millis(100),
            ..WorkerSettings::with_consumer("throughput")
        },
        heal: Default::default(),
    };
    let ctx = ServiceContext::without_auth("ledger", config.service.clone()).unwrap();
    ensure_group(&ctx).await;
    let keys = StreamKeys::new(&config.service);
    let mut redis = inventory_testkit::redis().await;

    // 500 levels (10 stores × 50 products), movements spread over a week.
    let levels: Vec<(Uuid, Uuid)> = (0..10)
        .flat_map(|_| {
            let store = Uuid::now_v7();
            (0..50).map(move |_| (store, Uuid::now_v7()))
        })
        .collect();
    let mut versions = vec![0i64; levels.len()];
    let start_micros = chrono::Utc::now().timestamp_micros() - 7 * 86_400_000_000;
    let events: Vec<StockEvent> = (0..total)
        .map(|i| {
            let l = i % levels.len();
            versions[l] += 1;
            let v = versions[l];
            let delta = if v % 2 == 1 { 5 } else { -3 };
            StockEvent {
                event_id: Uuid::now_v7().to_string(),
                movement_id: Uuid::now_v7().to_string(),
                store_id: levels[l].0.to_string(),
                product_id: levels[l].1.to_string(),
                movement_type: if delta > 0 {
                    MovementType::StockIn
                } else {
                    MovementType::Sale
                } as i32,
                quantity: i64::abs(delta),
                delta,
                quantity_after: (v / 2) * 2 + if v % 2 == 1 { 5 } else { 0 },
                level_version: v,
                reorder_level: 3,
                user_id: Uuid::now_v7().to_string(),
                occurred_at_micros: start_micros + (i as i64) * 1_000,
                ..Default::default()
            }
        })
        .collect();
    for chunk in events.chunks(1_000) {
        let mut pipe = redis::pipe();
        for e in chunk {
            pipe.xadd(
                &keys.events,
                "*",
                &[
                    (fields::EVENT_ID, e.event_id.as_bytes().to_vec()),
                    (
                        fields::TYPE,
                        e.movement_type().api_name().as_bytes().to_vec(),
                    ),
                    (fields::PAYLOAD, e.to_bytes()),
                    (fields::TRACEPARENT, Vec::new()),
                ],
            )
            .ignore();
        }
        pipe.query_async::<()>(&mut redis).await.unwrap();
    }
    println!("published {total} events; applying with one worker (batch size {batch_size})");

    let (stop, stopping) = tokio::sync::watch::channel(false);
    let client = redis::Client::open(config.service.redis_url.as_str()).unwrap();
    let worker = Worker::new(
        config.worker.clone(),
        ctx.pg.clone(),
        client,
        keys.clone(),
        stopping,
    );
    let started = Instant::now();
    let task = tokio::spawn(worker.run());
    loop {
        let b = backlog(&mut redis, &keys).await.unwrap();
        if b.pending == 0 && b.lag == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let elapsed = started.elapsed();
    stop.send_replace(true);
    task.await.unwrap();
    println!(
        "applied {total} events in {:.2} s: {:.0} events/s",
        elapsed.as_secs_f64(),
        total as f64 / elapsed.as_secs_f64()
    );
}
