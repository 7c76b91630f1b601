//! A hostile client against the store scope, through the gateway: a self-registered user reads the
//! catalog and nothing of any store's stock; a clerk of A (assigned by the admin's PATCH, then a
//! fresh login) reads A and gets 403 on B, and lists without a store hold only A's rows.

use inventory_e2e::{Api, expect_json, expect_problem};
use reqwest::Method;
use serde_json::{Value, json};
use uuid::Uuid;

/// Every read of one store's stock data.
fn reads_of(store: Uuid) -> Vec<String> {
    vec![
        format!("/stock/{store}"),
        format!("/stock/movements?store_id={store}"),
        format!("/reports/stores/{store}/daily"),
        format!("/reports/stores/{store}/valuation"),
        format!("/reports/low-stock?store_id={store}"),
    ]
}

/// A store with stock and a movement (made by the admin).
async fn stocked_store(api: &Api, admin: &str, label: &str) -> (Uuid, Uuid) {
    let (store, product) = api.store_and_product(admin, label, 250).await;
    expect_json(
        api.post(
            "/stock",
            Some(admin),
            &json!({ "store_id": store, "product_id": product, "quantity": 7 }),
        )
        .await,
        201,
    )
    .await;
    (store, product)
}

fn stores_of(page: &Value) -> Vec<String> {
    let mut stores: Vec<String> = page["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|i| i["store_id"].as_str().expect("store_id").to_owned())
        .collect();
    stores.sort();
    stores.dedup();
    stores
}

async fn expect_forbidden(api: &Api, path: &str, token: &str) {
    expect_problem(api.get(path, token).await, 403, &[]).await;
}

#[tokio::test]
async fn a_self_registered_user_sees_the_catalog_and_no_stock_data() {
    let api = Api::new();
    let admin = api.admin_token().await;
    let (a, product) = stocked_store(&api, &admin, "ScopeA").await;
    let (b, _) = stocked_store(&api, &admin, "ScopeB").await;
    // Registered through the API as anyone can, never assigned a store.
    let newcomer = api.user("clerk", &[]).await;

    for store in [a, b] {
        for path in reads_of(store) {
            expect_forbidden(&api, &path, &newcomer.token).await;
        }
    }
    for path in ["/stock/movements?limit=500", "/reports/low-stock"] {
        let page = expect_json(api.get(path, &newcomer.token).await, 200).await;
        assert_eq!(page["items"], json!([]), "{path}: {page}");
    }
    // The catalog stays readable.
    expect_json(api.get("/products?limit=5", &newcomer.token).await, 200).await;
    expect_json(
        api.get(&format!("/products/{product}"), &newcomer.token)
            .await,
        200,
    )
    .await;
    expect_json(api.get(&format!("/stores/{a}"), &newcomer.token).await, 200).await;
}

#[tokio::test]
async fn a_clerk_of_one_store_reads_only_that_store() {
    let api = Api::new();
    let admin = api.admin_token().await;
    let (a, product) = stocked_store(&api, &admin, "ClerkA").await;
    let (b, _) = stocked_store(&api, &admin, "ClerkB").await;
    // Registered with no stores, assigned A by the admin's PATCH, logged in again (`user` does
    // exactly that).
    let clerk = api.user("clerk", &[a]).await;
    let me = expect_json(api.get("/auth/me", &clerk.token).await, 200).await;
    assert_eq!(me["store_ids"], json!([a]));

    for path in reads_of(b) {
        expect_forbidden(&api, &path, &clerk.token).await;
    }
    for path in reads_of(a) {
        expect_json(api.get(&path, &clerk.token).await, 200).await;
    }
    // A sale in A, so the clerk has a movement of their own too.
    expect_json(
        api.post(
            "/stock/movements",
            Some(&clerk.token),
            &json!({ "store_id": a, "product_id": product, "type": "SALE", "quantity": 1 }),
        )
        .await,
        201,
    )
    .await;
    let history = expect_json(
        api.get("/stock/movements?limit=500", &clerk.token).await,
        200,
    )
    .await;
    assert_eq!(stores_of(&history), vec![a.to_string()]);
    assert_eq!(history["items"].as_array().map(Vec::len), Some(2));
    let low = expect_json(api.get("/reports/low-stock", &clerk.token).await, 200).await;
    assert!(
        stores_of(&low).iter().all(|s| *s == a.to_string()),
        "only A's low levels: {low}"
    );

    // Taking A away (and logging in again) takes the reads away.
    let res = api
        .request(
            Method::PATCH,
            &format!("/auth/users/{}", clerk.id),
            Some(&admin),
        )
        .json(&json!({ "store_ids": [] }))
        .send()
        .await
        .expect("patch");
    expect_json(res, 200).await;
    let pair = api.login(&clerk.username, &clerk.password).await;
    let token = pair["access_token"].as_str().expect("token");
    expect_forbidden(&api, &format!("/stock/{a}"), token).await;
}
