//! The outbox: one event per movement on the stream, and a backlog that survives a Redis outage.

use std::{
    collections::{HashMap, HashSet},
    sync::Arc,
    time::Duration,
};

use diesel_async::SimpleAsyncConnection;
use inventory_events::{MovementType, StockEvent};
use reqwest::Method;
use serde_json::json;

use inventory_stock::models::outbox;

use crate::helpers::{StreamEvent, TestApp, eventually, expect_json, generic_plan, movement};

/// Waits until the stream holds an event for every movement in the database; returns the entries.
async fn stream_covering_movements(app: &TestApp) -> Vec<StreamEvent> {
    let expected: HashSet<String> = app
        .movement_ids()
        .await
        .into_iter()
        .map(|(id, _)| id.to_string())
        .collect();
    eventually(Duration::from_secs(30), || async {
        let events = app.stream_events().await;
        let seen: HashSet<String> = events.iter().map(|e| e.event.movement_id.clone()).collect();
        (seen == expected).then_some(events)
    })
    .await
    .expect("every movement reaches the stream")
}

/// Exactly one event per movement once entries are deduplicated by event id.
fn assert_once_per_movement(events: &[StreamEvent]) -> HashMap<String, StockEvent> {
    let mut by_event: HashMap<String, StockEvent> = HashMap::new();
    for e in events {
        assert_eq!(
            e.event_id, e.event.event_id,
            "entry field and payload agree"
        );
        by_event.insert(e.event_id.clone(), e.event.clone());
    }
    let mut by_movement: HashMap<String, StockEvent> = HashMap::new();
    for event in by_event.into_values() {
        let previous = by_movement.insert(event.movement_id.clone(), event);
        assert!(previous.is_none(), "two distinct events for one movement");
    }
    by_movement
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_movement_is_published_once() {
    let app = TestApp::spawn().await;
    let (a, b, p) = (app.store().await, app.store().await, app.product().await);
    app.stock_in(a, p, 10).await;
    let traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
    let res = app
        .request(Method::POST, "/stock/movements", Some(&app.admin))
        .header("traceparent", traceparent)
        .json(&json!({ "store_id": a, "product_id": p, "type": "SALE", "quantity": 3, "reason": "walk-in", "reference": "R-9" }))
        .send()
        .await
        .expect("request");
    let sale = expect_json(res, 201).await;
    expect_json(
        app.post(
            "/stock/transfers",
            &app.admin,
            &json!({ "from_store_id": a, "to_store_id": b, "product_id": p, "quantity": 2 }),
        )
        .await,
        201,
    )
    .await;
    expect_json(
        app.post("/stock/movements/batch", &app.admin, &json!({ "movements": [movement(b, p, "SALE", 1), movement(a, p, "MANUAL_REMOVE", 1)] })).await,
        201,
    )
    .await;
    let level_id = sale["level"]["id"].as_str().expect("id");
    expect_json(
        app.put(
            &format!("/stock/{level_id}"),
            &app.admin,
            &json!({ "quantity": 10, "reorder_level": 2 }),
        )
        .await,
        200,
    )
    .await;

    let events = stream_covering_movements(&app).await;
    let by_movement = assert_once_per_movement(&events);
    assert_eq!(by_movement.len(), app.movement_ids().await.len());
    assert_eq!(
        app.scalar("SELECT count(*) AS n FROM outbox").await,
        0,
        "published rows are removed"
    );

    let sale_event = &by_movement[sale["movement"]["id"].as_str().expect("id")];
    assert_eq!(sale_event.movement_type(), MovementType::Sale);
    assert_eq!(
        (
            sale_event.quantity,
            sale_event.delta,
            sale_event.quantity_after
        ),
        (3, -3, 7)
    );
    assert_eq!(sale_event.store_id, a.to_string());
    assert_eq!(sale_event.product_id, p.to_string());
    assert_eq!(sale_event.level_id, level_id);
    assert_eq!(sale_event.user_id, app.admin_id.to_string());
    assert_eq!(
        (sale_event.reason.as_str(), sale_event.reference.as_str()),
        ("walk-in", "R-9")
    );
    assert_eq!(sale_event.traceparent, traceparent);
    assert!(!sale_event.request_id.is_empty());
    assert!(sale_event.occurred_at_micros > 0);
    let entry = events
        .iter()
        .find(|e| e.event.movement_id == sale_event.movement_id)
        .expect("entry");
    assert_eq!(
        (entry.kind.as_str(), entry.traceparent.as_str()),
        ("SALE", traceparent)
    );

    // Per level, versions count up by one in the order of the changes, and quantities follow.
    let mut of_level: Vec<&StockEvent> = by_movement
        .values()
        .filter(|e| e.level_id == level_id)
        .collect();
    of_level.sort_by_key(|e| e.level_version);
    let versions: Vec<i64> = of_level.iter().map(|e| e.level_version).collect();
    assert_eq!(versions, (1..=of_level.len() as i64).collect::<Vec<_>>());
    for pair in of_level.windows(2) {
        assert_eq!(
            pair[0].quantity_after + pair[1].delta,
            pair[1].quantity_after
        );
    }
    // The count (10 after 4) was a STOCK_IN of 6 with reason `count`.
    let last = of_level.last().expect("events");
    assert_eq!(
        (last.movement_type(), last.delta, last.reason.as_str()),
        (MovementType::StockIn, 6, "count")
    );
    // Transfer halves share their transfer id.
    let transfer: Vec<&StockEvent> = by_movement
        .values()
        .filter(|e| !e.transfer_id.is_empty())
        .collect();
    assert_eq!(transfer.len(), 2);
    assert_eq!(transfer[0].transfer_id, transfer[1].transfer_id);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_backlog_is_published_when_redis_is_back() {
    let db = Arc::new(inventory_testkit::TestDb::new().await);
    // Nothing listens on port 1: this instance's Redis is down for its whole life.
    let cut_off = TestApp::spawn_on(db.clone(), |c| {
        c.service.redis_url = "redis://127.0.0.1:1".into()
    })
    .await;
    let (s, p) = (cut_off.store().await, cut_off.product().await);
    expect_json(
        cut_off
            .post(
                "/stock",
                &cut_off.admin,
                &json!({ "store_id": s, "product_id": p, "quantity": 20 }),
            )
            .await,
        201,
    )
    .await;
    for _ in 0..5 {
        expect_json(
            cut_off
                .post(
                    "/stock/movements",
                    &cut_off.admin,
                    &movement(s, p, "SALE", 2),
                )
                .await,
            201,
        )
        .await;
    }
    // Writes succeeded and reads still work (from the database).
    let page = expect_json(
        cut_off.get(&format!("/stock/{s}"), &cut_off.admin).await,
        200,
    )
    .await;
    assert_eq!(page["items"][0]["quantity"], 10);
    let payloads = cut_off.outbox_payloads().await;
    assert_eq!(payloads.len(), 6, "every event waits in the outbox");
    let queued: HashSet<String> = payloads
        .iter()
        .map(|b| StockEvent::from_bytes(b).expect("payload").movement_id)
        .collect();
    let movements: HashSet<String> = cut_off
        .movement_ids()
        .await
        .into_iter()
        .map(|(id, _)| id.to_string())
        .collect();
    assert_eq!(queued, movements);
    assert!(cut_off.stream_events().await.is_empty());
    // A relay of the release before migration 000015 read `payload` as the whole event: rows queued
    // in parts make its lease fail (they wait for a relay that appends the level's fields), rather
    // than be published without them.
    #[derive(diesel::QueryableByName)]
    #[allow(dead_code)] // only decoded
    struct PreviousReleaseRow {
        #[diesel(sql_type = diesel::sql_types::Bytea)]
        payload: Vec<u8>,
    }
    let previous = diesel_async::RunQueryDsl::load::<PreviousReleaseRow>(
        diesel::sql_query("SELECT payload FROM outbox ORDER BY seq"),
        &mut cut_off.db.connect().await,
    )
    .await;
    assert!(
        previous.is_err(),
        "a relay that reads only `payload` cannot take these rows"
    );

    // An instance that reaches Redis drains the backlog.
    let healthy = TestApp::spawn_on(db, |_| {}).await;
    let events = stream_covering_movements(&healthy).await;
    assert_eq!(assert_once_per_movement(&events).len(), 6);
    let drained = eventually(Duration::from_secs(30), || async {
        (healthy.scalar("SELECT count(*) AS n FROM outbox").await == 0).then_some(())
    })
    .await;
    assert!(drained.is_some(), "the outbox drains");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rows_leased_by_a_dead_relay_are_published_when_the_lease_runs_out() {
    let db = Arc::new(inventory_testkit::TestDb::new().await);
    let cut_off = TestApp::spawn_on(db.clone(), |c| {
        c.service.redis_url = "redis://127.0.0.1:1".into()
    })
    .await;
    let (s, p) = (cut_off.store().await, cut_off.product().await);
    cut_off.stock_in(s, p, 5).await;
    expect_json(
        cut_off
            .post(
                "/stock/movements",
                &cut_off.admin,
                &movement(s, p, "SALE", 1),
            )
            .await,
        201,
    )
    .await;
    // A relay leased them and died: its lease still runs for an hour.
    cut_off
        .exec("UPDATE outbox SET claimed_until = now() + interval '1 hour'")
        .await;

    let healthy = TestApp::spawn_on(db, |_| {}).await;
    // A movement through the healthy instance: once its event is on the stream, its relay has
    // claimed past the leased rows (one claim takes the oldest free rows, up to a batch), so what
    // the stream holds then proves the leased rows were left alone.
    expect_json(
        healthy
            .post(
                "/stock/movements",
                &healthy.admin,
                &movement(s, p, "SALE", 1),
            )
            .await,
        201,
    )
    .await;
    let published = eventually(Duration::from_secs(30), || async {
        let events = healthy.stream_events().await;
        (!events.is_empty()).then_some(events)
    })
    .await
    .expect("the healthy relay publishes its own event");
    assert_eq!(
        published.len(),
        1,
        "leased rows are left alone: {published:?}"
    );
    assert_eq!(healthy.scalar("SELECT count(*) AS n FROM outbox").await, 2);

    cut_off
        .exec("UPDATE outbox SET claimed_until = now() - interval '1 second'")
        .await;
    let events = stream_covering_movements(&healthy).await;
    assert_eq!(assert_once_per_movement(&events).len(), 3);
    let drained = eventually(Duration::from_secs(30), || async {
        (healthy.scalar("SELECT count(*) AS n FROM outbox").await == 0).then_some(())
    })
    .await;
    assert!(drained.is_some(), "the outbox drains");
}

/// A relay's rounds start after the rows it took a moment ago, not from the first row: a row whose
/// transaction commits after newer rows were published (a batch held up by a locked level) is
/// below that start, and the sweep from the first row publishes it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_row_committed_after_newer_ones_were_published_is_published_too() {
    let db = Arc::new(inventory_testkit::TestDb::new().await);
    let app = TestApp::spawn_on(db.clone(), |_| {}).await;
    let s = app.store().await;
    let (p, q, r) = (
        app.product().await,
        app.product().await,
        app.product().await,
    );
    for product in [p, q, r] {
        app.stock_in(s, product, 10).await;
    }
    let outbox_empty =
        || async { (app.scalar("SELECT count(*) AS n FROM outbox").await == 0).then_some(()) };
    assert!(
        eventually(Duration::from_secs(30), outbox_empty)
            .await
            .is_some()
    );

    // Another session holds q's level: the batch writes its line of p (and that line's outbox row,
    // taking the next key) and then waits for q.
    let mut holder = db.connect().await;
    holder
        .batch_execute(&format!(
            "BEGIN; SELECT 1 FROM stock_levels WHERE store_id = '{s}' AND product_id = '{q}' FOR UPDATE"
        ))
        .await
        .expect("lock q's level");
    let batch = json!({ "movements": [movement(s, p, "SALE", 1), movement(s, q, "SALE", 1)] });
    let held_up = async {
        let waiting = eventually(Duration::from_secs(30), || async {
            let sql = "SELECT count(*) AS n FROM pg_stat_activity \
                       WHERE datname = current_database() AND wait_event_type = 'Lock'";
            (app.scalar(sql).await > 0).then_some(())
        })
        .await;
        assert!(waiting.is_some(), "the batch waits for q's level");
        // Newer rows are published meanwhile, twice, the second time more than the trail after the
        // first: the relay's rounds now start above the batch's first row.
        for _ in 0..2 {
            expect_json(
                app.post("/stock/movements", &app.admin, &movement(s, r, "SALE", 1))
                    .await,
                201,
            )
            .await;
            assert!(
                eventually(Duration::from_secs(30), outbox_empty)
                    .await
                    .is_some()
            );
            tokio::time::sleep(Duration::from_millis(400)).await;
        }
        holder
            .batch_execute("COMMIT")
            .await
            .expect("release q's level");
    };
    let (answer, ()) = tokio::join!(
        app.post("/stock/movements/batch", &app.admin, &batch),
        held_up
    );
    expect_json(answer, 201).await;

    let events = stream_covering_movements(&app).await;
    assert_eq!(assert_once_per_movement(&events).len(), 7);
    assert!(
        eventually(Duration::from_secs(30), outbox_empty)
            .await
            .is_some(),
        "the outbox drains"
    );
}

/// A movement of one level is one statement that queues the event the service encoded with the
/// level's fields beside it, and the relay publishes them as one event: it decodes to exactly what
/// the movement and level say, also for values that take several bytes to encode.
#[tokio::test]
async fn a_one_statement_movement_publishes_the_whole_event() {
    let app = TestApp::spawn().await;
    let (s, p) = (app.store().await, app.product().await);
    let stock_in = expect_json(
        app.post(
            "/stock/movements",
            &app.admin,
            &movement(s, p, "STOCK_IN", 1_000_000_000),
        )
        .await,
        201,
    )
    .await;
    let level_id = stock_in["level"]["id"].as_str().expect("id").to_owned();
    expect_json(
        app.put(
            &format!("/stock/{level_id}"),
            &app.admin,
            &json!({ "quantity": 999_999_000, "reorder_level": 300 }),
        )
        .await,
        200,
    )
    .await;
    let sale = expect_json(
        app.post("/stock/movements", &app.admin, &json!({ "store_id": s, "product_id": p, "type": "SALE", "quantity": 129, "reason": "walk-in" }))
            .await,
        201,
    )
    .await;

    let events = stream_covering_movements(&app).await;
    let by_movement = assert_once_per_movement(&events);
    for (body, kind, quantity, delta, after, version, reorder) in [
        (
            &stock_in,
            MovementType::StockIn,
            1_000_000_000,
            1_000_000_000,
            1_000_000_000,
            1,
            0,
        ),
        (&sale, MovementType::Sale, 129, -129, 999_998_871, 3, 300),
    ] {
        let movement_id = body["movement"]["id"].as_str().expect("id");
        let event = &by_movement[movement_id];
        assert_eq!(event.movement_type(), kind);
        assert_eq!(event.movement_id, movement_id);
        assert_eq!(event.level_id, level_id);
        assert_eq!(event.store_id, s.to_string());
        assert_eq!(event.product_id, p.to_string());
        assert_eq!((event.quantity, event.delta), (quantity, delta));
        assert_eq!(
            (
                event.quantity_after,
                event.level_version,
                event.reorder_level
            ),
            (after, version, reorder)
        );
        assert_eq!(body["movement"]["quantity_after"], after);
        assert_eq!(body["level"]["quantity"], after);
        assert_eq!(event.user_id, app.admin_id.to_string());
        assert_eq!(
            event.occurred_at_micros,
            chrono::DateTime::parse_from_rfc3339(
                body["movement"]["created_at"].as_str().expect("time")
            )
            .expect("time")
            .timestamp_micros()
        );
    }
    assert_eq!(
        by_movement[sale["movement"]["id"].as_str().expect("id")].reason,
        "walk-in"
    );
}

/// The database's `protobuf_varint`, with which migration 000015's down step (and
/// [`TestApp::outbox_payloads`]) puts an event queued in parts together, is byte for byte what
/// prost writes, at every length from one byte to nine (the largest quantity, version or reorder
/// level a level can hold).
#[tokio::test]
async fn the_databases_varint_is_prosts() {
    #[derive(diesel::QueryableByName)]
    struct Encoded {
        #[diesel(sql_type = diesel::sql_types::Bytea)]
        bytes: Vec<u8>,
    }
    let db = inventory_testkit::TestDb::new().await;
    let mut conn = db.connect().await;
    let mut values: Vec<i64> = vec![0, 1, 127, 128, 129, 300, 16_383, 16_384, i64::MAX];
    for bits in (7..63).step_by(7) {
        values.extend([(1_i64 << bits) - 1, 1_i64 << bits, (1_i64 << bits) + 1]);
    }
    for value in values {
        let encoded: Encoded = diesel_async::RunQueryDsl::get_result(
            diesel::sql_query("SELECT protobuf_varint($1) AS bytes")
                .bind::<diesel::sql_types::BigInt, _>(value),
            &mut conn,
        )
        .await
        .expect("varint");
        let mut expected = Vec::new();
        prost::encoding::encode_varint(value as u64, &mut expected);
        assert_eq!(encoded.bytes, expected, "varint of {value}");
    }
}

/// The relay's claim and delete walk the outbox's key even when their plan was made while the
/// queue was empty: vacuum often truncates it to no pages, and a connection keeps the plan of a
/// statement's sixth execution; one made at no pages would scan the whole table, thousands of pages
/// by then, on every claim. Checked on a connection of the relay's own pool, on a fresh (empty,
/// vacuumed) outbox, with the generic plan forced at once.
#[tokio::test]
async fn the_relays_statements_walk_the_key_whatever_the_queue_was_when_planned() {
    let db = inventory_testkit::TestDb::new().await;
    let config =
        inventory_stock::config::Config::new(inventory_testkit::service_config("stock", &db));
    let pool = inventory_stock::relay::pool(&config.service);
    // As vacuum leaves the queue after a quiet moment: no pages, statistics of an empty table (the
    // table's owner vacuums it; the service's role may not).
    db.connect()
        .await
        .batch_execute("VACUUM ANALYZE outbox")
        .await
        .expect("vacuum the outbox");
    let mut conn = pool.get().await.expect("a relay connection");
    let statements = [
        (
            "lease",
            "float8, bigint, bigint",
            outbox::LEASE,
            "30, 0, 500",
        ),
        ("gone", "bigint[]", outbox::DELETE, "ARRAY[1, 2]"),
    ];
    for (name, types, sql, args) in statements {
        let plan = generic_plan(&mut conn, types, sql, args).await;
        assert!(
            plan.iter().all(|l| !l.contains("Seq Scan")),
            "{name} scans the table: {plan:#?}"
        );
        assert!(
            plan.iter()
                .any(|l| l.contains(" on outbox_pkey") || l.contains(" using outbox_pkey")),
            "{name} walks the key: {plan:#?}"
        );
    }
}
