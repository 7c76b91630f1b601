//! Per-test databases do not outlive their tests: dropped with their `TestDb`, and those a killed
//! run left behind dropped by the next run. One test, so that it is the first of its process to
//! create a database (the sweep runs once per process).

#![allow(clippy::expect_used, clippy::unwrap_used)] // tests: failing loudly is the point

use diesel::{QueryableByName, sql_types::BigInt};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use inventory_testkit::TestDb;
use uuid::{NoContext, Timestamp, Uuid};

async fn superuser() -> AsyncPgConnection {
    let url = std::env::var("INVENTORY_PG_SUPER_URL").expect("run through `make test`");
    AsyncPgConnection::establish(&url).await.expect("connect")
}

async fn exists(name: &str) -> bool {
    #[derive(QueryableByName)]
    struct Count {
        #[diesel(sql_type = BigInt)]
        n: i64,
    }
    let count: Count = diesel::sql_query(format!(
        "SELECT count(*) AS n FROM pg_database WHERE datname = '{name}'"
    ))
    .get_result(&mut superuser().await)
    .await
    .expect("count");
    count.n == 1
}

#[tokio::test]
async fn test_databases_do_not_outlive_their_tests() {
    // Left behind two hours ago by a run that was killed, and one from a run going on now.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs();
    let old = format!(
        "t_{}",
        Uuid::new_v7(Timestamp::from_unix(NoContext, now - 7200, 0)).simple()
    );
    let recent = format!("t_{}", Uuid::now_v7().simple());
    for name in [&old, &recent] {
        diesel::sql_query(format!("CREATE DATABASE {name}"))
            .execute(&mut superuser().await)
            .await
            .expect("create");
    }

    let db = TestDb::new().await;
    assert!(
        !exists(&old).await,
        "the next run drops what a killed one left"
    );
    assert!(
        exists(&recent).await,
        "a database of a running test is left alone"
    );

    let name = db.name.clone();
    // A session still on the database, as an app's pool holds them when its test ends.
    let session = db.connect().await;
    assert!(exists(&name).await);
    drop(db);
    assert!(!exists(&name).await, "dropped with its TestDb");
    drop(session);

    diesel::sql_query(format!("DROP DATABASE {recent}"))
        .execute(&mut superuser().await)
        .await
        .expect("clean up");
}
