//! Every bad input is a 400 naming the field; tokens, store membership and the catalog are checked.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{TestApp, expect_json, movement};

#[tokio::test]
async fn bad_movement_fields_are_named() {
    let app = TestApp::spawn().await;
    let (s, p) = (app.store().await, app.product().await);
    let with = |field: &str, value: Value| {
        let mut body = movement(s, p, "SALE", 1);
        body[field] = value;
        body
    };
    let without = |field: &str| {
        let mut body = movement(s, p, "SALE", 1);
        body.as_object_mut().map(|o| o.remove(field));
        body
    };
    let cases = [
        (with("quantity", json!("5")), "quantity"),
        (with("quantity", json!(1.5)), "quantity"),
        (with("quantity", json!(-1)), "quantity"),
        (with("quantity", json!(0)), "quantity"),
        (with("quantity", json!(1_000_000_001)), "quantity"),
        (with("quantity", json!(null)), "quantity"),
        (with("quantity", json!(1e3)), "quantity"),
        (without("quantity"), "quantity"),
        (with("type", json!("REFUND")), "type"),
        (with("type", json!("sale")), "type"),
        (with("type", json!("TRANSFER_OUT")), "type"),
        (with("type", json!(1)), "type"),
        (without("type"), "type"),
        (with("store_id", json!("not-a-uuid")), "store_id"),
        (without("store_id"), "store_id"),
        (with("product_id", json!(42)), "product_id"),
        (without("product_id"), "product_id"),
        (with("reason", json!("damaged\n")), "reason"),
        (with("reason", json!("x".repeat(501))), "reason"),
        // The limit counts the text as sent, as the API document states it.
        (
            with("reason", json!(format!(" {} ", "x".repeat(499)))),
            "reason",
        ),
        (with("reference", json!(7)), "reference"),
        (with("expected_quantity", json!(-1)), "expected_quantity"),
        (with("expected_quantity", json!("3")), "expected_quantity"),
        (with("user_id", json!("someone")), "user_id"),
    ];
    for (body, field) in cases {
        let problem = expect_json(app.post("/stock/movements", &app.admin, &body).await, 400).await;
        assert_eq!(problem["errors"][0]["field"], field, "{body}");
        assert_eq!(
            problem["type"], "https://inventory.dev/problems/validation",
            "{body}"
        );
    }
    let res = app
        .request(Method::POST, "/stock/movements", Some(&app.admin))
        .header("content-type", "application/json")
        .body("{\"store_id\":")
        .send()
        .await
        .expect("request");
    assert_eq!(expect_json(res, 400).await["errors"][0]["field"], "body");
    let res = app
        .request(Method::POST, "/stock/movements", Some(&app.admin))
        .header("content-type", "text/plain")
        .body(movement(s, p, "SALE", 1).to_string())
        .send()
        .await
        .expect("request");
    expect_json(res, 415).await;
    assert_eq!(app.movement_count().await, 0);
}

/// The platform's text rule, as in the catalog: a blank optional note is no note (stored as null),
/// not a 400; a note is stored trimmed.
#[tokio::test]
async fn blank_notes_are_no_notes() {
    let app = TestApp::spawn().await;
    let (s, p) = (app.store().await, app.product().await);
    let mut body = movement(s, p, "STOCK_IN", 2);
    body["reason"] = json!("   ");
    body["reference"] = json!(" receipt-7 ");
    let created = expect_json(app.post("/stock/movements", &app.admin, &body).await, 201).await;
    assert_eq!(created["movement"]["reason"], Value::Null, "{created}");
    assert_eq!(created["movement"]["reference"], "receipt-7", "{created}");
    let transfer = json!({
        "from_store_id": s, "to_store_id": app.store().await, "product_id": p, "quantity": 1,
        "reference": "",
    });
    let moved = expect_json(
        app.post("/stock/transfers", &app.admin, &transfer).await,
        201,
    )
    .await;
    assert_eq!(moved["movements"][0]["reference"], Value::Null, "{moved}");
    assert_eq!(app.movement_count().await, 3);
}

#[tokio::test]
async fn bad_stock_in_and_count_fields_are_named() {
    let app = TestApp::spawn().await;
    let (s, p) = (app.store().await, app.product().await);
    for (body, field) in [
        (
            json!({ "store_id": s, "product_id": p, "quantity": 0 }),
            "quantity",
        ),
        (
            json!({ "store_id": s, "product_id": p, "quantity": "1" }),
            "quantity",
        ),
        (json!({ "store_id": s, "product_id": p }), "quantity"),
        (json!({ "store_id": s, "quantity": 1 }), "product_id"),
        (
            json!({ "store_id": s, "product_id": p, "quantity": 1, "reorder_level": 3 }),
            "reorder_level",
        ),
    ] {
        let problem = expect_json(app.post("/stock", &app.admin, &body).await, 400).await;
        assert_eq!(problem["errors"][0]["field"], field, "{body}");
    }
    let level = app.stock_in(s, p, 5).await;
    let path = format!("/stock/{}", level["id"].as_str().expect("id"));
    for (body, field) in [
        (json!({ "quantity": -1 }), "quantity"),
        (json!({ "quantity": 2.5 }), "quantity"),
        (json!({ "reorder_level": -1 }), "reorder_level"),
        (json!({ "reorder_level": "3" }), "reorder_level"),
        (
            json!({ "quantity": 3, "expected_quantity": -2 }),
            "expected_quantity",
        ),
        (json!({ "expected_quantity": 5 }), "body"),
        (json!({}), "body"),
        (json!({ "quantity": 3, "version": 1 }), "version"),
    ] {
        let problem = expect_json(app.put(&path, &app.admin, &body).await, 400).await;
        assert_eq!(problem["errors"][0]["field"], field, "{body}");
    }
    let problem = expect_json(
        app.put("/stock/nope", &app.admin, &json!({ "quantity": 1 }))
            .await,
        400,
    )
    .await;
    assert_eq!(problem["errors"][0]["field"], "path");
    assert_eq!(app.quantity(s, p).await, 5);
}

#[tokio::test]
async fn tokens_are_required() {
    let app = TestApp::spawn().await;
    let (s, p) = (app.store().await, app.product().await);
    let res = app
        .request(Method::POST, "/stock/movements", None)
        .json(&movement(s, p, "STOCK_IN", 1))
        .send()
        .await
        .expect("request");
    expect_json(res, 401).await;
    let res = app
        .request(Method::GET, &format!("/stock/{s}"), Some("not-a-token"))
        .send()
        .await
        .expect("request");
    expect_json(res, 401).await;
    assert_eq!(app.movement_count().await, 0);
}

#[tokio::test]
async fn a_member_of_another_store_is_forbidden_and_nothing_changes() {
    let app = TestApp::spawn().await;
    let (mine, theirs, p) = (app.store().await, app.store().await, app.product().await);
    app.stock_in(theirs, p, 10).await;
    let clerk = app.clerk(&[mine]);
    expect_json(
        app.post("/stock/movements", &clerk, &movement(theirs, p, "SALE", 1))
            .await,
        403,
    )
    .await;
    expect_json(
        app.post(
            "/stock",
            &clerk,
            &json!({ "store_id": theirs, "product_id": p, "quantity": 1 }),
        )
        .await,
        403,
    )
    .await;
    let level = app.stock_in(theirs, p, 1).await;
    let path = format!("/stock/{}", level["id"].as_str().expect("id"));
    expect_json(app.put(&path, &clerk, &json!({ "quantity": 0 })).await, 403).await;
    assert_eq!(app.quantity(theirs, p).await, 11);
    assert_eq!(app.movement_count().await, 2);
    // Their own store works, and a manager is bound the same way.
    expect_json(
        app.post(
            "/stock/movements",
            &clerk,
            &movement(mine, p, "STOCK_IN", 1),
        )
        .await,
        201,
    )
    .await;
    let manager = inventory_testkit::token(inventory_common::auth::Role::Manager, &[mine]);
    expect_json(
        app.post(
            "/stock/movements",
            &manager,
            &movement(theirs, p, "SALE", 1),
        )
        .await,
        403,
    )
    .await;
}

#[tokio::test]
async fn missing_or_archived_stores_and_products_are_not_found() {
    let app = TestApp::spawn().await;
    let (s, p) = (app.store().await, app.product().await);
    app.stock_in(s, p, 5).await;
    let (old_store, old_product) = (app.store().await, app.product().await);
    let old_level = app.stock_in(old_store, old_product, 5).await;
    app.archive_store(old_store).await;
    app.archive_product(old_product).await;
    let ghost = uuid::Uuid::now_v7();
    for (store, product) in [(ghost, p), (s, ghost), (old_store, p), (s, old_product)] {
        for kind in ["STOCK_IN", "SALE"] {
            expect_json(
                app.post(
                    "/stock/movements",
                    &app.admin,
                    &movement(store, product, kind, 1),
                )
                .await,
                404,
            )
            .await;
        }
        expect_json(
            app.post(
                "/stock",
                &app.admin,
                &json!({ "store_id": store, "product_id": product, "quantity": 1 }),
            )
            .await,
            404,
        )
        .await;
    }
    // A count of a level whose store and product were archived is refused too.
    let old_path = format!("/stock/{}", old_level["id"].as_str().expect("id"));
    expect_json(
        app.put(&old_path, &app.admin, &json!({ "quantity": 1 }))
            .await,
        404,
    )
    .await;
    expect_json(
        app.put(
            &format!("/stock/{ghost}"),
            &app.admin,
            &json!({ "quantity": 1 }),
        )
        .await,
        404,
    )
    .await;
    assert_eq!(app.quantity(s, p).await, 5);
    assert_eq!(app.movement_count().await, 2);
}
