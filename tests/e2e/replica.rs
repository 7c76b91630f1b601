//! Reads from the streaming replica, proven rather than assumed: the replica is made to replay every
//! commit 300 ms late (`recovery_min_apply_delay`, reset at the end), so that a read served by it
//! right after a write would show the old state. Then:
//!
//! 1. reads are served by the replica (the instances' `db_reads_total{pool="replica"}`), and a reader
//!    with no claim to a write does see the replica's older state;
//! 2. 500 write-then-read pairs by one user, each read on another instance than its write, never see
//!    the old value without sending anything; a second user who presents the write's
//!    `Consistency-Token` never does either; a malformed token is a 400 naming the header;
//! 3. a catalog write followed at once by reads from every catalog instance never leaves the old
//!    value in the cache;
//! 4. a replica cut off from its primary (it answers, and has replayed all it received) counts as
//!    behind: within its lag bound a reader without a token sees a write made after the cut;
//! 5. with the replica stopped every read still answers 200 (from the primary), and reads go back to
//!    the replica once it runs again.
//!
//! It changes the replica's settings and stops it: its own binary, run alone.

#![allow(clippy::expect_used, clippy::unwrap_used)] // tests: failing loudly is the point

use std::time::{Duration, Instant};

use inventory_e2e::{
    Api, expect_json,
    replica::{ApplyDelay, CutOff, ports_of, psql_node, reads_from},
    stack::{RestartOnDrop, recorded_pid, stack_up, state_dir},
};
use reqwest::{Client, Method};
use serde_json::{Value, json};
use uuid::Uuid;

const DELAY: &str = "300ms";

fn instance(port: &str, path: &str) -> String {
    format!("http://127.0.0.1:{port}{path}")
}

async fn quantity_at(client: &Client, url: &str, token: &str, consistency: Option<&str>) -> i64 {
    let mut req = client.get(url).bearer_auth(token);
    if let Some(c) = consistency {
        req = req.header("Consistency-Token", c);
    }
    let page = expect_json(req.send().await.expect("read"), 200).await;
    // No level yet is the past too: a replica that has not replayed the level's creation.
    match page["items"].as_array().map(Vec::as_slice) {
        Some([]) => 0,
        _ => page["items"][0]["quantity"].as_i64().expect("a level"),
    }
}

async fn stock_in(
    client: &Client,
    url: &str,
    token: &str,
    store: Uuid,
    product: Uuid,
) -> (i64, String) {
    let res = client
        .post(url)
        .bearer_auth(token)
        .json(
            &json!({ "store_id": store, "product_id": product, "type": "STOCK_IN", "quantity": 1 }),
        )
        .send()
        .await
        .expect("write");
    let token = res
        .headers()
        .get("consistency-token")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .expect("a write answers with a Consistency-Token");
    let body = expect_json(res, 201).await;
    (body["level"]["quantity"].as_i64().expect("quantity"), token)
}

#[tokio::test]
async fn reads_use_the_replica_without_ever_showing_a_writer_the_past() {
    let api = Api::new();
    // Idle connections closed before the services' 5 s keep-alive would close them under a request.
    let client = Client::builder()
        .pool_idle_timeout(Duration::from_secs(2))
        .build()
        .expect("client");
    let admin = api.admin_token().await;
    let stock = ports_of("stock");
    let catalog = ports_of("catalog");
    assert!(
        stock.len() >= 2 && catalog.len() >= 2,
        "two instances of stock and catalog"
    );
    let (store, product) = api.store_and_product(&admin, "Replica", 100).await;
    let writer = api.user("clerk", &[store]).await;
    let reader = api.user("clerk", &[store]).await;
    let observer = api.user("clerk", &[store]).await;
    expect_json(
        api.post(
            "/stock",
            Some(&writer.token),
            &json!({ "store_id": store, "product_id": product, "quantity": 1 }),
        )
        .await,
        201,
    )
    .await;

    // A page after a cursor is never cached: every one is a database read.
    let page_url = |port: &str| instance(port, &format!("/stock/{store}?cursor={}", Uuid::nil()));
    // The observer has nothing to wait for, so the replica may serve it a past without the store
    // (a 404) while it replays the setup: wait until every instance finds the store before delaying.
    let deadline = Instant::now() + Duration::from_secs(30);
    for port in &stock {
        loop {
            let res = client
                .get(page_url(port))
                .bearer_auth(&observer.token)
                .send()
                .await
                .expect("read");
            if res.status().as_u16() == 200 {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "the replica never replayed the store: {}",
                res.status()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    let _delay = ApplyDelay::set(DELAY);

    // 1. Routing: a reader with nothing to wait for is served by the replica, 300 ms in the past.
    let before = reads_from(&client, &stock, "replica").await;
    // Until both are shown, within a bound: right after an idle spell the replica counts as lagging
    // (it has WAL to replay and its last replayed commit is old) and is bypassed for a moment.
    let mut stale_seen = false;
    let mut after = before;
    let deadline = Instant::now() + Duration::from_secs(30);
    for i in 0.. {
        let (written, _) = stock_in(
            &client,
            &instance(&stock[i % stock.len()], "/stock/movements"),
            &writer.token,
            store,
            product,
        )
        .await;
        let seen = quantity_at(
            &client,
            &page_url(&stock[(i + 1) % stock.len()]),
            &observer.token,
            None,
        )
        .await;
        stale_seen |= seen < written;
        after = reads_from(&client, &stock, "replica").await;
        if (stale_seen && after >= before + 10.0) || Instant::now() > deadline {
            break;
        }
    }
    assert!(
        after >= before + 10.0,
        "reads were served by the replica ({before} → {after})"
    );
    assert!(
        stale_seen,
        "the replica replays {DELAY} late: a reader without a token saw the past"
    );

    // 2. Read-your-writes: 500 pairs, the read on another instance than the write.
    let mut own_stale = Vec::new();
    let mut token_stale = Vec::new();
    for i in 0..500 {
        let write_port = &stock[i % stock.len()];
        let read_port = &stock[(i + 1) % stock.len()];
        let (written, token) = stock_in(
            &client,
            &instance(write_port, "/stock/movements"),
            &writer.token,
            store,
            product,
        )
        .await;
        // The writer's first page (cached) and a page after a cursor (from the database).
        let own = quantity_at(
            &client,
            &instance(read_port, &format!("/stock/{store}")),
            &writer.token,
            None,
        )
        .await;
        let own_page = quantity_at(&client, &page_url(read_port), &writer.token, None).await;
        if own.min(own_page) < written {
            own_stale.push((i, written, own, own_page));
        }
        let other = quantity_at(&client, &page_url(write_port), &reader.token, Some(&token)).await;
        if other < written {
            token_stale.push((i, written, other));
        }
    }
    assert!(
        own_stale.is_empty(),
        "the writer saw the past: {own_stale:?}"
    );
    assert!(
        token_stale.is_empty(),
        "a Consistency-Token reader saw the past: {token_stale:?}"
    );
    let res = client
        .get(instance(&stock[0], &format!("/stock/{store}")))
        .bearer_auth(&reader.token)
        .header("Consistency-Token", "not-a-token")
        .send()
        .await
        .expect("read");
    let problem = expect_json(res, 400).await;
    assert_eq!(
        problem["errors"][0]["field"], "Consistency-Token",
        "{problem}"
    );

    // 3. The cache never learns the past: rename the product again and again, each time reading it
    // at once from every catalog instance (as users who did not write), then look in Redis.
    let mut redis = redis::Client::open(inventory_e2e::stack::env("REDIS_URL"))
        .expect("redis url")
        .get_multiplexed_async_connection()
        .await
        .expect("redis");
    let key = format!("product:{product}");
    for round in 0..20 {
        let name = format!("renamed {round}");
        let res = api
            .request(Method::PUT, &format!("/products/{product}"), Some(&admin))
            .json(&json!({ "sku": format!("REPLICA-{product}"), "name": name, "price_cents": 100 }))
            .send()
            .await
            .expect("put");
        expect_json(res, 200).await;
        let reads = catalog.iter().flat_map(|port| {
            [&observer, &reader].map(|user| {
                client
                    .get(instance(port, &format!("/products/{product}")))
                    .bearer_auth(&user.token)
                    .send()
            })
        });
        for res in futures_join(reads).await {
            assert_eq!(res.status(), 200);
        }
        let cached: Vec<String> = redis::cmd("HVALS")
            .arg(&key)
            .query_async(&mut redis)
            .await
            .expect("hvals");
        for value in &cached {
            // Stored as `<etag>\n<json>` (inventory_common::cache::Rendered).
            let json = value
                .split_once('\n')
                .map_or(value.as_str(), |(_, json)| json);
            let view: Value = serde_json::from_str(json).expect("cached json");
            assert_eq!(
                view["name"], name,
                "round {round}: the cache holds an old value: {value}"
            );
        }
    }

    // 4. Cut off from the primary, the replica still answers and has replayed all it received: it
    // must count as behind (bypassed) once the primary has moved on for longer than the bound
    // (INVENTORY_PG_READ_MAX_LAG_MS, 1 s in the test stack), or readers see the past for good.
    {
        let _cut = CutOff::start();
        let (written, _) = stock_in(
            &client,
            &instance(&stock[0], "/stock/movements"),
            &writer.token,
            store,
            product,
        )
        .await;
        tokio::time::sleep(Duration::from_millis(1_800)).await;
        for port in &stock {
            let seen = quantity_at(&client, &page_url(port), &observer.token, None).await;
            assert_eq!(
                seen, written,
                "instance {port} served a reader from a replica cut off from its primary"
            );
            let lag: f64 = inventory_e2e::metrics_text(&client, port)
                .await
                .lines()
                .find_map(|l| l.strip_prefix("db_replica_lag_seconds "))
                .and_then(|v| v.trim().parse().ok())
                .expect("db_replica_lag_seconds");
            assert!(lag > 1.0, "instance {port} reports a lag of {lag} s");
        }
    }

    // 5. The replica stopped: reads answer 200 from the primary; back on the replica when it returns.
    let guard = RestartOnDrop::new(state_dir());
    let pid = recorded_pid(&state_dir(), "replica-1");
    assert!(
        std::process::Command::new("kill")
            .args(["-INT", &pid.to_string()])
            .status()
            .expect("kill")
            .success()
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    while psql_node(1, "SELECT 1").is_ok() {
        assert!(Instant::now() < deadline, "the replica did not stop");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let down = reads_from(&client, &stock, "replica").await;
    for i in 0..40 {
        let res = client
            .get(page_url(&stock[i % stock.len()]))
            .bearer_auth(&observer.token)
            .send()
            .await
            .expect("read");
        assert_eq!(res.status(), 200, "a read with the replica down");
    }
    guard.disarm();
    stack_up(&state_dir()).expect("stack.sh up starts the replica again");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let res = client
            .get(page_url(&stock[0]))
            .bearer_auth(&observer.token)
            .send()
            .await
            .expect("read");
        assert_eq!(res.status(), 200);
        if reads_from(&client, &stock, "replica").await > down + 1.0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "reads did not go back to the replica"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Runs the requests at once (each spawned before any answer is awaited) and returns the answers.
async fn futures_join<F>(futures: impl Iterator<Item = F>) -> Vec<reqwest::Response>
where
    F: std::future::Future<Output = reqwest::Result<reqwest::Response>> + Send + 'static,
{
    let handles: Vec<_> = futures.map(tokio::spawn).collect();
    let mut out = Vec::with_capacity(handles.len());
    for handle in handles {
        out.push(handle.await.expect("task").expect("request"));
    }
    out
}
