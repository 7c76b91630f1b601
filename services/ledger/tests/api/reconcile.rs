//! The periodic reconciliation: a check of recent changes finds what they break and reads nothing
//! older; what the checks found is shared by the workers, and everything is compared by one worker
//! per interval.

use std::time::Duration;

use chrono::{TimeDelta, Utc};
use inventory_events::StockEvent;
use inventory_ledger::{
    config::{Config, HealSettings},
    heal::RECHECK,
    models::reconcile::Scope,
    reconcile,
};
use uuid::{NoContext, Timestamp, Uuid};

use crate::{
    heal::healer,
    helpers::{History, Ledger, Process, settings},
    stock_side::{record, run},
};

/// `history` with movement ids taken `secs_ago`: that old to a check of recent changes.
fn taken_ago(mut history: History, secs_ago: u64) -> History {
    let at = u64::try_from(Utc::now().timestamp()).expect("after 1970") - secs_ago;
    for (i, e) in history.events.iter_mut().enumerate() {
        let nanos = u32::try_from(i).expect("few events") * 1_000_000;
        e.movement_id = Uuid::new_v7(Timestamp::from_unix(NoContext, at, nanos)).to_string();
    }
    history
}

/// Records `events` on the stock side and lets a worker apply them from the stream.
async fn applied(ledger: &mut Ledger, events: &[StockEvent]) {
    record(&mut ledger.conn().await, events).await;
    ledger.publish(events).await;
    let worker = ledger.spawn(settings("reconcile"));
    ledger.drained().await;
    worker.stop().await;
}

/// The (store, product, day) of `e`, as SQL conditions on `ledger_daily`.
fn day_of(e: &StockEvent) -> String {
    format!(
        "store_id = '{}' AND product_id = '{}' \
         AND day = (to_timestamp({} / 1e6) AT TIME ZONE 'UTC')::date",
        e.store_id, e.product_id, e.occurred_at_micros
    )
}

#[tokio::test]
async fn a_check_of_recent_changes_finds_what_they_break_and_leaves_the_rest_to_a_full_one() {
    let mut ledger = Ledger::new().await;
    let old = taken_ago(History::generate(1, 1, 6), 7_200);
    let recent = History::generate(1, 4, 6);
    applied(
        &mut ledger,
        &[old.events.clone(), recent.events.clone()].concat(),
    )
    .await;
    let mut conn = ledger.conn().await;
    let since = Some(Utc::now() - TimeDelta::seconds(60));
    let recent_scope = || Scope {
        since,
        cut: Utc::now(),
    };

    // A day of the old history is changed by hand: only a comparison of everything reads it.
    run(
        &mut conn,
        format!(
            "UPDATE ledger_daily SET qty_in = qty_in + 1 WHERE {}",
            day_of(&old.events[0])
        ),
    )
    .await;
    let report = reconcile::report(&ledger.pg, recent_scope())
        .await
        .expect("recent");
    assert!(report.in_sync, "{report:?}");
    assert_eq!(
        (report.movements.movements, report.movements.entries),
        (24, 24),
        "only the recent movements are read"
    );
    let full = reconcile::report(&ledger.pg, Scope::everything(Utc::now()))
        .await
        .expect("everything");
    assert_eq!(full.movements.movements, 30);
    assert_eq!(
        (full.day_difference_count, full.total()),
        (1, 1),
        "{full:?}"
    );

    // Each way a recent change can go wrong, on a level of its own (six movements per level).
    let first = |level: usize| &recent.events[level * 6];
    run(
        &mut conn,
        format!(
            "DELETE FROM ledger_entries WHERE movement_id = '{}'; \
             UPDATE ledger_entries SET user_id = gen_random_uuid() WHERE movement_id = '{}'; \
             UPDATE ledger_daily SET qty_out = qty_out + 3 WHERE {}; \
             UPDATE ledger_levels SET quantity = quantity + 1 \
             WHERE store_id = '{}' AND product_id = '{}'",
            first(0).movement_id,
            first(1).movement_id,
            day_of(first(2)),
            first(3).store_id,
            first(3).product_id
        ),
    )
    .await;
    let report = reconcile::report(&ledger.pg, recent_scope())
        .await
        .expect("recent");
    assert_eq!(
        (
            report.movements.missing,
            report.movements.differing,
            report.movements.orphaned
        ),
        (1, 1, 0),
        "{report:?}"
    );
    // The lost entry's day says more than its entries now, and the day changed by hand.
    let mut days: Vec<(String, i64)> = report
        .day_differences
        .iter()
        .map(|d| {
            (
                d.product_id.to_string(),
                d.ledger_out - d.movements_out + d.ledger_in - d.movements_in,
            )
        })
        .collect();
    days.sort();
    let mut expected = vec![
        (first(0).product_id.clone(), first(0).delta.abs()),
        (first(2).product_id.clone(), 3),
    ];
    expected.sort();
    assert_eq!((report.day_difference_count, days), (2, expected));
    assert_eq!(report.difference_count, 1);
    assert_eq!(
        report.differences[0].product_id.to_string(),
        first(3).product_id
    );

    reconcile::repair(&ledger.pg, Utc::now())
        .await
        .expect("repair");
    for scope in [recent_scope(), Scope::everything(Utc::now())] {
        let report = reconcile::report(&ledger.pg, scope).await.expect("after");
        assert!(report.in_sync, "{report:?}");
    }
}

#[tokio::test]
async fn workers_share_what_their_checks_found_and_take_turns_to_compare_everything() {
    let mut ledger = Ledger::new().await;
    applied(&mut ledger, &History::generate(1, 2, 3).events).await;
    let (a, b) = (healer(&ledger), healer(&ledger));

    // No check found the ledger in sync yet: everything, and the turn is a's for the interval.
    let first = a.periodic_scope(false).await.expect("scope");
    assert_eq!(first.since, None);
    assert!(!a.reconcile(first, false).await.expect("in sync"));
    let next = b.periodic_scope(false).await.expect("scope");
    assert_eq!(
        next.since,
        Some(first.cut - RECHECK),
        "b starts where a ended"
    );

    // A movement the stream lost: b's check differs and leaves the mark where it was.
    let lost = History::generate(1, 1, 1);
    record(&mut ledger.conn().await, &lost.events).await;
    assert!(b.reconcile(next, false).await.expect("differs"));
    let again = a.periodic_scope(false).await.expect("scope");
    assert_eq!(again.since, next.since, "what differed is looked at again");

    // After a loss of Redis's data the worker compares everything, whoever's turn it is.
    assert_eq!(a.periodic_scope(true).await.expect("scope").since, None);

    // A repair leaves everything before its cut in sync.
    assert!(a.reconcile(again, true).await.expect("repaired"));
    let after = b.periodic_scope(false).await.expect("scope");
    assert_eq!(after.since, Some(again.cut - RECHECK));
    assert!(!b.reconcile(after, false).await.expect("in sync"));
}

/// A worker that starts and has to create its consumer group (Redis lost its data while no worker
/// ran) compares everything soon and repairs at once, even when it is not its turn and the shared
/// mark says everything recent is in sync.
#[tokio::test]
async fn a_worker_that_finds_its_group_missing_compares_everything_and_repairs_at_once() {
    let mut ledger = Ledger::new().await;
    let old = taken_ago(History::generate(1, 2, 3), 7_200);
    applied(&mut ledger, &old.events).await;
    let mut conn = ledger.conn().await;
    run(
        &mut conn,
        format!(
            "UPDATE ledger_daily SET qty_in = qty_in + 1 WHERE {}; \
             UPDATE ledger_checks SET full_started_at = now(), in_sync_before = now()",
            day_of(&old.events[0])
        ),
    )
    .await;
    let stream = ledger.keys.events.clone();
    let _: () = redis::cmd("XGROUP")
        .arg("DESTROY")
        .arg(&stream)
        .arg(inventory_ledger::config::GROUP)
        .query_async(&mut ledger.redis)
        .await
        .expect("destroy");

    let process = Process::start(Config {
        worker: settings("starting"),
        heal: HealSettings {
            gap_check: Duration::from_millis(100),
            backfill_after: Duration::from_millis(100),
            reconcile_interval: Duration::from_secs(3_600),
            full_reconcile_interval: Duration::from_secs(3_600),
            ..HealSettings::default()
        },
        ..ledger.config.clone()
    })
    .await;
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let report = reconcile::report(&ledger.pg, Scope::everything(Utc::now()))
            .await
            .expect("report");
        if report.in_sync {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "not repaired after the start: {report:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    process.stop().await;
}
