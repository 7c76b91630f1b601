//! `/reports`: read from the ledger's projections, seeded here as the ledger worker writes them.

use diesel_async::SimpleAsyncConnection;
use inventory_stock::models::reports::sql;
use serde_json::Value;
use uuid::Uuid;

use crate::helpers::{TestApp, generic_plan};

/// Seeds the ledger tables of one level: daily rows `(day, in, out, closing)` and the level itself.
async fn seed_level(
    app: &TestApp,
    store: Uuid,
    product: Uuid,
    days: &[(&str, i64, i64, i64)],
    quantity: i64,
    reorder_level: i64,
    last_event_at: &str,
) {
    for (i, (day, qty_in, qty_out, closing)) in days.iter().enumerate() {
        app.exec(&format!(
            "INSERT INTO ledger_daily (store_id, product_id, day, qty_in, qty_out, closing, closing_version) \
             VALUES ('{store}', '{product}', '{day}', {qty_in}, {qty_out}, {closing}, {})",
            i + 1
        ))
        .await;
    }
    app.exec(&format!(
        "INSERT INTO ledger_levels (store_id, product_id, quantity, reorder_level, version, last_event_at) \
         VALUES ('{store}', '{product}', {quantity}, {reorder_level}, {}, '{last_event_at}')",
        days.len()
    ))
    .await;
}

async fn json(app: &TestApp, path: &str, status: u16) -> Value {
    let res = app.get(path, &app.admin).await;
    assert_eq!(res.status(), status, "{path}");
    res.json().await.expect("json")
}

#[tokio::test]
async fn daily_report_lists_in_out_net_and_closing_per_product_and_day() {
    let app = TestApp::spawn().await;
    let (store, other_store) = (app.store().await, app.store().await);
    let (a, b) = (app.product().await, app.product().await);
    seed_level(
        &app,
        store,
        a,
        &[("2026-11-20", 10, 3, 7), ("2026-11-21", 0, 5, 2)],
        2,
        0,
        "2026-11-21T15:00:00Z",
    )
    .await;
    seed_level(
        &app,
        store,
        b,
        &[("2026-11-21", 4, 0, 4), ("2026-11-25", 1, 0, 5)],
        5,
        0,
        "2026-11-25T09:30:00Z",
    )
    .await;
    seed_level(
        &app,
        other_store,
        a,
        &[("2026-11-21", 99, 0, 99)],
        99,
        0,
        "2026-11-26T00:00:00Z",
    )
    .await;

    let report = json(
        &app,
        &format!("/reports/stores/{store}/daily?from=2026-11-20&to=2026-11-21"),
        200,
    )
    .await;
    assert_eq!(report["from"], "2026-11-20");
    assert_eq!(report["to"], "2026-11-21");
    assert_eq!(report["as_of"], "2026-11-25T09:30:00Z");
    let items = report["items"].as_array().unwrap();
    let lines: Vec<(String, String, i64, i64, i64, i64)> = items
        .iter()
        .map(|i| {
            (
                i["day"].as_str().unwrap().to_owned(),
                i["product_id"].as_str().unwrap().to_owned(),
                i["in"].as_i64().unwrap(),
                i["out"].as_i64().unwrap(),
                i["net"].as_i64().unwrap(),
                i["closing"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        lines,
        vec![
            ("2026-11-20".into(), a.to_string(), 10, 3, 7, 7),
            ("2026-11-21".into(), a.to_string(), 0, 5, -5, 2),
            ("2026-11-21".into(), b.to_string(), 4, 0, 4, 4),
        ]
    );
    assert_eq!(items[0]["sku"], format!("SKU-{a}"));
    assert_eq!(report["next_cursor"], Value::Null);

    // Paged: two lines, then the rest from the cursor.
    let first = json(
        &app,
        &format!("/reports/stores/{store}/daily?from=2026-11-01&to=2026-11-30&limit=2"),
        200,
    )
    .await;
    assert_eq!(first["items"].as_array().unwrap().len(), 2);
    let cursor = first["next_cursor"].as_str().unwrap().to_owned();
    let rest = json(
        &app,
        &format!(
            "/reports/stores/{store}/daily?from=2026-11-01&to=2026-11-30&limit=2&cursor={cursor}"
        ),
        200,
    )
    .await;
    let days: Vec<&str> = rest["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["day"].as_str().unwrap())
        .collect();
    assert_eq!(days, ["2026-11-21", "2026-11-25"]);
    assert_eq!(rest["next_cursor"], Value::Null);

    // A store the ledger has not seen yet: an empty report that says so.
    let quiet = app.store().await;
    let empty = json(&app, &format!("/reports/stores/{quiet}/daily"), 200).await;
    assert_eq!(empty["items"], Value::Array(vec![]));
    assert_eq!(empty["as_of"], Value::Null);
}

#[tokio::test]
async fn low_stock_lists_levels_at_or_under_their_reorder_level() {
    let app = TestApp::spawn().await;
    let (store, other_store) = (app.store().await, app.store().await);
    let (at, under, above, no_threshold) = (
        app.product().await,
        app.product().await,
        app.product().await,
        app.product().await,
    );
    let day = [("2026-11-25", 1, 0, 1)];
    seed_level(&app, store, at, &day, 5, 5, "2026-11-25T10:00:00Z").await;
    seed_level(&app, store, under, &day, 1, 5, "2026-11-25T11:00:00Z").await;
    seed_level(&app, store, above, &day, 6, 5, "2026-11-25T12:00:00Z").await;
    seed_level(
        &app,
        store,
        no_threshold,
        &day,
        0,
        0,
        "2026-11-25T09:00:00Z",
    )
    .await;
    seed_level(&app, other_store, under, &day, 0, 2, "2026-11-26T08:00:00Z").await;
    app.exec(&format!(
        "INSERT INTO low_stock_alerts (id, store_id, product_id, quantity, reorder_level, opened_at) \
         VALUES ('{}', '{store}', '{under}', 1, 5, '2026-11-25T11:00:00Z')",
        Uuid::now_v7()
    ))
    .await;

    let report = json(&app, &format!("/reports/low-stock?store_id={store}"), 200).await;
    assert_eq!(report["as_of"], "2026-11-25T12:00:00Z");
    let mut found: Vec<(String, i64, i64)> = report["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["product_id"].as_str().unwrap().to_owned(),
                i["quantity"].as_i64().unwrap(),
                i["reorder_level"].as_i64().unwrap(),
            )
        })
        .collect();
    found.sort();
    let mut expected = vec![(at.to_string(), 5, 5), (under.to_string(), 1, 5)];
    expected.sort();
    assert_eq!(found, expected);
    let with_alert = report["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["product_id"] == under.to_string())
        .unwrap();
    assert_eq!(with_alert["alert_opened_at"], "2026-11-25T11:00:00Z");

    // Without a store: every store's low levels.
    let all = json(&app, "/reports/low-stock", 200).await;
    assert_eq!(all["items"].as_array().unwrap().len(), 3);
    assert_eq!(all["as_of"], "2026-11-26T08:00:00Z");
}

#[tokio::test]
async fn valuation_multiplies_quantity_by_price() {
    let app = TestApp::spawn().await;
    let store = app.store().await;
    let (a, b, empty) = (
        app.product().await,
        app.product().await,
        app.product().await,
    );
    app.exec(&format!(
        "UPDATE products SET price_cents = 250 WHERE id = '{a}'"
    ))
    .await;
    app.exec(&format!(
        "UPDATE products SET price_cents = 1999 WHERE id = '{b}'"
    ))
    .await;
    let day = [("2026-11-25", 1, 0, 1)];
    seed_level(&app, store, a, &day, 4, 0, "2026-11-25T10:00:00Z").await;
    seed_level(&app, store, b, &day, 3, 0, "2026-11-25T10:00:00Z").await;
    seed_level(&app, store, empty, &day, 0, 0, "2026-11-25T10:00:00Z").await;

    let report = json(&app, &format!("/reports/stores/{store}/valuation"), 200).await;
    assert_eq!(report["total_value_cents"], 4 * 250 + 3 * 1999);
    assert_eq!(report["products"], 2);
    assert_eq!(report["as_of"], "2026-11-25T10:00:00Z");
    let mut values: Vec<(String, i64)> = report["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["product_id"].as_str().unwrap().to_owned(),
                i["value_cents"].as_i64().unwrap(),
            )
        })
        .collect();
    values.sort();
    let mut expected = vec![(a.to_string(), 1000), (b.to_string(), 5997)];
    expected.sort();
    assert_eq!(values, expected);

    // The total covers every page.
    let page = json(
        &app,
        &format!("/reports/stores/{store}/valuation?limit=1"),
        200,
    )
    .await;
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
    assert_eq!(page["total_value_cents"], 6997);
    assert!(page["next_cursor"].is_string());
}

#[tokio::test]
async fn unknown_stores_are_404_and_bad_dates_400_naming_the_field() {
    let app = TestApp::spawn().await;
    let unknown = Uuid::now_v7();
    for path in [
        format!("/reports/stores/{unknown}/daily"),
        format!("/reports/stores/{unknown}/valuation"),
        format!("/reports/low-stock?store_id={unknown}"),
    ] {
        let problem = json(&app, &path, 404).await;
        assert_eq!(problem["status"], 404);
    }

    let store = app.store().await;
    for (query, field) in [
        ("from=2026-02-30", "from"),
        ("from=25-11-2026", "from"),
        ("to=tomorrow", "to"),
        ("from=2026-11-26&to=2026-11-25", "from"),
        ("from=2020-01-01&to=2026-01-01", "to"),
        ("limit=0", "limit"),
        ("cursor=garbage", "cursor"),
    ] {
        let problem = json(&app, &format!("/reports/stores/{store}/daily?{query}"), 400).await;
        assert_eq!(problem["errors"][0]["field"], field, "{query}: {problem}");
    }
    let problem = json(&app, "/reports/low-stock?store_id=nope", 400).await;
    assert_eq!(problem["errors"][0]["field"], "store_id");

    // A valid token is required.
    let res = app
        .request(
            reqwest::Method::GET,
            &format!("/reports/stores/{store}/daily"),
            None,
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
}

#[tokio::test]
async fn valuation_is_exact_beyond_64_bits() {
    let app = TestApp::spawn().await;
    let store = app.store().await;
    let (a, b) = (app.product().await, app.product().await);
    // 9e18 units at 9e18 cents each, twice: far beyond i64 (and u128 is not the limit either).
    for p in [a, b] {
        app.exec(&format!(
            "UPDATE products SET price_cents = 9000000000000000000 WHERE id = '{p}'"
        ))
        .await;
        seed_level(
            &app,
            store,
            p,
            &[("2026-11-25", 1, 0, 1)],
            9_000_000_000_000_000_000,
            0,
            "2026-11-25T10:00:00Z",
        )
        .await;
    }
    let res = app
        .get(&format!("/reports/stores/{store}/valuation"), &app.admin)
        .await;
    let status = res.status().as_u16();
    let text = res.text().await.expect("body");
    assert_eq!(status, 200, "{text}");
    assert!(
        text.contains(r#""total_value_cents":162000000000000000000000000000000000000"#),
        "the total is an exact JSON integer: {text}"
    );
    assert!(
        text.contains(r#""value_cents":81000000000000000000000000000000000000"#),
        "each line too: {text}"
    );
}

/// Each report statement is prepared once per connection, which settles on a generic plan after a
/// few executions. That plan must still find a store's rows, and a later page's, by the
/// projections' keys: an `$n IS NULL OR …` filter could not be an index condition, and a generic
/// plan would then read the whole table (`as_of`) or a store's whole range for every later page.
/// Sequential scans are off so that these small tables show which conditions the index can take.
/// (`LOW_STOCK_ALL`, over every store, reads the whole key by design and is not listed.)
#[tokio::test]
async fn report_statements_find_their_rows_by_the_keys_with_a_cached_plan() {
    let app = TestApp::spawn().await;
    let mut conn = app.db.connect().await;
    conn.batch_execute("SET enable_seqscan = off")
        .await
        .expect("set");
    let (id, ids) = (
        "'00000000-0000-0000-0000-000000000001'",
        "'{00000000-0000-0000-0000-000000000001}'",
    );
    let range = format!("{id}, '2026-11-01', '2026-11-30'");
    let cases: [(&str, &str, String, &[&str]); 9] = [
        (sql::AS_OF, "uuid[]", ids.into(), &["store_id = ANY ($1)"]),
        (
            sql::DAILY,
            "uuid, date, date, bigint",
            format!("{range}, 51"),
            &["(store_id = $1) AND (day >= $2) AND (day <= $3)"],
        ),
        (
            sql::DAILY_AFTER,
            "uuid, date, date, date, uuid, bigint",
            format!("{range}, '2026-11-02', {id}, 51"),
            &[
                "(store_id = $1) AND (day >= $2) AND (day <= $3) AND (ROW(day, product_id) > ROW($4, $5))",
            ],
        ),
        (
            sql::LOW_STOCK,
            "uuid[], bigint",
            format!("{ids}, 51"),
            &["store_id = ANY ($1)"],
        ),
        (
            sql::LOW_STOCK_AFTER,
            "uuid[], uuid, uuid, bigint",
            format!("{ids}, {id}, {id}, 51"),
            &["(store_id = ANY ($1)) AND (ROW(store_id, product_id) > ROW($2, $3))"],
        ),
        (
            sql::LOW_STOCK_ALL_AFTER,
            "uuid, uuid, bigint",
            format!("{id}, {id}, 51"),
            &["ROW(store_id, product_id) > ROW($1, $2)"],
        ),
        (
            sql::VALUATION,
            "uuid, bigint",
            format!("{id}, 51"),
            &["store_id = $1"],
        ),
        (
            sql::VALUATION_AFTER,
            "uuid, uuid, bigint",
            format!("{id}, {id}, 51"),
            &["(store_id = $1) AND (product_id > $2)"],
        ),
        (sql::VALUATION_TOTAL, "uuid", id.into(), &["store_id = $1"]),
    ];
    for (statement, types, args, conditions) in cases {
        let plan = generic_plan(&mut conn, types, statement, &args).await;
        assert!(
            plan.iter().all(|l| !l.contains("Seq Scan")),
            "{statement}\nscans a table: {plan:#?}"
        );
        let index_conditions: Vec<&String> =
            plan.iter().filter(|l| l.contains("Index Cond:")).collect();
        for condition in conditions {
            assert!(
                index_conditions.iter().any(|l| l.contains(condition)),
                "{statement}\ndoes not find its rows by {condition}: {plan:#?}"
            );
        }
    }
}
