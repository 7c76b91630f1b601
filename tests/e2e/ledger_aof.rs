//! Redis killed (SIGKILL) while writes run, and restarted with the tail of its AOF cut off — what a
//! crash between two fsyncs loses: the writes go on, and the ledger heals by itself (every movement
//! exactly once, daily rows equal to their movements, reconcile in sync). Its own binary: it kills
//! the stack's Redis.

#![allow(clippy::expect_used, clippy::unwrap_used)] // tests: failing loudly is the point

#[path = "ledger_support.rs"]
mod support;

use std::{
    fs::OpenOptions,
    process::Command,
    time::{Duration, Instant},
};

use inventory_e2e::{
    Api,
    stack::{RestartOnDrop, alive},
};

/// Cuts the last `fraction` of the newest AOF file (Redis 7 keeps a multi-part AOF in
/// `appendonlydir/`: the newest `*.incr.aof` holds the latest writes). Returns the bytes cut.
fn truncate_aof(fraction: f64) -> u64 {
    let dir = support::state_dir().join("redis/appendonlydir");
    let newest = std::fs::read_dir(&dir)
        .expect("the AOF directory")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.to_string_lossy().ends_with(".incr.aof"))
        .max_by_key(|p| std::fs::metadata(p).and_then(|m| m.modified()).ok())
        .expect("an incremental AOF file");
    let len = std::fs::metadata(&newest).expect("metadata").len();
    let cut = ((len as f64) * fraction) as u64;
    OpenOptions::new()
        .write(true)
        .open(&newest)
        .expect("open the AOF")
        .set_len(len - cut)
        .expect("truncate");
    cut
}

#[tokio::test]
async fn the_ledger_heals_after_redis_restarts_with_a_truncated_aof() {
    let api = Api::new();
    let admin = api.admin_token().await;
    let writers = support::Writers::start(&api, &admin, 4).await;
    writers.wait_for(300).await;

    let guard = RestartOnDrop::new(support::state_dir());
    let pid = support::pid_of("redis");
    assert!(
        Command::new("kill")
            .args(["-KILL", &pid])
            .status()
            .expect("kill")
            .success()
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    while alive(&pid) {
        assert!(Instant::now() < deadline, "Redis did not die");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let cut = truncate_aof(0.3);
    assert!(cut > 0, "the AOF had a tail to lose");
    guard.restart();

    writers.wait_for(300).await;
    let written = writers.stop().await;
    assert!(written >= 600);
    support::assert_ledger_heals(Duration::from_secs(120)).await;
    assert!(support::group_exists().await);
    assert!(support::readiness().await.iter().all(|s| *s == 200));
}
