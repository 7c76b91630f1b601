//! `stack.sh up` starts again what was killed, even when what was killed is a zombie: PostgreSQL,
//! Redis and one instance of each service are SIGKILLed while their parent is a process that never
//! reaps them (as happens under an init that does not reap), so each PID still answers `kill -0`.
//! It kills processes of the stack it runs against, so it is its own test binary, run alone against
//! the throwaway test stack.

#![allow(clippy::expect_used, clippy::unwrap_used)] // tests: failing loudly is the point

use std::{
    io::{BufRead, BufReader},
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use inventory_e2e::{
    Api,
    stack::{
        RestartOnDrop, alive, env, parent_of, proc_state, recorded_pid, stack_command, stack_up,
    },
};

/// What the test kills: the data stores and one instance of each service.
const KILLED: [&str; 6] = [
    "postgres",
    "redis",
    "auth-1",
    "catalog-1",
    "stock-1",
    "ledger-1",
];

/// How long `stack.sh up` may take to bring them all back.
const RESTART_BOUND: Duration = Duration::from_secs(120);

/// Runs its arguments (`stack.sh up`) as a child subreaper: what that command starts and leaves
/// running becomes this process's child, and it reaps nothing until its input closes.
const NON_REAPING_PARENT: &str = r#"
import ctypes, os, subprocess, sys
if ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0) != 0:  # PR_SET_CHILD_SUBREAPER
    sys.exit("prctl(PR_SET_CHILD_SUBREAPER) failed")
subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL)
print("ready", flush=True)
sys.stdin.read()
while True:
    try:
        if os.waitpid(-1, os.WNOHANG)[0] == 0:
            break
    except ChildProcessError:
        break
"#;

use inventory_e2e::stack::state_dir;

fn kill(signal: &str, pid: u32) {
    let status = Command::new("kill")
        .args([signal, &pid.to_string()])
        .status()
        .expect("kill");
    assert!(status.success(), "kill {signal} {pid}");
}

/// Polls until process `pid` is gone or a zombie.
async fn wait_exited(name: &str, pid: u32) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !matches!(proc_state(pid), None | Some('Z')) {
        assert!(Instant::now() < deadline, "{name} (pid {pid}) did not stop");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The ports of every instance of every service.
fn instance_ports() -> Vec<(String, String)> {
    ["auth", "catalog", "stock", "ledger"]
        .iter()
        .flat_map(|svc| {
            env(&format!("INVENTORY_{}_PORTS", svc.to_uppercase()))
                .split(',')
                .filter(|p| !p.trim().is_empty())
                .map(|p| (svc.to_string(), p.trim().to_owned()))
                .collect::<Vec<_>>()
        })
        .collect()
}

#[tokio::test]
async fn killed_and_zombie_processes_are_started_again_by_stack_up() {
    let state = state_dir();
    let guard = RestartOnDrop::new(state.clone());

    // Stop them cleanly, then let `stack.sh up` start them again under a parent that never reaps.
    for name in KILLED {
        let pid = recorded_pid(&state, name);
        kill(if name == "postgres" { "-INT" } else { "-TERM" }, pid);
        wait_exited(name, pid).await;
    }
    let mut parent = stack_command(&state, &["python3", "-c", NON_REAPING_PARENT], "up")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3");
    let mut ready = String::new();
    BufReader::new(parent.stdout.take().expect("stdout"))
        .read_line(&mut ready)
        .expect("the parent's answer");
    assert_eq!(
        ready.trim(),
        "ready",
        "stack.sh up under the non-reaping parent"
    );

    let mut killed = Vec::new();
    for name in KILLED {
        let pid = recorded_pid(&state, name);
        assert_eq!(
            parent_of(pid),
            Some(parent.id()),
            "{name} is a child of the non-reaping parent"
        );
        kill("-KILL", pid);
        killed.push((name, pid));
    }
    for &(name, pid) in &killed {
        let deadline = Instant::now() + Duration::from_secs(30);
        while proc_state(pid) != Some('Z') {
            assert!(
                Instant::now() < deadline,
                "{name} (pid {pid}) did not become a zombie: {:?}",
                proc_state(pid)
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert!(alive(&pid.to_string()), "kill -0 still finds zombie {name}");
    }

    // `stack.sh status` tells the truth: each of them is dead, and the exit code says so.
    let status = stack_command(&state, &[], "status")
        .output()
        .expect("stack.sh status");
    let report = String::from_utf8_lossy(&status.stdout);
    assert_eq!(
        status.status.code(),
        Some(3),
        "status with dead processes: {report}"
    );
    for (name, pid) in &killed {
        assert!(
            report.lines().any(|l| l.contains("zombie")
                && l.contains(&format!(" {name} "))
                && l.contains(&pid.to_string())),
            "status reports {name} as a zombie: {report}"
        );
    }

    // `stack.sh up` cleans up and starts every one of them again, within a bound.
    let started = Instant::now();
    stack_up(&state).expect("stack.sh up after the kills");
    let took = started.elapsed();
    eprintln!(
        "stack.sh up restarted {} processes in {took:?}",
        KILLED.len()
    );
    assert!(took < RESTART_BOUND, "restart took {took:?}");
    for &(name, old) in &killed {
        let pid = recorded_pid(&state, name);
        assert_ne!(pid, old, "{name} was started again");
        assert!(
            matches!(proc_state(pid), Some(s) if s != 'Z'),
            "{name} (pid {pid}) runs"
        );
    }
    let client = reqwest::Client::new();
    for (svc, port) in instance_ports() {
        let res = client
            .get(format!("http://127.0.0.1:{port}/readyz"))
            .send()
            .await
            .expect("readyz");
        assert_eq!(res.status(), 200, "{svc} on {port} is ready");
    }
    // Through the gateway: auth (PostgreSQL) answers, and a cached catalog read (Redis) works.
    let api = Api::new();
    let admin = api.admin_token().await;
    assert_eq!(api.get("/products?limit=1", &admin).await.status(), 200);
    let status = stack_command(&state, &[], "status")
        .output()
        .expect("stack.sh status");
    assert!(
        status.status.success(),
        "every process runs and answers: {}",
        String::from_utf8_lossy(&status.stdout)
    );

    drop(parent.stdin.take());
    parent.wait().expect("the non-reaping parent exits");
    guard.disarm();
}
