//! Shared by the ledger self-healing binaries (`ledger_flush`, `ledger_aof`, `ledger_ready`):
//! writes running through the gateway, SQL as the stack's superuser, and the checks that the
//! ledger holds every movement exactly once.

#![allow(dead_code)] // each binary uses part of it

use std::{
    process::Command,
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use inventory_e2e::{Api, expect_json, stack::env};
use reqwest::Method;
use serde_json::{Value, json};
use tokio::task::JoinHandle;
use uuid::Uuid;

pub use inventory_e2e::stack::state_dir;

/// The pid in the stack's pid file of `name`.
pub fn pid_of(name: &str) -> String {
    std::fs::read_to_string(state_dir().join(format!("pids/{name}.pid")))
        .expect("pid file")
        .trim()
        .to_owned()
}

/// Runs `sql` as the superuser on the stack's application database; returns psql's unaligned output.
pub fn psql(sql: &str) -> String {
    let url = env("INVENTORY_PG_SUPER_URL");
    let url = format!(
        "{}/inventory",
        url.rsplit_once('/').map_or(url.as_str(), |(base, _)| base)
    );
    let out = Command::new("psql")
        .args(["-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", &url, "-c", sql])
        .output()
        .expect("psql runs");
    assert!(
        out.status.success(),
        "psql failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

fn number(sql: &str) -> i64 {
    psql(sql).parse().expect("a number")
}

/// A plain connection to the stack's Redis.
pub async fn redis() -> redis::aio::MultiplexedConnection {
    redis::Client::open(env("REDIS_URL"))
        .expect("url")
        .get_multiplexed_async_connection()
        .await
        .expect("redis")
}

/// The base URLs of the stack's ledger workers.
pub fn ledger_urls() -> Vec<String> {
    env("INVENTORY_LEDGER_PORTS")
        .split(',')
        .filter(|p| !p.trim().is_empty())
        .map(|p| format!("http://127.0.0.1:{}", p.trim()))
        .collect()
}

/// Clients writing movements through the gateway until stopped, retrying a refused write with its
/// Idempotency-Key as a client would.
pub struct Writers {
    stop: Arc<AtomicBool>,
    pub written: Arc<AtomicUsize>,
    tasks: Vec<JoinHandle<()>>,
}

impl Writers {
    /// `clients` writers, each on its own level (stocked first), alternating stock-ins and sales.
    pub async fn start(api: &Api, admin: &str, clients: usize) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let written = Arc::new(AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for n in 0..clients {
            let (store, product) = api.store_and_product(admin, "LedgerHeal", 100).await;
            expect_json(
                api.post(
                    "/stock",
                    Some(admin),
                    &json!({ "store_id": store, "product_id": product, "quantity": 1_000 }),
                )
                .await,
                201,
            )
            .await;
            let (api, admin) = (Api::new(), admin.to_owned());
            let (stop, written) = (stop.clone(), written.clone());
            tasks.push(tokio::spawn(async move {
                let mut i = 0_usize;
                while !stop.load(Ordering::Relaxed) {
                    let kind = if (i + n).is_multiple_of(2) { "STOCK_IN" } else { "SALE" };
                    let body = json!({ "store_id": store, "product_id": product, "type": kind, "quantity": 1 + i % 3 });
                    write(&api, &admin, &body).await;
                    written.fetch_add(1, Ordering::Relaxed);
                    i += 1;
                }
            }));
        }
        Self {
            stop,
            written,
            tasks,
        }
    }

    /// Waits until `more` further movements were written.
    pub async fn wait_for(&self, more: usize) {
        let target = self.written.load(Ordering::Relaxed) + more;
        let deadline = Instant::now() + Duration::from_secs(60);
        while self.written.load(Ordering::Relaxed) < target {
            assert!(Instant::now() < deadline, "the writers stalled");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Stops the writers; returns how many movements they wrote.
    pub async fn stop(self) -> usize {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.tasks {
            t.await.expect("a writer panicked");
        }
        self.written.load(Ordering::Relaxed)
    }
}

async fn write(api: &Api, admin: &str, body: &Value) {
    let key = Uuid::now_v7().to_string();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let res = api
            .request(Method::POST, "/stock/movements", Some(admin))
            .header("Idempotency-Key", &key)
            .json(body)
            .send()
            .await;
        match res {
            Ok(res) if res.status() == 201 => return,
            Ok(res) => {
                let status = res.status();
                assert!(
                    status.is_server_error() || status == 429,
                    "a write failed for good: {status} {}",
                    res.text().await.unwrap_or_default()
                );
            }
            Err(e) => assert!(Instant::now() < deadline, "writes keep failing: {e}"),
        }
        assert!(Instant::now() < deadline, "writes keep failing");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Polls (up to `within`) until every movement has exactly one ledger entry, every daily row equals
/// the sums of its movements, and every worker's `GET /reconcile` is in sync.
pub async fn assert_ledger_heals(within: Duration) {
    let deadline = Instant::now() + within;
    let client = reqwest::Client::new();
    let mut last = String::new();
    loop {
        let not_once = number(
            "SELECT count(*) FROM stock_movements m \
             WHERE (SELECT count(*) FROM ledger_entries e WHERE e.movement_id = m.id) <> 1",
        );
        let wrong_days = number(
            "WITH mv AS (SELECT store_id, product_id, (created_at AT TIME ZONE 'UTC')::date AS day, \
                 sum(GREATEST(delta, 0)) AS qty_in, sum(GREATEST(-delta, 0)) AS qty_out \
                 FROM stock_movements GROUP BY 1, 2, 3) \
             SELECT count(*) FROM mv FULL OUTER JOIN ledger_daily d \
                 ON d.store_id = mv.store_id AND d.product_id = mv.product_id AND d.day = mv.day \
             WHERE COALESCE(mv.qty_in, 0) <> COALESCE(d.qty_in, 0) \
                OR COALESCE(mv.qty_out, 0) <> COALESCE(d.qty_out, 0)",
        );
        let mut in_sync = not_once == 0 && wrong_days == 0;
        if in_sync {
            for url in ledger_urls() {
                let report: Value = client
                    .get(format!("{url}/reconcile"))
                    .send()
                    .await
                    .expect("reconcile")
                    .json()
                    .await
                    .expect("json");
                if report["in_sync"] != true {
                    in_sync = false;
                    last = report.to_string();
                }
            }
        } else {
            last = format!(
                "{not_once} movement(s) without exactly one entry, {wrong_days} daily row(s) wrong"
            );
        }
        if in_sync {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the ledger did not heal within {within:?}: {last}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// Every worker's `/readyz` status.
pub async fn readiness() -> Vec<u16> {
    let client = reqwest::Client::new();
    let mut statuses = Vec::new();
    for url in ledger_urls() {
        let status = client
            .get(format!("{url}/readyz"))
            .send()
            .await
            .map_or(0, |r| r.status().as_u16());
        statuses.push(status);
    }
    statuses
}

/// Whether the `ledger` group exists on the stream.
pub async fn group_exists() -> bool {
    let mut conn = redis().await;
    let groups: redis::RedisResult<redis::streams::StreamInfoGroupsReply> = redis::cmd("XINFO")
        .arg("GROUPS")
        .arg(inventory_events::STOCK_EVENTS_STREAM)
        .query_async(&mut conn)
        .await;
    groups.is_ok_and(|g| {
        g.groups
            .iter()
            .any(|g| g.name == inventory_events::LEDGER_GROUP)
    })
}
