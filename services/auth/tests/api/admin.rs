//! The admin endpoints: `GET /auth/users` and `PATCH /auth/users/{user_id}` (role, stores, disabled).

use std::collections::HashSet;

use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use inventory_db::schema::{audit_log, stores, users};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{PASSWORD, TestApp, access_token, refresh_token};

/// A store row, as the catalog service would have created it.
async fn seed_store(app: &TestApp) -> Uuid {
    let id = Uuid::now_v7();
    diesel::insert_into(stores::table)
        .values((stores::id.eq(id), stores::name.eq(format!("Store {id}"))))
        .execute(&mut app.connect().await)
        .await
        .expect("seed a store");
    id
}

async fn role_in_db(app: &TestApp, id: Uuid) -> String {
    users::table
        .find(id)
        .select(users::role)
        .get_result(&mut app.connect().await)
        .await
        .expect("user row")
}

/// A non-admin is refused before anything it sent is looked at: a clerk learns nothing about the
/// validation of a request it may not make (it used to get the 400 first).
#[tokio::test]
async fn clerks_get_403_before_any_400() {
    let app = TestApp::spawn().await;
    let (clerk, pair) = app.new_session().await;
    let token = access_token(&pair);
    let user = format!("/auth/users/{}", clerk.id);
    for body in [
        json!({}),
        json!({ "role": "emperor" }),
        json!({ "store_ids": "everything" }),
        json!({ "nickname": "x" }),
    ] {
        app.patch(&user, Some(&token), &body)
            .await
            .expect_problem(403);
    }
    app.patch(
        "/auth/users/not-a-uuid",
        Some(&token),
        &json!({ "role": "admin" }),
    )
    .await
    .expect_problem(403);
    app.get("/auth/users?limit=0", Some(&token))
        .await
        .expect_problem(403);
    // An admin still gets the 400s.
    let admin = app.admin_token().await;
    app.patch(&user, Some(&admin), &json!({}))
        .await
        .expect_field_error("body");
    assert_eq!(role_in_db(&app, clerk.id).await, "clerk");
}

#[tokio::test]
async fn clerks_cannot_use_the_admin_endpoints() {
    let app = TestApp::spawn().await;
    let (clerk, pair) = app.new_session().await;
    let token = access_token(&pair);

    app.get("/auth/users", Some(&token))
        .await
        .expect_problem(403);
    // Not even to promote themselves.
    app.patch(
        &format!("/auth/users/{}", clerk.id),
        Some(&token),
        &json!({ "role": "admin" }),
    )
    .await
    .expect_problem(403);
    assert_eq!(role_in_db(&app, clerk.id).await, "clerk");

    app.get("/auth/users", None).await.expect_problem(401);
    app.patch(
        &format!("/auth/users/{}", clerk.id),
        None,
        &json!({ "role": "admin" }),
    )
    .await
    .expect_problem(401);
}

#[tokio::test]
async fn an_admin_assigns_a_role_and_existing_stores() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let user = app.new_user().await;
    let (store_a, store_b) = (seed_store(&app).await, seed_store(&app).await);
    let path = format!("/auth/users/{}", user.id);

    let body = app
        .patch(
            &path,
            Some(&admin),
            &json!({ "role": "manager", "store_ids": [store_b, store_a, store_b] }),
        )
        .await
        .expect(200);
    assert_eq!(body["role"], "manager");
    let mut expected = [store_a.to_string(), store_b.to_string()];
    expected.sort();
    assert_eq!(
        body["store_ids"],
        json!(expected),
        "sorted, without duplicates"
    );

    // A new login carries the assignment, and /auth/me shows it.
    let token = access_token(&app.tokens(&user.username, PASSWORD).await);
    let me = app.get("/auth/me", Some(&token)).await.expect(200);
    assert_eq!(me["role"], "manager");
    assert_eq!(me["store_ids"], json!(expected));

    let mut conn = app.connect().await;
    let (actor, action, before, after): (Option<Uuid>, String, Option<Value>, Option<Value>) =
        audit_log::table
            .filter(audit_log::entity_id.eq(user.id))
            .filter(audit_log::action.eq("user.update"))
            .select((
                audit_log::actor_id,
                audit_log::action,
                audit_log::before,
                audit_log::after,
            ))
            .get_result(&mut conn)
            .await
            .expect("one audit row for the change");
    let admin_id = me_id(&app, &admin).await;
    assert_eq!(actor, Some(admin_id));
    assert_eq!(action, "user.update");
    assert_eq!(before.expect("before")["role"], "clerk");
    assert_eq!(after.expect("after")["role"], "manager");
}

async fn me_id(app: &TestApp, token: &str) -> Uuid {
    app.get("/auth/me", Some(token)).await.expect(200)["id"]
        .as_str()
        .expect("id")
        .parse()
        .expect("uuid")
}

#[tokio::test]
async fn bad_changes_are_rejected_and_change_nothing() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let user = app.new_user().await;
    let store = seed_store(&app).await;
    let path = format!("/auth/users/{}", user.id);

    let body = app
        .patch(
            &path,
            Some(&admin),
            &json!({ "role": "manager", "store_ids": [store, Uuid::now_v7()] }),
        )
        .await
        .expect_problem(400);
    assert_eq!(body["errors"][0]["field"], "store_ids");
    assert_eq!(role_in_db(&app, user.id).await, "clerk", "nothing applied");

    let cases = [
        (json!({ "role": "superuser" }), "role"),
        (json!({ "store_ids": ["not-a-uuid"] }), "store_ids[0]"),
        (json!({ "disabled": "yes" }), "disabled"),
        (json!({ "username": "renamed" }), "username"),
        (json!({ "id": Uuid::now_v7() }), "id"),
        (json!({}), "body"),
    ];
    for (body, field) in cases {
        let reply = app.patch(&path, Some(&admin), &body).await;
        assert_eq!(reply.status, 400, "{body}: {}", reply.text);
        assert_eq!(
            reply.body["errors"][0]["field"], field,
            "{body}: {}",
            reply.text
        );
    }

    app.patch(
        &format!("/auth/users/{}", Uuid::now_v7()),
        Some(&admin),
        &json!({ "role": "manager" }),
    )
    .await
    .expect_problem(404);
    app.patch(
        "/auth/users/not-a-uuid",
        Some(&admin),
        &json!({ "role": "manager" }),
    )
    .await
    .expect_problem(400);

    let audited: i64 = audit_log::table
        .filter(audit_log::action.eq("user.update"))
        .count()
        .get_result(&mut app.connect().await)
        .await
        .expect("count");
    assert_eq!(audited, 0);
}

#[tokio::test]
async fn a_disabled_user_can_neither_log_in_nor_refresh() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let (user, pair) = app.new_session().await;

    let body = app
        .patch(
            &format!("/auth/users/{}", user.id),
            Some(&admin),
            &json!({ "disabled": true }),
        )
        .await
        .expect(200);
    assert_eq!(body["disabled"], true);

    let login = app.login(&user.username, PASSWORD).await;
    assert!(
        [401, 403].contains(&login.status),
        "disabled login answered {}: {}",
        login.status,
        login.text
    );
    assert!(login.body.get("access_token").is_none());
    app.refresh(&refresh_token(&pair)).await.expect_problem(401);

    // Enabled again, the user logs in afresh; the old session stays revoked.
    app.patch(
        &format!("/auth/users/{}", user.id),
        Some(&admin),
        &json!({ "disabled": false }),
    )
    .await
    .expect(200);
    app.login(&user.username, PASSWORD).await.expect(200);
    app.refresh(&refresh_token(&pair)).await.expect_problem(401);
}

#[tokio::test]
async fn the_user_list_pages_through_every_user_once() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let mut created = HashSet::new();
    for _ in 0..7 {
        created.insert(app.new_user().await.id.to_string());
    }

    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let path = match &cursor {
            Some(c) => format!("/auth/users?limit=3&cursor={c}"),
            None => "/auth/users?limit=3".to_owned(),
        };
        let page = app.get(&path, Some(&admin)).await.expect(200);
        let items = page["items"].as_array().expect("items");
        assert!(items.len() <= 3);
        for item in items {
            assert!(item.get("password_hash").is_none());
            seen.push(item["id"].as_str().expect("id").to_owned());
        }
        pages += 1;
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
        assert!(pages < 10, "the walk must end");
    }
    // Seven users and the configured admin, each exactly once.
    assert_eq!(seen.len(), 8, "{seen:?}");
    let unique: HashSet<_> = seen.iter().cloned().collect();
    assert_eq!(unique.len(), 8);
    assert!(created.is_subset(&unique));
    assert_eq!(pages, 3);

    let all = app.get("/auth/users", Some(&admin)).await.expect(200);
    assert_eq!(all["items"].as_array().map(Vec::len), Some(8));
    assert_eq!(all["next_cursor"], Value::Null);

    app.get("/auth/users?limit=0", Some(&admin))
        .await
        .expect_field_error("limit");
    app.get("/auth/users?limit=501", Some(&admin))
        .await
        .expect_field_error("limit");
    app.get("/auth/users?cursor=garbage", Some(&admin))
        .await
        .expect_field_error("cursor");
}

#[tokio::test]
async fn the_last_active_admin_cannot_step_down_or_be_disabled() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let admin_id = me_id(&app, &admin).await;
    let path = format!("/auth/users/{admin_id}");

    for change in [json!({ "role": "manager" }), json!({ "disabled": true })] {
        let body = app
            .patch(&path, Some(&admin), &change)
            .await
            .expect_problem(409);
        assert_eq!(body["type"], "https://inventory.dev/problems/last-admin");
    }
    assert_eq!(role_in_db(&app, admin_id).await, "admin");

    // With a second admin, the first may step down.
    let other = app.new_user().await;
    app.patch(
        &format!("/auth/users/{}", other.id),
        Some(&admin),
        &json!({ "role": "admin" }),
    )
    .await
    .expect(200);
    app.patch(&path, Some(&admin), &json!({ "role": "manager" }))
        .await
        .expect(200);
    assert_eq!(role_in_db(&app, admin_id).await, "manager");
}
