//! No negative stock and no lost update under real concurrency: many clients at once against one
//! app with several HTTP workers and database connections.

use std::{collections::HashSet, sync::Arc, time::Duration};

use rand::{Rng, SeedableRng, rngs::StdRng};
use serde_json::{Value, json};
use tokio::{sync::Semaphore, task::JoinSet};
use uuid::Uuid;

use crate::helpers::{TestApp, movement};

/// Requests open at once. All 1,000 sales are queued together and race for one row; the cap keeps
/// connection heads from waiting past actix's 5 s request-head timeout (408) on a loaded 2-core
/// machine running debug builds, where verifying a token costs milliseconds.
const IN_FLIGHT: usize = 100;

async fn busy_app() -> TestApp {
    let db = Arc::new(inventory_testkit::TestDb::new().await);
    // A thousand requests for one row wait for its lock in turn: on a loaded machine a statement
    // may wait longer than the role's 5 s statement timeout (503, correctly). These tests are
    // about what commits, so their database lets statements wait as long as the pool does.
    let mut conn = db.connect().await;
    diesel_async::RunQueryDsl::execute(
        diesel::sql_query(format!(
            "ALTER ROLE inventory_stock IN DATABASE {} SET statement_timeout = '120s'",
            db.name
        )),
        &mut conn,
    )
    .await
    .expect("statement timeout of the test database");
    TestApp::spawn_on(db, |c| {
        c.service.workers = 4;
        c.service.db_pool_size = 16;
        // A thousand requests queue for sixteen connections: waiting is expected, not an outage.
        c.service.db_pool_timeout = Duration::from_secs(120);
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_thousand_concurrent_sales_never_oversell() {
    let app = Arc::new(busy_app().await);
    let (store, product) = (app.store().await, app.product().await);
    app.stock_in(store, product, 100).await;
    let clerk = Arc::new(app.clerk(&[store]));

    let in_flight = Arc::new(Semaphore::new(IN_FLIGHT));
    let mut tasks = JoinSet::new();
    for i in 0..1000 {
        let (app, clerk, in_flight) = (app.clone(), clerk.clone(), in_flight.clone());
        tasks.spawn(async move {
            let _permit = in_flight.acquire().await.expect("semaphore");
            // Each sale names itself, so that one whose answer the transport lost (a connection
            // reset on this loaded machine) can be looked up in the database, as a till would.
            let reference = format!("sale-{i}");
            let mut body = movement(store, product, "SALE", 1);
            body["reference"] = json!(reference);
            let sent = app
                .request(reqwest::Method::POST, "/stock/movements", Some(&clerk))
                .json(&body)
                .send()
                .await;
            match sent {
                Ok(res) => {
                    let status = res.status().as_u16();
                    let body = res.json::<Value>().await.unwrap_or(Value::Null);
                    (reference, Some((status, body)))
                }
                Err(_) => (reference, None),
            }
        });
    }
    let mut created = HashSet::new();
    let mut unanswered = Vec::new();
    while let Some(result) = tasks.join_next().await {
        match result.expect("task") {
            (reference, Some((201, _))) => {
                created.insert(reference);
            }
            (_, Some((409, body))) => {
                assert_eq!(body["available"], 0, "{body}");
                assert_eq!(
                    body["type"],
                    "https://inventory.dev/problems/insufficient-stock"
                );
            }
            (_, Some((other, body))) => panic!("unexpected status {other}: {body}"),
            (reference, None) => unanswered.push(reference),
        }
    }
    assert!(
        unanswered.len() <= 20,
        "{} of 1,000 sales got no answer",
        unanswered.len()
    );
    // Every acknowledged sale is recorded, and of those nobody heard back from, only recorded ones
    // count: exactly the 100 units there were.
    let recorded: HashSet<String> = app
        .strings(&format!(
            "SELECT reference AS s FROM stock_movements WHERE store_id = '{store}' AND movement_type = 'SALE'"
        ))
        .await
        .into_iter()
        .collect();
    assert!(
        created.is_subset(&recorded),
        "an acknowledged sale is missing"
    );
    let unanswered_recorded = unanswered.iter().filter(|r| recorded.contains(*r)).count();
    assert_eq!(created.len() + unanswered_recorded, 100);
    assert_eq!(app.quantity(store, product).await, 0);
    assert_eq!(app.movement_sum(store, product).await, 0);
    assert_eq!(
        app.scalar(&format!(
            "SELECT count(*) AS n FROM stock_movements WHERE store_id = '{store}' AND movement_type = 'SALE'"
        ))
        .await,
        100
    );
    // Every sale saw a distinct quantity after it: 99, 98, ..., 0.
    assert_eq!(
        app.scalar(&format!(
            "SELECT count(DISTINCT quantity_after) AS n FROM stock_movements WHERE store_id = '{store}' AND movement_type = 'SALE'"
        ))
        .await,
        100
    );
}

/// One random write: a movement, a batch, or a transfer.
fn random_request(rng: &mut StdRng, stores: &[Uuid], products: &[Uuid]) -> (String, Value) {
    let kinds = ["STOCK_IN", "SALE", "SALE", "MANUAL_REMOVE"];
    let line = |rng: &mut StdRng| {
        movement(
            stores[rng.random_range(0..stores.len())],
            products[rng.random_range(0..products.len())],
            kinds[rng.random_range(0..kinds.len())],
            rng.random_range(1..=8),
        )
    };
    match rng.random_range(0..3) {
        0 => ("/stock/movements".into(), line(rng)),
        1 => {
            let n = rng.random_range(2..=6);
            let lines: Vec<Value> = (0..n).map(|_| line(rng)).collect();
            (
                "/stock/movements/batch".into(),
                json!({ "movements": lines }),
            )
        }
        _ => {
            let from = rng.random_range(0..stores.len());
            let to = (from + rng.random_range(1..stores.len())) % stores.len();
            (
                "/stock/transfers".into(),
                json!({
                    "from_store_id": stores[from],
                    "to_store_id": stores[to],
                    "product_id": products[rng.random_range(0..products.len())],
                    "quantity": rng.random_range(1..=8),
                }),
            )
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn random_concurrent_mixes_conserve_stock() {
    let app = Arc::new(busy_app().await);
    let mut stores = Vec::new();
    let mut products = Vec::new();
    for _ in 0..3 {
        stores.push(app.store().await);
        products.push(app.product().await);
    }
    for &s in &stores {
        for &p in &products {
            app.stock_in(s, p, 20).await;
        }
    }
    let clerk = Arc::new(app.clerk(&stores));
    let mut rng = StdRng::seed_from_u64(0x5eed);
    let in_flight = Arc::new(Semaphore::new(IN_FLIGHT));
    let mut tasks = JoinSet::new();
    for _ in 0..400 {
        let (path, body) = random_request(&mut rng, &stores, &products);
        let (app, clerk, in_flight) = (app.clone(), clerk.clone(), in_flight.clone());
        tasks.spawn(async move {
            let _permit = in_flight.acquire().await.expect("semaphore");
            let res = app.post(&path, &clerk, &body).await;
            let status = res.status().as_u16();
            (path, status, res.text().await.unwrap_or_default())
        });
    }
    let mut statuses = HashSet::new();
    // What the clients were told moved, per level: the deltas of every 201's movements.
    let mut told: std::collections::HashMap<(String, String), i64> = Default::default();
    while let Some(result) = tasks.join_next().await {
        let (path, status, body) = result.expect("task");
        assert!(
            status == 201 || status == 409,
            "{path} answered {status}: {body}"
        );
        statuses.insert(status);
        if status == 201 {
            let body: serde_json::Value = serde_json::from_str(&body).expect("a JSON body");
            let movements = match &body["movements"] {
                serde_json::Value::Array(list) => list.clone(),
                _ => vec![body["movement"].clone()],
            };
            for m in movements {
                let level = (m["store_id"].to_string(), m["product_id"].to_string());
                *told.entry(level).or_default() += m["delta"].as_i64().expect("a delta");
            }
        }
    }
    // The mix must have exercised both outcomes to mean anything.
    assert_eq!(statuses.len(), 2, "{statuses:?}");
    for &s in &stores {
        for &p in &products {
            let quantity = app.quantity(s, p).await;
            let key = (format!("\"{s}\""), format!("\"{p}\""));
            let expected = 20 + told.get(&key).copied().unwrap_or(0);
            assert_eq!(
                quantity, expected,
                "level {s}/{p} is what its clients were told"
            );
            assert_eq!(quantity, app.movement_sum(s, p).await, "level {s}/{p}");
        }
    }
    // Each transfer is exactly one TRANSFER_OUT and one TRANSFER_IN of the same size.
    assert_eq!(
        app.scalar(
            "SELECT count(*) AS n FROM (SELECT transfer_id FROM stock_movements WHERE transfer_id IS NOT NULL \
             GROUP BY transfer_id HAVING count(*) <> 2 OR sum(delta) <> 0 \
             OR count(*) FILTER (WHERE movement_type = 'TRANSFER_OUT') <> 1) bad"
        )
        .await,
        0
    );
    // Versions count the changes of each level: no update was lost.
    assert_eq!(
        app.scalar(
            "SELECT count(*) AS n FROM stock_levels l WHERE l.version <> \
             (SELECT count(*) FROM stock_movements m WHERE m.level_id = l.id)"
        )
        .await,
        0
    );
}

/// Polls until a session of this test's database waits for a lock (at most 10 s).
async fn someone_waits_for_a_lock(app: &TestApp) -> bool {
    crate::helpers::eventually(Duration::from_secs(10), || async {
        let n = app
            .scalar(
                "SELECT count(*) AS n FROM pg_stat_activity \
                 WHERE datname = current_database() AND wait_event_type = 'Lock'",
            )
            .await;
        (n > 0).then_some(())
    })
    .await
    .is_some()
}

/// Adds `n` units to a level that exists (in the caller's transaction), as a write would.
async fn add_units(
    conn: &mut diesel_async::AsyncPgConnection,
    store: Uuid,
    product: Uuid,
    n: i64,
) -> inventory_stock::models::levels::StockLevel {
    use diesel::prelude::*;
    use diesel_async::RunQueryDsl;
    use inventory_db::schema::stock_levels::dsl as l;
    use inventory_stock::models::levels::StockLevel;

    diesel::update(
        l::stock_levels
            .filter(l::store_id.eq(store))
            .filter(l::product_id.eq(product)),
    )
    .set((
        l::quantity.eq(l::quantity + n),
        l::version.eq(l::version + 1),
    ))
    .returning(StockLevel::as_returning())
    .get_result(conn)
    .await
    .expect("add units")
}

/// Two transactions expecting a level that does not exist yet: the first creates it empty and
/// locks it, so the second waits for the first and then sees what it did.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_missing_level_is_locked_until_its_creator_commits() {
    use diesel_async::{AsyncConnection, RunQueryDsl};
    use inventory_stock::models::levels;

    let app = busy_app().await;
    let (store, product) = (app.store().await, app.product().await);
    let mut first = app.db.connect().await;
    let mut second = app.db.connect().await;
    diesel::sql_query("BEGIN")
        .execute(&mut first)
        .await
        .expect("begin");
    assert_eq!(
        levels::lock_quantity(&mut first, store, product)
            .await
            .expect("lock"),
        0
    );

    let waiting = tokio::spawn(async move {
        second
            .transaction::<_, diesel::result::Error, _>(async |conn| {
                levels::lock_quantity(conn, store, product).await
            })
            .await
    });
    assert!(
        someone_waits_for_a_lock(&app).await,
        "the second transaction waits for the first"
    );
    assert!(!waiting.is_finished());

    add_units(&mut first, store, product, 5).await;
    diesel::sql_query("COMMIT")
        .execute(&mut first)
        .await
        .expect("commit");
    assert_eq!(
        waiting.await.expect("join").expect("lock"),
        5,
        "then it sees the created level"
    );
}

/// A transaction that checked a missing level (expecting it empty) holds it until it commits: a
/// plain `POST /stock` of the same level — no `expected_quantity` — cannot slip in between the
/// check and the change; it waits, then adds on top.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_plain_stock_in_cannot_slip_between_check_and_change() {
    use diesel_async::RunQueryDsl;
    use inventory_stock::models::levels;

    let app = busy_app().await;
    let (store, product) = (app.store().await, app.product().await);
    let mut checker = app.db.connect().await;
    diesel::sql_query("BEGIN")
        .execute(&mut checker)
        .await
        .expect("begin");
    assert_eq!(
        levels::lock_quantity(&mut checker, store, product)
            .await
            .expect("check"),
        0,
        "the level is missing: it holds 0, as expected"
    );

    let writer = {
        let (client, url, token) = (
            app.api.http.clone(),
            format!("{}/stock", app.api.base),
            app.admin.clone(),
        );
        tokio::spawn(async move {
            let res = client
                .post(url)
                .bearer_auth(token)
                .json(
                    &serde_json::json!({ "store_id": store, "product_id": product, "quantity": 5 }),
                )
                .send()
                .await
                .expect("request");
            let status = res.status().as_u16();
            (status, res.json::<Value>().await.expect("json"))
        })
    };
    // The writer must wait for the checker; before the fix it created the level and returned.
    let waited = crate::helpers::eventually(Duration::from_secs(10), || async {
        if writer.is_finished() {
            return Some(false);
        }
        let n = app
            .scalar(
                "SELECT count(*) AS n FROM pg_stat_activity \
                 WHERE datname = current_database() AND wait_event_type = 'Lock'",
            )
            .await;
        (n > 0).then_some(true)
    })
    .await;
    assert_eq!(
        waited,
        Some(true),
        "the plain writer waits for the transaction that checked the level"
    );

    // The checker applies its change on the quantity it checked, and commits.
    let level = add_units(&mut checker, store, product, 3).await;
    assert_eq!(level.quantity, 3);
    assert!(
        level.was_created(),
        "the empty level becomes version 1 with its first movement"
    );
    diesel::sql_query("COMMIT")
        .execute(&mut checker)
        .await
        .expect("commit");

    let (status, body) = writer.await.expect("join");
    assert_eq!(status, 200, "the level existed by then: {body}");
    assert_eq!(body["quantity"], 8, "added on top of the checked change");
    assert_eq!(app.quantity(store, product).await, 8);
}
