//! Starting the app, arranging catalog rows, and reading the database and the stream.

use std::{collections::HashMap, sync::Arc, time::Duration};

use diesel::{
    QueryableByName,
    sql_types::{BigInt, Bytea, Text, Uuid as SqlUuid},
};
use diesel_async::{RunQueryDsl, SimpleAsyncConnection};
use inventory_common::auth::Role;
use inventory_events::{STOCK_EVENTS_STREAM, StockEvent};
use inventory_stock::{config::Config, startup};
use inventory_testkit::{TestDb, http::TestClient, service_config, token, token_for};
use reqwest::{Method, Response};
use serde_json::{Value, json};
use uuid::Uuid;

pub use inventory_testkit::http::{eventually, expect_json, expect_problem};

impl std::ops::Deref for TestApp {
    type Target = TestClient;
    fn deref(&self) -> &TestClient {
        &self.api
    }
}

/// One running instance of the app, with an admin token; [`TestClient`]'s methods through `Deref`.
pub struct TestApp {
    pub api: TestClient,
    pub db: Arc<TestDb>,
    pub config: Config,
    pub admin_id: Uuid,
    pub admin: String,
}

impl TestApp {
    /// The app against a fresh database.
    pub async fn spawn() -> Self {
        Self::spawn_on(Arc::new(TestDb::new().await), |_| {}).await
    }

    /// An instance on `db` with its configuration adjusted by `tweak`.
    pub async fn spawn_on(db: Arc<TestDb>, tweak: impl FnOnce(&mut Config)) -> Self {
        let mut config = Config::new(service_config("stock", &db));
        config.outbox_poll = Duration::from_millis(100);
        tweak(&mut config);
        let server = startup::build(config.clone()).await.expect("build the app");
        tokio::spawn(server.server);
        let admin_id = Uuid::now_v7();
        Self {
            api: TestClient::new(format!("http://127.0.0.1:{}", server.port)),
            db,
            config,
            admin_id,
            admin: token_for(admin_id, Role::Admin, &[]),
        }
    }

    /// A clerk's token for `stores`.
    pub fn clerk(&self, stores: &[Uuid]) -> String {
        token(Role::Clerk, stores)
    }

    pub async fn get(&self, path: &str, token: &str) -> Response {
        self.api.get(path, Some(token)).await
    }

    pub async fn post(&self, path: &str, token: &str, body: &Value) -> Response {
        self.send_json(Method::POST, path, Some(token), body).await
    }

    pub async fn put(&self, path: &str, token: &str, body: &Value) -> Response {
        self.send_json(Method::PUT, path, Some(token), body).await
    }

    /// An active store row (the catalog service owns the API; tests only need the row).
    pub async fn store(&self) -> Uuid {
        let id = Uuid::now_v7();
        self.exec(&format!(
            "INSERT INTO stores (id, name) VALUES ('{id}', 'Store {id}')"
        ))
        .await;
        id
    }

    /// An active product row.
    pub async fn product(&self) -> Uuid {
        let id = Uuid::now_v7();
        self.exec(&format!(
            "INSERT INTO products (id, sku, name, price_cents) VALUES ('{id}', 'SKU-{id}', 'Product', 100)"
        ))
        .await;
        id
    }

    pub async fn archive_store(&self, id: Uuid) {
        self.exec(&format!(
            "UPDATE stores SET archived_at = now() WHERE id = '{id}'"
        ))
        .await;
    }

    pub async fn archive_product(&self, id: Uuid) {
        self.exec(&format!(
            "UPDATE products SET archived_at = now() WHERE id = '{id}'"
        ))
        .await;
    }

    /// Runs SQL as the superuser.
    pub async fn exec(&self, sql: &str) {
        let mut conn = self.db.connect().await;
        diesel::sql_query(sql)
            .execute(&mut conn)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }

    /// A single bigint (`SELECT ... AS n`) as the superuser.
    pub async fn scalar(&self, sql: &str) -> i64 {
        #[derive(QueryableByName)]
        struct N {
            #[diesel(sql_type = BigInt)]
            n: i64,
        }
        let mut conn = self.db.connect().await;
        diesel::sql_query(sql)
            .get_result::<N>(&mut conn)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
            .n
    }

    /// The text column `s` of every row of `sql`.
    pub async fn strings(&self, sql: &str) -> Vec<String> {
        #[derive(QueryableByName)]
        struct S {
            #[diesel(sql_type = Text)]
            s: String,
        }
        let mut conn = self.db.connect().await;
        diesel::sql_query(sql)
            .load::<S>(&mut conn)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
            .into_iter()
            .map(|row| row.s)
            .collect()
    }

    /// The level's quantity in the database (-1 when there is no level).
    pub async fn quantity(&self, store: Uuid, product: Uuid) -> i64 {
        self.scalar(&format!(
            "SELECT COALESCE((SELECT quantity FROM stock_levels WHERE store_id = '{store}' AND product_id = '{product}'), -1) AS n"
        ))
        .await
    }

    /// The sum of the level's movement deltas.
    pub async fn movement_sum(&self, store: Uuid, product: Uuid) -> i64 {
        self.scalar(&format!(
            "SELECT COALESCE(SUM(delta), 0)::bigint AS n FROM stock_movements WHERE store_id = '{store}' AND product_id = '{product}'"
        ))
        .await
    }

    /// How many movements the database holds.
    pub async fn movement_count(&self) -> i64 {
        self.scalar("SELECT count(*) AS n FROM stock_movements")
            .await
    }

    /// Every movement id with its type, in id order.
    pub async fn movement_ids(&self) -> Vec<(Uuid, String)> {
        #[derive(QueryableByName)]
        struct Row {
            #[diesel(sql_type = SqlUuid)]
            id: Uuid,
            #[diesel(sql_type = Text)]
            movement_type: String,
        }
        let mut conn = self.db.connect().await;
        diesel::sql_query("SELECT id, movement_type FROM stock_movements ORDER BY id")
            .load::<Row>(&mut conn)
            .await
            .expect("movements")
            .into_iter()
            .map(|r| (r.id, r.movement_type))
            .collect()
    }

    /// The outbox's payloads (events not yet published). A row queued in parts is put together in
    /// SQL, as migration 000015's down step does, independently of the relay's prost encoding.
    pub async fn outbox_payloads(&self) -> Vec<Vec<u8>> {
        #[derive(QueryableByName)]
        struct Row {
            #[diesel(sql_type = Bytea)]
            payload: Vec<u8>,
        }
        let mut conn = self.db.connect().await;
        diesel::sql_query(
            "SELECT coalesce(payload, payload_head || '\\x2a24'::bytea || convert_to(level_id::text, 'UTF8') \
                 || '\\x48'::bytea || protobuf_varint(quantity_after) || '\\x50'::bytea || protobuf_varint(level_version) \
                 || '\\x58'::bytea || protobuf_varint(reorder_level)) AS payload \
             FROM outbox ORDER BY seq",
        )
            .load::<Row>(&mut conn)
            .await
            .expect("outbox")
            .into_iter()
            .map(|r| r.payload)
            .collect()
    }

    /// Adds stock as the admin and returns the level.
    pub async fn stock_in(&self, store: Uuid, product: Uuid, quantity: i64) -> Value {
        let res = self
            .post(
                "/stock",
                &self.admin,
                &json!({ "store_id": store, "product_id": product, "quantity": quantity }),
            )
            .await;
        let status = res.status().as_u16();
        let body = res.json::<Value>().await.expect("json");
        assert!(status == 200 || status == 201, "stock in: {status} {body}");
        body
    }

    /// The entries of this test's event stream, decoded: (entry event_id field, type field, event).
    pub async fn stream_events(&self) -> Vec<StreamEvent> {
        let mut redis = inventory_testkit::redis().await;
        let key = self.config.service.redis_key(STOCK_EVENTS_STREAM);
        let reply: redis::streams::StreamRangeReply = redis::cmd("XRANGE")
            .arg(&key)
            .arg("-")
            .arg("+")
            .query_async(&mut redis)
            .await
            .expect("xrange");
        reply
            .ids
            .into_iter()
            .map(|entry| StreamEvent::from_fields(entry.map))
            .collect()
    }
}

/// One entry of the stock event stream.
#[derive(Debug, Clone)]
pub struct StreamEvent {
    pub event_id: String,
    pub kind: String,
    pub traceparent: String,
    pub event: StockEvent,
}

impl StreamEvent {
    fn from_fields(mut map: HashMap<String, redis::Value>) -> Self {
        let mut take = |name: &str| -> Vec<u8> {
            redis::from_redis_value(map.remove(name).unwrap_or(redis::Value::Nil))
                .unwrap_or_default()
        };
        let event_id = String::from_utf8(take("event_id")).expect("utf8");
        let kind = String::from_utf8(take("type")).expect("utf8");
        let traceparent = String::from_utf8(take("traceparent")).expect("utf8");
        let event = StockEvent::from_bytes(&take("payload")).expect("protobuf payload");
        Self {
            event_id,
            kind,
            traceparent,
            event,
        }
    }
}

/// A SALE (or other movement) body.
pub fn movement(store: Uuid, product: Uuid, kind: &str, quantity: i64) -> Value {
    json!({ "store_id": store, "product_id": product, "type": kind, "quantity": quantity })
}

/// The plan `conn` makes for `sql` (parameters of `types`, executed with `args`) as a cached,
/// generic plan: what a pooled connection runs once it has settled on one, whatever the values.
/// The connection keeps its own prepared statements and plan setting.
pub async fn generic_plan(
    conn: &mut diesel_async::AsyncPgConnection,
    types: &str,
    sql: &str,
    args: &str,
) -> Vec<String> {
    #[derive(QueryableByName)]
    struct PlanLine {
        #[diesel(sql_type = Text, column_name = "QUERY PLAN")]
        line: String,
    }
    conn.batch_execute(&format!(
        "SET plan_cache_mode = force_generic_plan; PREPARE test_planned({types}) AS {sql}"
    ))
    .await
    .unwrap_or_else(|e| panic!("prepare {sql}: {e}"));
    let plan = diesel::sql_query(format!("EXPLAIN EXECUTE test_planned({args})"))
        .load::<PlanLine>(conn)
        .await;
    conn.batch_execute("DEALLOCATE test_planned; RESET plan_cache_mode")
        .await
        .expect("deallocate");
    plan.unwrap_or_else(|e| panic!("explain {sql}: {e}"))
        .into_iter()
        .map(|l| l.line)
        .collect()
}

/// The statements `conn` has prepared (and keeps, to bind and execute again).
pub async fn prepared_statements(conn: &mut diesel_async::AsyncPgConnection) -> Vec<String> {
    #[derive(QueryableByName)]
    struct Prepared {
        #[diesel(sql_type = Text)]
        statement: String,
    }
    diesel::sql_query("SELECT statement FROM pg_prepared_statements")
        .load::<Prepared>(conn)
        .await
        .expect("pg_prepared_statements")
        .into_iter()
        .map(|p| p.statement)
        .collect()
}
