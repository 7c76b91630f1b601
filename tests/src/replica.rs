//! Helpers for the read-replica tests: psql on one PostgreSQL node of the stack, the replica's
//! artificial apply delay, and the services' per-pool read counters.

use std::{process::Command, time::Duration};

use reqwest::Client;

use crate::stack::env;

/// The port of PostgreSQL node `n` (0: the first, `n` ≥ 1: replica n).
pub fn node_port(n: u16) -> u16 {
    env("INVENTORY_PG_PORT").parse::<u16>().expect("a port") + n
}

fn superuser_password() -> String {
    let url = env("INVENTORY_PG_SUPER_URL");
    let rest = url.split_once("://inventory:").expect("a superuser URL").1;
    rest.rsplit_once('@').expect("user@host").0.to_owned()
}

/// Runs `sql` as the superuser on node `n` only, in database `postgres`; its output (unaligned,
/// tuples only), or the error.
pub fn psql_node(n: u16, sql: &str) -> Result<String, String> {
    psql_in(n, "postgres", sql)
}

/// Like [`psql_node`] in database `db`.
pub fn psql_in(n: u16, db: &str, sql: &str) -> Result<String, String> {
    let out = Command::new("psql")
        .args([
            "-X",
            "-q",
            "-tA",
            "-v",
            "ON_ERROR_STOP=1",
            "-h",
            "127.0.0.1",
            "-U",
            "inventory",
        ])
        .args(["-d", db, "-p", &node_port(n).to_string(), "-c", sql])
        .env("PGPASSWORD", superuser_password())
        .env("PGCONNECT_TIMEOUT", "3")
        .output()
        .map_err(|e| format!("psql: {e}"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).trim().to_owned())
    }
}

/// Sets `recovery_min_apply_delay` on replica 1 (ALTER SYSTEM + reload), so that it replays every
/// commit that long after the primary made it; undone when dropped, even after a failed assertion.
pub struct ApplyDelay;

impl ApplyDelay {
    pub fn set(delay: &str) -> Self {
        psql_node(
            1,
            &format!("ALTER SYSTEM SET recovery_min_apply_delay = '{delay}'"),
        )
        .and_then(|_| psql_node(1, "SELECT pg_reload_conf()"))
        .expect("set the replica's apply delay");
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while psql_node(1, "SHOW recovery_min_apply_delay").as_deref() != Ok(delay) {
            assert!(
                std::time::Instant::now() < deadline,
                "the delay did not take effect"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        ApplyDelay
    }
}

impl Drop for ApplyDelay {
    fn drop(&mut self) {
        let reset = psql_node(1, "ALTER SYSTEM RESET recovery_min_apply_delay")
            .and_then(|_| psql_node(1, "SELECT pg_reload_conf()"));
        if let Err(e) = reset {
            eprintln!("could not reset the replica's apply delay: {e}");
        }
    }
}

/// Replica 1 cut off from its primary while it keeps answering (its `primary_conninfo` emptied:
/// it stops receiving WAL, after replaying everything it had received). Reconnected when dropped.
pub struct CutOff {
    conninfo: String,
}

impl CutOff {
    pub fn start() -> Self {
        let conninfo =
            psql_node(1, "SHOW primary_conninfo").expect("the replica's primary_conninfo");
        assert!(!conninfo.is_empty(), "replica 1 streams from a primary");
        psql_node(1, "ALTER SYSTEM SET primary_conninfo = ''")
            .and_then(|_| psql_node(1, "SELECT pg_reload_conf()"))
            .expect("cut the replica off");
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while psql_node(1, "SELECT count(*) FROM pg_stat_wal_receiver").as_deref() != Ok("0") {
            assert!(
                std::time::Instant::now() < deadline,
                "the replica's WAL receiver did not stop"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        CutOff { conninfo }
    }
}

impl Drop for CutOff {
    fn drop(&mut self) {
        let set = format!(
            "ALTER SYSTEM SET primary_conninfo = '{}'",
            self.conninfo.replace('\'', "''")
        );
        let reset = psql_node(1, &set).and_then(|_| psql_node(1, "SELECT pg_reload_conf()"));
        if let Err(e) = reset {
            eprintln!("could not reconnect the replica: {e}");
        }
    }
}

/// The sum over `ports` (instances of one service) of `db_reads_total` with `pool="<pool>"`.
pub async fn reads_from(client: &Client, ports: &[String], pool: &str) -> f64 {
    let mut total = 0.0;
    for port in ports {
        let text = crate::metrics_text(client, port).await;
        total += text
            .lines()
            .filter(|l| l.starts_with("db_reads_total{") && l.contains(&format!("pool=\"{pool}\"")))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum::<f64>();
    }
    total
}

/// The instance ports of `service` (`stock`, `catalog`, ...).
pub fn ports_of(service: &str) -> Vec<String> {
    env(&format!("INVENTORY_{}_PORTS", service.to_uppercase()))
        .split(',')
        .map(|p| p.trim().to_owned())
        .filter(|p| !p.is_empty())
        .collect()
}
