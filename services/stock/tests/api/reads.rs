//! Reads (levels, history) and counts: pagination, filters, caching and its invalidation.

use serde_json::{Value, json};

use crate::helpers::{TestApp, expect_json, movement};

fn ids(page: &Value, field: &str) -> Vec<String> {
    page["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|i| i[field].as_str().unwrap_or_default().to_owned())
        .collect()
}

#[tokio::test]
async fn a_store_lists_its_levels_in_pages() {
    let app = TestApp::spawn().await;
    let (s, other) = (app.store().await, app.store().await);
    let mut products = Vec::new();
    for i in 0..5 {
        let p = app.product().await;
        app.stock_in(s, p, 10 + i).await;
        products.push(p.to_string());
    }
    app.stock_in(other, app.product().await, 1).await;
    let clerk = app.clerk(&[s]);
    let first = expect_json(app.get(&format!("/stock/{s}?limit=2"), &clerk).await, 200).await;
    let cursor = first["next_cursor"].as_str().expect("cursor").to_owned();
    let second = expect_json(
        app.get(&format!("/stock/{s}?limit=2&cursor={cursor}"), &clerk)
            .await,
        200,
    )
    .await;
    let third = expect_json(
        app.get(
            &format!(
                "/stock/{s}?limit=2&cursor={}",
                second["next_cursor"].as_str().expect("cursor")
            ),
            &clerk,
        )
        .await,
        200,
    )
    .await;
    assert_eq!(third["next_cursor"], Value::Null);
    let mut seen = ids(&first, "product_id");
    seen.extend(ids(&second, "product_id"));
    seen.extend(ids(&third, "product_id"));
    products.sort();
    assert_eq!(seen, products);
    let item = &first["items"][0];
    for field in [
        "id",
        "store_id",
        "product_id",
        "quantity",
        "reorder_level",
        "updated_at",
    ] {
        assert!(item.get(field).is_some(), "{field} missing in {item}");
    }
    let one = expect_json(
        app.get(&format!("/stock/{s}?product_id={}", products[3]), &clerk)
            .await,
        200,
    )
    .await;
    assert_eq!(ids(&one, "product_id"), vec![products[3].clone()]);

    for (query, field) in [
        ("limit=0", "limit"),
        ("limit=x", "limit"),
        ("cursor=zz", "cursor"),
        ("low_stock=maybe", "low_stock"),
        ("product_id=1", "product_id"),
    ] {
        let problem = expect_json(app.get(&format!("/stock/{s}?{query}"), &clerk).await, 400).await;
        assert_eq!(problem["errors"][0]["field"], field, "{query}");
    }
    expect_json(
        app.get(&format!("/stock/{}", uuid::Uuid::now_v7()), &app.admin)
            .await,
        404,
    )
    .await;
}

#[tokio::test]
async fn low_stock_and_counts() {
    let app = TestApp::spawn().await;
    let (s, p, q) = (app.store().await, app.product().await, app.product().await);
    let level = app.stock_in(s, p, 10).await;
    app.stock_in(s, q, 10).await;
    let clerk = app.clerk(&[s]);
    let path = format!("/stock/{}", level["id"].as_str().expect("id"));

    // A count below the stock records a MANUAL_REMOVE with reason `count`; the reorder level is set.
    let counted = expect_json(
        app.put(
            &path,
            &clerk,
            &json!({ "quantity": 4, "reorder_level": 5, "expected_quantity": 10 }),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(
        (
            counted["quantity"].clone(),
            counted["reorder_level"].clone()
        ),
        (json!(4), json!(5))
    );
    let low = expect_json(
        app.get(&format!("/stock/{s}?low_stock=true"), &clerk).await,
        200,
    )
    .await;
    assert_eq!(ids(&low, "product_id"), vec![p.to_string()]);
    let history = expect_json(
        app.get(&format!("/stock/movements?product_id={p}&limit=1"), &clerk)
            .await,
        200,
    )
    .await;
    let last = &history["items"][0];
    assert_eq!(
        (
            last["type"].clone(),
            last["delta"].clone(),
            last["reason"].clone()
        ),
        (json!("MANUAL_REMOVE"), json!(-6), json!("count"))
    );

    // A count above it is a STOCK_IN; a wrong expectation is a 409 with the current quantity.
    expect_json(app.put(&path, &clerk, &json!({ "quantity": 9 })).await, 200).await;
    let problem = expect_json(
        app.put(
            &path,
            &clerk,
            &json!({ "quantity": 1, "expected_quantity": 4 }),
        )
        .await,
        409,
    )
    .await;
    assert_eq!(problem["current_quantity"], 9);
    // Counting what is there moves nothing.
    expect_json(app.put(&path, &clerk, &json!({ "quantity": 9 })).await, 200).await;
    assert_eq!(app.quantity(s, p).await, 9);
    assert_eq!(app.movement_sum(s, p).await, 9);
    assert_eq!(
        app.scalar(&format!(
            "SELECT count(*) AS n FROM stock_movements WHERE product_id = '{p}'"
        ))
        .await,
        3
    );

    // A movement with a wrong expected quantity changes nothing either.
    let mut sale = movement(s, p, "SALE", 1);
    sale["expected_quantity"] = json!(3);
    let problem = expect_json(app.post("/stock/movements", &clerk, &sale).await, 409).await;
    assert_eq!(problem["current_quantity"], 9);
    sale["expected_quantity"] = json!(9);
    expect_json(app.post("/stock/movements", &clerk, &sale).await, 201).await;
    assert_eq!(app.quantity(s, p).await, 8);
}

#[tokio::test]
async fn cached_reads_see_every_committed_change() {
    let app = TestApp::spawn().await;
    let second = TestApp::spawn_on(app.db.clone(), |_| {}).await;
    let (s, p) = (app.store().await, app.product().await);
    app.stock_in(s, p, 10).await;
    let clerk = app.clerk(&[s]);
    let path = format!("/stock/{s}");
    let quantity = |page: Value| page["items"][0]["quantity"].clone();
    assert_eq!(
        quantity(expect_json(second.get(&path, &clerk).await, 200).await),
        json!(10)
    );
    assert_eq!(
        quantity(expect_json(second.get(&path, &clerk).await, 200).await),
        json!(10)
    );
    // Changed through the other instance: the next read anywhere shows it.
    expect_json(
        app.post("/stock/movements", &clerk, &movement(s, p, "SALE", 3))
            .await,
        201,
    )
    .await;
    assert_eq!(
        quantity(expect_json(second.get(&path, &clerk).await, 200).await),
        json!(7)
    );
    let other = app.store().await;
    expect_json(
        app.post(
            "/stock/transfers",
            &app.admin,
            &json!({ "from_store_id": s, "to_store_id": other, "product_id": p, "quantity": 2 }),
        )
        .await,
        201,
    )
    .await;
    assert_eq!(
        quantity(expect_json(second.get(&path, &clerk).await, 200).await),
        json!(5)
    );
    assert_eq!(
        quantity(
            expect_json(
                second.get(&format!("/stock/{other}"), &app.admin).await,
                200
            )
            .await
        ),
        json!(2)
    );
}

#[tokio::test]
async fn history_filters_and_pages_newest_first() {
    let app = TestApp::spawn().await;
    let (a, b, p, q) = (
        app.store().await,
        app.store().await,
        app.product().await,
        app.product().await,
    );
    app.stock_in(a, p, 10).await;
    app.stock_in(b, q, 10).await;
    let clerk = app.clerk(&[a, b]);
    for _ in 0..3 {
        expect_json(
            app.post("/stock/movements", &clerk, &movement(a, p, "SALE", 1))
                .await,
            201,
        )
        .await;
    }
    expect_json(
        app.post(
            "/stock/movements",
            &clerk,
            &movement(b, q, "MANUAL_REMOVE", 2),
        )
        .await,
        201,
    )
    .await;

    let all = expect_json(app.get("/stock/movements?limit=500", &clerk).await, 200).await;
    let all_ids = ids(&all, "id");
    assert_eq!(all_ids.len(), 6);
    let mut sorted = all_ids.clone();
    sorted.sort_by(|x, y| y.cmp(x));
    assert_eq!(all_ids, sorted, "newest first");
    let item = &all["items"][0];
    for field in [
        "id",
        "store_id",
        "product_id",
        "type",
        "quantity",
        "delta",
        "quantity_after",
        "reason",
        "reference",
        "user_id",
        "request_id",
        "created_at",
    ] {
        assert!(item.get(field).is_some(), "{field} missing in {item}");
    }

    let sales = expect_json(
        app.get(
            &format!("/stock/movements?store_id={a}&type=SALE&limit=2"),
            &clerk,
        )
        .await,
        200,
    )
    .await;
    assert_eq!(ids(&sales, "id"), all_ids[1..3].to_vec());
    let rest = expect_json(
        app.get(
            &format!(
                "/stock/movements?store_id={a}&type=SALE&limit=2&cursor={}",
                sales["next_cursor"].as_str().expect("cursor")
            ),
            &clerk,
        )
        .await,
        200,
    )
    .await;
    assert_eq!(ids(&rest, "id").len(), 1);
    assert_eq!(rest["next_cursor"], Value::Null);
    let by_product = expect_json(
        app.get(&format!("/stock/movements?product_id={q}"), &clerk)
            .await,
        200,
    )
    .await;
    assert_eq!(ids(&by_product, "id").len(), 2);

    let future = "2999-01-01T00:00:00Z";
    let past = "2000-01-01T00:00:00Z";
    let none = expect_json(
        app.get(&format!("/stock/movements?from={future}"), &clerk)
            .await,
        200,
    )
    .await;
    assert_eq!(ids(&none, "id").len(), 0);
    let every = expect_json(
        app.get(&format!("/stock/movements?from={past}&to={future}"), &clerk)
            .await,
        200,
    )
    .await;
    assert_eq!(ids(&every, "id").len(), 6);

    for (query, field) in [
        ("type=RETURN", "type"),
        ("from=yesterday", "from"),
        ("to=2026-13-01T00:00:00Z", "to"),
        (&format!("from={future}&to={past}") as &str, "to"),
        ("store_id=x", "store_id"),
        ("limit=501", "limit"),
    ] {
        let problem = expect_json(
            app.get(&format!("/stock/movements?{query}"), &clerk).await,
            400,
        )
        .await;
        assert_eq!(problem["errors"][0]["field"], field, "{query}");
    }
}

#[tokio::test]
async fn a_store_page_answers_304_until_its_levels_change() {
    let app = TestApp::spawn().await;
    let (s, p) = (app.store().await, app.product().await);
    app.stock_in(s, p, 10).await;
    let path = format!("/stock/{s}?limit=100");
    let get = |tag: Option<String>| {
        let mut req = app.request(reqwest::Method::GET, &path, Some(&app.admin));
        if let Some(tag) = tag {
            req = req.header("If-None-Match", tag);
        }
        req.send()
    };
    let etag = |res: &reqwest::Response| {
        res.headers()
            .get("etag")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
            .expect("an ETag")
    };
    let first = get(None).await.expect("request");
    let tag = etag(&first);
    let page = expect_json(first, 200).await;
    assert_eq!(page["items"][0]["quantity"], 10);
    // Cached now: the same tag; naming it gives 304 without a body.
    let again = get(None).await.expect("request");
    assert_eq!(etag(&again), tag);
    let res = get(Some(tag.clone())).await.expect("request");
    assert_eq!(res.status().as_u16(), 304);
    assert_eq!(etag(&res), tag);
    assert!(res.bytes().await.expect("body").is_empty());

    // A sale changes the page: the old tag gets the new page and a new tag.
    expect_json(
        app.post("/stock/movements", &app.admin, &movement(s, p, "SALE", 3))
            .await,
        201,
    )
    .await;
    let res = get(Some(tag.clone())).await.expect("request");
    assert_ne!(etag(&res), tag);
    assert_eq!(expect_json(res, 200).await["items"][0]["quantity"], 7);
}
