//! Backups and point-in-time restore (`deploy/local/backup.sh`): a base backup, then writes, then a
//! restore to a time between two of them gives back exactly the state of that time — in PostgreSQL,
//! in the ledger, and through the API (nothing stale from Redis). It stops and restores the whole
//! stack it runs against, so it is its own test binary, run alone against the throwaway test stack.

#![allow(clippy::expect_used, clippy::unwrap_used)] // tests: failing loudly is the point

use std::{
    path::PathBuf,
    process::Command,
    time::{Duration, Instant},
};

use inventory_e2e::{
    Api, expect_json,
    stack::{RestartOnDrop, env, run_script},
};
use inventory_events::STOCK_EVENTS_STREAM;
use serde_json::{Value, json};

use inventory_e2e::stack::state_dir;

/// The superuser's URL of the `inventory` database (stack.env's names the `postgres` database).
fn inventory_db_url() -> String {
    let super_url = env("INVENTORY_PG_SUPER_URL");
    let (server, _) = super_url.rsplit_once('/').expect("a database in the URL");
    format!("{server}/inventory")
}

/// One value from the inventory database, through psql as the superuser.
fn query(sql: &str) -> String {
    let output = Command::new("psql")
        .args([
            "-X",
            "-tA",
            "-v",
            "ON_ERROR_STOP=1",
            "-d",
            &inventory_db_url(),
            "-c",
            sql,
        ])
        .output()
        .expect("psql");
    assert!(
        output.status.success(),
        "psql failed on {sql}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout)
        .expect("utf-8")
        .trim()
        .to_owned()
}

/// Polls `sql` until it answers `expected` (up to 30 s).
async fn until_query(sql: &str, expected: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let got = query(sql);
        if got == expected {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{sql} answered {got}, not {expected}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn sale(api: &Api, admin: &str, store: &str, product: &str, quantity: i64) -> String {
    let body =
        json!({ "store_id": store, "product_id": product, "type": "SALE", "quantity": quantity });
    let res = api.post("/stock/movements", Some(admin), &body).await;
    let created = expect_json(res, 201).await;
    created["movement"]["id"]
        .as_str()
        .expect("movement id")
        .to_owned()
}

async fn movement_ids(api: &Api, admin: &str, store: &str) -> Vec<String> {
    api.store_movements(admin, store)
        .await
        .iter()
        .map(|m| m["id"].as_str().expect("id").to_owned())
        .collect()
}

/// The ledger worker's own reconciliation, as an operator runs it: exit 0 when in sync.
fn reconcile() -> Option<i32> {
    let url = format!(
        "postgres://inventory_ledger:{}@{}:{}/inventory",
        env("INVENTORY_PG_LEDGER_PASSWORD"),
        env("INVENTORY_PG_HOST"),
        env("INVENTORY_PG_PORT")
    );
    Command::new(PathBuf::from(env("INVENTORY_BIN_DIR")).join("inventory-ledger"))
        .arg("reconcile")
        .env("DATABASE_URL", url)
        .output()
        .expect("inventory-ledger reconcile")
        .status
        .code()
}

/// Every instance's `/readyz` answers 200.
async fn all_ready(api: &Api) {
    for svc in ["auth", "catalog", "stock", "ledger"] {
        for port in env(&format!("INVENTORY_{}_PORTS", svc.to_uppercase())).split(',') {
            let url = format!("http://127.0.0.1:{port}/readyz");
            let res = api.http.get(&url).send().await.expect("readyz");
            assert_eq!(res.status(), 200, "{svc} on {port} is not ready");
        }
    }
}

/// Re-encodes every zstd file of the WAL archive as gzip (what releases before zstd archived), as
/// their owner: how many.
fn gzip_the_archive() -> usize {
    let wal = state_dir().join("backups").join("wal");
    let mut done = 0;
    for entry in std::fs::read_dir(&wal).expect("the WAL archive") {
        let path = entry.expect("an archive entry").path();
        if path.extension().is_none_or(|e| e != "zst") {
            continue;
        }
        let status = Command::new("sh")
            .args([
                "-c",
                "zstd -dcq \"$1\" | gzip -1 >\"${1%.zst}.gz\" && chown --reference=\"$1\" \"${1%.zst}.gz\" && rm \"$1\"",
                "sh",
            ])
            .arg(&path)
            .status()
            .expect("sh");
        assert!(status.success(), "gzip {}", path.display());
        done += 1;
    }
    done
}

#[tokio::test]
async fn a_point_in_time_restore_gives_back_exactly_that_moment() {
    let api = Api::new();
    let admin = api.admin_token().await;
    let (store, product) = api.store_and_product(&admin, "Pitr", 250).await;
    let (store, product) = (store.to_string(), product.to_string());
    let stock_in = json!({ "store_id": store, "product_id": product, "quantity": 100 });
    expect_json(api.post("/stock", Some(&admin), &stock_in).await, 201).await;

    run_script(&state_dir(), "backup.sh", &["backup"]).expect("backup");

    // Write 1, then the target time from the database's clock, then write 2, each a moment apart so
    // that their commit times are clearly on either side of it.
    let kept = sale(&api, &admin, &store, &product, 7).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let target = query(
        "SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')",
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    let undone = sale(&api, &admin, &store, &product, 11).await;
    let late_product = expect_json(
        api.post(
            "/products",
            Some(&admin),
            &json!({ "sku": format!("LATE-{undone}"), "name": "Late product", "price_cents": 5 }),
        )
        .await,
        201,
    )
    .await;
    let late_path = format!("/products/{}", late_product["id"].as_str().unwrap());
    // The caches hold the later state, and the ledger has applied it.
    assert_eq!(api.store_quantity(&admin, &store).await, 82);
    expect_json(api.get(&late_path, &admin).await, 200).await;
    until_query(
        &format!("SELECT count(*) FROM ledger_entries WHERE movement_id = '{undone}'"),
        "1",
    )
    .await;

    // Everything archived so far as an earlier release left it (gzipped): the restore replays those
    // and the zstd segment it archives itself last.
    let legacy = gzip_the_archive();
    assert!(legacy > 0, "the archive holds the backup's WAL");

    let guard = RestartOnDrop::new(state_dir());
    run_script(&state_dir(), "backup.sh", &["restore", &target]).expect("restore");
    guard.restart();
    // A new client: the gateway's reload closed the connections the old one keeps for reuse.
    let api = Api::new();

    // The database is exactly as at the target: write 1 there, write 2 and the product gone.
    assert_eq!(
        query(&format!(
            "SELECT string_agg(movement_type || ':' || quantity_after, ',' ORDER BY created_at) \
             FROM stock_movements WHERE store_id = '{store}'"
        )),
        "STOCK_IN:100,SALE:93",
        "the stock-in and write 1"
    );
    assert_eq!(
        query(&format!(
            "SELECT count(*) FROM stock_movements WHERE id = '{undone}'"
        )),
        "0"
    );
    all_ready(&api).await;
    let admin = api.admin_token().await;
    // The API answers the restored state, not what Redis had cached.
    assert_eq!(api.store_quantity(&admin, &store).await, 93);
    let ids = movement_ids(&api, &admin, &store).await;
    assert_eq!(ids.len(), 2, "{ids:?}");
    assert_eq!(ids[0], kept);
    assert!(!ids.contains(&undone));
    let res = api.get(&late_path, &admin).await;
    assert_eq!(res.status(), 404, "the product created after the target");

    // The ledger: one entry per movement of the store, none for the undone one, and in sync.
    until_query(
        &format!(
            "SELECT count(*) FROM stock_movements m JOIN ledger_entries e ON e.movement_id = m.id \
             WHERE m.store_id = '{store}'"
        ),
        "2",
    )
    .await;
    assert_eq!(
        query(&format!(
            "SELECT count(*) FROM ledger_entries WHERE movement_id = '{undone}'"
        )),
        "0"
    );
    // Every movement of the whole database has exactly one entry.
    until_query(
        "SELECT count(*) FROM stock_movements m \
         WHERE (SELECT count(*) FROM ledger_entries e WHERE e.movement_id = m.id) <> 1",
        "0",
    )
    .await;
    let deadline = Instant::now() + Duration::from_secs(30);
    while reconcile() != Some(0) {
        assert!(
            Instant::now() < deadline,
            "the ledger is not in sync after the restore"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let daily = expect_json(
        api.get(&format!("/reports/stores/{store}/daily"), &admin)
            .await,
        200,
    )
    .await;
    let line = daily["items"]
        .as_array()
        .and_then(|items| items.iter().find(|i| i["product_id"] == product.as_str()))
        .cloned()
        .unwrap_or(Value::Null);
    assert_eq!(
        (
            line["in"].as_i64(),
            line["out"].as_i64(),
            line["closing"].as_i64()
        ),
        (Some(100), Some(7), Some(93)),
        "{daily}"
    );

    // The stream was emptied of the undone future: no event of write 2 on it.
    let mut redis = redis::Client::open(env("REDIS_URL"))
        .expect("url")
        .get_multiplexed_async_connection()
        .await
        .expect("redis");
    let entries: redis::streams::StreamRangeReply = redis::cmd("XRANGE")
        .arg(STOCK_EVENTS_STREAM)
        .arg("-")
        .arg("+")
        .query_async(&mut redis)
        .await
        .expect("xrange");
    let undone_events = entries
        .ids
        .iter()
        .filter_map(|e| match e.map.get("payload") {
            Some(redis::Value::BulkString(p)) => inventory_events::StockEvent::from_bytes(p).ok(),
            _ => None,
        })
        .filter(|e| e.movement_id == undone)
        .count();
    assert_eq!(undone_events, 0);

    // Writes work again on the restored state.
    sale(&api, &admin, &store, &product, 3).await;
    assert_eq!(api.store_quantity(&admin, &store).await, 90);
}
