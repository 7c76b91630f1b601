//! `POST /auth/register`: new users are clerks without stores; every bad input is a 400 naming its
//! field; usernames are unique whatever their case.

use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use inventory_db::schema::{audit_log, users};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{PASSWORD, TestApp};

async fn user_count(app: &TestApp) -> i64 {
    users::table
        .count()
        .get_result(&mut app.connect().await)
        .await
        .expect("count users")
}

#[tokio::test]
async fn registering_creates_a_clerk_with_no_stores() {
    let app = TestApp::spawn().await;
    let body = app.register("Jane.Doe-1_x", PASSWORD).await.expect(201);

    assert_eq!(body["username"], "Jane.Doe-1_x");
    assert_eq!(body["role"], "clerk");
    assert_eq!(body["store_ids"], json!([]));
    let id: Uuid = body["id"].as_str().expect("id").parse().expect("uuid");
    assert_eq!(id.get_version_num(), 7, "ids are UUID v7");

    let mut conn = app.connect().await;
    let (role, stores, hash): (String, Vec<Option<Uuid>>, String) = users::table
        .find(id)
        .select((users::role, users::store_ids, users::password_hash))
        .get_result(&mut conn)
        .await
        .expect("the user row");
    assert_eq!(role, "clerk");
    assert!(stores.is_empty());
    assert!(hash.starts_with("$2"), "stored as a bcrypt hash");
    assert!(!hash.contains(PASSWORD));

    let (actor, action, after): (Option<Uuid>, String, Option<Value>) = audit_log::table
        .filter(audit_log::entity_id.eq(id))
        .select((audit_log::actor_id, audit_log::action, audit_log::after))
        .get_result(&mut conn)
        .await
        .expect("one audit row for the registration");
    assert_eq!(actor, Some(id));
    assert_eq!(action, "user.register");
    let after = after.expect("after");
    assert_eq!(after["username"], "Jane.Doe-1_x");
    assert!(after.get("password_hash").is_none());
}

#[tokio::test]
async fn the_length_limits_are_inclusive() {
    let app = TestApp::spawn().await;
    app.register("abc", "12345678").await.expect(201);
    app.register(&"b".repeat(64), &"p".repeat(72))
        .await
        .expect(201);
    // 24 three-byte characters are exactly 72 bytes.
    app.register("euro", &"€".repeat(24)).await.expect(201);
}

#[tokio::test]
async fn each_bad_field_is_a_400_naming_it_and_creates_nobody() {
    let app = TestApp::spawn().await;
    let before = user_count(&app).await;
    let cases: Vec<(&str, Value, &str)> = vec![
        (
            "too short username",
            json!({"username": "ab", "password": PASSWORD}),
            "username",
        ),
        (
            "too long username",
            json!({"username": "a".repeat(65), "password": PASSWORD}),
            "username",
        ),
        (
            "space in username",
            json!({"username": "jane doe", "password": PASSWORD}),
            "username",
        ),
        (
            "non-ASCII username",
            json!({"username": "élan", "password": PASSWORD}),
            "username",
        ),
        (
            "symbol in username",
            json!({"username": "jane;drop", "password": PASSWORD}),
            "username",
        ),
        (
            "empty username",
            json!({"username": "", "password": PASSWORD}),
            "username",
        ),
        (
            "7-byte password",
            json!({"username": "jane", "password": "1234567"}),
            "password",
        ),
        (
            "73-byte password",
            json!({"username": "jane", "password": "p".repeat(73)}),
            "password",
        ),
        (
            "75-byte multibyte password",
            json!({"username": "jane", "password": "€".repeat(25)}),
            "password",
        ),
        (
            "missing username",
            json!({"password": PASSWORD}),
            "username",
        ),
        ("missing password", json!({"username": "jane"}), "password"),
        (
            "username of the wrong type",
            json!({"username": 123, "password": PASSWORD}),
            "username",
        ),
        (
            "password of the wrong type",
            json!({"username": "jane", "password": true}),
            "password",
        ),
        (
            "null password",
            json!({"username": "jane", "password": null}),
            "password",
        ),
        // No mass assignment: a role cannot be chosen at registration.
        (
            "role given",
            json!({"username": "jane", "password": PASSWORD, "role": "admin"}),
            "role",
        ),
        (
            "stores given",
            json!({"username": "jane", "password": PASSWORD, "store_ids": []}),
            "store_ids",
        ),
        ("a string body", json!("jane"), "body"),
    ];
    for (case, body, field) in cases {
        let reply = app.post("/auth/register", None, &body).await;
        assert_eq!(reply.status, 400, "{case}: {}", reply.text);
        assert_eq!(
            reply.body["errors"][0]["field"], field,
            "{case}: {}",
            reply.text
        );
        assert_eq!(
            reply.headers["content-type"], "application/problem+json",
            "{case}"
        );
    }
    assert_eq!(
        user_count(&app).await,
        before,
        "no bad request created a user"
    );
}

#[tokio::test]
async fn malformed_json_and_other_media_types_are_refused() {
    let app = TestApp::spawn().await;
    let valid = json!({"username": "jane", "password": PASSWORD}).to_string();

    app.post_raw(
        "/auth/register",
        Some("application/json"),
        r#"{"username": "jane", "#,
    )
    .await
    .expect_field_error("body");
    app.post_raw(
        "/auth/register",
        Some("application/json"),
        &format!("{valid} trailing"),
    )
    .await
    .expect_field_error("body");
    app.post_raw("/auth/register", Some("application/json"), "")
        .await
        .expect_field_error("body");
    app.post_raw("/auth/register", Some("text/plain"), &valid)
        .await
        .expect_problem(415);
    app.post_raw("/auth/register", None, &valid)
        .await
        .expect_problem(415);
    app.post_raw(
        "/auth/register",
        Some("application/x-www-form-urlencoded"),
        "username=jane&password=x",
    )
    .await
    .expect_problem(415);

    app.login("jane", PASSWORD).await.expect_problem(401);
}

#[tokio::test]
async fn a_taken_username_in_another_case_is_a_409() {
    let app = TestApp::spawn().await;
    app.register("Alice.Doe", PASSWORD).await.expect(201);
    let body = app
        .register("alice.DOE", "another password")
        .await
        .expect_problem(409);
    assert_eq!(
        body["type"],
        "https://inventory.dev/problems/username-taken"
    );
    // The configured admin's name is taken too.
    app.register("ADMIN", PASSWORD).await.expect_problem(409);

    let count: i64 = users::table
        .filter(users::username.ilike("alice.doe"))
        .count()
        .get_result(&mut app.connect().await)
        .await
        .expect("count");
    assert_eq!(count, 1);
    // The first registration keeps its password.
    app.login("ALICE.doe", PASSWORD).await.expect(200);
}

#[tokio::test]
async fn concurrent_registrations_of_one_name_create_one_user() {
    let app = TestApp::spawn().await;
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..8 {
        let api = app.api.clone();
        let name = if i % 2 == 0 { "Racer" } else { "racer" };
        tasks.spawn(async move { api.register(name, PASSWORD).await.status });
    }
    let mut statuses = tasks.join_all().await;
    statuses.sort();
    assert_eq!(statuses, [201, 409, 409, 409, 409, 409, 409, 409]);
}
