//! The one HTTP client of the tests — of an app started on an ephemeral port, or of the gateway —
//! and the checks every suite makes of an answer.

use std::{future::Future, time::Duration};

use reqwest::{Client, Method, RequestBuilder, Response};
use serde_json::Value;

/// A client of one base URL; requests carry a bearer token when one is given. Cheap to clone into
/// concurrent tasks (the connection pool is shared).
#[derive(Debug, Clone)]
pub struct TestClient {
    /// `http://127.0.0.1:<port>`, without a trailing slash.
    pub base: String,
    /// The underlying client, for requests to other ports.
    pub http: Client,
}

impl TestClient {
    /// A client of `base`.
    pub fn new(base: impl Into<String>) -> Self {
        Self {
            base: base.into(),
            http: Client::builder()
                .pool_max_idle_per_host(64)
                // Shorter than the services' 5 s keep-alive, so a pooled connection is never
                // reused just as the server closes it.
                .pool_idle_timeout(Duration::from_secs(2))
                .build()
                .expect("an HTTP client"),
        }
    }

    /// `method path`, with a bearer token when given.
    pub fn request(&self, method: Method, path: &str, token: Option<&str>) -> RequestBuilder {
        let builder = self.http.request(method, format!("{}{path}", self.base));
        match token {
            Some(token) => builder.bearer_auth(token),
            None => builder,
        }
    }

    /// `method path` with a JSON body, sent.
    pub async fn send_json(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: &Value,
    ) -> Response {
        self.request(method, path, token)
            .json(body)
            .send()
            .await
            .expect("the request reaches the server")
    }

    /// `GET path`, sent.
    pub async fn get(&self, path: &str, token: Option<&str>) -> Response {
        self.request(Method::GET, path, token)
            .send()
            .await
            .expect("the request reaches the server")
    }
}

/// Reads a JSON body after checking the status (the body is in the message when it differs);
/// `Null` when the body is not JSON.
pub async fn expect_json(res: Response, status: u16) -> Value {
    let actual = res.status().as_u16();
    let text = res.text().await.expect("a body");
    assert_eq!(actual, status, "unexpected status; body: {text}");
    serde_json::from_str(&text).unwrap_or(Value::Null)
}

/// The answer's `Content-Type` ("" when it has none).
pub fn content_type(res: &Response) -> String {
    res.headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

/// Checks a problem+json answer: its status, and the fields it names, in order.
pub async fn expect_problem(res: Response, status: u16, fields: &[&str]) -> Value {
    let content_type = content_type(&res);
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

/// Polls `check` every 100 ms until it returns `Some`, for at most `timeout`; `None` when it never
/// did.
pub async fn eventually<T, F, Fut>(timeout: Duration, mut check: F) -> Option<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if let Some(value) = check().await {
            return Some(value);
        }
        if tokio::time::Instant::now() > deadline {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
