//! Gateway failover: with one auth instance stopped, every request still succeeds through the other.
//! This test stops a process of the stack it runs against and starts it again (`stack.sh up`), so it
//! is its own test binary, run alone against the throwaway test stack, never against a shared one.

#![allow(clippy::expect_used, clippy::unwrap_used)] // tests: failing loudly is the point

use std::{
    os::unix::process::CommandExt,
    path::{Path, PathBuf},
    process::Command,
    time::{Duration, Instant},
};

use inventory_e2e::Api;

fn env(name: &str) -> String {
    std::env::var(name)
        .unwrap_or_else(|_| panic!("{name} is not set: run the tests through `make test`"))
}

/// The port at the end of a URL such as `redis://127.0.0.1:56379`.
fn port_of(url: &str) -> String {
    url.trim_end_matches('/')
        .rsplit(':')
        .next()
        .expect("a port")
        .to_owned()
}

fn alive(pid: &str) -> bool {
    Command::new("kill")
        .args(["-0", pid])
        .status()
        .is_ok_and(|s| s.success())
}

/// Runs `stack.sh up` for the stack in `state_dir` with the settings it was started with (read
/// back from its `stack.env`), which starts whatever of it is not running.
fn stack_up(state_dir: &Path) -> Result<(), String> {
    let stack = state_dir
        .file_name()
        .and_then(|n| n.to_str())
        .expect("the state dir names the stack");
    let ports = |svc: &str| env(&format!("INVENTORY_{}_PORTS", svc.to_uppercase()));
    let first_auth_port: u32 = ports("auth")
        .split(',')
        .next()
        .and_then(|p| p.trim().parse().ok())
        .expect("INVENTORY_AUTH_PORTS");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/local/stack.sh");
    let mut command = Command::new(script);
    command
        .arg("up")
        .env("STACK", stack)
        .env("STATE_DIR", state_dir)
        .env("PG_PORT", env("INVENTORY_PG_PORT"))
        .env("REDIS_PORT", port_of(&env("REDIS_URL")))
        .env("GATEWAY_PORT", port_of(&env("GATEWAY_URL")))
        // Instance n of auth listens on SERVICE_PORT_BASE + n.
        .env("SERVICE_PORT_BASE", (first_auth_port - 1).to_string())
        .env("BIN_DIR", env("INVENTORY_BIN_DIR"))
        // Its own process group: the restarted instance must outlive this test process.
        .process_group(0);
    for svc in ["auth", "catalog", "stock", "ledger"] {
        let count = ports(svc)
            .split(',')
            .filter(|p| !p.trim().is_empty())
            .count();
        command.env(
            format!("{}_INSTANCES", svc.to_uppercase()),
            count.to_string(),
        );
    }
    match command.status() {
        Ok(status) if status.success() => Ok(()),
        Ok(status) => Err(format!("stack.sh up failed: {status}")),
        Err(e) => Err(format!("cannot run stack.sh: {e}")),
    }
}

/// Restarts the stack's missing instance when dropped, so the stack is left as it was found even
/// when an assertion fails.
struct RestartOnDrop {
    state_dir: PathBuf,
    done: bool,
}

impl RestartOnDrop {
    fn restart(mut self) {
        self.done = true;
        if let Err(e) = stack_up(&self.state_dir) {
            panic!("{e}");
        }
    }
}

impl Drop for RestartOnDrop {
    fn drop(&mut self) {
        // Runs while a failed assertion unwinds: report, never panic again.
        if !self.done
            && let Err(e) = stack_up(&self.state_dir)
        {
            eprintln!("could not restore the stack: {e}");
        }
    }
}

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

    let guard = RestartOnDrop {
        state_dir,
        done: false,
    };
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
