//! The stack's logs are bounded and searchable: written past their cap, the services' logs (through
//! the rotating writer) and the gateway's access log (rotated by the log keeper, nginx reopening it)
//! keep at most `LOG_KEEP` older files besides the current one and drop the oldest lines, and
//! `stack.sh logs QUERY` (`make logs Q=...`) finds a request in every log it went through, also while
//! following them. It floods the gateway, whose limits every test shares, so it is its own binary.

#![allow(clippy::expect_used, clippy::unwrap_used)] // tests: failing loudly is the point

use std::{
    io::{BufRead, BufReader},
    path::{Path, PathBuf},
    process::Stdio,
    sync::mpsc,
    time::{Duration, Instant},
};

use inventory_e2e::{
    Api,
    stack::{env, stack_command},
};
use reqwest::Method;
use uuid::Uuid;

/// Bytes of path in each request: every request adds a line of more than this to the gateway's
/// access log and to the log of the auth instance that answers it.
const PAD: usize = 4000;

use inventory_e2e::stack::state_dir;

fn setting(name: &str) -> u64 {
    env(name).parse().expect("a number")
}

/// The files of log `name`: the current one, then `.1`, `.2`, ... as far as they exist.
fn files_of(logs: &Path, name: &str) -> Vec<PathBuf> {
    let mut files = vec![logs.join(format!("{name}.log"))];
    for i in 1.. {
        let rotated = logs.join(format!("{name}.log.{i}"));
        if !rotated.exists() {
            break;
        }
        files.push(rotated);
    }
    files
}

fn size(path: &Path) -> u64 {
    std::fs::metadata(path).map(|m| m.len()).unwrap_or(0)
}

fn contains(files: &[PathBuf], needle: &str) -> bool {
    files
        .iter()
        .any(|f| std::fs::read_to_string(f).is_ok_and(|text| text.contains(needle)))
}

/// Sends GET /auth/<PAD bytes> with request id `id` until the auth service answers it (404).
async fn padded_request(api: &Api, id: &str) {
    let path = format!("/auth/{}", "x".repeat(PAD));
    loop {
        let res = api
            .request(Method::GET, &path, None)
            .header("X-Request-Id", id)
            .send()
            .await
            .expect("request");
        match res.status().as_u16() {
            404 => return,
            429 => tokio::time::sleep(Duration::from_millis(200)).await,
            other => panic!("GET {} answered {other}", &path[..20]),
        }
    }
}

fn search(query: &str) -> String {
    let out = stack_command(&state_dir(), &[], "logs")
        .arg(query)
        .output()
        .expect("stack.sh logs");
    assert!(out.status.success(), "stack.sh logs {query}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[tokio::test]
async fn logs_written_past_their_cap_keep_a_bounded_number_of_files_and_stay_searchable() {
    let (max, keep) = (
        setting("INVENTORY_LOG_MAX_BYTES"),
        setting("INVENTORY_LOG_KEEP"),
    );
    let logs = state_dir().join("logs");
    let auth_logs: Vec<String> = (1..=env("INVENTORY_AUTH_PORTS").split(',').count())
        .map(|n| format!("auth-{n}"))
        .collect();
    // Enough that every one of those logs is written (keep + 2) times its cap.
    let requests = ((keep + 2) * max / PAD as u64 + 1) * auth_logs.len() as u64 * 5 / 4;
    assert!(
        requests <= 50_000,
        "LOG_MAX_BYTES={max} is too large for this test ({requests} requests); `make test` uses 256 KiB"
    );
    let run = Uuid::now_v7().simple().to_string();
    let id = |i: u64| format!("logcap-{run}-{i}");

    let api = Api::new();
    let workers = 8;
    let mut tasks = tokio::task::JoinSet::new();
    for w in 0..workers {
        let (api, ids) = (
            api.clone(),
            (0..requests)
                .filter(|i| i % workers == w)
                .map(id)
                .collect::<Vec<_>>(),
        );
        tasks.spawn(async move {
            for id in ids {
                padded_request(&api, &id).await;
            }
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.expect("a flooding task");
    }
    // nginx writes its log itself and the log keeper rotates it only when it looks (twice a
    // second), so under a flood a file can pass its cap several times over before it is rotated,
    // and the flood may end before the first file is dropped. Write one cap more at a time until
    // it is, for at most as many caps again as are kept.
    let gateway_first = || contains(&files_of(&logs, "gateway-access"), &id(0));
    let mut extra = requests;
    for _ in 0..keep + 2 {
        if !gateway_first() {
            break;
        }
        for _ in 0..max / PAD as u64 + 1 {
            padded_request(&api, &id(extra)).await;
            extra += 1;
        }
        tokio::time::sleep(Duration::from_millis(700)).await;
    }
    let last = id(extra);
    padded_request(&api, &last).await;

    // The log keeper checks nginx's files twice a second: wait until it has rotated the current one.
    let gateway = files_of(&logs, "gateway-access");
    let deadline = Instant::now() + Duration::from_secs(15);
    while size(&gateway[0]) > max {
        assert!(
            Instant::now() < deadline,
            "the gateway's access log was not rotated: {} bytes",
            size(&gateway[0])
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    for name in auth_logs
        .iter()
        .map(String::as_str)
        .chain(["gateway-access"])
    {
        let files = files_of(&logs, name);
        let sizes: Vec<u64> = files.iter().map(|f| size(f)).collect();
        assert_eq!(
            files.len() as u64,
            keep + 1,
            "{name}: the current file and {keep} older ones: {sizes:?}"
        );
        assert!(
            !contains(&files, &id(0)),
            "{name}: the oldest lines were dropped"
        );
        if name.starts_with("auth") {
            assert!(
                sizes.iter().all(|&s| s <= max),
                "{name}: no file passes {max} bytes: {sizes:?}"
            );
        }
    }
    // nginx writes a request's line once it has sent the answer, so the client can be first.
    let deadline = Instant::now() + Duration::from_secs(5);
    while !contains(&files_of(&logs, "gateway-access"), &last) {
        assert!(
            Instant::now() < deadline,
            "the last request is in the gateway's log"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // Searching every log by request id: the gateway's line and the auth instance's, nothing for
    // what was dropped.
    let found = search(&last);
    assert!(
        found.lines().any(|l| l.starts_with("gateway-access ")),
        "search finds the gateway's line: {found}"
    );
    assert!(
        found.lines().any(|l| l.starts_with("auth-")),
        "search finds the auth instance's line: {found}"
    );
    assert_eq!(search(&id(0)), "", "dropped lines are gone");

    // Following: a request made after the follower started shows up in it.
    let mut follower = stack_command(&state_dir(), &[], "logs")
        .args(["--follow", &format!("logfollow-{run}")])
        .stdout(Stdio::piped())
        .spawn()
        .expect("stack.sh logs --follow");
    let (tx, rx) = mpsc::channel();
    let stdout = follower.stdout.take().expect("stdout");
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut seen = Vec::new();
    let mut n = 0;
    while !(seen
        .iter()
        .any(|l: &String| l.starts_with("gateway-access "))
        && seen.iter().any(|l| l.starts_with("auth-")))
    {
        assert!(Instant::now() < deadline, "the follower printed {seen:?}");
        // The follower starts at the end of each log: keep making requests until it reports them.
        padded_request(&api, &format!("logfollow-{run}-{n}")).await;
        n += 1;
        while let Ok(line) = rx.recv_timeout(Duration::from_millis(300)) {
            seen.push(line);
        }
    }
    follower.kill().expect("stop the follower");
    follower.wait().expect("the follower exits");
}
