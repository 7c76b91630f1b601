//! Failover to the streaming replica: writes run while the primary is SIGKILLed; `stack.sh failover`
//! promotes the replica, and the same service processes (not restarted) write to it within a
//! measured bound, because their connection settings list both servers and keep the read-write one.
//! With `PG_SYNC_REPLICA=1` every write acknowledged before the kill is still there afterwards.
//! Then `rejoin` makes the old primary a replica, and a second failover and rejoin (a planned
//! switchover) put the stack back as it was: node 0 the primary, replica 1 following it.
//!
//! It kills PostgreSQL: its own binary, run alone against the throwaway test stack.

#![allow(clippy::expect_used, clippy::unwrap_used)] // tests: failing loudly is the point

use std::{
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use inventory_e2e::{
    Api, expect_json,
    replica::{psql_in, psql_node},
    stack::{env, recorded_pid, run_script, stack_up, state_dir},
};
use reqwest::Client;
use serde_json::json;
use uuid::Uuid;

/// How long writes may fail between the kill and the first write on the promoted replica.
const BOUND: Duration = Duration::from_secs(30);

#[tokio::test]
async fn writes_resume_on_the_promoted_replica_after_the_primary_is_killed() {
    let api = Api::new();
    let admin = api.admin_token().await;
    let (store, product) = api.store_and_product(&admin, "Failover", 100).await;
    let writer = api.user("clerk", &[store]).await;
    let services_before: Vec<u32> = ["stock-1", "stock-2"]
        .map(|n| recorded_pid(&state_dir(), n))
        .to_vec();
    assert_eq!(
        psql_node(0, "SELECT pg_is_in_recovery()").as_deref(),
        Ok("f"),
        "node 0 is the primary"
    );

    // Writes, one after another, each with its own Idempotency-Key; acknowledged ones are recorded
    // with the time of their answer.
    let stop = Arc::new(AtomicBool::new(false));
    let acknowledged: Arc<Mutex<Vec<(Instant, String)>>> = Arc::default();
    let writes = {
        let (stop, acknowledged, token, url) = (
            stop.clone(),
            acknowledged.clone(),
            writer.token.clone(),
            format!("{}/stock/movements", api.base),
        );
        tokio::spawn(async move {
            let client = Client::builder()
                .timeout(Duration::from_secs(5))
                .build()
                .expect("client");
            while !stop.load(Ordering::Relaxed) {
                let res = client
                    .post(&url)
                    .bearer_auth(&token)
                    .header("Idempotency-Key", Uuid::now_v7().to_string())
                    .json(&json!({ "store_id": store, "product_id": product, "type": "STOCK_IN", "quantity": 1 }))
                    .send()
                    .await;
                if let Ok(res) = res
                    && res.status() == 201
                    && let Ok(body) = res.json::<serde_json::Value>().await
                {
                    let id = body["movement"]["id"]
                        .as_str()
                        .unwrap_or_default()
                        .to_owned();
                    acknowledged.lock().unwrap().push((Instant::now(), id));
                } else {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        })
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    while acknowledged.lock().unwrap().len() < 20 {
        assert!(Instant::now() < deadline, "writes did not start");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let pid = recorded_pid(&state_dir(), "postgres");
    assert!(
        std::process::Command::new("kill")
            .args(["-KILL", &pid.to_string()])
            .status()
            .expect("kill")
            .success()
    );
    let killed = Instant::now();
    let before_kill = acknowledged.lock().unwrap().len();
    run_script(&state_dir(), "stack.sh", &["failover"]).expect("stack.sh failover");
    let promoted = killed.elapsed();
    let deadline = killed + BOUND + Duration::from_secs(10);
    let resumed = loop {
        if let Some((at, _)) = acknowledged
            .lock()
            .unwrap()
            .iter()
            .find(|(at, _)| *at > killed)
        {
            break *at - killed;
        }
        assert!(
            Instant::now() < deadline,
            "no write succeeded after the failover"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    eprintln!(
        "failover: promoted {promoted:?} after the kill; writes resumed {resumed:?} after it"
    );
    assert!(
        resumed < BOUND,
        "writes resumed {resumed:?} after the kill (bound {BOUND:?})"
    );
    // A few more writes on the new primary, then stop.
    let count = acknowledged.lock().unwrap().len();
    while acknowledged.lock().unwrap().len() < count + 10 {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    stop.store(true, Ordering::Relaxed);
    writes.await.expect("writer");
    let after: Vec<u32> = ["stock-1", "stock-2"]
        .map(|n| recorded_pid(&state_dir(), n))
        .to_vec();
    assert_eq!(
        services_before, after,
        "the services followed the promotion without a restart"
    );

    // Every acknowledged write is there when commits waited for the replica.
    let missing: Vec<String> = {
        let acknowledged = acknowledged.lock().unwrap().clone();
        let mut missing = Vec::new();
        for (_, id) in &acknowledged[..before_kill] {
            let found = psql_in(
                1,
                "inventory",
                &format!("SELECT count(*) FROM stock_movements WHERE id = '{id}'"),
            );
            if found.as_deref() != Ok("1") {
                missing.push(id.clone());
            }
        }
        missing
    };
    if env("INVENTORY_PG_SYNC_REPLICA") == "1" {
        assert!(
            missing.is_empty(),
            "acknowledged writes lost with a synchronous replica: {missing:?}"
        );
    } else {
        eprintln!(
            "asynchronous replica: {} of {before_kill} writes acknowledged before the kill were lost",
            missing.len()
        );
    }

    // Back as it was: the old primary follows, then a planned switchover and another rejoin.
    let rewinds_log = state_dir().join("logs/replicas.log");
    let logged_before = std::fs::read_to_string(&rewinds_log).map_or(0, |l| l.len());
    run_script(&state_dir(), "stack.sh", &["rejoin"]).expect("rejoin");
    assert_eq!(
        psql_node(0, "SELECT pg_is_in_recovery()").as_deref(),
        Ok("t"),
        "node 0 is a replica"
    );
    run_script(&state_dir(), "stack.sh", &["failover"]).expect("switch back");
    run_script(&state_dir(), "stack.sh", &["rejoin"]).expect("rejoin replica 1");
    // Both rejoins rewound the node (pg_rewind's own words in the log) rather than copying the
    // whole database again; the second needs WAL the node had already archived and recycled.
    let log = std::fs::read_to_string(&rewinds_log).expect("replicas.log");
    let ours = log.get(logged_before..).unwrap_or(&log);
    assert!(
        !ours.contains("pg_rewind: error"),
        "a rejoin could not rewind:\n{ours}"
    );
    assert_eq!(
        ours.matches("pg_rewind: Done!").count()
            + ours.matches("pg_rewind: no rewind required").count(),
        2,
        "two rejoins, two rewinds:\n{ours}"
    );
    stack_up(&state_dir()).expect("stack.sh up");
    assert_eq!(
        psql_node(0, "SELECT pg_is_in_recovery()").as_deref(),
        Ok("f"),
        "node 0 is the primary again"
    );
    assert_eq!(
        psql_node(1, "SELECT pg_is_in_recovery()").as_deref(),
        Ok("t"),
        "replica 1 follows it"
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let res = api
            .post(
                "/stock/movements",
                Some(&writer.token),
                &json!({ "store_id": store, "product_id": product, "type": "STOCK_IN", "quantity": 1 }),
            )
            .await;
        if res.status() == 201 {
            expect_json(res, 201).await;
            break;
        }
        assert!(
            Instant::now() < deadline,
            "writes after the switch back: {}",
            res.status()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
