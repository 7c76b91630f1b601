//! `POST /auth/refresh` and `POST /auth/logout`: rotation, reuse detection, revocation.

use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use inventory_db::schema::refresh_tokens;
use serde_json::json;
use uuid::Uuid;

use crate::helpers::{PASSWORD, TestApp, access_token, refresh_token};

/// `(live, revoked)` refresh tokens of a user.
async fn token_states(app: &TestApp, user_id: Uuid) -> (i64, i64) {
    let mut conn = app.connect().await;
    let rows: Vec<Option<chrono::DateTime<chrono::Utc>>> = refresh_tokens::table
        .filter(refresh_tokens::user_id.eq(user_id))
        .select(refresh_tokens::revoked_at)
        .load(&mut conn)
        .await
        .expect("tokens");
    let revoked = rows.iter().filter(|r| r.is_some()).count() as i64;
    (rows.len() as i64 - revoked, revoked)
}

#[tokio::test]
async fn refresh_rotates_the_pair_and_the_old_token_then_fails() {
    let app = TestApp::spawn().await;
    let (user, first) = app.new_session().await;

    let reply = app.refresh(&refresh_token(&first)).await;
    assert_eq!(reply.headers["cache-control"], "no-store");
    let second = reply.expect(200);
    assert_eq!(second["token_type"], "Bearer");
    assert_ne!(refresh_token(&second), refresh_token(&first));
    assert_ne!(access_token(&second), access_token(&first));
    let me = app
        .get("/auth/me", Some(&access_token(&second)))
        .await
        .expect(200);
    assert_eq!(me["id"], user.id.to_string());

    // The newest token keeps working, once each.
    let third = app.refresh(&refresh_token(&second)).await.expect(200);
    app.refresh(&refresh_token(&third)).await.expect(200);
}

#[tokio::test]
async fn reusing_a_rotated_token_revokes_the_whole_family() {
    let app = TestApp::spawn().await;
    let (user, first) = app.new_session().await;
    // Another session of the same user, which reuse of the first must not touch.
    let other = app.tokens(&user.username, PASSWORD).await;
    let second = app.refresh(&refresh_token(&first)).await.expect(200);

    let body = app
        .refresh(&refresh_token(&first))
        .await
        .expect_problem(401);
    assert_eq!(body["type"], "https://inventory.dev/problems/unauthorized");
    // The thief's (or the confused client's) newest token is revoked too.
    app.refresh(&refresh_token(&second))
        .await
        .expect_problem(401);
    // Only the other session survives: its token is the one live row.
    assert_eq!(token_states(&app, user.id).await, (1, 2));
    app.refresh(&refresh_token(&other)).await.expect(200);
}

#[tokio::test]
async fn concurrent_refreshes_of_one_token_succeed_once() {
    let app = TestApp::spawn().await;
    let (_, pair) = app.new_session().await;
    let token = refresh_token(&pair);
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..8 {
        let api = app.api.clone();
        let token = token.clone();
        tasks.spawn(async move { api.refresh(&token).await.status });
    }
    let mut statuses = tasks.join_all().await;
    statuses.sort();
    assert_eq!(statuses, [200, 401, 401, 401, 401, 401, 401, 401]);
}

#[tokio::test]
async fn unknown_or_malformed_refresh_tokens_are_401_or_400() {
    let app = TestApp::spawn().await;
    app.refresh("not-a-token-we-issued")
        .await
        .expect_problem(401);
    app.refresh("").await.expect_problem(401);
    app.post("/auth/refresh", None, &json!({}))
        .await
        .expect_field_error("refresh_token");
    app.post("/auth/refresh", None, &json!({ "refresh_token": 42 }))
        .await
        .expect_field_error("refresh_token");
}

#[tokio::test]
async fn logout_revokes_the_refresh_token() {
    let app = TestApp::spawn().await;
    let (user, pair) = app.new_session().await;
    let rotated = app.refresh(&refresh_token(&pair)).await.expect(200);
    let body = json!({ "refresh_token": refresh_token(&rotated) });

    // Logout is for token holders.
    app.post("/auth/logout", None, &body)
        .await
        .expect_problem(401);

    let reply = app
        .post("/auth/logout", Some(&access_token(&rotated)), &body)
        .await;
    assert_eq!(reply.status, 204, "{}", reply.text);
    assert!(reply.text.is_empty());
    app.refresh(&refresh_token(&rotated))
        .await
        .expect_problem(401);
    assert_eq!(token_states(&app, user.id).await.0, 0, "no live token left");

    // Logging out again, or with a token nobody issued, changes nothing and says so quietly.
    let again = app
        .post("/auth/logout", Some(&access_token(&rotated)), &body)
        .await;
    assert_eq!(again.status, 204);
    let unknown = app
        .post(
            "/auth/logout",
            Some(&access_token(&rotated)),
            &json!({ "refresh_token": "never-issued" }),
        )
        .await;
    assert_eq!(unknown.status, 204);
}

#[tokio::test]
async fn nobody_can_log_out_another_users_session() {
    let app = TestApp::spawn().await;
    let (victim, victim_pair) = app.new_session().await;
    let (_, attacker_pair) = app.new_session().await;

    app.post(
        "/auth/logout",
        Some(&access_token(&attacker_pair)),
        &json!({ "refresh_token": refresh_token(&victim_pair) }),
    )
    .await
    .expect_problem(403);
    assert_eq!(token_states(&app, victim.id).await, (1, 0));
    app.refresh(&refresh_token(&victim_pair)).await.expect(200);
}

#[tokio::test]
async fn an_expired_refresh_token_is_refused() {
    let app = TestApp::spawn().await;
    let (user, pair) = app.new_session().await;
    diesel::update(refresh_tokens::table.filter(refresh_tokens::user_id.eq(user.id)))
        .set(refresh_tokens::expires_at.eq(chrono::Utc::now() - chrono::Duration::seconds(1)))
        .execute(&mut app.connect().await)
        .await
        .expect("age the token");
    app.refresh(&refresh_token(&pair)).await.expect_problem(401);
}
