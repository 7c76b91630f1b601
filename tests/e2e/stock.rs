//! Stock through the gateway, as a point-of-sale client sees it: stock-in, a sale, a refused
//! oversell, a replayed retry, and a clerk of one store refused in another.

#![allow(clippy::expect_used, clippy::unwrap_used)] // tests: failing loudly is the point

use inventory_e2e::{Api, expect_json};
use reqwest::Method;
use serde_json::{Value, json};
use uuid::Uuid;

#[tokio::test]
async fn stock_in_sale_and_oversell() {
    let api = Api::new();
    let admin = api.admin_token().await;
    let (store, product) = api.store_and_product(&admin, "Stock", 250).await;
    let clerk = api.user("clerk", &[store]).await;

    let level = expect_json(
        api.post(
            "/stock",
            Some(&clerk.token),
            &json!({ "store_id": store, "product_id": product, "quantity": 5 }),
        )
        .await,
        201,
    )
    .await;
    assert_eq!(level["quantity"], 5);

    let sale = json!({ "store_id": store, "product_id": product, "type": "SALE", "quantity": 3 });
    let send_sale = |key: &str| {
        api.request(Method::POST, "/stock/movements", Some(&clerk.token))
            .header("Idempotency-Key", key)
            .json(&sale)
            .send()
    };
    let key = Uuid::now_v7().to_string();
    let sold = expect_json(send_sale(&key).await.unwrap(), 201).await;
    assert_eq!(sold["movement"]["delta"], -3);
    assert_eq!(sold["movement"]["user_id"], json!(clerk.id));
    assert_eq!(sold["level"]["quantity"], 2);
    // A retry of the same sale (a lost response) is answered from the first one.
    let retry = send_sale(&key).await.unwrap();
    assert_eq!(retry.headers()["idempotent-replayed"], "true");
    assert_eq!(expect_json(retry, 201).await, sold);

    let problem = expect_json(
        api.post("/stock/movements", Some(&clerk.token), &sale)
            .await,
        409,
    )
    .await;
    assert_eq!(problem["available"], 2);

    let page = expect_json(api.get(&format!("/stock/{store}"), &clerk.token).await, 200).await;
    assert_eq!(page["items"][0]["quantity"], 2);
    let history: Value = expect_json(
        api.get(&format!("/stock/movements?store_id={store}"), &clerk.token)
            .await,
        200,
    )
    .await;
    let types: Vec<&str> = history["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["type"].as_str().unwrap())
        .collect();
    assert_eq!(types, vec!["SALE", "STOCK_IN"]);
}

#[tokio::test]
async fn a_clerk_cannot_touch_another_stores_stock() {
    let api = Api::new();
    let admin = api.admin_token().await;
    let (mine, product) = api.store_and_product(&admin, "Stock", 250).await;
    let (theirs, _) = api.store_and_product(&admin, "Stock", 250).await;
    expect_json(
        api.post(
            "/stock",
            Some(&admin),
            &json!({ "store_id": theirs, "product_id": product, "quantity": 10 }),
        )
        .await,
        201,
    )
    .await;
    let clerk = api.user("clerk", &[mine]).await;
    let sale = json!({ "store_id": theirs, "product_id": product, "type": "SALE", "quantity": 1 });
    expect_json(
        api.post("/stock/movements", Some(&clerk.token), &sale)
            .await,
        403,
    )
    .await;
    let transfer = json!({ "from_store_id": theirs, "to_store_id": mine, "product_id": product, "quantity": 1 });
    expect_json(
        api.post("/stock/transfers", Some(&clerk.token), &transfer)
            .await,
        403,
    )
    .await;
    // Nothing changed in their store.
    let page = expect_json(api.get(&format!("/stock/{theirs}"), &admin).await, 200).await;
    assert_eq!(page["items"][0]["quantity"], 10);
    let history = expect_json(
        api.get(&format!("/stock/movements?store_id={theirs}"), &admin)
            .await,
        200,
    )
    .await;
    assert_eq!(history["items"].as_array().unwrap().len(), 1);
}
