//! A headless Chromium driven through ChromeDriver's W3C WebDriver protocol (plain JSON over HTTP),
//! for tests that click through a page as a person would. Every host but 127.0.0.1 is unresolvable
//! in this browser, so a page that needs anything from outside the machine fails visibly.

use std::{
    net::TcpListener,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use serde_json::{Value, json};

/// The W3C element reference key.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// A ChromeDriver process with one browser session; both end when this is dropped.
pub struct Browser {
    driver: Child,
    base: String,
    http: reqwest::Client,
}

impl Browser {
    /// Starts ChromeDriver on a free loopback port and opens a headless Chromium session.
    pub async fn start() -> Self {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let driver = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("run chromedriver (make test installs Debian's chromium-driver package)");
        let mut browser = Self {
            driver,
            base: format!("http://127.0.0.1:{port}"),
            http: reqwest::Client::new(),
        };
        let started = Instant::now();
        while browser
            .http
            .get(format!("{}/status", browser.base))
            .send()
            .await
            .is_err()
        {
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "chromedriver did not start"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let profile = std::env::temp_dir().join(format!(
            "inventory-browser-{}",
            uuid::Uuid::now_v7().simple()
        ));
        let session = browser
            .call(
                reqwest::Method::POST,
                "/session",
                json!({"capabilities": {"alwaysMatch": {
                    "browserName": "chrome",
                    "goog:chromeOptions": {
                        "binary": "/usr/bin/chromium",
                        "args": [
                            "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic",
                            "--no-first-run", "--disable-background-networking",
                            "--disable-component-update", "--disable-sync",
                            "--window-size=1400,1000",
                            "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
                            format!("--user-data-dir={}", profile.display()),
                        ]
                    }
                }}}),
            )
            .await;
        let id = session["sessionId"]
            .as_str()
            .expect("a WebDriver session id")
            .to_owned();
        browser.base = format!("{}/session/{id}", browser.base);
        browser
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Value) -> Value {
        let mut request = self.http.request(method, format!("{}{path}", self.base));
        if !body.is_null() {
            request = request.json(&body);
        }
        let res = request.send().await.expect("WebDriver request");
        let status = res.status();
        let value: Value = res.json().await.expect("WebDriver JSON");
        assert!(status.is_success(), "WebDriver {path}: {status} {value}");
        value.get("value").cloned().unwrap_or(value)
    }

    /// Opens `url` and waits for the page to load.
    pub async fn open(&self, url: &str) {
        self.call(reqwest::Method::POST, "/url", json!({ "url": url }))
            .await;
    }

    /// Runs `script` (a function body; `arguments` holds `args`) in the page and returns its result.
    pub async fn script(&self, script: &str, args: Value) -> Value {
        self.call(
            reqwest::Method::POST,
            "/execute/sync",
            json!({ "script": script, "args": args }),
        )
        .await
    }

    /// Waits up to `timeout` for an element matching `css` and returns its reference.
    pub async fn wait_for(&self, css: &str, timeout: Duration) -> String {
        let started = Instant::now();
        loop {
            let res = self
                .http
                .post(format!("{}/element", self.base))
                .json(&json!({ "using": "css selector", "value": css }))
                .send()
                .await
                .expect("WebDriver request");
            if res.status().is_success() {
                let value: Value = res.json().await.expect("WebDriver JSON");
                if let Some(id) = value["value"][ELEMENT].as_str() {
                    return id.to_owned();
                }
            }
            assert!(
                started.elapsed() < timeout,
                "no element `{css}` after {timeout:?}; page text: {}",
                self.script("return document.body.innerText;", json!([]))
                    .await
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Clicks the element `css` (waiting for it first).
    pub async fn click(&self, css: &str) {
        let id = self.wait_for(css, Duration::from_secs(10)).await;
        self.call(
            reqwest::Method::POST,
            &format!("/element/{id}/click"),
            json!({}),
        )
        .await;
    }

    /// Types `text` into the element `css` (waiting for it first).
    pub async fn type_into(&self, css: &str, text: &str) {
        let id = self.wait_for(css, Duration::from_secs(10)).await;
        self.call(
            reqwest::Method::POST,
            &format!("/element/{id}/value"),
            json!({ "text": text }),
        )
        .await;
    }

    /// The visible text of the element `css` (waiting for it first).
    pub async fn text(&self, css: &str) -> String {
        let id = self.wait_for(css, Duration::from_secs(10)).await;
        self.call(
            reqwest::Method::GET,
            &format!("/element/{id}/text"),
            Value::Null,
        )
        .await
        .as_str()
        .unwrap_or_default()
        .to_owned()
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // Ends the browser session, then the driver (by its PID, through the child handle).
        let base = self.base.clone();
        let _ = std::thread::spawn(move || {
            let _ = std::process::Command::new("curl")
                .args(["-fsS", "-X", "DELETE", &base])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        })
        .join();
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}
