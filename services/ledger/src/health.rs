//! What the worker's `/readyz` reports: whether it can make progress now. The consumer loop, the
//! healer and the backlog poller record what they see; a persistent error or a backlog that has not
//! moved for the stall time makes the worker not ready, and it is ready again once they clear.

use std::{
    collections::BTreeMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

/// Who reports a failure (each keeps at most one, the latest).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Part {
    /// The consumer loop: reading, acknowledging, recreating the group.
    Consumer,
    /// Applying a batch: the database refuses or is away.
    Apply,
    /// Finding and closing gaps, reconciling.
    Heal,
}

impl Part {
    fn name(self) -> &'static str {
        match self {
            Part::Consumer => "consumer",
            Part::Apply => "apply",
            Part::Heal => "heal",
        }
    }
}

#[derive(Debug)]
struct State {
    errors: BTreeMap<Part, String>,
    /// The last time an entry was acknowledged or the backlog was empty.
    progress: Instant,
    backlog: usize,
}

/// Shared between the worker's tasks and the `/readyz` handler.
#[derive(Debug, Clone)]
pub struct Health {
    state: Arc<Mutex<State>>,
    stall_after: Duration,
}

impl Health {
    /// A healthy state; a backlog that does not move for `stall_after` turns it unready.
    pub fn new(stall_after: Duration) -> Self {
        Self {
            state: Arc::new(Mutex::new(State {
                errors: BTreeMap::new(),
                progress: Instant::now(),
                backlog: 0,
            })),
            stall_after,
        }
    }

    fn with<T>(&self, f: impl FnOnce(&mut State) -> T) -> T {
        let mut state = match self.state.lock() {
            Ok(state) => state,
            Err(poisoned) => poisoned.into_inner(),
        };
        f(&mut state)
    }

    /// `part` failed (it keeps retrying).
    pub fn failed(&self, part: Part, error: impl ToString) {
        let error = error.to_string();
        self.with(|s| s.errors.insert(part, error));
    }

    /// `part` succeeded: its failure, if any, is over.
    pub fn ok(&self, part: Part) {
        self.with(|s| s.errors.remove(&part));
    }

    /// Entries were applied and acknowledged.
    pub fn progressed(&self) {
        self.with(|s| s.progress = Instant::now());
    }

    /// The group's backlog (pending + lag) as last read; an empty one counts as progress.
    pub fn backlog(&self, depth: usize) {
        self.with(|s| {
            s.backlog = depth;
            if depth == 0 {
                s.progress = Instant::now();
            }
        });
    }

    /// The reasons the worker cannot make progress now (empty: ready).
    pub fn problems(&self) -> Vec<String> {
        let stall_after = self.stall_after;
        self.with(|s| {
            let mut problems: Vec<String> = s
                .errors
                .iter()
                .map(|(part, e)| format!("{}: {e}", part.name()))
                .collect();
            let idle = s.progress.elapsed();
            if s.backlog > 0 && idle >= stall_after {
                problems.push(format!(
                    "backlog: {} entries have not moved for {}s",
                    s.backlog,
                    idle.as_secs()
                ));
            }
            problems
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_and_stalls_make_it_unready_until_they_clear() {
        let health = Health::new(Duration::from_millis(20));
        assert!(health.problems().is_empty());
        health.failed(Part::Heal, "role refused");
        assert_eq!(health.problems(), ["heal: role refused"]);
        health.ok(Part::Heal);
        assert!(health.problems().is_empty());

        health.backlog(5);
        std::thread::sleep(Duration::from_millis(30));
        assert_eq!(health.problems().len(), 1, "a backlog that does not move");
        health.progressed();
        assert!(health.problems().is_empty());
        std::thread::sleep(Duration::from_millis(30));
        health.backlog(0);
        assert!(health.problems().is_empty(), "an empty backlog is progress");
    }
}
