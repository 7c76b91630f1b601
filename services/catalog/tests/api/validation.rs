//! Bad input is a 400 (or 413/415) problem that names what is wrong, and changes nothing.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{TestApp, expect_problem, id_of};

fn product_cases() -> Vec<(Value, &'static [&'static str])> {
    let long = |n: usize| "x".repeat(n);
    vec![
        (json!({ "name": "Tea", "price_cents": 1 }), &["sku"]),
        (json!({ "sku": "", "name": "Tea" }), &["sku"]),
        (json!({ "sku": "   ", "name": "Tea" }), &["sku"]),
        (json!({ "sku": long(65), "name": "Tea" }), &["sku"]),
        (json!({ "sku": null, "name": "Tea" }), &["sku"]),
        (json!({ "sku": 42, "name": "Tea" }), &["sku"]),
        (json!({ "sku": "A\u{0}B", "name": "Tea" }), &["sku"]),
        (json!({ "sku": "T-1" }), &["name"]),
        (json!({ "sku": "T-1", "name": "" }), &["name"]),
        (json!({ "sku": "T-1", "name": long(201) }), &["name"]),
        (json!({ "sku": "T-1", "name": ["Tea"] }), &["name"]),
        (
            json!({ "sku": "T-1", "name": "Tea", "description": long(2001) }),
            &["description"],
        ),
        (
            json!({ "sku": "T-1", "name": "Tea", "description": 7 }),
            &["description"],
        ),
        (
            json!({ "sku": "T-1", "name": "Tea", "price_cents": "100" }),
            &["price_cents"],
        ),
        (
            json!({ "sku": "T-1", "name": "Tea", "price_cents": 12.5 }),
            &["price_cents"],
        ),
        (
            json!({ "sku": "T-1", "name": "Tea", "price_cents": 100.0 }),
            &["price_cents"],
        ),
        (
            json!({ "sku": "T-1", "name": "Tea", "price_cents": -1 }),
            &["price_cents"],
        ),
        (
            json!({ "sku": "T-1", "name": "Tea", "price_cents": 1e20 }),
            &["price_cents"],
        ),
        (
            json!({ "sku": "T-1", "name": "Tea", "price_cents": true }),
            &["price_cents"],
        ),
        (json!({ "sku": "T-1", "name": "Tea", "id": "x" }), &["id"]),
        (
            json!({ "sku": "T-1", "name": "Tea", "archived_at": null }),
            &["archived_at"],
        ),
        (
            json!({ "sku": "", "name": "", "price_cents": -5 }),
            &["sku", "name", "price_cents"],
        ),
        (json!([]), &["body"]),
    ]
}

#[tokio::test]
async fn each_bad_product_field_is_named_and_nothing_is_written() {
    let app = TestApp::spawn().await;
    let existing = app.create_product("KEEP-1", "Keep").await;
    let path = format!("/products/{}", id_of(&existing));
    for (body, fields) in product_cases() {
        let res = app
            .send_json(Method::POST, "/products", &app.admin, &body)
            .await;
        expect_problem(res, 400, fields).await;
        // A replacement must also give the price: add it, so the same field is at fault.
        let mut replacement = body.clone();
        if let Some(object) = replacement.as_object_mut() {
            object.entry("price_cents").or_insert(json!(1));
        }
        let res = app
            .send_json(Method::PUT, &path, &app.admin, &replacement)
            .await;
        expect_problem(res, 400, fields).await;
    }
    assert_eq!(app.count_rows("products").await, 1);
    assert_eq!(app.count_rows("audit_log").await, 1);
}

#[tokio::test]
async fn a_replacement_must_give_the_price() {
    let app = TestApp::spawn().await;
    let product = app.create_product("P-1", "Pen").await;
    let res = app
        .send_json(
            Method::PUT,
            &format!("/products/{}", id_of(&product)),
            &app.admin,
            &json!({ "sku": "P-1", "name": "Pen" }),
        )
        .await;
    expect_problem(res, 400, &["price_cents"]).await;
    // A create defaults it to 0.
    let res = app
        .send_json(
            Method::POST,
            "/products",
            &app.admin,
            &json!({ "sku": "P-2", "name": "Pad" }),
        )
        .await;
    assert_eq!(
        crate::helpers::expect_json(res, 201).await["price_cents"],
        0
    );
}

#[tokio::test]
async fn each_bad_store_field_is_named_and_nothing_is_written() {
    let app = TestApp::spawn().await;
    let long = |n: usize| "x".repeat(n);
    let cases: Vec<(Value, &[&str])> = vec![
        (json!({}), &["name"]),
        (json!({ "name": "" }), &["name"]),
        (json!({ "name": long(201) }), &["name"]),
        (json!({ "name": 5 }), &["name"]),
        (json!({ "name": "S", "code": "has space" }), &["code"]),
        (json!({ "name": "S", "code": long(65) }), &["code"]),
        (json!({ "name": "S", "code": 12 }), &["code"]),
        (json!({ "name": "S", "address": long(501) }), &["address"]),
        (json!({ "name": "S", "manager": "me" }), &["manager"]),
        (
            json!({ "name": "", "code": "a b", "address": long(501) }),
            &["code", "name", "address"],
        ),
    ];
    let existing = app.create_store(Some("KEEP"), "Keep").await;
    let path = format!("/stores/{}", id_of(&existing));
    for (body, fields) in cases {
        let res = app
            .send_json(Method::POST, "/stores", &app.admin, &body)
            .await;
        expect_problem(res, 400, fields).await;
        let res = app.send_json(Method::PUT, &path, &app.admin, &body).await;
        expect_problem(res, 400, fields).await;
    }
    assert_eq!(app.count_rows("stores").await, 1);
    assert_eq!(app.count_rows("audit_log").await, 1);
}

#[tokio::test]
async fn malformed_json_wrong_content_type_and_oversize_bodies_are_refused() {
    let app = TestApp::spawn().await;
    for path in ["/products", "/stores"] {
        let res = app
            .request(Method::POST, path, Some(&app.admin))
            .header("content-type", "application/json")
            .body(r#"{"name": "#)
            .send()
            .await
            .unwrap();
        let problem = expect_problem(res, 400, &["body"]).await;
        assert!(
            problem["detail"]
                .as_str()
                .unwrap()
                .contains("malformed JSON")
        );

        let res = app
            .request(Method::POST, path, Some(&app.admin))
            .header("content-type", "text/plain")
            .body(r#"{"sku": "A", "name": "B"}"#)
            .send()
            .await
            .unwrap();
        expect_problem(res, 415, &[]).await;

        let res = app
            .request(Method::POST, path, Some(&app.admin))
            .body(r#"{"sku": "A", "name": "B"}"#)
            .send()
            .await
            .unwrap();
        expect_problem(res, 415, &[]).await;

        let huge = json!({ "sku": "A", "name": "B", "description": "d".repeat(2 * 1024 * 1024) });
        let res = app.send_json(Method::POST, path, &app.admin, &huge).await;
        expect_problem(res, 413, &[]).await;
    }
    assert_eq!(app.count_rows("products").await, 0);
    assert_eq!(app.count_rows("stores").await, 0);
}
