//! Controlling the test stack from a test: restarting what a test stopped, with the settings the
//! stack was started with.

use std::{
    os::unix::process::CommandExt,
    path::{Path, PathBuf},
    process::Command,
};

/// An environment variable the test stack sets.
pub fn env(name: &str) -> String {
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

/// Whether process `pid` runs.
pub fn alive(pid: &str) -> bool {
    Command::new("kill")
        .args(["-0", pid])
        .status()
        .is_ok_and(|s| s.success())
}

/// Runs `stack.sh up` for the stack in `state_dir` with the settings it was started with (read
/// back from its `stack.env`), which starts whatever of it is not running.
pub fn stack_up(state_dir: &Path) -> Result<(), String> {
    run_script(state_dir, "stack.sh", &["up"])
}

/// Runs `deploy/local/<script> <args>` for the stack in `state_dir` with the settings it was started
/// with (read back from its `stack.env`).
pub fn run_script(state_dir: &Path, script: &str, args: &[&str]) -> Result<(), String> {
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
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../deploy/local")
        .join(script);
    let mut command = Command::new(path);
    command
        .args(args)
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
        Ok(status) => Err(format!("{script} {} failed: {status}", args.join(" "))),
        Err(e) => Err(format!("cannot run {script}: {e}")),
    }
}

/// Restarts the stack's missing instance when dropped, so the stack is left as it was found even
/// when an assertion fails.
pub struct RestartOnDrop {
    state_dir: PathBuf,
    done: bool,
}

impl RestartOnDrop {
    /// Guards the stack in `state_dir`.
    pub fn new(state_dir: PathBuf) -> Self {
        Self {
            state_dir,
            done: false,
        }
    }

    /// Restarts what is missing now (and not again on drop).
    pub fn restart(mut self) {
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
