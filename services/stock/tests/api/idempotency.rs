//! `Idempotency-Key`: replays, reuse with another body, concurrent duplicates, expiry.

use std::{sync::Arc, time::Duration};

use inventory_common::auth::Role;
use inventory_stock::models::idempotency::{self, NewIdempotencyRecord};
use inventory_testkit::token_for;
use reqwest::Method;
use serde_json::{Value, json};
use tokio::task::JoinSet;
use uuid::Uuid;

use crate::helpers::{TestApp, eventually, expect_json, movement, prepared_statements};

async fn post_with_key(
    app: &TestApp,
    path: &str,
    token: &str,
    key: &str,
    body: &Value,
) -> reqwest::Response {
    app.request(Method::POST, path, Some(token))
        .header("Idempotency-Key", key)
        .json(body)
        .send()
        .await
        .expect("request")
}

#[tokio::test]
async fn a_retry_replays_the_first_response_and_moves_nothing() {
    let app = TestApp::spawn().await;
    let (store, product) = (app.store().await, app.product().await);
    app.stock_in(store, product, 10).await;
    let clerk = app.clerk(&[store]);
    let sale = movement(store, product, "SALE", 3);

    let first = post_with_key(&app, "/stock/movements", &clerk, "order-1", &sale).await;
    assert!(first.headers().get("idempotent-replayed").is_none());
    let first = expect_json(first, 201).await;
    let moved = app.movement_count().await;

    // The same body with its keys in another order is the same request.
    let reordered =
        json!({ "quantity": 3, "type": "SALE", "product_id": product, "store_id": store });
    let replay = post_with_key(&app, "/stock/movements", &clerk, "order-1", &reordered).await;
    assert_eq!(
        replay
            .headers()
            .get("idempotent-replayed")
            .map(|v| v.to_str().unwrap_or_default()),
        Some("true")
    );
    assert_eq!(expect_json(replay, 201).await, first);
    assert_eq!(app.movement_count().await, moved);
    assert_eq!(app.quantity(store, product).await, 7);

    // Another body under the same key is refused and changes nothing.
    let other = post_with_key(
        &app,
        "/stock/movements",
        &clerk,
        "order-1",
        &movement(store, product, "SALE", 4),
    )
    .await;
    let problem = expect_json(other, 422).await;
    assert_eq!(problem["status"], 422);
    assert_eq!(app.quantity(store, product).await, 7);

    // Keys belong to their user: another user's identical key is a new request.
    let someone_else = app.clerk(&[store]);
    let theirs = post_with_key(&app, "/stock/movements", &someone_else, "order-1", &sale).await;
    expect_json(theirs, 201).await;
    assert_eq!(app.quantity(store, product).await, 4);
}

#[tokio::test]
async fn replays_cover_every_write() {
    let app = TestApp::spawn().await;
    let (a, b, product) = (app.store().await, app.store().await, app.product().await);
    let add = json!({ "store_id": a, "product_id": product, "quantity": 5 });
    let created = expect_json(
        post_with_key(&app, "/stock", &app.admin, "k-add", &add).await,
        201,
    )
    .await;
    let replayed = post_with_key(&app, "/stock", &app.admin, "k-add", &add).await;
    // The replay answers what the first request got: 201, although the level exists now.
    assert_eq!(expect_json(replayed, 201).await, created);
    assert_eq!(app.quantity(a, product).await, 5);

    let transfer =
        json!({ "from_store_id": a, "to_store_id": b, "product_id": product, "quantity": 2 });
    let first = expect_json(
        post_with_key(&app, "/stock/transfers", &app.admin, "k-t", &transfer).await,
        201,
    )
    .await;
    let again = expect_json(
        post_with_key(&app, "/stock/transfers", &app.admin, "k-t", &transfer).await,
        201,
    )
    .await;
    assert_eq!(first, again);
    assert_eq!(
        (
            app.quantity(a, product).await,
            app.quantity(b, product).await
        ),
        (3, 2)
    );

    let batch =
        json!({ "movements": [movement(a, product, "SALE", 1), movement(b, product, "SALE", 1)] });
    let first = expect_json(
        post_with_key(&app, "/stock/movements/batch", &app.admin, "k-b", &batch).await,
        201,
    )
    .await;
    let again = expect_json(
        post_with_key(&app, "/stock/movements/batch", &app.admin, "k-b", &batch).await,
        201,
    )
    .await;
    assert_eq!(first, again);
    assert_eq!(
        (
            app.quantity(a, product).await,
            app.quantity(b, product).await
        ),
        (2, 1)
    );

    let level_id = created["id"].as_str().expect("id").to_owned();
    let count = |q: i64| {
        app.request(Method::PUT, &format!("/stock/{level_id}"), Some(&app.admin))
            .header("Idempotency-Key", "k-count")
            .json(&json!({ "quantity": q }))
            .send()
    };
    expect_json(count(9).await.expect("request"), 200).await;
    expect_json(count(9).await.expect("request"), 200).await;
    expect_json(count(8).await.expect("request"), 422).await;
    assert_eq!(app.quantity(a, product).await, 9);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_duplicates_apply_once() {
    let app = Arc::new(TestApp::spawn().await);
    let (store, product) = (app.store().await, app.product().await);
    app.stock_in(store, product, 100).await;
    let user = Uuid::now_v7();
    let clerk = Arc::new(token_for(user, Role::Clerk, &[store]));
    let sale = Arc::new(movement(store, product, "SALE", 1));
    let mut tasks = JoinSet::new();
    for _ in 0..20 {
        let (app, clerk, sale) = (app.clone(), clerk.clone(), sale.clone());
        tasks.spawn(async move {
            let res = post_with_key(&app, "/stock/movements", &clerk, "dup", &sale).await;
            let replayed = res.headers().contains_key("idempotent-replayed");
            (res.status().as_u16(), replayed)
        });
    }
    let mut fresh = 0;
    while let Some(result) = tasks.join_next().await {
        match result.expect("task") {
            (201, false) => fresh += 1,
            (201, true) | (409, false) => {}
            other => panic!("unexpected answer {other:?}"),
        }
    }
    assert_eq!(fresh, 1);
    assert_eq!(app.quantity(store, product).await, 99);
    assert_eq!(app.movement_sum(store, product).await, 99);
}

#[tokio::test]
async fn a_key_still_in_flight_is_a_conflict() {
    let app = TestApp::spawn().await;
    let (store, product) = (app.store().await, app.product().await);
    app.stock_in(store, product, 10).await;
    let user = Uuid::now_v7();
    let clerk = token_for(user, Role::Clerk, &[store]);
    // Another transaction holds the key's lock, as the first request would while it runs.
    let mut holder = app.db.connect().await;
    use diesel_async::RunQueryDsl;
    diesel::sql_query("BEGIN")
        .execute(&mut holder)
        .await
        .expect("begin");
    diesel::sql_query(format!(
        "SELECT pg_advisory_xact_lock(hashtextextended('idempotency:{user}:busy', 0))"
    ))
    .execute(&mut holder)
    .await
    .expect("lock");
    let res = post_with_key(
        &app,
        "/stock/movements",
        &clerk,
        "busy",
        &movement(store, product, "SALE", 1),
    )
    .await;
    let problem = expect_json(res, 409).await;
    assert_eq!(
        problem["type"],
        "https://inventory.dev/problems/request-in-progress"
    );
    assert_eq!(app.quantity(store, product).await, 10);
    diesel::sql_query("ROLLBACK")
        .execute(&mut holder)
        .await
        .expect("rollback");
    let res = post_with_key(
        &app,
        "/stock/movements",
        &clerk,
        "busy",
        &movement(store, product, "SALE", 1),
    )
    .await;
    expect_json(res, 201).await;
}

#[tokio::test]
async fn expired_keys_run_again_and_are_cleaned_up() {
    let db = Arc::new(inventory_testkit::TestDb::new().await);
    let app = TestApp::spawn_on(db, |c| c.idempotency_cleanup = Duration::from_millis(200)).await;
    let (store, product) = (app.store().await, app.product().await);
    app.stock_in(store, product, 10).await;
    let clerk = app.clerk(&[store]);
    let sale = movement(store, product, "SALE", 1);
    expect_json(
        post_with_key(&app, "/stock/movements", &clerk, "old", &sale).await,
        201,
    )
    .await;
    app.exec("UPDATE idempotency_keys SET expires_at = now() - interval '1 second'")
        .await;
    // Expired: the same key is a new request (the cleanup may or may not have run yet).
    expect_json(
        post_with_key(&app, "/stock/movements", &clerk, "old", &sale).await,
        201,
    )
    .await;
    assert_eq!(app.quantity(store, product).await, 8);
    app.exec("UPDATE idempotency_keys SET expires_at = now() - interval '1 second'")
        .await;
    let gone = eventually(Duration::from_secs(20), || async {
        (app.scalar("SELECT count(*) AS n FROM idempotency_keys")
            .await
            == 0)
            .then_some(())
    })
    .await;
    assert!(gone.is_some(), "expired keys were not deleted");
}

#[tokio::test]
async fn malformed_keys_are_rejected() {
    let app = TestApp::spawn().await;
    let (store, product) = (app.store().await, app.product().await);
    for key in ["", "has space", &"k".repeat(256)] {
        let res = post_with_key(
            &app,
            "/stock",
            &app.admin,
            key,
            &json!({ "store_id": store, "product_id": product, "quantity": 1 }),
        )
        .await;
        let problem = expect_json(res, 400).await;
        assert_eq!(problem["errors"][0]["field"], "Idempotency-Key", "{key:?}");
    }
    assert_eq!(app.quantity(store, product).await, -1);
}

/// An idempotent write's own statements (the key's lock, the stored response) are prepared once per
/// connection, not parsed and planned on every request: diesel cannot cache an `ON CONFLICT DO
/// UPDATE` or a raw query, and those two took a fifth of PostgreSQL's time per idempotent sale.
#[tokio::test]
async fn the_keys_statements_are_prepared_once_per_connection() {
    let app = TestApp::spawn().await;
    let mut conn = app.db.connect().await;
    let user = Uuid::now_v7();
    let body = json!({"ok": true});
    for round in 0..3 {
        assert!(
            idempotency::try_lock(&mut conn, user, "k")
                .await
                .expect("lock")
        );
        let now = chrono::Utc::now();
        idempotency::save(
            &mut conn,
            &NewIdempotencyRecord {
                user_id: user,
                idempotency_key: "k",
                request_hash: &format!("hash {round}"),
                response_status: 201,
                response_body: &body,
                created_at: now,
                expires_at: now + chrono::Duration::hours(1),
            },
        )
        .await
        .expect("save");
    }
    // The last save replaced the record in place.
    assert_eq!(
        app.strings(&format!(
            "SELECT request_hash AS s FROM idempotency_keys WHERE user_id = '{user}'"
        ))
        .await,
        ["hash 2"]
    );
    let prepared = prepared_statements(&mut conn).await;
    for statement in ["pg_try_advisory_xact_lock", "INSERT INTO idempotency_keys"] {
        assert_eq!(
            prepared.iter().filter(|s| s.contains(statement)).count(),
            1,
            "{statement} prepared once: {prepared:#?}"
        );
    }
}
