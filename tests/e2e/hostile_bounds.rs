//! A hostile client cannot grow the servers' memory: invented methods add no metric series (the
//! gateway refuses them, and a service labels them `OTHER`), invented cursors and searches leave
//! Redis's key count and memory bounded and the event stream intact, and a wrong-password flood
//! for `admin` from one address does not keep the admin out from another.
//!
//! Client addresses: the gateway sets `X-Forwarded-For` from the TCP peer, so the floods here come
//! from their own loopback source addresses (127.0.0.2 and up, bound with reqwest's
//! `local_address`), apart from the 127.0.0.1 of the other tests.
//!
//! Its own test binary: the 10,000-request flood would otherwise slow every test running beside it.

#![allow(clippy::expect_used, clippy::unwrap_used)] // tests: failing loudly is the point

use std::{
    collections::BTreeSet,
    net::{IpAddr, Ipv4Addr},
    sync::Arc,
};

use inventory_e2e::{Api, expect_json};
use inventory_testkit::http::TestClient;
use reqwest::{Client, Method};
use serde_json::json;
use tokio::sync::Semaphore;
use uuid::Uuid;

const STANDARD_METHODS: [&str; 7] = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];
const MAX_FIELDS: usize = inventory_common::cache::MAX_FIELDS_PER_KEY;

/// A client whose requests come from `127.0.0.<last>`.
fn client_from(last: u8) -> Client {
    Client::builder()
        .local_address(IpAddr::V4(Ipv4Addr::new(127, 0, 0, last)))
        .pool_max_idle_per_host(64)
        // Shorter than the services' 5 s keep-alive, so a pooled connection is never reused just as
        // the server closes it.
        .pool_idle_timeout(std::time::Duration::from_secs(2))
        .build()
        .expect("client")
}

/// A random method token the API does not use: 3 to 12 upper-case letters.
fn invented_method() -> String {
    let bytes = Uuid::new_v4().into_bytes();
    let len = 3 + usize::from(bytes[0]) % 10;
    let method: String = bytes[1..=len]
        .iter()
        .map(|b| char::from(b'A' + b % 26))
        .collect();
    if STANDARD_METHODS.contains(&method.as_str()) {
        "QWERTYUIOP".to_owned()
    } else {
        method
    }
}

fn instance_ports() -> Vec<String> {
    ["AUTH", "CATALOG", "STOCK"]
        .iter()
        .flat_map(|service| {
            std::env::var(format!("INVENTORY_{service}_PORTS"))
                .expect("INVENTORY_*_PORTS")
                .split(',')
                .map(str::to_owned)
                .collect::<Vec<_>>()
        })
        .collect()
}

/// The `http_*` series of an instance whose method is not one of the API's: with the labels
/// normalised that is only `OTHER`, once per route and status.
async fn non_standard_series(client: &Client, port: &str) -> BTreeSet<String> {
    let text = inventory_e2e::metrics_text(client, port).await;
    text.lines()
        .filter(|l| l.starts_with("http_"))
        .filter_map(|l| l.rsplit_once(' ').map(|(series, _)| series.to_owned()))
        .filter(|series| {
            !STANDARD_METHODS
                .iter()
                .any(|m| series.contains(&format!("method=\"{m}\"")))
        })
        .collect()
}

#[tokio::test]
async fn invented_methods_add_no_metric_series_on_any_instance() {
    let client = client_from(1);
    let ports = instance_ports();
    let paths = |id: Uuid| {
        [
            "/products".to_owned(),
            format!("/products/{id}"),
            "/stores".to_owned(),
            format!("/stock/{id}"),
            "/auth/login".to_owned(),
            format!("/no-such-path-{}", id.simple()),
        ]
    };
    // Each instance has met an invented method on each route once (the series `OTHER` may have).
    for port in &ports {
        for path in paths(Uuid::new_v4()) {
            client
                .request(
                    Method::from_bytes(b"WARMUP").expect("token"),
                    format!("http://127.0.0.1:{port}{path}"),
                )
                .send()
                .await
                .expect("request");
        }
    }
    let mut before = Vec::new();
    for port in &ports {
        before.push(non_standard_series(&client, port).await);
    }

    let api = Api::new();
    let gate = Arc::new(Semaphore::new(16));
    let mut requests = tokio::task::JoinSet::new();
    for i in 0..1000 {
        let (api, gate) = (api.clone(), gate.clone());
        let path = paths(Uuid::new_v4())[i % 6].clone();
        requests.spawn(async move {
            let _permit = gate.acquire().await.expect("semaphore");
            let method = invented_method();
            let res = api
                .request(
                    Method::from_bytes(method.as_bytes()).expect("token"),
                    &path,
                    None,
                )
                .send()
                .await
                .expect("request");
            let allow = res.headers().get("allow").cloned();
            let body = expect_json(res, 405).await;
            assert_eq!(body["status"], 405, "{method} {path}");
            assert_eq!(
                allow.expect("Allow on a 405"),
                "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS"
            );
        });
    }
    // And straight to the instances, past the gateway: labelled `OTHER`, not by their name.
    for port in ports.clone() {
        for path in paths(Uuid::new_v4()) {
            let (client, port) = (client.clone(), port.clone());
            requests.spawn(async move {
                let method = invented_method();
                client
                    .request(
                        Method::from_bytes(method.as_bytes()).expect("token"),
                        format!("http://127.0.0.1:{port}{path}"),
                    )
                    .send()
                    .await
                    .expect("request");
            });
        }
    }
    requests.join_all().await;

    for (port, before) in ports.iter().zip(before) {
        let after = non_standard_series(&client, port).await;
        assert_eq!(
            after,
            before,
            "the series of instance {port} changed: {:?}",
            after.symmetric_difference(&before).collect::<Vec<_>>()
        );
        assert!(
            after.iter().all(|s| s.contains("method=\"OTHER\"")),
            "{after:?}"
        );
    }
}

/// Runs a Redis command on the stack's Redis (the stream's, when it has one of its own).
async fn redis_of(url_var: &str) -> redis::aio::MultiplexedConnection {
    let url = std::env::var(url_var)
        .ok()
        .filter(|u| !u.is_empty())
        .unwrap_or_else(|| std::env::var("REDIS_URL").expect("REDIS_URL"));
    redis::Client::open(url)
        .expect("redis url")
        .get_multiplexed_async_connection()
        .await
        .expect("redis")
}

async fn used_memory(redis: &mut redis::aio::MultiplexedConnection) -> i64 {
    let info: String = redis::cmd("INFO")
        .arg("memory")
        .query_async(redis)
        .await
        .expect("INFO");
    info.lines()
        .find_map(|l| l.strip_prefix("used_memory:"))
        .and_then(|v| v.trim().parse().ok())
        .expect("used_memory")
}

async fn hlen(redis: &mut redis::aio::MultiplexedConnection, key: &str) -> usize {
    redis::cmd("HLEN")
        .arg(key)
        .query_async(redis)
        .await
        .expect("HLEN")
}

#[tokio::test]
async fn invented_cursors_and_searches_leave_redis_bounded_and_the_stream_intact() {
    let api = Api::new();
    let admin = api.admin_token().await;
    let (store, _) = api.store_and_product(&admin, "bounds", 100).await;
    // A user of its own, so that its per-user service limit is nobody else's.
    let reader = api.user("manager", &[store]).await;
    let mut redis = redis_of("REDIS_URL").await;
    let mut stream = redis_of("REDIS_STREAM_URL").await;
    // Entries ever added: the workers trim what every group consumed, but this never goes down
    // unless the stream itself is lost (evicted).
    let added = |stream: &mut redis::aio::MultiplexedConnection| {
        let mut stream = stream.clone();
        async move {
            let info: std::collections::HashMap<String, redis::Value> = redis::cmd("XINFO")
                .arg("STREAM")
                .arg("inventory.stock-events")
                .query_async(&mut stream)
                .await
                .expect("XINFO STREAM");
            match info.get("entries-added") {
                Some(redis::Value::Int(n)) => *n,
                other => panic!("entries-added: {other:?}"),
            }
        }
    };
    let keys_before: i64 = redis::cmd("DBSIZE")
        .query_async(&mut redis)
        .await
        .expect("DBSIZE");
    let memory_before = used_memory(&mut redis).await;
    let stream_before = added(&mut stream).await;

    let flood = Api {
        client: TestClient {
            base: api.base.clone(),
            http: client_from(4),
        },
    };
    // Sixteen at a time: the services' CPU is the limit, more would only starve the tests running
    // beside this one.
    let gate = Arc::new(Semaphore::new(16));
    let mut requests = tokio::task::JoinSet::new();
    let started = std::time::Instant::now();
    for i in 0..10_000u32 {
        let (flood, gate, token) = (flood.clone(), gate.clone(), reader.token.clone());
        requests.spawn(async move {
            let _permit = gate.acquire().await.expect("semaphore");
            let invented = Uuid::new_v4();
            let path = match i % 4 {
                0 => format!("/products?limit=10&cursor={invented}"),
                1 => format!(
                    "/products?limit=10&q={}-{}",
                    invented.simple(),
                    invented.simple()
                ),
                2 => format!("/stores?limit=10&cursor={invented}"),
                _ => format!("/stock/{store}?limit=10&cursor={invented}&product_id={invented}"),
            };
            let res = flood.get(&path, &token).await;
            let status = res.status().as_u16();
            // 429 and 503 are the services protecting themselves on a busy machine.
            assert!(matches!(status, 200 | 429 | 503), "{path}: {status}");
            status
        });
    }
    let statuses = requests.join_all().await;
    let elapsed = started.elapsed();
    let served = statuses.iter().filter(|s| **s == 200).count();
    assert!(served > 5_000, "only {served} of 10,000 were served");

    let keys_after: i64 = redis::cmd("DBSIZE")
        .query_async(&mut redis)
        .await
        .expect("DBSIZE");
    let memory_after = used_memory(&mut redis).await;
    let stream_after = added(&mut stream).await;
    println!(
        "10,000 requests in {elapsed:?} ({served} served); keys {keys_before} → {keys_after}, \
         used_memory {memory_before} → {memory_after}, entries added to the stream {stream_before} → {stream_after}"
    );
    for key in [
        "products:all".to_owned(),
        "products:search".to_owned(),
        "stores:all".to_owned(),
        format!("stock:store:{store}"),
    ] {
        let fields = hlen(&mut redis, &key).await;
        assert!(fields <= MAX_FIELDS, "{key} holds {fields} variants");
    }
    // The other tests running beside this one add keys and memory of their own: the bound is
    // generous for them and far below what 10,000 cached variants take.
    assert!(
        keys_after - keys_before < 1_000,
        "keys {keys_before} → {keys_after}"
    );
    assert!(
        memory_after - memory_before < 1024 * 1024,
        "used_memory {memory_before} → {memory_after}"
    );
    assert!(
        stream_after >= stream_before,
        "the stream was evicted: entries added {stream_before} → {stream_after}"
    );
}

#[tokio::test]
async fn the_admin_logs_in_during_a_wrong_password_flood_from_another_address() {
    let api = Api::new();
    let admin_username = std::env::var("INVENTORY_ADMIN_USERNAME").expect("admin username");
    let admin_password = std::env::var("INVENTORY_ADMIN_PASSWORD").expect("admin password");
    let attacker = Api {
        client: TestClient {
            base: api.base.clone(),
            http: client_from(2),
        },
    };
    let owner = Api {
        client: TestClient {
            base: api.base.clone(),
            http: client_from(3),
        },
    };
    let gate = Arc::new(Semaphore::new(8));
    let mut flood = tokio::task::JoinSet::new();
    for _ in 0..300 {
        let (attacker, gate, username) = (attacker.clone(), gate.clone(), admin_username.clone());
        flood.spawn(async move {
            let _permit = gate.acquire().await.expect("semaphore");
            let res = attacker
                .post(
                    "/auth/login",
                    None,
                    &json!({ "username": username, "password": "not the password" }),
                )
                .await;
            res.status().as_u16()
        });
    }
    // While the flood runs, and after it, the admin logs in from its own address.
    for _ in 0..5 {
        owner_logs_in(&owner, &admin_username, &admin_password).await;
    }
    let statuses = flood.join_all().await;
    assert!(
        statuses.iter().all(|s| matches!(s, 401 | 429 | 503)),
        "the flood got only refusals: {statuses:?}"
    );
    assert!(statuses.contains(&401), "the flood reached the service");
    owner_logs_in(&owner, &admin_username, &admin_password).await;
}

/// Logs in with the right password: 200, or — on an overloaded machine — 503 then 200 on a retry,
/// but never a 401 or 429.
async fn owner_logs_in(owner: &Api, username: &str, password: &str) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let res = owner
            .post(
                "/auth/login",
                None,
                &json!({ "username": username, "password": password }),
            )
            .await;
        match res.status().as_u16() {
            200 => return,
            503 if std::time::Instant::now() < deadline => {
                tokio::time::sleep(std::time::Duration::from_millis(200)).await;
            }
            other => panic!(
                "the admin was refused from its own address: {other} {}",
                res.text().await.unwrap_or_default()
            ),
        }
    }
}
