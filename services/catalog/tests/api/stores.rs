//! Stores: CRUD, permissions, code conflicts, pagination and archiving.

use reqwest::Method;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{TestApp, expect_json, expect_problem, id_of, time};

#[tokio::test]
async fn a_store_round_trips_through_create_read_replace_and_delete() {
    let app = TestApp::spawn().await;
    let body =
        json!({ "code": " NYC-01 ", "name": "Manhattan", "address": "1 Broadway\nNew York" });
    let res = app
        .send_json(Method::POST, "/stores", &app.admin, &body)
        .await;
    let location = res.headers()["location"].to_str().unwrap().to_owned();
    let created = expect_json(res, 201).await;
    let id = id_of(&created);
    assert_eq!(location, format!("/stores/{id}"));
    assert_eq!(Uuid::parse_str(&id).unwrap().get_version_num(), 7);
    assert_eq!(created["code"], "NYC-01");
    assert_eq!(created["name"], "Manhattan");
    assert_eq!(created["address"], "1 Broadway\nNew York");
    assert!(created["created_at"].is_string());
    assert_eq!(expect_json(app.get(&location).await, 200).await, created);

    let res = app
        .send_json(
            Method::PUT,
            &location,
            &app.admin,
            &json!({ "name": "Midtown" }),
        )
        .await;
    let replaced = expect_json(res, 200).await;
    assert_eq!(replaced["name"], "Midtown");
    assert_eq!(
        replaced["code"],
        Value::Null,
        "a replacement clears what it omits"
    );
    assert_eq!(replaced["address"], Value::Null);
    assert!(time(&replaced["updated_at"]) > time(&created["updated_at"]));
    assert_eq!(expect_json(app.get(&location).await, 200).await, replaced);

    assert_eq!(app.delete(&location, &app.admin).await.status(), 204);
    expect_problem(app.get(&location).await, 404, &[]).await;
    expect_problem(app.delete(&location, &app.admin).await, 404, &[]).await;
    let res = app
        .send_json(
            Method::PUT,
            &location,
            &app.admin,
            &json!({ "name": "Again" }),
        )
        .await;
    expect_problem(res, 404, &[]).await;
    assert_eq!(
        app.count_rows("stores WHERE archived_at IS NOT NULL").await,
        1
    );
}

#[tokio::test]
async fn clerks_read_stores_but_cannot_change_them() {
    let app = TestApp::spawn().await;
    let store = app.create_store(Some("S-1"), "One").await;
    let path = format!("/stores/{}", id_of(&store));
    let res = app
        .request(Method::GET, "/stores", None)
        .send()
        .await
        .unwrap();
    expect_problem(res, 401, &[]).await;
    expect_json(app.get("/stores").await, 200).await;
    expect_json(app.get(&path).await, 200).await;

    let body = json!({ "name": "Two" });
    let res = app
        .send_json(Method::POST, "/stores", &app.clerk, &body)
        .await;
    expect_problem(res, 403, &[]).await;
    let res = app.send_json(Method::PUT, &path, &app.clerk, &body).await;
    expect_problem(res, 403, &[]).await;
    expect_problem(app.delete(&path, &app.clerk).await, 403, &[]).await;
    assert_eq!(app.count_rows("stores").await, 1);
    assert_eq!(expect_json(app.get(&path).await, 200).await, store);
}

#[tokio::test]
async fn a_taken_code_is_a_409_naming_code_and_stores_without_codes_coexist() {
    let app = TestApp::spawn().await;
    let first = app.create_store(Some("LDN"), "London").await;
    let res = app
        .send_json(
            Method::POST,
            "/stores",
            &app.admin,
            &json!({ "code": "LDN", "name": "Other" }),
        )
        .await;
    let problem = expect_problem(res, 409, &[]).await;
    assert_eq!(problem["field"], "code");
    assert!(problem["detail"].as_str().unwrap().contains("LDN"));

    let a = app.create_store(None, "No code A").await;
    app.create_store(None, "No code B").await;
    let res = app
        .send_json(
            Method::PUT,
            &format!("/stores/{}", id_of(&a)),
            &app.admin,
            &json!({ "code": "LDN", "name": "No code A" }),
        )
        .await;
    assert_eq!(expect_problem(res, 409, &[]).await["field"], "code");

    let res = app
        .delete(&format!("/stores/{}", id_of(&first)), &app.admin)
        .await;
    assert_eq!(res.status(), 204);
    app.create_store(Some("LDN"), "London again").await;
    assert_eq!(app.count_rows("stores").await, 4);
}

#[tokio::test]
async fn the_store_list_pages_through_active_stores_once() {
    let app = TestApp::spawn().await;
    let mut ids = Vec::new();
    for n in 0..40 {
        ids.push(id_of(
            &app.create_store(Some(&format!("S-{n}")), &format!("Store {n}"))
                .await,
        ));
    }
    let archived = ids.remove(13);
    let res = app.delete(&format!("/stores/{archived}"), &app.admin).await;
    assert_eq!(res.status(), 204);
    for limit in [3, 39, 500] {
        let walked: Vec<String> = app.walk("/stores", limit).await.iter().map(id_of).collect();
        assert_eq!(walked, ids, "limit {limit}");
    }
    expect_problem(app.get("/stores?limit=501").await, 400, &["limit"]).await;
    expect_problem(app.get("/stores?cursor=x").await, 400, &["cursor"]).await;
    expect_problem(app.get("/stores?limit=-1").await, 400, &["limit"]).await;
    expect_problem(app.get("/stores?limit=x").await, 400, &["limit"]).await;
}
