//! The catalog through the gateway, with two catalog instances behind it: round trips, permissions,
//! validation, pagination, and reads that never lag behind an acknowledged write whichever instance
//! nginx picks.

#![allow(clippy::expect_used, clippy::unwrap_used)] // tests: failing loudly is the point

use inventory_e2e::{Api, expect_json};
use reqwest::Method;
use serde_json::{Value, json};
use uuid::Uuid;

/// A SKU or store code no other test (or earlier run) uses.
fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", Uuid::now_v7().simple())
}

async fn send(
    api: &Api,
    method: Method,
    path: &str,
    token: &str,
    body: &Value,
) -> reqwest::Response {
    api.request(method, path, Some(token))
        .json(body)
        .send()
        .await
        .expect("request")
}

async fn delete(api: &Api, path: &str, token: &str) -> reqwest::Response {
    api.request(Method::DELETE, path, Some(token))
        .send()
        .await
        .expect("request")
}

#[tokio::test]
async fn a_product_and_a_store_round_trip_through_the_gateway() {
    let api = Api::new();
    let admin = api.admin_token().await;

    let sku = unique("E2E");
    let body =
        json!({ "sku": sku, "name": "End to end", "description": "via nginx", "price_cents": 999 });
    let created = expect_json(
        send(&api, Method::POST, "/products", &admin, &body).await,
        201,
    )
    .await;
    let path = format!("/products/{}", created["id"].as_str().expect("id"));
    assert_eq!(created["sku"], sku.as_str());
    assert_eq!(
        expect_json(api.get(&path, &admin).await, 200).await,
        created
    );

    let replacement = json!({ "sku": sku, "name": "Renamed", "price_cents": 1000 });
    let replaced = expect_json(
        send(&api, Method::PUT, &path, &admin, &replacement).await,
        200,
    )
    .await;
    assert_eq!(replaced["name"], "Renamed");
    assert_eq!(replaced["description"], Value::Null);
    let found = expect_json(api.get(&format!("/products?q={sku}"), &admin).await, 200).await;
    assert_eq!(found["items"], json!([replaced]));

    let res = send(&api, Method::POST, "/products", &admin, &body).await;
    assert_eq!(expect_json(res, 409).await["field"], "sku");

    assert_eq!(delete(&api, &path, &admin).await.status(), 204);
    expect_json(api.get(&path, &admin).await, 404).await;
    let found = expect_json(api.get(&format!("/products?q={sku}"), &admin).await, 200).await;
    assert_eq!(found["items"], json!([]));

    let code = unique("S");
    let store_body = json!({ "code": code, "name": "E2E store", "address": "1 Test Way" });
    let store = expect_json(
        send(&api, Method::POST, "/stores", &admin, &store_body).await,
        201,
    )
    .await;
    let store_path = format!("/stores/{}", store["id"].as_str().expect("id"));
    assert_eq!(
        expect_json(api.get(&store_path, &admin).await, 200).await,
        store
    );
    let renamed = json!({ "code": code, "name": "E2E store renamed" });
    let res = send(&api, Method::PUT, &store_path, &admin, &renamed).await;
    assert_eq!(expect_json(res, 200).await["name"], "E2E store renamed");
    let res = send(&api, Method::POST, "/stores", &admin, &store_body).await;
    assert_eq!(expect_json(res, 409).await["field"], "code");
    assert_eq!(delete(&api, &store_path, &admin).await.status(), 204);
    expect_json(api.get(&store_path, &admin).await, 404).await;
}

#[tokio::test]
async fn a_clerk_reads_the_catalog_but_cannot_change_it() {
    let api = Api::new();
    let admin = api.admin_token().await;
    let clerk = api.user("clerk", &[]).await;
    let sku = unique("CLERK");
    let body = json!({ "sku": sku, "name": "Not for clerks", "price_cents": 1 });
    let product = expect_json(
        send(&api, Method::POST, "/products", &admin, &body).await,
        201,
    )
    .await;
    let path = format!("/products/{}", product["id"].as_str().expect("id"));

    expect_json(api.get("/products?limit=1", &clerk.token).await, 200).await;
    expect_json(api.get("/stores?limit=1", &clerk.token).await, 200).await;
    assert_eq!(
        expect_json(api.get(&path, &clerk.token).await, 200).await,
        product
    );

    let other = json!({ "sku": unique("CLERK"), "name": "Sneaky", "price_cents": 0 });
    expect_json(
        send(&api, Method::POST, "/products", &clerk.token, &other).await,
        403,
    )
    .await;
    expect_json(
        send(&api, Method::PUT, &path, &clerk.token, &other).await,
        403,
    )
    .await;
    expect_json(delete(&api, &path, &clerk.token).await, 403).await;
    let store = json!({ "name": "Clerk store" });
    expect_json(
        send(&api, Method::POST, "/stores", &clerk.token, &store).await,
        403,
    )
    .await;
    assert_eq!(
        expect_json(api.get(&path, &clerk.token).await, 200).await,
        product
    );

    let res = api
        .request(Method::GET, "/products", None)
        .send()
        .await
        .expect("request");
    expect_json(res, 401).await;
    assert_eq!(delete(&api, &path, &admin).await.status(), 204);
}

#[tokio::test]
async fn bad_input_is_a_problem_naming_the_field() {
    let api = Api::new();
    let admin = api.admin_token().await;
    for (body, field) in [
        (json!({ "sku": "", "name": "x" }), "sku"),
        (
            json!({ "sku": unique("V"), "name": "x", "price_cents": "12" }),
            "price_cents",
        ),
        (
            json!({ "sku": unique("V"), "name": "x", "price_cents": 1.5 }),
            "price_cents",
        ),
        (
            json!({ "sku": unique("V"), "name": "x", "role": "admin" }),
            "role",
        ),
    ] {
        let res = send(&api, Method::POST, "/products", &admin, &body).await;
        assert_eq!(res.headers()["content-type"], "application/problem+json");
        let problem = expect_json(res, 400).await;
        assert_eq!(problem["errors"][0]["field"], field, "{problem}");
    }
    let res = api.get("/products/not-a-uuid", &admin).await;
    expect_json(res, 400).await;
    let res = api
        .request(Method::POST, "/stores", Some(&admin))
        .header("content-type", "text/plain")
        .body("name=x")
        .send()
        .await
        .expect("request");
    expect_json(res, 415).await;
}

#[tokio::test]
async fn a_filtered_list_pages_through_the_gateway_exactly_once() {
    let api = Api::new();
    let admin = api.admin_token().await;
    let prefix = unique("PAGE");
    let mut created = Vec::new();
    for n in 0..23 {
        let body = json!({ "sku": format!("{prefix}-{n:02}"), "name": "Paged", "price_cents": n });
        let product = expect_json(
            send(&api, Method::POST, "/products", &admin, &body).await,
            201,
        )
        .await;
        created.push(product["id"].clone());
    }
    let mut walked = Vec::new();
    let mut url = format!("/products?q={prefix}&limit=5");
    loop {
        let page = expect_json(api.get(&url, &admin).await, 200).await;
        walked.extend(
            page["items"]
                .as_array()
                .expect("items")
                .iter()
                .map(|p| p["id"].clone()),
        );
        match page["next_cursor"].as_str() {
            Some(cursor) => url = format!("/products?q={prefix}&limit=5&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(walked, created);
    for id in created {
        let path = format!("/products/{}", id.as_str().expect("id"));
        assert_eq!(delete(&api, &path, &admin).await.status(), 204);
    }
}

#[tokio::test]
async fn every_read_after_a_write_shows_it_whichever_instance_answers() {
    let api = Api::new();
    let admin = api.admin_token().await;
    let sku = unique("CONSISTENT");
    let body = json!({ "sku": sku, "name": "v0", "price_cents": 0 });
    let product = expect_json(
        send(&api, Method::POST, "/products", &admin, &body).await,
        201,
    )
    .await;
    let path = format!("/products/{}", product["id"].as_str().expect("id"));
    let list = format!("/products?q={sku}");

    for version in 1..=10 {
        // Warm both instances' view of the old value first, so a stale cache would show.
        for _ in 0..4 {
            expect_json(api.get(&path, &admin).await, 200).await;
            expect_json(api.get(&list, &admin).await, 200).await;
        }
        let name = format!("v{version}");
        let body = json!({ "sku": sku, "name": name, "price_cents": version });
        expect_json(send(&api, Method::PUT, &path, &admin, &body).await, 200).await;
        // nginx alternates between the two instances: every one of these reads must see the write.
        for _ in 0..6 {
            let read = expect_json(api.get(&path, &admin).await, 200).await;
            assert_eq!(
                read["name"],
                name.as_str(),
                "stale item after write {version}"
            );
            let page = expect_json(api.get(&list, &admin).await, 200).await;
            assert_eq!(
                page["items"][0]["name"],
                name.as_str(),
                "stale list after write {version}"
            );
        }
    }
    assert_eq!(delete(&api, &path, &admin).await.status(), 204);
    for _ in 0..4 {
        expect_json(api.get(&path, &admin).await, 404).await;
    }
}
