//! Products: CRUD, permissions, conflicts, pagination, search and archiving.

use std::collections::HashSet;

use inventory_common::auth::Role;
use inventory_testkit::token;
use reqwest::Method;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{TestApp, encode, expect_json, expect_problem, id_of, time};

#[tokio::test]
async fn a_product_round_trips_through_create_read_replace_and_delete() {
    let app = TestApp::spawn().await;
    let body = json!({
        "sku": "  TEA-001 ",
        "name": "Green tea",
        "description": "Loose leaf, 100 g",
        "price_cents": 450
    });
    let res = app
        .send_json(Method::POST, "/products", &app.admin, &body)
        .await;
    let location = res.headers()["location"].to_str().unwrap().to_owned();
    let created = expect_json(res, 201).await;
    let id = id_of(&created);
    assert_eq!(location, format!("/products/{id}"));
    assert_eq!(Uuid::parse_str(&id).unwrap().get_version_num(), 7);
    assert_eq!(created["sku"], "TEA-001", "the SKU is trimmed");
    assert_eq!(created["name"], "Green tea");
    assert_eq!(created["description"], "Loose leaf, 100 g");
    assert_eq!(created["price_cents"], 450);
    assert!(created["created_at"].is_string() && created["updated_at"].is_string());
    assert!(created.get("archived_at").is_none());

    let read = expect_json(app.get(&location).await, 200).await;
    assert_eq!(read, created);

    let replacement = json!({ "sku": "TEA-001B", "name": "Green tea (organic)", "price_cents": 0 });
    let res = app
        .send_json(Method::PUT, &location, &app.admin, &replacement)
        .await;
    let replaced = expect_json(res, 200).await;
    assert_eq!(replaced["id"], created["id"]);
    assert_eq!(replaced["sku"], "TEA-001B");
    assert_eq!(replaced["name"], "Green tea (organic)");
    assert_eq!(replaced["price_cents"], 0);
    assert_eq!(
        replaced["description"],
        Value::Null,
        "a replacement clears what it omits"
    );
    assert_eq!(replaced["created_at"], created["created_at"]);
    assert!(time(&replaced["updated_at"]) > time(&created["updated_at"]));
    assert_eq!(expect_json(app.get(&location).await, 200).await, replaced);

    let res = app.delete(&location, &app.admin).await;
    assert_eq!(res.status(), 204);
    expect_problem(app.get(&location).await, 404, &[]).await;
    expect_problem(app.delete(&location, &app.admin).await, 404, &[]).await;
    let res = app
        .send_json(Method::PUT, &location, &app.admin, &replacement)
        .await;
    expect_problem(res, 404, &[]).await;
}

#[tokio::test]
async fn unknown_and_malformed_ids_are_404_and_400() {
    let app = TestApp::spawn().await;
    let missing = format!("/products/{}", Uuid::now_v7());
    expect_problem(app.get(&missing).await, 404, &[]).await;
    let body = json!({ "sku": "X", "name": "X", "price_cents": 1 });
    expect_problem(
        app.send_json(Method::PUT, &missing, &app.admin, &body)
            .await,
        404,
        &[],
    )
    .await;
    for path in ["/products/not-a-uuid", "/products/123", "/stores/nope"] {
        expect_problem(app.get(path).await, 400, &["path"]).await;
        expect_problem(app.delete(path, &app.admin).await, 400, &["path"]).await;
    }
}

#[tokio::test]
async fn reads_need_a_token_and_writes_need_the_admin_role() {
    let app = TestApp::spawn().await;
    let product = app.create_product("P-1", "Pen").await;
    let path = format!("/products/{}", id_of(&product));

    for path in ["/products", path.as_str()] {
        let res = app.request(Method::GET, path, None).send().await.unwrap();
        expect_problem(res, 401, &[]).await;
        let res = app
            .request(Method::GET, path, Some("not.a.token"))
            .send()
            .await
            .unwrap();
        expect_problem(res, 401, &[]).await;
        expect_json(app.get(path).await, 200).await;
    }

    let manager = token(Role::Manager, &[Uuid::now_v7()]);
    let body = json!({ "sku": "P-2", "name": "Pencil", "price_cents": 5 });
    for who in [&app.clerk, &manager] {
        let res = app.send_json(Method::POST, "/products", who, &body).await;
        expect_problem(res, 403, &[]).await;
        let res = app.send_json(Method::PUT, &path, who, &body).await;
        expect_problem(res, 403, &[]).await;
        expect_problem(app.delete(&path, who).await, 403, &[]).await;
        // Refused before the body is looked at: a bad body is still a 403.
        let res = app
            .send_json(Method::POST, "/products", who, &json!({ "bogus": 1 }))
            .await;
        expect_problem(res, 403, &[]).await;
    }
    assert_eq!(app.count_rows("products").await, 1);
    assert_eq!(expect_json(app.get(&path).await, 200).await, product);
}

#[tokio::test]
async fn a_taken_sku_is_a_409_naming_sku_until_its_product_is_archived() {
    let app = TestApp::spawn().await;
    let first = app.create_product("DUP-1", "First").await;
    let other = app.create_product("OTHER-1", "Other").await;

    let body = json!({ "sku": "DUP-1", "name": "Second", "price_cents": 1 });
    let res = app
        .send_json(Method::POST, "/products", &app.admin, &body)
        .await;
    let problem = expect_problem(res, 409, &[]).await;
    assert_eq!(problem["field"], "sku");
    assert!(problem["detail"].as_str().unwrap().contains("DUP-1"));
    assert!(!problem.to_string().contains("products_sku_active_key"));

    let other_path = format!("/products/{}", id_of(&other));
    let res = app
        .send_json(Method::PUT, &other_path, &app.admin, &body)
        .await;
    assert_eq!(expect_problem(res, 409, &[]).await["field"], "sku");
    assert_eq!(expect_json(app.get(&other_path).await, 200).await, other);

    // SKUs are case-sensitive: `dup-1` is another SKU.
    app.create_product("dup-1", "Lowercase").await;

    let res = app
        .delete(&format!("/products/{}", id_of(&first)), &app.admin)
        .await;
    assert_eq!(res.status(), 204);
    let reused = app.create_product("DUP-1", "Second").await;
    assert_ne!(reused["id"], first["id"]);
}

#[tokio::test]
async fn concurrent_creates_of_one_sku_make_exactly_one_product() {
    let app = std::sync::Arc::new(TestApp::spawn().await);
    let mut tasks = tokio::task::JoinSet::new();
    for n in 0..12 {
        let app = app.clone();
        tasks.spawn(async move {
            let body = json!({ "sku": "RACE-1", "name": format!("Racer {n}"), "price_cents": n });
            app.send_json(Method::POST, "/products", &app.admin, &body)
                .await
                .status()
                .as_u16()
        });
    }
    let mut statuses = tasks.join_all().await;
    statuses.sort();
    assert_eq!(statuses[0], 201);
    assert!(statuses[1..].iter().all(|s| *s == 409), "{statuses:?}");
    assert_eq!(app.count_rows("products").await, 1);
}

#[tokio::test]
async fn pagination_walks_every_product_exactly_once_in_creation_order() {
    let app = TestApp::spawn().await;
    let mut created = Vec::new();
    for n in 0..120 {
        created.push(id_of(
            &app.create_product(&format!("PG-{n:03}"), &format!("Item {n}"))
                .await,
        ));
    }
    for limit in [1, 7, 50, 120, 500] {
        let walked: Vec<String> = app
            .walk("/products", limit)
            .await
            .iter()
            .map(id_of)
            .collect();
        assert_eq!(walked, created, "limit {limit}");
    }

    let first = expect_json(app.get("/products").await, 200).await;
    assert_eq!(
        first["items"].as_array().unwrap().len(),
        50,
        "default limit"
    );
    assert_eq!(first["next_cursor"], created[49]);

    // A product created while a client walks appears at the end, and nothing is repeated.
    let page = expect_json(app.get("/products?limit=100").await, 200).await;
    let late = id_of(&app.create_product("PG-LATE", "Late").await);
    let cursor = page["next_cursor"].as_str().unwrap();
    let rest = expect_json(
        app.get(&format!("/products?limit=100&cursor={cursor}"))
            .await,
        200,
    )
    .await;
    let rest: Vec<String> = rest["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(id_of)
        .collect();
    assert_eq!(rest.len(), 21);
    assert_eq!(rest.last(), Some(&late));

    for (query, field) in [
        ("limit=0", "limit"),
        ("limit=501", "limit"),
        ("limit=ten", "limit"),
        ("cursor=nope", "cursor"),
    ] {
        expect_problem(app.get(&format!("/products?{query}")).await, 400, &[field]).await;
    }
}

#[tokio::test]
async fn archived_products_leave_lists_and_reads_but_keep_their_row() {
    let app = TestApp::spawn().await;
    let a = app.create_product("AR-1", "Kept").await;
    let b = app.create_product("AR-2", "Archived").await;
    let c = app.create_product("AR-3", "Kept too").await;
    let res = app
        .delete(&format!("/products/{}", id_of(&b)), &app.admin)
        .await;
    assert_eq!(res.status(), 204);

    let listed: Vec<String> = app.walk("/products", 1).await.iter().map(id_of).collect();
    assert_eq!(listed, [id_of(&a), id_of(&c)]);
    expect_problem(app.get(&format!("/products/{}", id_of(&b))).await, 404, &[]).await;
    let found = app.walk("/products?q=archived", 10).await;
    assert!(found.is_empty());

    // The row stays (stock history points at it), marked archived.
    assert_eq!(app.count_rows("products").await, 3);
    assert_eq!(
        app.count_rows(&format!(
            "products WHERE archived_at IS NOT NULL AND id = '{}'",
            id_of(&b)
        ))
        .await,
        1
    );
}

#[tokio::test]
async fn q_finds_products_by_sku_or_name_in_any_case() {
    let app = TestApp::spawn().await;
    let green = app.create_product("TEA-001", "Green Tea").await;
    let black = app.create_product("BLK-002", "Black TEA").await;
    let coffee = app.create_product("COF-001", "Dark roast coffee").await;
    let sale = app.create_product("MUG_1", "Mug 100% stoneware").await;
    let plain = app.create_product("MUGX1", "Mug 100 stoneware").await;

    let search = |q: &str| {
        let path = format!("/products?q={}", encode(q));
        let app = &app;
        async move {
            let page = expect_json(app.get(&path).await, 200).await;
            page["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(id_of)
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(search("tea").await, [id_of(&green), id_of(&black)]);
    assert_eq!(search("  cof-0 ").await, [id_of(&coffee)]);
    assert_eq!(search("ROAST").await, [id_of(&coffee)]);
    // `%` and `_` match themselves, not any text.
    assert_eq!(search("100%").await, [id_of(&sale)]);
    assert_eq!(search("mug_").await, [id_of(&sale)]);
    assert_eq!(search("mug").await, [id_of(&sale), id_of(&plain)]);
    assert!(search("nothing like it").await.is_empty());
    // One or two characters match the start of the SKU or name.
    assert_eq!(search("Mu").await, [id_of(&sale), id_of(&plain)]);
    assert_eq!(search("gr").await, [id_of(&green)]);
    assert_eq!(search("te").await, [id_of(&green)]);
    assert_eq!(search("d").await, [id_of(&coffee)]);
    assert!(search("ug").await.is_empty());
    assert!(search("%").await.is_empty());
    assert_eq!(search("").await.len(), 5, "a blank q is no filter");

    expect_problem(
        app.get(&format!("/products?q={}", "q".repeat(201))).await,
        400,
        &["q"],
    )
    .await;
}

#[tokio::test]
async fn a_search_is_paginated_like_the_full_list() {
    let app = TestApp::spawn().await;
    let mut widgets = Vec::new();
    for n in 0..30 {
        app.create_product(&format!("OTHER-{n}"), "Gadget").await;
        widgets.push(id_of(
            &app.create_product(&format!("W-{n}"), &format!("Widget {n}"))
                .await,
        ));
    }
    let walked: HashSet<String> = app
        .walk("/products?q=widget", 7)
        .await
        .iter()
        .map(id_of)
        .collect();
    assert_eq!(walked.len(), 30);
    assert_eq!(walked, widgets.into_iter().collect());
}
