//! The first admin comes from configuration, exactly once, however many instances start together.

use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use inventory_db::schema::users;
use inventory_testkit::TestDb;

use crate::helpers::{ADMIN_PASSWORD, ADMIN_USERNAME, Api, config, start};

async fn admins(db: &TestDb) -> Vec<(String, String)> {
    users::table
        .filter(users::role.eq("admin"))
        .select((users::username, users::password_hash))
        .load(&mut db.connect().await)
        .await
        .expect("admins")
}

#[tokio::test]
async fn two_instances_starting_together_create_one_admin() {
    let db = TestDb::new().await;
    let (a, b) = tokio::join!(start(config(&db)), start(config(&db)));

    let rows = admins(&db).await;
    assert_eq!(
        rows.len(),
        1,
        "{:?}",
        rows.iter().map(|r| &r.0).collect::<Vec<_>>()
    );
    assert_eq!(rows[0].0, ADMIN_USERNAME);
    for base in [a, b] {
        let pair = Api::new(base).tokens(ADMIN_USERNAME, ADMIN_PASSWORD).await;
        let claims = crate::helpers::jwt_part(pair["access_token"].as_str().expect("token"), 1);
        assert_eq!(claims["role"], "admin");
    }
}

#[tokio::test]
async fn a_restart_never_modifies_the_existing_admin() {
    let db = TestDb::new().await;
    start(config(&db)).await;
    let before = admins(&db).await;

    // Restarted with another password in the configuration: the stored admin is left alone.
    let mut changed = config(&db);
    changed.admin_password = Some("a different password".into());
    let base = start(changed).await;

    assert_eq!(admins(&db).await, before);
    let api = Api::new(base);
    api.login(ADMIN_USERNAME, ADMIN_PASSWORD).await.expect(200);
    api.login(ADMIN_USERNAME, "a different password")
        .await
        .expect_problem(401);
}

#[tokio::test]
async fn without_a_configured_password_there_is_no_admin_and_its_name_stays_free() {
    let db = TestDb::new().await;
    let mut config = config(&db);
    config.admin_password = None;
    let api = Api::new(start(config).await);
    assert!(admins(&db).await.is_empty());

    // Nobody can squat the configured admin's name before the admin is created.
    let body = api
        .register("Admin", "a password of mine")
        .await
        .expect_problem(409);
    assert_eq!(
        body["type"],
        "https://inventory.dev/problems/username-taken"
    );

    // A later start with the password configured creates the admin.
    let api = Api::new(start(crate::helpers::config(&db)).await);
    api.login(ADMIN_USERNAME, ADMIN_PASSWORD).await.expect(200);
    assert_eq!(admins(&db).await.len(), 1);
}
