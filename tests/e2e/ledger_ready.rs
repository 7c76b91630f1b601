//! The worker's readiness tells the truth: while its consumer group is gone and it cannot recover
//! (its database role is refused), `/readyz` answers 503; once the role is allowed again it recovers
//! by itself — the group exists, the movement written meanwhile reaches the ledger — and answers
//! 200. Its own binary: it refuses the ledger's role for the whole stack.

#![allow(clippy::expect_used, clippy::unwrap_used)] // tests: failing loudly is the point

#[path = "ledger_support.rs"]
mod support;

use std::time::{Duration, Instant};

use inventory_e2e::{Api, expect_json};
use serde_json::json;

/// Allows the ledger's role to log in again when dropped (also when an assertion fails).
struct AllowLogin;

impl Drop for AllowLogin {
    fn drop(&mut self) {
        support::psql("ALTER ROLE inventory_ledger LOGIN");
    }
}

async fn readiness_becomes(want: u16, within: Duration) {
    let deadline = Instant::now() + within;
    loop {
        let statuses = support::readiness().await;
        if statuses.iter().all(|s| *s == want) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "readiness stayed {statuses:?}, expected {want}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn readyz_is_503_while_the_worker_cannot_recover_and_200_after() {
    let api = Api::new();
    let admin = api.admin_token().await;
    let (store, product) = api.store_and_product(&admin, "LedgerReady", 100).await;
    readiness_becomes(200, Duration::from_secs(30)).await;

    // The group disappears and the worker's database role is refused.
    let allow = AllowLogin;
    support::psql("ALTER ROLE inventory_ledger NOLOGIN");
    support::psql(
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity \
         WHERE usename = 'inventory_ledger'",
    );
    let mut redis = support::redis().await;
    let _: () = redis::cmd("XGROUP")
        .arg("DESTROY")
        .arg(inventory_events::STOCK_EVENTS_STREAM)
        .arg(inventory_events::LEDGER_GROUP)
        .query_async(&mut redis)
        .await
        .expect("destroy the group");
    let created = expect_json(
        api.post(
            "/stock",
            Some(&admin),
            &json!({ "store_id": store, "product_id": product, "quantity": 7 }),
        )
        .await,
        201,
    )
    .await;
    let level = created["id"].as_str().map(str::to_owned);
    readiness_becomes(503, Duration::from_secs(60)).await;

    drop(allow);
    readiness_becomes(200, Duration::from_secs(60)).await;
    assert!(support::group_exists().await, "the group was recreated");

    // The movement written while the worker was cut off reaches the ledger, once.
    let deadline = Instant::now() + Duration::from_secs(60);
    let sql = format!(
        "SELECT count(*) FROM ledger_entries WHERE store_id = '{store}' AND product_id = '{product}'"
    );
    while support::psql(&sql) != "1" {
        assert!(
            Instant::now() < deadline,
            "the movement of level {level:?} never reached the ledger"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    support::assert_ledger_heals(Duration::from_secs(120)).await;
}
