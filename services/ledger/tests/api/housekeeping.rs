//! The event stream is trimmed of what every group has consumed, and of nothing else.

use std::time::Duration;

use inventory_ledger::housekeeping::trim;
use redis::AsyncCommands;

use crate::helpers::{History, Ledger, settings};

async fn len(ledger: &mut Ledger) -> usize {
    let stream = ledger.keys.events.clone();
    ledger.redis.xlen(stream).await.expect("xlen")
}

#[tokio::test]
async fn the_stream_drops_what_every_group_consumed_and_keeps_the_rest() {
    let mut ledger = Ledger::new().await;
    let stream = ledger.keys.events.clone();
    let consumed = History::generate(1, 10, 100);
    ledger.publish(&consumed.events).await;
    let worker = ledger.spawn(settings("trim"));
    ledger.drained().await;
    worker.stop().await;
    // Published after the worker stopped: not consumed yet.
    let waiting = History::generate(1, 1, 300);
    ledger.publish(&waiting.events).await;
    assert_eq!(len(&mut ledger).await, 1_300);

    // Younger than what is kept: nothing goes.
    let keep_an_hour = trim(&mut ledger.redis, &stream, Duration::from_secs(3_600)).await;
    assert_eq!(keep_an_hour.expect("trim"), 0);

    // Another group has read the first 500 entries and not acknowledged them: they and everything
    // after them stay.
    let _: () = redis::cmd("XGROUP")
        .arg("CREATE")
        .arg(&stream)
        .arg("audit")
        .arg("0")
        .query_async(&mut ledger.redis)
        .await
        .expect("group");
    let _: redis::Value = redis::cmd("XREADGROUP")
        .arg("GROUP")
        .arg("audit")
        .arg("auditor")
        .arg("COUNT")
        .arg(500)
        .arg("STREAMS")
        .arg(&stream)
        .arg(">")
        .query_async(&mut ledger.redis)
        .await
        .expect("read");
    let pending = trim(&mut ledger.redis, &stream, Duration::ZERO).await;
    assert_eq!(pending.expect("trim"), 0);
    assert_eq!(len(&mut ledger).await, 1_300);

    // Without it, what the ledger consumed goes (whole nodes of the stream's tree: a few of the
    // last may stay), and every entry it has not read stays.
    let _: () = redis::cmd("XGROUP")
        .arg("DESTROY")
        .arg(&stream)
        .arg("audit")
        .query_async(&mut ledger.redis)
        .await
        .expect("destroy");
    let trimmed = trim(&mut ledger.redis, &stream, Duration::ZERO)
        .await
        .expect("trim");
    let left = len(&mut ledger).await;
    assert_eq!(trimmed + left, 1_300);
    assert!(
        (300..400).contains(&left),
        "{left} entries left of 1,000 consumed and 300 waiting"
    );
    let worker = ledger.spawn(settings("trim"));
    ledger.drained().await;
    worker.stop().await;
    let entries = ledger.projections().await.entries;
    assert_eq!(entries, 1_300, "the waiting ones were all applied");
}
