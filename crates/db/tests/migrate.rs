//! The migration entry point against a real PostgreSQL (the test stack's).

#![allow(clippy::expect_used, clippy::unwrap_used)]

use diesel::{QueryableByName, sql_types::BigInt};
use diesel_async::RunQueryDsl;
use inventory_testkit::TestDb;

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

async fn count(db: &TestDb, sql: &str) -> i64 {
    let mut conn = db.connect().await;
    diesel::sql_query(sql)
        .get_result::<Count>(&mut conn)
        .await
        .expect(sql)
        .n
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_migrators_at_once_apply_each_migration_exactly_once() {
    let db = TestDb::empty().await;
    let url = db.super_url();
    let (a, b) = tokio::join!(
        inventory_db::run_migrations(&url),
        inventory_db::run_migrations(&url)
    );
    let (a, b) = (a.expect("first migrator"), b.expect("second migrator"));
    let total = inventory_db::MIGRATIONS_COUNT;
    // The lock serialises them: one applied everything, the other found nothing to do.
    assert_eq!(a.len() + b.len(), total, "applied: {a:?} and {b:?}");
    assert!(a.is_empty() || b.is_empty());
    assert_eq!(
        count(&db, "SELECT count(*) AS n FROM __diesel_schema_migrations").await,
        total as i64
    );

    // And a third run later is a no-op.
    assert!(
        inventory_db::run_migrations(&url)
            .await
            .expect("rerun")
            .is_empty()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_schema_enforces_the_rules_of_the_data() {
    let db = TestDb::empty().await;
    inventory_db::run_migrations(&db.super_url())
        .await
        .expect("migrate");
    let mut conn = db.connect().await;
    let run = async |conn: &mut diesel_async::AsyncPgConnection, sql: &str| {
        diesel::sql_query(sql).execute(conn).await
    };

    run(
        &mut conn,
        "INSERT INTO stores (id, name) VALUES ('00000000-0000-7000-8000-000000000001', 'S')",
    )
    .await
    .expect("store");
    run(&mut conn, "INSERT INTO products (id, sku, name, price_cents) VALUES ('00000000-0000-7000-8000-000000000002', 'A-1', 'P', 100)")
        .await
        .expect("product");
    // A second active product with the same SKU is refused.
    assert!(run(&mut conn, "INSERT INTO products (id, sku, name, price_cents) VALUES (gen_random_uuid(), 'A-1', 'Q', 1)").await.is_err());
    // Negative prices and negative stock are refused.
    assert!(run(&mut conn, "INSERT INTO products (id, sku, name, price_cents) VALUES (gen_random_uuid(), 'B-1', 'Q', -1)").await.is_err());
    assert!(
        run(
            &mut conn,
            "INSERT INTO stock_levels (id, store_id, product_id, quantity) VALUES (gen_random_uuid(), \
             '00000000-0000-7000-8000-000000000001', '00000000-0000-7000-8000-000000000002', -1)"
        )
        .await
        .is_err()
    );
    // Stock must point at a real store and product.
    assert!(
        run(
            &mut conn,
            "INSERT INTO stock_levels (id, store_id, product_id, quantity) VALUES (gen_random_uuid(), gen_random_uuid(), \
             '00000000-0000-7000-8000-000000000002', 1)"
        )
        .await
        .is_err()
    );
    // One level per store and product.
    let level = "INSERT INTO stock_levels (id, store_id, product_id, quantity) VALUES (gen_random_uuid(), \
                 '00000000-0000-7000-8000-000000000001', '00000000-0000-7000-8000-000000000002', 1)";
    run(&mut conn, level).await.expect("first level");
    assert!(run(&mut conn, level).await.is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_service_role_only_touches_its_own_tables() {
    let db = TestDb::new().await;
    let privileges = |role: &str, table: &str, privilege: &str| {
        format!(
            "SELECT CASE WHEN has_table_privilege('{role}', '{table}', '{privilege}') THEN 1 ELSE 0 END::bigint AS n"
        )
    };
    let allowed = async |role: &str, table: &str, privilege: &str| {
        count(&db, &privileges(role, table, privilege)).await == 1
    };

    assert!(allowed("inventory_auth", "users", "INSERT").await);
    assert!(!allowed("inventory_auth", "products", "SELECT").await);
    assert!(!allowed("inventory_auth", "stock_levels", "SELECT").await);
    assert!(allowed("inventory_catalog", "products", "UPDATE").await);
    assert!(!allowed("inventory_catalog", "products", "DELETE").await);
    assert!(!allowed("inventory_catalog", "users", "SELECT").await);
    assert!(!allowed("inventory_catalog", "stock_levels", "SELECT").await);
    assert!(allowed("inventory_stock", "stock_levels", "UPDATE").await);
    assert!(allowed("inventory_stock", "products", "SELECT").await);
    assert!(!allowed("inventory_stock", "products", "UPDATE").await);
    assert!(!allowed("inventory_stock", "stock_movements", "UPDATE").await);
    assert!(!allowed("inventory_stock", "stock_movements", "DELETE").await);
    assert!(!allowed("inventory_stock", "users", "SELECT").await);
    assert!(allowed("inventory_ledger", "ledger_entries", "INSERT").await);
    assert!(!allowed("inventory_ledger", "stock_levels", "UPDATE").await);
    assert!(!allowed("inventory_ledger", "users", "SELECT").await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrators_of_several_databases_share_the_cluster_wide_roles() {
    // Roles are cluster-wide and the migration lock is per database, so migrators of different
    // databases may set one role's settings at the same moment. Make that happen for sure: take a
    // setting away, then hold an uncommitted change of that role while four migrators reach it.
    let dbs = [
        TestDb::empty().await,
        TestDb::empty().await,
        TestDb::empty().await,
        TestDb::empty().await,
    ];
    let mut holder = dbs[0].connect().await;
    for sql in [
        "ALTER ROLE inventory_auth RESET statement_timeout",
        "BEGIN",
        "ALTER ROLE inventory_auth SET statement_timeout = '5s'",
    ] {
        diesel::sql_query(sql)
            .execute(&mut holder)
            .await
            .expect(sql);
    }
    let migrators: Vec<_> = dbs
        .iter()
        .map(|db| {
            let url = db.super_url();
            tokio::spawn(async move { inventory_db::run_migrations(&url).await })
        })
        .collect();
    let waiting = format!(
        "SELECT count(*) AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname IN ({})",
        dbs.iter()
            .map(|db| format!("'{}'", db.name))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while count(&dbs[1], &waiting).await < 4 && std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(
        count(&dbs[1], &waiting).await,
        4,
        "every migrator waits on the role"
    );
    diesel::sql_query("COMMIT")
        .execute(&mut holder)
        .await
        .expect("commit");

    for migrator in migrators {
        let applied = migrator.await.expect("join").expect("migrate");
        assert_eq!(applied.len(), inventory_db::MIGRATIONS_COUNT);
    }
    assert_eq!(
        count(
            &dbs[0],
            "SELECT count(*) AS n FROM pg_db_role_setting s JOIN pg_roles r ON r.oid = s.setrole \
             WHERE s.setdatabase = 0 AND r.rolname = 'inventory_auth' \
               AND 'statement_timeout=5s' = ANY (s.setconfig)"
        )
        .await,
        1
    );
}
