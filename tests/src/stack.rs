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

/// The state folder of the running test stack (its pid files, logs and `stack.env`).
pub fn state_dir() -> PathBuf {
    PathBuf::from(env("INVENTORY_STATE_DIR"))
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

/// A `deploy/local/<script> <args>` for the stack in `state_dir` with the settings it was started
/// with (read back from its `stack.env`), run by `launcher` (a program and its arguments) when one
/// is given.
pub fn script_command(state_dir: &Path, launcher: &[&str], script: &str, args: &[&str]) -> Command {
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
    let mut command = match launcher.split_first() {
        Some((program, launcher_args)) => {
            let mut c = Command::new(program);
            c.args(launcher_args).arg(path);
            c
        }
        None => Command::new(path),
    };
    command
        .args(args)
        .env("STACK", stack)
        .env("STATE_DIR", state_dir)
        .env("PG_PORT", env("INVENTORY_PG_PORT"))
        .env("PG_REPLICAS", env("INVENTORY_PG_REPLICAS"))
        .env("PG_SYNC_REPLICA", env("INVENTORY_PG_SYNC_REPLICA"))
        .env("REDIS_PORT", port_of(&env("REDIS_URL")))
        .env("GATEWAY_PORT", port_of(&env("GATEWAY_URL")))
        // Instance n of auth listens on SERVICE_PORT_BASE + n.
        .env("SERVICE_PORT_BASE", (first_auth_port - 1).to_string())
        .env("BIN_DIR", env("INVENTORY_BIN_DIR"))
        .env("LOG_MAX_BYTES", env("INVENTORY_LOG_MAX_BYTES"))
        .env("LOG_KEEP", env("INVENTORY_LOG_KEEP"))
        .env("REDIS_MAXMEMORY", env("INVENTORY_REDIS_MAXMEMORY"))
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
    command
}

/// A `stack.sh <command>` for the stack in `state_dir` (see [`script_command`]).
pub fn stack_command(state_dir: &Path, launcher: &[&str], command: &str) -> Command {
    script_command(state_dir, launcher, "stack.sh", &[command])
}

/// Runs `deploy/local/<script> <args>` for the stack in `state_dir` and waits for it.
pub fn run_script(state_dir: &Path, script: &str, args: &[&str]) -> Result<(), String> {
    match script_command(state_dir, &[], script, args).status() {
        Ok(status) if status.success() => Ok(()),
        Ok(status) => Err(format!("{script} {} failed: {status}", args.join(" "))),
        Err(e) => Err(format!("cannot run {script}: {e}")),
    }
}

/// Runs `stack.sh up` for the stack in `state_dir` with the settings it was started with, which
/// starts whatever of it is not running (or does not answer).
pub fn stack_up(state_dir: &Path) -> Result<(), String> {
    run_script(state_dir, "stack.sh", &["up"])
}

/// The state letter of process `pid` in `/proc/<pid>/stat` (`R`, `S`, `Z` for a zombie, ...), or
/// `None` when there is no such process.
pub fn proc_state(pid: u32) -> Option<char> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name, in parentheses, may itself contain spaces and parentheses.
    stat.rsplit_once(") ")?.1.chars().next()
}

/// The parent of process `pid`.
pub fn parent_of(pid: u32) -> Option<u32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat.rsplit_once(") ")?.1.split(' ').nth(1)?.parse().ok()
}

/// The PID recorded for the stack's process `name` (`redis`, `stock-1`, ...).
pub fn recorded_pid(state_dir: &Path, name: &str) -> u32 {
    std::fs::read_to_string(state_dir.join(format!("pids/{name}.pid")))
        .unwrap_or_else(|e| panic!("pid file of {name}: {e}"))
        .trim()
        .parse()
        .unwrap_or_else(|e| panic!("pid of {name}: {e}"))
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

    /// Leaves the stack as it is (the test restored it itself).
    pub fn disarm(mut self) {
        self.done = true;
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
