//! Exactly-once application by several workers, duplicates, and delivery order.

use uuid::Uuid;

use crate::helpers::{DAY, DAY0, History, Ledger, assert_daily, event, settings};

#[tokio::test]
async fn two_workers_apply_ten_thousand_events_exactly_once() {
    let mut ledger = Ledger::new().await;
    let one = ledger.spawn(settings("worker-1"));
    let two = ledger.spawn(settings("worker-2"));
    // 4 stores × 25 products × 100 movements, published while both workers read.
    let history = History::generate(4, 25, 100);
    assert_eq!(history.events.len(), 10_000);
    ledger.publish(&history.events).await;
    ledger.drained().await;
    one.stop().await;
    two.stop().await;

    let projections = ledger.projections().await;
    assert_eq!(projections.entries, 10_000);
    assert_daily(&projections, &history);
    assert_eq!(projections.levels.len(), 100);
    assert!(projections.levels.iter().all(|l| l.version == 100));
    assert_eq!(ledger.backlog().await.dlq, 0);
    // Both consumers of the group took part.
    let consumers: Vec<redis::streams::StreamInfoConsumer> = {
        let reply: redis::streams::StreamInfoConsumersReply =
            redis::AsyncCommands::xinfo_consumers(
                &mut ledger.redis,
                &ledger.keys.events,
                inventory_ledger::config::GROUP,
            )
            .await
            .unwrap();
        reply.consumers
    };
    assert_eq!(consumers.len(), 2);
}

#[tokio::test]
async fn a_duplicate_delivery_changes_nothing() {
    let mut ledger = Ledger::new().await;
    let worker = ledger.spawn(settings("worker"));
    let history = History::generate(1, 5, 20);
    ledger.publish(&history.events).await;
    ledger.drained().await;
    let before = ledger.projections().await;

    // The relay published everything again (a crash between XADD and deleting the outbox rows).
    ledger.publish(&history.events).await;
    ledger.publish(&history.events[..10]).await;
    ledger.drained().await;
    worker.stop().await;

    let after = ledger.projections().await;
    assert_eq!(after, before);
    assert_eq!(after.entries, 100);
    assert_daily(&after, &history);
}

#[tokio::test]
async fn delivery_order_does_not_change_the_projections() {
    // Levels that go under their reorder level, back above, and under again.
    let mut events = Vec::new();
    for _ in 0..3 {
        let (store, product) = (Uuid::now_v7(), Uuid::now_v7());
        let mut quantity = 0;
        for (v, delta) in [20i64, -8, -6, 15, -12, -7, 3, -4, 9, -9]
            .into_iter()
            .enumerate()
        {
            quantity += delta;
            let version = v as i64 + 1;
            events.push(event(
                store,
                product,
                delta,
                quantity,
                version,
                8,
                DAY0 + version * DAY / 4,
            ));
        }
    }
    let history = History { events };

    let mut in_order = Ledger::new().await;
    let worker = in_order.spawn(settings("in-order"));
    in_order.publish(&history.events).await;
    in_order.drained().await;
    worker.stop().await;

    // Reversed, then every other event first, in batches of three.
    let mut shuffled: Vec<_> = history.events.iter().rev().cloned().collect();
    let (odd, even): (Vec<_>, Vec<_>) = shuffled
        .drain(..)
        .enumerate()
        .partition(|(i, _)| i % 2 == 1);
    let shuffled: Vec<_> = odd.into_iter().chain(even).map(|(_, e)| e).collect();
    let mut out_of_order = Ledger::new().await;
    let worker = out_of_order.spawn(inventory_ledger::config::WorkerSettings {
        batch_size: 3,
        ..settings("shuffled")
    });
    out_of_order.publish(&shuffled).await;
    out_of_order.drained().await;
    worker.stop().await;

    let expected = in_order.projections().await;
    assert_eq!(out_of_order.projections().await, expected);
    assert_daily(&expected, &history);
    // Final quantities: 20-8-6+15-12-7+3-4+9-9 = 1, under the reorder level of 8: one open alert each.
    assert!(
        expected
            .levels
            .iter()
            .all(|l| l.quantity == 1 && l.version == 10)
    );
    assert_eq!(expected.open_alerts.len(), 3);
    assert!(
        expected
            .open_alerts
            .iter()
            .all(|a| a.quantity == 1 && a.reorder_level == 8)
    );
}
