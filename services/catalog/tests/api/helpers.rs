//! Starting the app and talking to it.

use std::{sync::Arc, time::Duration};

use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use inventory_catalog::{config::Config, startup};
use inventory_common::auth::Role;
use inventory_testkit::{TestDb, service_config, token, token_for};
use reqwest::{Client, Method, RequestBuilder, Response};
use serde_json::{Value, json};
use uuid::Uuid;

/// One running instance of the app, with tokens for an admin and a clerk.
pub struct TestApp {
    pub address: String,
    pub client: Client,
    pub db: Arc<TestDb>,
    pub admin_id: Uuid,
    pub admin: String,
    pub clerk: String,
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
            address: format!("http://127.0.0.1:{}", server.port),
            client: Client::new(),
            db,
            admin_id,
            admin: token_for(admin_id, Role::Admin, &[]),
            clerk: token(Role::Clerk, &[]),
        }
    }

    /// A request with an optional bearer token.
    pub fn request(&self, method: Method, path: &str, token: Option<&str>) -> RequestBuilder {
        let builder = self
            .client
            .request(method, format!("{}{}", self.address, path));
        match token {
            Some(token) => builder.bearer_auth(token),
            None => builder,
        }
    }

    /// `GET path` as a clerk (reads need any valid token).
    pub async fn get(&self, path: &str) -> Response {
        self.request(Method::GET, path, Some(&self.clerk))
            .send()
            .await
            .expect("request")
    }

    /// `method path` with a JSON body.
    pub async fn send_json(
        &self,
        method: Method,
        path: &str,
        token: &str,
        body: &Value,
    ) -> Response {
        self.request(method, path, Some(token))
            .json(body)
            .send()
            .await
            .expect("request")
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

/// Reads a JSON body after checking the status (the body is in the message when it differs).
pub async fn expect_json(res: Response, status: u16) -> Value {
    let actual = res.status().as_u16();
    let text = res.text().await.expect("body");
    assert_eq!(actual, status, "unexpected status; body: {text}");
    serde_json::from_str(&text).unwrap_or(Value::Null)
}

/// Checks a problem+json answer: its status, and the fields it names (in order).
pub async fn expect_problem(res: Response, status: u16, fields: &[&str]) -> Value {
    let content_type = res
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let body = expect_json(res, status).await;
    assert_eq!(content_type, "application/problem+json", "{body}");
    assert_eq!(body["status"], status, "{body}");
    let named: Vec<&str> = body["errors"]
        .as_array()
        .map(|errors| errors.iter().filter_map(|e| e["field"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(named, fields, "fields named by {body}");
    body
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
