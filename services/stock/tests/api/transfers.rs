//! `POST /stock/transfers`: both halves or neither.

use serde_json::json;

use crate::helpers::{TestApp, expect_json};

#[tokio::test]
async fn a_transfer_moves_stock_as_one_pair() {
    let app = TestApp::spawn().await;
    let (a, b, p) = (app.store().await, app.store().await, app.product().await);
    app.stock_in(a, p, 10).await;
    let clerk = app.clerk(&[a, b]);
    let body = json!({ "from_store_id": a, "to_store_id": b, "product_id": p, "quantity": 4, "reference": "T-1" });
    let res = expect_json(app.post("/stock/transfers", &clerk, &body).await, 201).await;
    let transfer_id = res["transfer_id"].clone();
    assert!(transfer_id.is_string());
    let movements = res["movements"].as_array().expect("movements");
    assert_eq!(movements.len(), 2);
    assert_eq!(movements[0]["type"], "TRANSFER_OUT");
    assert_eq!(movements[0]["delta"], -4);
    assert_eq!(movements[0]["store_id"], json!(a));
    assert_eq!(movements[1]["type"], "TRANSFER_IN");
    assert_eq!(movements[1]["delta"], 4);
    assert_eq!(movements[1]["store_id"], json!(b));
    assert!(
        movements
            .iter()
            .all(|m| m["transfer_id"] == transfer_id && m["reference"] == "T-1")
    );
    assert_eq!(res["levels"][0]["quantity"], 6);
    assert_eq!(res["levels"][1]["quantity"], 4);
    assert_eq!((app.quantity(a, p).await, app.quantity(b, p).await), (6, 4));
}

#[tokio::test]
async fn an_insufficient_transfer_changes_neither_store() {
    let app = TestApp::spawn().await;
    let (a, b, p) = (app.store().await, app.store().await, app.product().await);
    app.stock_in(a, p, 3).await;
    let body = json!({ "from_store_id": a, "to_store_id": b, "product_id": p, "quantity": 5 });
    let problem = expect_json(app.post("/stock/transfers", &app.admin, &body).await, 409).await;
    assert_eq!(problem["available"], 3);
    assert_eq!(app.quantity(a, p).await, 3);
    // The receiving level was not even created.
    assert_eq!(app.quantity(b, p).await, -1);
    assert_eq!(app.movement_count().await, 1);
}

#[tokio::test]
async fn both_stores_must_be_the_callers() {
    let app = TestApp::spawn().await;
    let (a, b, p) = (app.store().await, app.store().await, app.product().await);
    app.stock_in(a, p, 10).await;
    let body = json!({ "from_store_id": a, "to_store_id": b, "product_id": p, "quantity": 1 });
    for stores in [vec![a], vec![b], vec![]] {
        let clerk = app.clerk(&stores);
        expect_json(app.post("/stock/transfers", &clerk, &body).await, 403).await;
    }
    assert_eq!(
        (app.quantity(a, p).await, app.quantity(b, p).await),
        (10, -1)
    );
}

#[tokio::test]
async fn bad_transfers_are_rejected() {
    let app = TestApp::spawn().await;
    let (a, b, p) = (app.store().await, app.store().await, app.product().await);
    app.stock_in(a, p, 10).await;
    let archived = app.store().await;
    app.archive_store(archived).await;
    let cases = [
        (
            json!({ "from_store_id": a, "to_store_id": a, "product_id": p, "quantity": 1 }),
            400,
            Some("to_store_id"),
        ),
        (
            json!({ "from_store_id": a, "to_store_id": b, "product_id": p, "quantity": 0 }),
            400,
            Some("quantity"),
        ),
        (
            json!({ "from_store_id": a, "to_store_id": b, "product_id": p, "quantity": 1.5 }),
            400,
            Some("quantity"),
        ),
        (
            json!({ "from_store_id": a, "to_store_id": b, "product_id": p }),
            400,
            Some("quantity"),
        ),
        (
            json!({ "from_store_id": a, "to_store_id": "b", "product_id": p, "quantity": 1 }),
            400,
            Some("to_store_id"),
        ),
        (
            json!({ "from_store_id": a, "to_store_id": b, "product_id": p, "quantity": 1, "type": "X" }),
            400,
            Some("type"),
        ),
        (
            json!({ "from_store_id": a, "to_store_id": archived, "product_id": p, "quantity": 1 }),
            404,
            None,
        ),
    ];
    for (body, status, field) in cases {
        let problem = expect_json(
            app.post("/stock/transfers", &app.admin, &body).await,
            status,
        )
        .await;
        if let Some(field) = field {
            assert_eq!(problem["errors"][0]["field"], field, "{body}");
        }
    }
    assert_eq!(app.quantity(a, p).await, 10);
}

/// A transfer to an archived store is a 404 even when its source is short and its line runs first
/// (stores are applied in id order, and the source was created first).
#[tokio::test]
async fn an_archived_destination_wins_over_a_short_source() {
    let app = TestApp::spawn().await;
    let (from, to, p) = (app.store().await, app.store().await, app.product().await);
    assert!(from < to, "v7 ids sort by creation");
    app.stock_in(from, p, 1).await;
    app.archive_store(to).await;
    let body = json!({ "from_store_id": from, "to_store_id": to, "product_id": p, "quantity": 5 });
    let problem = expect_json(app.post("/stock/transfers", &app.admin, &body).await, 404).await;
    assert_eq!(problem["detail"], format!("store {to} not found"));
    assert_eq!(app.quantity(from, p).await, 1);
}
