//! The ledger through the gateway: movements made with the stock API reach the reports (through the
//! outbox, the stream and the ledger worker) within seconds.

#![allow(clippy::expect_used, clippy::unwrap_used)] // tests: failing loudly is the point

use std::time::Duration;

use inventory_e2e::{Api, expect_json};
use reqwest::Method;
use serde_json::{Value, json};

/// Polls `path` until `done` holds (up to 20 s), returning that body.
async fn eventually(api: &Api, path: &str, token: &str, done: impl Fn(&Value) -> bool) -> Value {
    let done = &done;
    inventory_e2e::eventually(Duration::from_secs(20), || async move {
        let body = expect_json(api.get(path, token).await, 200).await;
        done(&body).then_some(body)
    })
    .await
    .unwrap_or_else(|| panic!("{path} never showed the expected state"))
}

#[tokio::test]
async fn movements_reach_the_daily_and_low_stock_reports() {
    let api = Api::new();
    let admin = api.admin_token().await;
    let (store, product) = api.store_and_product(&admin, "Ledger", 300).await;
    let (store_id, product_id) = (store.to_string(), product.to_string());
    let clerk = api.user("clerk", &[store]).await;

    let level = expect_json(
        api.post(
            "/stock",
            Some(&clerk.token),
            &json!({ "store_id": store_id, "product_id": product_id, "quantity": 20 }),
        )
        .await,
        201,
    )
    .await;
    let level_id = level["id"].as_str().unwrap();
    let res = api
        .request(
            Method::PUT,
            &format!("/stock/{level_id}"),
            Some(&clerk.token),
        )
        .json(&json!({ "reorder_level": 10 }))
        .send()
        .await
        .unwrap();
    expect_json(res, 200).await;
    expect_json(
        api.post(
            "/stock/movements",
            Some(&clerk.token),
            &json!({ "store_id": store_id, "product_id": product_id, "type": "SALE", "quantity": 15 }),
        )
        .await,
        201,
    )
    .await;

    let line_of = |report: &Value| {
        report["items"]
            .as_array()
            .and_then(|items| {
                items
                    .iter()
                    .find(|i| i["product_id"] == product_id.as_str())
            })
            .cloned()
    };
    let daily = eventually(
        &api,
        &format!("/reports/stores/{store_id}/daily"),
        &clerk.token,
        |r| line_of(r).is_some_and(|l| l["out"] == 15),
    )
    .await;
    let line = line_of(&daily).unwrap();
    assert_eq!(
        (
            line["in"].as_i64(),
            line["net"].as_i64(),
            line["closing"].as_i64()
        ),
        (Some(20), Some(5), Some(5))
    );
    assert!(daily["as_of"].is_string(), "{daily}");

    let low = eventually(
        &api,
        &format!("/reports/low-stock?store_id={store_id}"),
        &clerk.token,
        |r| line_of(r).is_some(),
    )
    .await;
    let line = line_of(&low).unwrap();
    assert_eq!(
        (line["quantity"].as_i64(), line["reorder_level"].as_i64()),
        (Some(5), Some(10))
    );

    let valuation = expect_json(
        api.get(
            &format!("/reports/stores/{store_id}/valuation"),
            &clerk.token,
        )
        .await,
        200,
    )
    .await;
    assert_eq!(valuation["total_value_cents"], 5 * 300);
}

/// A new reorder threshold moves no stock, yet the low-stock report follows it both ways.
#[tokio::test]
async fn a_reorder_level_change_alone_reaches_the_low_stock_report() {
    let api = Api::new();
    let admin = api.admin_token().await;
    let (store, product) = api.store_and_product(&admin, "Reorder", 0).await;
    let (store_id, product_id) = (store.to_string(), product.to_string());
    let level = expect_json(
        api.post(
            "/stock",
            Some(&admin),
            &json!({ "store_id": store_id, "product_id": product_id, "quantity": 8 }),
        )
        .await,
        201,
    )
    .await;
    let level_id = level["id"].as_str().unwrap().to_owned();
    let set_reorder = |reorder: i64| {
        api.request(Method::PUT, &format!("/stock/{level_id}"), Some(&admin))
            .json(&json!({ "reorder_level": reorder }))
            .send()
    };
    let listed = |report: &Value| {
        report["items"]
            .as_array()
            .is_some_and(|items| items.iter().any(|i| i["product_id"] == product_id.as_str()))
    };
    let path = format!("/reports/low-stock?store_id={store_id}");

    expect_json(set_reorder(10).await.unwrap(), 200).await;
    let low = eventually(&api, &path, &admin, listed).await;
    let line = low["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["product_id"] == product_id.as_str())
        .cloned()
        .unwrap();
    assert_eq!(
        (line["quantity"].as_i64(), line["reorder_level"].as_i64()),
        (Some(8), Some(10))
    );

    expect_json(set_reorder(0).await.unwrap(), 200).await;
    eventually(&api, &path, &admin, |r| !listed(r)).await;

    // No movement was recorded for either change.
    let history = expect_json(
        api.get(&format!("/stock/movements?store_id={store_id}"), &admin)
            .await,
        200,
    )
    .await;
    assert_eq!(history["items"].as_array().map(Vec::len), Some(1));
}
