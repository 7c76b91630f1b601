//! Gateway failover: with one auth instance stopped, every request still succeeds through the other.
//! This test stops a process of the stack it runs against and starts it again (`stack.sh up`), so it
//! is its own test binary, run alone against the throwaway test stack, never against a shared one.

#![allow(clippy::expect_used, clippy::unwrap_used)] // tests: failing loudly is the point

use std::{
    path::PathBuf,
    process::Command,
    time::{Duration, Instant},
};

use inventory_e2e::{
    Api,
    stack::{RestartOnDrop, alive, env},
};

#[tokio::test]
async fn requests_succeed_with_one_auth_instance_stopped() {
    let state_dir = PathBuf::from(env("INVENTORY_STATE_DIR"));
    let pid_file = state_dir.join("pids/auth-1.pid");
    let pid = std::fs::read_to_string(&pid_file)
        .expect("the pid file of auth-1")
        .trim()
        .to_owned();
    assert!(
        alive(&pid),
        "auth-1 (pid {pid}) must be running before the test"
    );

    let api = Api::new();
    let token = api.admin_token().await;

    let guard = RestartOnDrop::new(state_dir);
    let stopped = Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill");
    assert!(stopped.success(), "SIGTERM to auth-1 (pid {pid})");
    let deadline = Instant::now() + Duration::from_secs(40);
    while alive(&pid) && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let was_stopped = !alive(&pid);

    let mut failures = Vec::new();
    for i in 0..30 {
        for (path, token) in [
            ("/auth/jwks.json", None),
            ("/auth/me", Some(token.as_str())),
        ] {
            let res = api.request(reqwest::Method::GET, path, token).send().await;
            match res {
                Ok(res) if res.status().is_success() => {}
                Ok(res) => failures.push(format!("#{i} GET {path}: {}", res.status())),
                Err(e) => failures.push(format!("#{i} GET {path}: {e}")),
            }
        }
    }

    // Put the stack back before judging, then check that it is whole again.
    guard.restart();
    let restarted = std::fs::read_to_string(&pid_file).expect("pid file");
    assert!(alive(restarted.trim()), "auth-1 runs again");

    assert!(was_stopped, "auth-1 (pid {pid}) did not stop on SIGTERM");
    assert!(
        failures.is_empty(),
        "requests failed with one auth instance down: {failures:#?}"
    );
}
