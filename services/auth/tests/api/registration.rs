//! `INVENTORY_REGISTRATION`: open by default (anyone registers a clerk without stores); `admin`
//! lets only an admin's token register users (401 without a token, 403 with anyone else's).

use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use inventory_auth::config::Registration;
use inventory_db::schema::{audit_log, users};
use inventory_testkit::TestDb;
use serde_json::json;
use uuid::Uuid;

use crate::helpers::{ADMIN_USERNAME, Api, PASSWORD, TestApp, access_token, config, start};

/// An app whose registration is admin-only.
async fn admin_only() -> TestApp {
    let db = TestDb::new().await;
    let mut config = config(&db);
    config.registration = Registration::Admin;
    TestApp {
        api: Api::new(start(config).await),
        db,
    }
}

async fn exists(app: &TestApp, username: &str) -> bool {
    users::table
        .filter(users::username.eq(username))
        .count()
        .get_result::<i64>(&mut app.connect().await)
        .await
        .expect("count")
        > 0
}

#[tokio::test]
async fn registration_is_open_by_default() {
    assert_eq!(Registration::default(), Registration::Open);
    let app = TestApp::spawn().await;
    app.register("walk-in", PASSWORD).await.expect(201);
    assert!(exists(&app, "walk-in").await);
}

#[tokio::test]
async fn admin_only_registration_refuses_anyone_but_an_admin() {
    let app = admin_only().await;
    let body = json!({ "username": "walk-in", "password": PASSWORD });

    // No token: 401 with a challenge.
    let anonymous = app.post("/auth/register", None, &body).await;
    assert_eq!(
        anonymous
            .headers
            .get("www-authenticate")
            .and_then(|v| v.to_str().ok()),
        Some("Bearer")
    );
    anonymous.expect_problem(401);
    // A broken token: 401.
    app.post("/auth/register", Some("not-a-token"), &body)
        .await
        .expect_problem(401);

    // A clerk's (or manager's) token: 403, and nobody was created.
    let clerk = inventory_testkit::token(inventory_common::auth::Role::Clerk, &[]);
    let manager = inventory_testkit::token(inventory_common::auth::Role::Manager, &[]);
    for token in [&clerk, &manager] {
        let problem = app
            .post("/auth/register", Some(token), &body)
            .await
            .expect_problem(403);
        assert!(
            problem["detail"]
                .as_str()
                .is_some_and(|d| d.contains("admin")),
            "{problem}"
        );
    }
    // Refused before the body is even read: a bad body is still 401 without a token.
    app.post_raw("/auth/register", Some("application/json"), "{")
        .await
        .expect_problem(401);
    assert!(!exists(&app, "walk-in").await);

    // The admin registers the user; the audit record names the admin.
    let admin = app.admin_token().await;
    let created = app
        .post("/auth/register", Some(&admin), &body)
        .await
        .expect(201);
    assert_eq!(created["role"], "clerk");
    assert_eq!(created["store_ids"], json!([]));
    let id: Uuid = created["id"].as_str().expect("id").parse().expect("uuid");
    let (actor, role): (Option<Uuid>, Option<String>) = audit_log::table
        .filter(audit_log::entity_id.eq(id))
        .filter(audit_log::action.eq("user.register"))
        .select((audit_log::actor_id, audit_log::actor_role))
        .get_result(&mut app.connect().await)
        .await
        .expect("the audit record");
    let admin_id: Uuid = users::table
        .filter(users::username.eq(ADMIN_USERNAME))
        .select(users::id)
        .get_result(&mut app.connect().await)
        .await
        .expect("the admin");
    assert_eq!(actor, Some(admin_id));
    assert_eq!(role.as_deref(), Some("admin"));

    // The new user logs in as usual.
    let pair = app.tokens("walk-in", PASSWORD).await;
    assert!(!access_token(&pair).is_empty());
}

#[test]
fn the_setting_takes_only_open_or_admin() {
    assert_eq!(
        "open".parse::<Registration>().ok(),
        Some(Registration::Open)
    );
    assert_eq!(
        "admin".parse::<Registration>().ok(),
        Some(Registration::Admin)
    );
    assert!("closed".parse::<Registration>().is_err());
}
