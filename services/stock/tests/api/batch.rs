//! `POST /stock/movements/batch`: all lines or none, the failing line named.

use serde_json::{Value, json};

use crate::helpers::{TestApp, expect_json, movement};

/// Posts a batch as the admin and expects `status`; the JSON body.
async fn post_batch(app: &TestApp, body: &Value, status: u16) -> Value {
    expect_json(
        app.post("/stock/movements/batch", &app.admin, body).await,
        status,
    )
    .await
}

#[tokio::test]
async fn a_batch_applies_every_line() {
    let app = TestApp::spawn().await;
    let (a, b, p, q) = (
        app.store().await,
        app.store().await,
        app.product().await,
        app.product().await,
    );
    app.stock_in(a, p, 10).await;
    let clerk = app.clerk(&[a, b]);
    let body = json!({ "movements": [
        movement(b, q, "STOCK_IN", 5),
        movement(a, p, "SALE", 4),
        movement(b, q, "SALE", 2),
        movement(a, p, "MANUAL_REMOVE", 1),
    ]});
    let res = expect_json(app.post("/stock/movements/batch", &clerk, &body).await, 201).await;
    let movements = res["movements"].as_array().expect("movements");
    // In request order, each with the quantity after it.
    let seen: Vec<(String, i64)> = movements
        .iter()
        .map(|m| {
            (
                m["type"].as_str().unwrap_or_default().to_owned(),
                m["quantity_after"].as_i64().unwrap_or(-1),
            )
        })
        .collect();
    assert_eq!(
        seen,
        vec![
            ("STOCK_IN".into(), 5),
            ("SALE".into(), 6),
            ("SALE".into(), 3),
            ("MANUAL_REMOVE".into(), 5)
        ]
    );
    assert_eq!(movements[1]["delta"], -4);
    // One entry per level, as it stands after the batch.
    let levels: Vec<(Value, Value)> = res["levels"]
        .as_array()
        .expect("levels")
        .iter()
        .map(|l| (l["store_id"].clone(), l["quantity"].clone()))
        .collect();
    assert_eq!(levels, vec![(json!(b), json!(3)), (json!(a), json!(5))]);
    assert_eq!((app.quantity(a, p).await, app.quantity(b, q).await), (5, 3));
}

#[tokio::test]
async fn one_failing_line_applies_nothing_and_is_named() {
    let app = TestApp::spawn().await;
    let (a, p, q) = (app.store().await, app.product().await, app.product().await);
    app.stock_in(a, p, 10).await;
    app.stock_in(a, q, 1).await;
    let before = app.movement_count().await;
    let body = json!({ "movements": [
        movement(a, p, "SALE", 2),
        movement(a, p, "STOCK_IN", 3),
        movement(a, q, "SALE", 2),
        movement(a, p, "SALE", 1),
    ]});
    let problem = post_batch(&app, &body, 409).await;
    assert_eq!(problem["index"], 2);
    assert_eq!(problem["available"], 1);
    assert!(
        problem["detail"]
            .as_str()
            .unwrap_or_default()
            .starts_with("movements[2]")
    );
    assert_eq!(
        (app.quantity(a, p).await, app.quantity(a, q).await),
        (10, 1)
    );
    assert_eq!(app.movement_count().await, before);
    assert_eq!(
        app.scalar("SELECT count(*) AS n FROM outbox").await,
        0,
        "no event either"
    );
}

#[tokio::test]
async fn bad_lines_are_named_by_path() {
    let app = TestApp::spawn().await;
    let (a, p) = (app.store().await, app.product().await);
    let good = movement(a, p, "STOCK_IN", 1);
    let cases = [
        (
            json!({ "movements": [good, good, good, movement(a, p, "STOCK_IN", 0)] }),
            "movements[3].quantity",
        ),
        (
            json!({ "movements": [good, { "store_id": a, "product_id": p, "type": "SALE", "quantity": "2" }] }),
            "movements[1].quantity",
        ),
        (
            json!({ "movements": [good, movement(a, p, "GIFT", 1)] }),
            "movements[1].type",
        ),
        (
            json!({ "movements": [{ "store_id": a, "product_id": p, "type": "SALE" }] }),
            "movements[0].quantity",
        ),
        (
            json!({ "movements": [{ "store_id": a, "product_id": p, "type": "SALE", "quantity": 1, "price": 3 }] }),
            "movements[0].price",
        ),
        (json!({ "movements": [] }), "movements"),
        (json!({ "movements": vec![good.clone(); 501] }), "movements"),
        (json!({}), "movements"),
    ];
    for (body, field) in cases {
        let problem = post_batch(&app, &body, 400).await;
        assert_eq!(problem["errors"][0]["field"], field);
    }
    assert_eq!(app.movement_count().await, 0);
}

#[tokio::test]
async fn a_batch_of_500_lines_is_accepted() {
    let app = TestApp::spawn().await;
    let (a, p) = (app.store().await, app.product().await);
    let body = json!({ "movements": vec![movement(a, p, "STOCK_IN", 2); 500] });
    let res = post_batch(&app, &body, 201).await;
    assert_eq!(res["movements"].as_array().map(Vec::len), Some(500));
    assert_eq!(app.quantity(a, p).await, 1000);
}

#[tokio::test]
async fn a_line_in_a_foreign_store_forbids_the_whole_batch() {
    let app = TestApp::spawn().await;
    let (mine, theirs, p) = (app.store().await, app.store().await, app.product().await);
    let clerk = app.clerk(&[mine]);
    let body = json!({ "movements": [movement(mine, p, "STOCK_IN", 1), movement(theirs, p, "STOCK_IN", 1)] });
    let problem = expect_json(app.post("/stock/movements/batch", &clerk, &body).await, 403).await;
    assert!(
        problem["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("movements[1]")
    );
    assert_eq!(app.movement_count().await, 0);
}

#[tokio::test]
async fn an_archived_product_in_a_line_is_not_found() {
    let app = TestApp::spawn().await;
    let (a, p, old) = (app.store().await, app.product().await, app.product().await);
    app.archive_product(old).await;
    let body =
        json!({ "movements": [movement(a, p, "STOCK_IN", 1), movement(a, old, "STOCK_IN", 1)] });
    let problem = post_batch(&app, &body, 404).await;
    assert!(
        problem["detail"]
            .as_str()
            .unwrap_or_default()
            .starts_with("movements[1]")
    );
    assert_eq!(app.movement_count().await, 0);
}

/// Lines run in level order, but the 404 names the first missing store (then product) in request
/// order: here the line with the missing product runs before the one with the missing store, yet
/// the missing store is the answer.
#[tokio::test]
async fn a_missing_store_is_named_before_a_missing_product_whatever_the_level_order() {
    let app = TestApp::spawn().await;
    let (a, p) = (app.store().await, app.product().await);
    // The missing store sorts after every other, so its line runs last.
    let (no_store, no_product) = (uuid::Uuid::max(), uuid::Uuid::new_v4());
    let body = json!({ "movements": [
        movement(a, p, "STOCK_IN", 1),
        movement(a, no_product, "STOCK_IN", 1),
        movement(no_store, p, "STOCK_IN", 1),
    ] });
    let problem = post_batch(&app, &body, 404).await;
    assert_eq!(
        problem["detail"],
        format!("movements[2]: store {no_store} not found")
    );
    assert_eq!(app.movement_count().await, 0);
    assert_eq!(app.quantity(a, p).await, -1, "no level was created");
}

/// A missing store wins over a shortage, whichever line runs first: the short line sorts first
/// here (and its 409 would otherwise be the answer).
#[tokio::test]
async fn a_missing_store_wins_over_a_shortage_in_another_line() {
    let app = TestApp::spawn().await;
    let (a, p) = (app.store().await, app.product().await);
    app.stock_in(a, p, 1).await;
    let no_store = uuid::Uuid::max();
    let body = json!({ "movements": [
        movement(a, p, "SALE", 5),
        movement(no_store, p, "STOCK_IN", 1),
    ] });
    let problem = post_batch(&app, &body, 404).await;
    assert_eq!(
        problem["detail"],
        format!("movements[1]: store {no_store} not found")
    );
    assert_eq!(app.quantity(a, p).await, 1);
}

/// A batch of one line names it like any batch: `movements[0]` and its index.
#[tokio::test]
async fn a_batch_of_one_line_names_its_line() {
    let app = TestApp::spawn().await;
    let (a, p) = (app.store().await, app.product().await);
    app.stock_in(a, p, 1).await;
    let body = json!({ "movements": [movement(a, p, "SALE", 2)] });
    let problem = post_batch(&app, &body, 409).await;
    assert_eq!(problem["index"], 0);
    assert_eq!(problem["available"], 1);
    assert_eq!(
        problem["detail"],
        "movements[0]: only 1 in stock, 2 requested"
    );
}
