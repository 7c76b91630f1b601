//! The Redis cache: reads are served from it, no instance serves a stale read after a committed
//! write through any instance, and a Redis outage degrades to the database.

use std::{sync::Arc, time::Duration};

use diesel_async::RunQueryDsl;
use reqwest::Method;
use serde_json::json;

use crate::helpers::{TestApp, expect_json, expect_problem, id_of};

#[tokio::test]
async fn reads_come_from_the_cache_until_a_write_invalidates_them() {
    let app = TestApp::spawn().await;
    let product = app.create_product("C-1", "Cached").await;
    let path = format!("/products/{}", id_of(&product));
    expect_json(app.get(&path).await, 200).await;
    expect_json(app.get("/products").await, 200).await;

    // A change behind the service's back is not seen while the entry lives: the read is cached.
    let mut conn = app.db.connect().await;
    diesel::sql_query("UPDATE products SET name = 'Changed behind its back'")
        .execute(&mut conn)
        .await
        .unwrap();
    assert_eq!(
        expect_json(app.get(&path).await, 200).await["name"],
        "Cached"
    );
    let page = expect_json(app.get("/products").await, 200).await;
    assert_eq!(page["items"][0]["name"], "Cached");

    // A write through the API invalidates both the item and every list page.
    let res = app
        .send_json(
            Method::PUT,
            &path,
            &app.admin,
            &json!({ "sku": "C-1", "name": "Renamed", "price_cents": 1 }),
        )
        .await;
    expect_json(res, 200).await;
    assert_eq!(
        expect_json(app.get(&path).await, 200).await["name"],
        "Renamed"
    );
    let page = expect_json(app.get("/products").await, 200).await;
    assert_eq!(page["items"][0]["name"], "Renamed");
}

#[tokio::test]
async fn a_write_through_one_instance_is_seen_at_once_through_another() {
    let a = TestApp::spawn().await;
    let b = a.another_instance().await;

    let product = a.create_product("X-1", "Before").await;
    let product_path = format!("/products/{}", id_of(&product));
    let store = a.create_store(Some("X"), "Before").await;
    let store_path = format!("/stores/{}", id_of(&store));
    // B caches every read.
    for path in [
        product_path.as_str(),
        store_path.as_str(),
        "/products",
        "/stores",
        "/products?q=x-1",
    ] {
        expect_json(b.get(path).await, 200).await;
    }

    for round in 0..5 {
        let name = format!("After {round}");
        let res = a
            .send_json(
                Method::PUT,
                &product_path,
                &a.admin,
                &json!({ "sku": "X-1", "name": name, "price_cents": round }),
            )
            .await;
        expect_json(res, 200).await;
        let res = a
            .send_json(
                Method::PUT,
                &store_path,
                &a.admin,
                &json!({ "code": "X", "name": name }),
            )
            .await;
        expect_json(res, 200).await;
        assert_eq!(
            expect_json(b.get(&product_path).await, 200).await["name"],
            name
        );
        assert_eq!(
            expect_json(b.get(&store_path).await, 200).await["name"],
            name
        );
        let products = expect_json(b.get("/products?q=x-1").await, 200).await;
        assert_eq!(products["items"][0]["price_cents"], round);
        let stores = expect_json(b.get("/stores").await, 200).await;
        assert_eq!(stores["items"][0]["name"], name);
    }

    // A create through A shows in B's cached list; an archive through A is a 404 through B.
    let second = a.create_product("X-2", "Second").await;
    let listed = expect_json(b.get("/products").await, 200).await;
    assert_eq!(listed["items"].as_array().unwrap().len(), 2);
    for path in [&product_path, &store_path] {
        assert_eq!(a.delete(path, &a.admin).await.status(), 204);
        expect_problem(b.get(path).await, 404, &[]).await;
    }
    let listed = expect_json(b.get("/products").await, 200).await;
    assert_eq!(listed["items"][0]["id"], second["id"]);
    assert_eq!(listed["items"].as_array().unwrap().len(), 1);
    let stores = expect_json(b.get("/stores").await, 200).await;
    assert_eq!(stores["items"].as_array().unwrap().len(), 0);
}

#[tokio::test]
async fn concurrent_readers_on_two_instances_never_see_a_value_older_than_the_last_write() {
    let a = Arc::new(TestApp::spawn().await);
    let b = Arc::new(a.another_instance().await);
    let product = a.create_product("RW-1", "v0").await;
    let path = Arc::new(format!("/products/{}", id_of(&product)));

    for version in 1..=20 {
        // Readers hammer both instances while the write commits...
        let mut readers = tokio::task::JoinSet::new();
        for app in [a.clone(), b.clone(), a.clone(), b.clone()] {
            let path = path.clone();
            readers.spawn(async move {
                for _ in 0..5 {
                    expect_json(app.get(&path).await, 200).await;
                }
            });
        }
        let res = a
            .send_json(
                Method::PUT,
                &path,
                &a.admin,
                &json!({ "sku": "RW-1", "name": format!("v{version}"), "price_cents": version }),
            )
            .await;
        expect_json(res, 200).await;
        // ...and once it has been acknowledged, every read on either instance shows it.
        for app in [&a, &b] {
            let read = expect_json(app.get(&path).await, 200).await;
            assert_eq!(
                read["price_cents"], version,
                "stale read after write {version}"
            );
        }
        readers.join_all().await;
    }
}

#[tokio::test]
async fn reads_and_writes_still_succeed_when_redis_is_unreachable() {
    let healthy = TestApp::spawn().await;
    let app = TestApp::spawn_on(healthy.db.clone(), |config| {
        config.service.redis_url = "redis://127.0.0.1:1".into();
        config.service.redis_timeout = Duration::from_millis(100);
    })
    .await;

    let product = app.create_product("R-1", "No Redis").await;
    let path = format!("/products/{}", id_of(&product));
    assert_eq!(expect_json(app.get(&path).await, 200).await, product);
    let res = app
        .send_json(
            Method::PUT,
            &path,
            &app.admin,
            &json!({ "sku": "R-1", "name": "Still no Redis", "price_cents": 3 }),
        )
        .await;
    expect_json(res, 200).await;
    assert_eq!(
        expect_json(app.get(&path).await, 200).await["name"],
        "Still no Redis"
    );
    let page = expect_json(app.get("/products?q=r-1").await, 200).await;
    assert_eq!(page["items"][0]["name"], "Still no Redis");
    let store = app.create_store(Some("NR"), "No Redis").await;
    expect_json(app.get(&format!("/stores/{}", id_of(&store))).await, 200).await;
    expect_json(app.get("/stores").await, 200).await;

    // The outage is counted.
    let metrics = app
        .request(Method::GET, "/metrics", None)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(metrics.contains("cache_errors_total"), "{metrics}");
}

/// The cached variants (hash fields) of `key` in the app's key space.
async fn fields_of(app: &TestApp, key: &str) -> Vec<String> {
    let mut redis = inventory_testkit::redis().await;
    redis::cmd("HKEYS")
        .arg(format!("{}:{key}", app.db.name))
        .query_async(&mut redis)
        .await
        .unwrap()
}

#[tokio::test]
async fn invented_cursors_searches_and_ids_leave_the_cache_bounded() {
    let app = Arc::new(TestApp::spawn().await);
    app.create_product("BOUND-1", "Bounded").await;
    app.create_store(Some("BND"), "Bounded").await;
    expect_json(app.get("/products").await, 200).await;
    expect_json(app.get("/stores").await, 200).await;

    // A few at a time: the test app's pool is small.
    let gate = Arc::new(tokio::sync::Semaphore::new(4));
    let mut requests = tokio::task::JoinSet::new();
    for i in 0..200 {
        let (app, gate) = (app.clone(), gate.clone());
        requests.spawn(async move {
            let _permit = gate.acquire().await.unwrap();
            let invented = uuid::Uuid::new_v4();
            for path in [
                format!("/products?limit=500&cursor={invented}"),
                format!("/products?q=search-{i}-{}", invented.simple()),
                format!("/stores?cursor={invented}"),
                format!("/products/{invented}"),
                format!("/stores/{invented}"),
            ] {
                let status = app.get(&path).await.status().as_u16();
                assert!(status == 200 || status == 404, "{path}: {status}");
            }
        });
    }
    requests.join_all().await;

    // Pages after a cursor are not cached: the plain lists hold their first page only.
    assert_eq!(fields_of(&app, "products:all").await, ["limit=50&q="]);
    assert_eq!(fields_of(&app, "stores:all").await, ["limit=50&q="]);
    // Searches fill their own key up to the cap, then are answered without being stored.
    let searches = fields_of(&app, "products:search").await;
    assert_eq!(
        searches.len(),
        inventory_common::cache::MAX_FIELDS_PER_KEY,
        "{searches:?}"
    );
    // Made-up ids are 404s and store nothing: the only keys are the three lists and the versions
    // the two writes left (item, lists, and the store's stock key).
    let mut redis = inventory_testkit::redis().await;
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{}:*", app.db.name))
        .query_async(&mut redis)
        .await
        .unwrap();
    assert!(keys.len() <= 3 + 6, "{keys:?}");
    // A search past the cap is still answered, from the database.
    let page = expect_json(app.get("/products?q=bound").await, 200).await;
    assert_eq!(page["items"][0]["sku"], "BOUND-1");
}

/// A GET with `If-None-Match: <tag>`.
async fn revalidate(app: &TestApp, path: &str, etag: &str) -> reqwest::Response {
    app.request(Method::GET, path, Some(&app.admin))
        .header("If-None-Match", etag)
        .send()
        .await
        .unwrap()
}

fn etag_of(res: &reqwest::Response) -> String {
    res.headers()
        .get("etag")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .unwrap_or_else(|| panic!("no ETag on {}", res.url()))
}

#[tokio::test]
async fn conditional_gets_answer_304_until_the_item_or_page_changes() {
    let app = TestApp::spawn().await;
    let product = app.create_product("ETAG-1", "Tagged").await;
    let store = app.create_store(Some("ETAG"), "Tagged").await;
    let item = format!("/products/{}", id_of(&product));
    let store_item = format!("/stores/{}", id_of(&store));
    for path in [
        item.as_str(),
        "/products?limit=10",
        "/stores",
        store_item.as_str(),
    ] {
        // Twice: from the database, then from the cache; the tag is the same.
        let first = app.get(path).await;
        let tag = etag_of(&first);
        expect_json(first, 200).await;
        let cached = app.get(path).await;
        assert_eq!(etag_of(&cached), tag, "{path}");
        let cached = expect_json(cached, 200).await;
        // The current tag (also weak, or in a list): 304, no body, the same tag.
        for header in [tag.clone(), format!("W/{tag}"), format!("\"nope\", {tag}")] {
            let res = revalidate(&app, path, &header).await;
            assert_eq!(res.status().as_u16(), 304, "{path} with {header}");
            assert_eq!(etag_of(&res), tag);
            assert!(res.bytes().await.unwrap().is_empty());
        }
        // Another tag: the whole body.
        let res = revalidate(&app, path, "\"nope\"").await;
        assert_eq!(expect_json(res, 200).await, cached, "{path}");
    }

    // A change gives a new tag: the old one is answered with the new body.
    let old = etag_of(&app.get(&item).await);
    let res = app
        .send_json(
            Method::PUT,
            &item,
            &app.admin,
            &json!({ "sku": "ETAG-1", "name": "Retagged", "price_cents": 2 }),
        )
        .await;
    expect_json(res, 200).await;
    let res = revalidate(&app, &item, &old).await;
    assert_ne!(etag_of(&res), old);
    assert_eq!(expect_json(res, 200).await["name"], "Retagged");
}
