//! Starting the app and talking to it.

use std::{sync::Arc, time::Duration};

use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use inventory_catalog::{config::Config, startup};
use inventory_common::auth::Role;
use inventory_testkit::{TestDb, http::TestClient, service_config, token, token_for};
use reqwest::{Method, Response};
use serde_json::{Value, json};
use uuid::Uuid;

pub use inventory_testkit::http::{expect_json, expect_problem};

/// One running instance of the app, with tokens for an admin and a clerk; [`TestClient`]'s methods
/// through `Deref`.
pub struct TestApp {
    pub api: TestClient,
    pub db: Arc<TestDb>,
    pub admin_id: Uuid,
    pub admin: String,
    pub clerk: String,
}

impl std::ops::Deref for TestApp {
    type Target = TestClient;
    fn deref(&self) -> &TestClient {
        &self.api
    }
}

impl TestApp {
    /// The app against a fresh database.
    pub async fn spawn() -> Self {
        Self::spawn_on(Arc::new(TestDb::new().await), |_| {}).await
    }

    /// Another instance on the same database and Redis key prefix (as behind the gateway).
    pub async fn another_instance(&self) -> Self {
        Self::spawn_on(self.db.clone(), |_| {}).await
    }

    /// An instance on `db` with its configuration adjusted by `tweak`.
    pub async fn spawn_on(db: Arc<TestDb>, tweak: impl FnOnce(&mut Config)) -> Self {
        let mut config = Config {
            service: service_config("catalog", &db),
            cache_ttl: Duration::from_secs(60),
        };
        tweak(&mut config);
        let server = startup::build(config).await.expect("build the app");
        tokio::spawn(server.server);
        let admin_id = Uuid::now_v7();
        Self {
            api: TestClient::new(format!("http://127.0.0.1:{}", server.port)),
            db,
            admin_id,
            admin: token_for(admin_id, Role::Admin, &[]),
            clerk: token(Role::Clerk, &[]),
        }
    }

    /// `GET path` as a clerk (reads need any valid token).
    pub async fn get(&self, path: &str) -> Response {
        self.api.get(path, Some(&self.clerk)).await
    }

    /// `method path` with a JSON body.
    pub async fn send_json(
        &self,
        method: Method,
        path: &str,
        token: &str,
        body: &Value,
    ) -> Response {
        self.api.send_json(method, path, Some(token), body).await
    }

    /// `DELETE path` as `token`.
    pub async fn delete(&self, path: &str, token: &str) -> Response {
        self.request(Method::DELETE, path, Some(token))
            .send()
            .await
            .expect("request")
    }

    /// Creates a product as the admin and returns it.
    pub async fn create_product(&self, sku: &str, name: &str) -> Value {
        let body = json!({ "sku": sku, "name": name, "price_cents": 100 });
        let res = self
            .send_json(Method::POST, "/products", &self.admin, &body)
            .await;
        expect_json(res, 201).await
    }

    /// Creates a store as the admin and returns it.
    pub async fn create_store(&self, code: Option<&str>, name: &str) -> Value {
        let body = json!({ "code": code, "name": name });
        let res = self
            .send_json(Method::POST, "/stores", &self.admin, &body)
            .await;
        expect_json(res, 201).await
    }

    /// Walks a list from the first page to the last with `limit`, returning every item in order.
    pub async fn walk(&self, path_and_query: &str, limit: usize) -> Vec<Value> {
        let separator = if path_and_query.contains('?') {
            '&'
        } else {
            '?'
        };
        let mut items = Vec::new();
        let mut cursor: Option<String> = None;
        for _ in 0..1000 {
            let mut url = format!("{path_and_query}{separator}limit={limit}");
            if let Some(c) = &cursor {
                url.push_str(&format!("&cursor={c}"));
            }
            let page = expect_json(self.get(&url).await, 200).await;
            let batch = page["items"].as_array().expect("items").clone();
            assert!(
                batch.len() <= limit,
                "a page is never larger than its limit"
            );
            items.extend(batch);
            match page["next_cursor"].as_str() {
                Some(next) => cursor = Some(next.to_owned()),
                None => return items,
            }
        }
        panic!("the list never ended");
    }

    /// How many rows of `table` exist (archived ones included), read as the superuser.
    pub async fn count_rows(&self, table: &str) -> i64 {
        #[derive(QueryableByName)]
        struct Count {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
        }
        let mut conn = self.db.connect().await;
        diesel::sql_query(format!("SELECT count(*) AS n FROM {table}"))
            .get_result::<Count>(&mut conn)
            .await
            .expect("count")
            .n
    }
}

/// Percent-encodes a query parameter value.
pub fn encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect()
}

/// The `id` member of a JSON object.
pub fn id_of(value: &Value) -> String {
    value["id"].as_str().expect("id").to_owned()
}

/// A timestamp member of a JSON object.
pub fn time(value: &Value) -> chrono::DateTime<chrono::FixedOffset> {
    chrono::DateTime::parse_from_rfc3339(value.as_str().expect("a timestamp")).expect("RFC 3339")
}
