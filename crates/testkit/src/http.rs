//! The one HTTP client of the tests — of an app started on an ephemeral port, or of the gateway —
//! and the checks every suite makes of an answer.

use std::{future::Future, sync::Mutex, time::Duration};

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

    /// `method path`, with a bearer token when given, and the newest `Consistency-Token` this
    /// process was answered with (see [`saw`]).
    pub fn request(&self, method: Method, path: &str, token: Option<&str>) -> RequestBuilder {
        let mut builder = self.http.request(method, format!("{}{path}", self.base));
        if let Some(latest) = latest_token() {
            builder = builder.header("Consistency-Token", latest);
        }
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
        let res = self
            .request(method, path, token)
            .json(body)
            .send()
            .await
            .expect("the request reaches the server");
        saw(&res);
        res
    }

    /// `GET path`, sent.
    pub async fn get(&self, path: &str, token: Option<&str>) -> Response {
        self.request(Method::GET, path, token)
            .send()
            .await
            .expect("the request reaches the server")
    }
}

/// The newest `Consistency-Token` any write of this test process was answered with (its WAL
/// position, as a number, and as sent). Every request of a [`TestClient`] presents it: a stack with
/// a read replica serves reads from it, and a test that writes as one user and reads as another (or
/// anonymously) cooperates the way a client of the API would, so that the read sees the write.
static LATEST_TOKEN: Mutex<Option<(u64, String)>> = Mutex::new(None);

/// A `Consistency-Token` (`16/B374D848`) as a number, to compare positions.
pub fn token_position(token: &str) -> Option<u64> {
    let (high, low) = token.trim().split_once('/')?;
    Some((u64::from_str_radix(high, 16).ok()? << 32) | u64::from_str_radix(low, 16).ok()?)
}

/// Remembers the `Consistency-Token` of `res`, if it is newer than the one remembered.
pub fn saw(res: &Response) {
    let Some(token) = res
        .headers()
        .get("consistency-token")
        .and_then(|v| v.to_str().ok())
    else {
        return;
    };
    let Some(position) = token_position(token) else {
        return;
    };
    let mut latest = LATEST_TOKEN.lock().unwrap_or_else(|e| e.into_inner());
    if latest.as_ref().is_none_or(|(seen, _)| position > *seen) {
        *latest = Some((position, token.to_owned()));
    }
}

/// The newest token this process was answered with (see [`saw`]).
pub fn latest_token() -> Option<String> {
    LATEST_TOKEN
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .as_ref()
        .map(|(_, token)| token.clone())
}

/// Reads a JSON body after checking the status (the body is in the message when it differs);
/// `Null` when the body is not JSON.
pub async fn expect_json(res: Response, status: u16) -> Value {
    saw(&res);
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
