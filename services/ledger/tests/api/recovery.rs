//! Crashes in the middle of a batch, and entries that can never be applied.

use std::time::Duration;

use inventory_events::fields;
use inventory_ledger::config::WorkerSettings;
use uuid::Uuid;

use crate::helpers::{DAY0, History, Ledger, assert_daily, event, settings};

#[tokio::test]
async fn a_worker_dying_mid_batch_loses_and_doubles_nothing() {
    let mut ledger = Ledger::new().await;
    let history = History::generate(2, 10, 50);
    ledger.publish(&history.events).await;

    // Worker A reads a batch and dies before applying or acknowledging it.
    let (mut a, _stop_a) = ledger.worker(settings("dies-after-read"));
    let read = a.read_batch().await.expect("read");
    assert_eq!(read.len(), 200);
    drop(a);

    // Worker B is killed (its task aborted) at some point while it applies and acknowledges.
    let b = ledger.spawn(WorkerSettings {
        batch_size: 50,
        claim_idle: Duration::from_secs(600),
        ..settings("aborted")
    });
    let pg = ledger.pg.clone();
    for _ in 0..200 {
        let mut conn = pg.get().await.expect("conn");
        if crate::helpers::count(&mut conn, "SELECT count(*) AS n FROM ledger_entries").await >= 150
        {
            break;
        }
        drop(conn);
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    b.task.abort();
    let _ = b.task.await;
    let pending = ledger.backlog().await.pending;
    assert!(
        pending >= 200,
        "the dead consumers' entries are pending ({pending})"
    );

    // Worker C reclaims what the others left pending once it is idle long enough.
    let c = ledger.spawn(settings("survivor"));
    ledger.drained().await;
    c.stop().await;

    let projections = ledger.projections().await;
    assert_eq!(projections.entries, 1_000);
    assert_daily(&projections, &history);
    assert_eq!(ledger.backlog().await.dlq, 0);
}

#[tokio::test]
async fn poison_entries_go_to_the_dlq_while_good_ones_flow() {
    let mut ledger = Ledger::new().await;
    let max_deliveries = 3;
    let worker = ledger.spawn(WorkerSettings {
        max_deliveries,
        claim_idle: Duration::from_millis(200),
        ..settings("worker")
    });
    let (store, product) = (Uuid::now_v7(), Uuid::now_v7());
    // The database refuses the second event: the day's inflow would overflow a bigint.
    let huge = event(store, product, i64::MAX - 10, i64::MAX - 10, 1, 0, DAY0);
    let poison = event(store, product, 100, 90, 2, 0, DAY0 + 1);
    let before = History::generate(1, 3, 10);
    let after = History::generate(1, 3, 10);

    ledger.publish(&before.events).await;
    ledger.publish(&[huge.clone(), poison.clone()]).await;
    ledger
        .publish_raw(&[
            (fields::EVENT_ID, b"not-an-event".to_vec()),
            (fields::TYPE, b"SALE".to_vec()),
            (fields::PAYLOAD, vec![0xff, 0xff, 0xff]),
            (fields::TRACEPARENT, Vec::new()),
        ])
        .await;
    ledger.publish(&after.events).await;
    ledger.drained().await;
    worker.stop().await;

    let dlq = ledger.dlq().await;
    assert_eq!(dlq.len(), 2, "{dlq:?}");
    let garbage = dlq
        .iter()
        .find(|e| e[fields::EVENT_ID] == "not-an-event")
        .unwrap();
    assert!(garbage["reason"].starts_with("undecodable"), "{garbage:?}");
    assert_eq!(garbage["deliveries"], "1");
    let refused = dlq
        .iter()
        .find(|e| e[fields::EVENT_ID] == poison.event_id)
        .unwrap();
    assert_eq!(refused["deliveries"], max_deliveries.to_string());
    assert!(refused["reason"].contains("out of range"), "{refused:?}");
    assert!(refused.contains_key(fields::PAYLOAD) && refused.contains_key("source_id"));
    assert_eq!(ledger.backlog().await.dlq, 2);

    // Everything else was applied, once.
    let projections = ledger.projections().await;
    assert_eq!(projections.entries, 60 + 1);
    let mut good = before.events.clone();
    good.extend(after.events.iter().cloned());
    good.push(huge);
    assert_daily(&projections, &History { events: good });
}

#[tokio::test]
async fn entries_reclaimed_many_times_are_applied_not_dead_lettered() {
    let mut ledger = Ledger::new().await;
    let history = History::generate(1, 2, 5);
    ledger.publish(&history.events).await;
    // A consumer that keeps dying: the entries are delivered, then claimed again and again (as
    // workers stuck in a database outage would see them), far past the delivery limit.
    let stream = ledger.keys.events.clone();
    let _: redis::Value = redis::cmd("XREADGROUP")
        .arg("GROUP")
        .arg(inventory_events::LEDGER_GROUP)
        .arg("ghost")
        .arg("COUNT")
        .arg(100)
        .arg("STREAMS")
        .arg(&stream)
        .arg(">")
        .query_async(&mut ledger.redis)
        .await
        .expect("read as the ghost");
    for _ in 0..6 {
        let _: redis::Value = redis::cmd("XAUTOCLAIM")
            .arg(&stream)
            .arg(inventory_events::LEDGER_GROUP)
            .arg("ghost")
            .arg(0)
            .arg("0")
            .query_async(&mut ledger.redis)
            .await
            .expect("claim again");
    }
    let worker = ledger.spawn(WorkerSettings {
        max_deliveries: 3,
        claim_idle: Duration::from_millis(100),
        ..settings("survivor")
    });
    ledger.drained().await;
    worker.stop().await;

    assert_eq!(
        ledger.backlog().await.dlq,
        0,
        "healthy entries never reach the dead-letter stream"
    );
    let projections = ledger.projections().await;
    assert_eq!(projections.entries, history.events.len() as i64);
    assert_daily(&projections, &history);
}
