//! Bounded queries: history time filters are served by an index (checked in the plan, on a large
//! table), every service role has a statement timeout, and a statement that runs past it is a 503
//! with `Retry-After`, never a 500.

use std::sync::Arc;

use diesel::{
    QueryResult,
    pg::Pg,
    query_builder::{AstPass, Query, QueryFragment, QueryId},
    sql_types::Text,
};
use diesel_async::RunQueryDsl;
use inventory_stock::models::movements::{self, MovementFilter};
use inventory_testkit::TestDb;
use uuid::Uuid;

use crate::helpers::{TestApp, expect_json, expect_problem};

/// Movements seeded straight into the table (as years of history would be).
const MOVEMENTS: i64 = 200_000;

/// `EXPLAIN <query>` with the query's own bind parameters: the plan of exactly what the app runs.
struct Explain<Q>(Q);

impl<Q: QueryFragment<Pg>> QueryFragment<Pg> for Explain<Q> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        out.push_sql("EXPLAIN ");
        self.0.walk_ast(out.reborrow())
    }
}

impl<Q> QueryId for Explain<Q> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<Q> Query for Explain<Q> {
    type SqlType = Text;
}

/// Seeds `n` STOCK_IN movements of one level (one per millisecond, ending now), with UUIDv7 ids
/// whose time is their `created_at`, then refreshes the planner's statistics. Returns the store.
async fn seed_history(app: &TestApp, n: i64) -> Uuid {
    let (store, product) = (app.store().await, app.product().await);
    let level = app.stock_in(store, product, 1).await;
    let level_id = level["id"].as_str().expect("level id");
    app.exec(&format!(
        "INSERT INTO stock_movements (id, store_id, product_id, level_id, movement_type, quantity, \
                delta, quantity_after, level_version, user_id, created_at) \
         SELECT (lpad(to_hex(ms), 12, '0') || '7' || substr(h, 1, 3) || '8' || substr(h, 4, 15))::uuid, \
                '{store}', '{product}', '{level_id}', 'STOCK_IN', 1, 1, g, g, '{user}', \
                to_timestamp(ms / 1000.0) \
         FROM (SELECT g, (extract(epoch FROM now()) * 1000)::bigint - {n} + g AS ms, md5(g::text) AS h \
               FROM generate_series(1, {n}) AS g) AS s",
        user = Uuid::now_v7(),
    ))
    .await;
    app.exec("ANALYZE stock_movements").await;
    store
}

async fn plan(app: &TestApp, filter: &MovementFilter) -> String {
    let mut conn = app.db.connect().await;
    let lines: Vec<String> = Explain(movements::list_query(filter, None, 50))
        .load(&mut conn)
        .await
        .expect("explain");
    lines.join("\n")
}

#[tokio::test]
async fn a_far_future_from_is_an_index_range_not_a_scan() {
    let app = TestApp::spawn().await;
    let store = seed_history(&app, MOVEMENTS).await;
    assert!(app.movement_count().await > MOVEMENTS);
    let far = "2999-01-01T00:00:00Z".parse().ok();

    for (what, stores) in [("every store", None), ("one store", Some(vec![store]))] {
        let filter = MovementFilter {
            stores,
            from: far,
            ..MovementFilter::default()
        };
        let plan = plan(&app, &filter).await;
        assert!(
            !plan.contains("Seq Scan on stock_movements"),
            "{what}: no sequential scan:\n{plan}"
        );
        let bounded = plan
            .lines()
            .any(|l| l.contains("Index Cond:") && l.contains("id >="));
        assert!(
            bounded && plan.contains("Index"),
            "{what}: the time bound is an index condition on the id:\n{plan}"
        );
    }

    // And through the API: nothing, at once.
    let page = expect_json(
        app.get("/stock/movements?from=2999-01-01T00:00:00Z", &app.admin)
            .await,
        200,
    )
    .await;
    assert_eq!(page["items"], serde_json::json!([]));
}

#[tokio::test]
async fn time_filters_keep_their_meaning_at_the_bounds() {
    let app = TestApp::spawn().await;
    let store = app.store().await;
    let product = app.product().await;
    app.stock_in(store, product, 1).await;
    let page = expect_json(app.get("/stock/movements", &app.admin).await, 200).await;
    let created = page["items"][0]["created_at"]
        .as_str()
        .expect("created_at")
        .to_owned();
    let at = chrono::DateTime::parse_from_rfc3339(&created).expect("time");
    let count = |query: String| {
        let app = &app;
        async move {
            expect_json(app.get(&query, &app.admin).await, 200).await["items"]
                .as_array()
                .map_or(0, Vec::len)
        }
    };
    let enc = |t: chrono::DateTime<chrono::FixedOffset>| {
        t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
            .replace('+', "%2B")
    };
    let micro = chrono::Duration::microseconds(1);
    // `from` is inclusive, `to` exclusive, to the microsecond of `created_at`.
    assert_eq!(count(format!("/stock/movements?from={}", enc(at))).await, 1);
    assert_eq!(
        count(format!("/stock/movements?from={}", enc(at + micro))).await,
        0
    );
    assert_eq!(count(format!("/stock/movements?to={}", enc(at))).await, 0);
    assert_eq!(
        count(format!("/stock/movements?to={}", enc(at + micro))).await,
        1
    );
}

#[tokio::test]
async fn every_service_role_has_a_statement_timeout() {
    let app = TestApp::spawn().await;
    for (role, timeout) in [
        ("inventory_auth", "5s"),
        ("inventory_catalog", "5s"),
        ("inventory_stock", "5s"),
        ("inventory_ledger", "60s"),
    ] {
        let n = app
            .scalar(&format!(
                "SELECT count(*) AS n FROM pg_db_role_setting s JOIN pg_roles r ON r.oid = s.setrole \
                 WHERE r.rolname = '{role}' AND s.setdatabase = 0 \
                   AND 'statement_timeout={timeout}' = ANY(s.setconfig)"
            ))
            .await;
        assert_eq!(n, 1, "{role} has statement_timeout {timeout}");
    }
}

#[tokio::test]
async fn a_statement_timeout_is_a_503_with_retry_after() {
    let db = Arc::new(TestDb::new().await);
    // A tiny timeout for the stock role in this test's database only (it takes precedence over
    // the role's own setting), then a query that is genuinely slow on a large table: a type no
    // movement has, so every row is read.
    let seeding = TestApp::spawn_on(db.clone(), |_| {}).await;
    seed_history(&seeding, MOVEMENTS).await;
    seeding
        .exec(&format!(
            "ALTER ROLE inventory_stock IN DATABASE {} SET statement_timeout = '10ms'",
            db.name
        ))
        .await;
    let app = TestApp::spawn_on(db, |_| {}).await;
    let res = app
        .get("/stock/movements?type=TRANSFER_IN&limit=500", &app.admin)
        .await;
    let retry_after = res
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap_or_default().to_owned());
    let problem = expect_problem(res, 503, &[]).await;
    assert!(retry_after.is_some_and(|s| s.parse::<u64>().is_ok()));
    assert!(
        problem["detail"]
            .as_str()
            .is_some_and(|d| d.contains("statement timeout")),
        "{problem}"
    );
}
