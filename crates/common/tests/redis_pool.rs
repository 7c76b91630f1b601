//! The Redis pool against the test stack's Redis: a connection handed out again at once costs no
//! `PING`; one that sat idle, whose last request went unanswered, or that a command found dropped,
//! is tested or replaced before a request gets it; an error reply keeps it.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::time::Duration;

use inventory_common::redis::{RedisPool, build_redis_pool};
use inventory_testkit::{redis as inspector, redis_url};

/// A pool of one connection, so every check-out hands out the same connection while it works.
fn pool() -> RedisPool {
    build_redis_pool(&redis_url(), 1, Duration::from_secs(5)).expect("pool")
}

async fn client_id(pool: &RedisPool) -> i64 {
    let mut conn = pool.get().await.expect("check out");
    redis::cmd("CLIENT")
        .arg("ID")
        .query_async(&mut *conn)
        .await
        .expect("CLIENT ID")
}

/// Runs `CLIENT <sub> ID <id>` on a connection of its own (not the pool's).
async fn about_client<T: redis::FromRedisValue>(sub: &str, id: i64) -> T {
    redis::cmd("CLIENT")
        .arg(sub)
        .arg("ID")
        .arg(id)
        .query_async(&mut inspector().await)
        .await
        .unwrap_or_else(|e| panic!("CLIENT {sub} ID {id}: {e}"))
}

/// The last command Redis ran for the connection `id`.
async fn last_command(id: i64) -> String {
    let list: String = about_client("LIST", id).await;
    let field = list
        .split_whitespace()
        .find_map(|f| f.strip_prefix("cmd="))
        .unwrap_or_else(|| panic!("no cmd= in {list:?}"));
    field.to_owned()
}

/// Asserts that the last command Redis ran for the connection `id` was `expected`.
async fn assert_last_command(id: i64, expected: &str, why: &str) {
    assert_eq!(last_command(id).await, expected, "{why}");
}

async fn kill(id: i64) {
    let killed: i64 = about_client("KILL", id).await;
    assert_eq!(killed, 1, "connection {id} was there to kill");
}

#[tokio::test]
async fn a_connection_in_use_is_handed_out_again_without_a_ping() {
    let pool = pool();
    let id = client_id(&pool).await;
    let again = pool.get().await.expect("check out again");
    assert_last_command(id, "client|id", "no PING on a busy connection").await;
    drop(again);

    tokio::time::sleep(Duration::from_millis(1100)).await;
    let idle = pool.get().await.expect("check out after a quiet second");
    assert_last_command(id, "ping", "an idle connection is tested").await;
    drop(idle);
}

#[tokio::test]
async fn a_connection_killed_while_idle_is_replaced_at_check_out() {
    let pool = pool();
    let id = client_id(&pool).await;
    kill(id).await;
    tokio::time::sleep(Duration::from_millis(1100)).await;

    // The check-out's PING finds the dead connection; the request gets a new one and never sees
    // an error.
    let next = client_id(&pool).await;
    assert_ne!(next, id);
    assert_eq!(pool.state().statistics.connections_closed_invalid, 1);
}

#[tokio::test]
async fn a_connection_a_command_found_dropped_is_not_handed_out_again() {
    let pool = pool();
    let id = {
        let mut conn = pool.get().await.expect("check out");
        let id: i64 = redis::cmd("CLIENT")
            .arg("ID")
            .query_async(&mut *conn)
            .await
            .expect("CLIENT ID");
        kill(id).await;
        let failed = redis::cmd("CLIENT")
            .arg("ID")
            .query_async::<i64>(&mut *conn)
            .await;
        assert!(failed.is_err(), "a killed connection answered: {failed:?}");
        id
    };
    // Back in the pool it is discarded, not handed out again.
    assert_eq!(pool.state().statistics.connections_closed_broken, 1);
    let next = client_id(&pool).await;
    assert_ne!(next, id, "the dropped connection came back from the pool");
}

#[tokio::test]
async fn a_connection_whose_caller_gave_up_is_tested_before_it_is_handed_out_again() {
    let pool = pool();
    let id = client_id(&pool).await;
    let key = format!("redis-pool-test:{}:gave-up", std::process::id());
    {
        let mut conn = pool.get().await.expect("check out");
        let mut blpop = redis::cmd("BLPOP");
        blpop.arg(&key).arg(0);
        let blocked = blpop.query_async::<Option<(String, String)>>(&mut *conn);
        let gave_up = tokio::time::timeout(Duration::from_millis(50), blocked).await;
        assert!(gave_up.is_err(), "BLPOP answered with nothing pushed");
    }
    // The answer comes now, to nobody; without it the check-out's PING would queue behind a BLPOP
    // that never ends (and redis-rs gives up on a reply after 500 ms).
    let pushed: i64 = redis::cmd("LPUSH")
        .arg(&key)
        .arg("x")
        .query_async(&mut inspector().await)
        .await
        .expect("LPUSH");
    assert_eq!(pushed, 1);
    let again = pool
        .get()
        .await
        .expect("check out after an abandoned request");
    assert_last_command(id, "ping", "tested before it was handed out").await;
    drop(again);
}

#[tokio::test]
async fn an_error_reply_keeps_the_connection() {
    let pool = pool();
    let id = client_id(&pool).await;
    {
        let mut conn = pool.get().await.expect("check out");
        let mut pipe = redis::pipe();
        pipe.cmd("CLIENT").arg("ID").cmd("NO-SUCH-COMMAND");
        let refused = pipe.query_async::<(i64, String)>(&mut *conn).await;
        assert!(
            refused.is_err(),
            "an unknown command was accepted: {refused:?}"
        );
    }
    assert_eq!(client_id(&pool).await, id, "the connection still works");
    assert_eq!(pool.state().statistics.connections_closed_broken, 0);
}
