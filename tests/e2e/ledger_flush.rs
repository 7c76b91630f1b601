//! Redis's data wiped (FLUSHALL) while writes run through the gateway: the writes go on, and the
//! ledger heals by itself — every movement has exactly one entry, every daily row equals its
//! movements, reconcile is in sync — with no restart by hand. Its own binary: it wipes the stack's
//! Redis, which would disturb any test running beside it.

#![allow(clippy::expect_used, clippy::unwrap_used)] // tests: failing loudly is the point

#[path = "ledger_support.rs"]
mod support;

use std::time::Duration;

use inventory_e2e::Api;

#[tokio::test]
async fn the_ledger_heals_after_redis_loses_its_data() {
    let api = Api::new();
    let admin = api.admin_token().await;
    let writers = support::Writers::start(&api, &admin, 4).await;
    writers.wait_for(200).await;

    let mut redis = support::redis().await;
    let _: () = redis::cmd("FLUSHALL")
        .query_async(&mut redis)
        .await
        .expect("flushall");

    writers.wait_for(300).await;
    let written = writers.stop().await;
    assert!(written >= 500);
    support::assert_ledger_heals(Duration::from_secs(120)).await;
    assert!(support::group_exists().await, "the group was recreated");
    assert!(support::readiness().await.iter().all(|s| *s == 200));
}
