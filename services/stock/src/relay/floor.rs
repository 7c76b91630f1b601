//! Where a relay round starts looking for rows.
//!
//! The outbox is a queue: rows are inserted at the end of the key order and deleted from its head,
//! and a deleted row stays in the table until vacuum removes it. A claim that starts from the
//! first key walks every row deleted since then which some open snapshot could still see (under
//! 2,200 events/s: 3,300–5,700 buffers and 7–10 ms a claim; after this change 1,000 buffers and
//! 2–4 ms, a quarter to a half of the claims' database time). So a round starts after the newest
//! row the relay took at least [`TRAIL`] ago instead. Rows commit out of key order (a key is taken
//! when the row is written, and a batch of lines commits after its last line), so a row whose
//! transaction commits more than [`TRAIL`] after newer rows were taken is below that start: a
//! sweep every [`SWEEP_EVERY`] takes it, starting after the newest row taken at least
//! [`DEEP_TRAIL`] ago, and every [`FULL_SWEEP_EVERY`] a sweep starts from the first key, which also
//! takes rows another relay gave back, rows whose lease ran out, and rows that committed later
//! still. (Every sweep started from the first key: under ~1,000 sales/s those took up to 22 ms,
//! walking every row deleted since the last vacuum, against 0.06–0.5 ms for the other claims.) A
//! sweep that took a full batch is followed by another one of the same depth.

use std::{
    collections::VecDeque,
    time::{Duration, Instant},
};

/// How long after a round took rows the next rounds still start below them.
pub const TRAIL: Duration = Duration::from_millis(200);
/// How often a round sweeps: starts below what was taken [`DEEP_TRAIL`] ago.
pub const SWEEP_EVERY: Duration = Duration::from_millis(500);
/// How long after a round took rows the sweeps still start below them: a row committed up to this
/// long after newer rows were taken goes out within [`SWEEP_EVERY`] (a single statement of the
/// stock service times out after 5 s).
pub const DEEP_TRAIL: Duration = Duration::from_secs(5);
/// How often a sweep starts from the first key.
pub const FULL_SWEEP_EVERY: Duration = Duration::from_secs(5);

/// The newest key taken by recent rounds, remembered until it is `after` old.
#[derive(Debug)]
struct Trail {
    after: Duration,
    /// Rounds closer together than this share one entry, so a trail holds at most
    /// `after / bucket + 1` entries however fast rounds run.
    bucket: Duration,
    /// Oldest first, at most one per bucket.
    entries: VecDeque<(Instant, i64)>,
    /// The newest key taken at least `after` ago.
    below: i64,
}

impl Trail {
    const fn new(after: Duration, bucket: Duration) -> Self {
        Self {
            after,
            bucket,
            entries: VecDeque::new(),
            below: 0,
        }
    }

    fn took(&mut self, now: Instant, newest: i64) {
        self.advance(now);
        match self.entries.back_mut() {
            Some((at, last)) if now.saturating_duration_since(*at) < self.bucket => {
                *last = (*last).max(newest);
            }
            _ => self.entries.push_back((now, newest)),
        }
    }

    /// The newest key taken at least `after` before `now`.
    fn below(&mut self, now: Instant) -> i64 {
        self.advance(now);
        self.below
    }

    /// Moves what was taken at least `after` ago from the entries to `below`.
    fn advance(&mut self, now: Instant) {
        while let Some(&(at, newest)) = self.entries.front() {
            if now.saturating_duration_since(at) < self.after {
                break;
            }
            self.below = self.below.max(newest);
            self.entries.pop_front();
        }
    }
}

/// What kind of round is in progress.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Round {
    Floor,
    Sweep,
    FullSweep,
}

/// The start of a relay's rounds.
#[derive(Debug)]
pub struct Floor {
    near: Trail,
    deep: Trail,
    /// When the last sweep of either depth began; `None` before the first, and after a sweep that
    /// took a full batch (another one is due at once).
    swept: Option<Instant>,
    /// When the last sweep from the first key began; `None` before the first, and after such a
    /// sweep took a full batch.
    fully_swept: Option<Instant>,
    round: Round,
}

impl Default for Floor {
    fn default() -> Self {
        Self {
            near: Trail::new(TRAIL, Duration::from_millis(10)),
            deep: Trail::new(DEEP_TRAIL, Duration::from_millis(100)),
            swept: None,
            fully_swept: None,
            round: Round::Floor,
        }
    }
}

/// Whether something last done at `at` (never: `None`) is due again `every` after.
fn due(at: Option<Instant>, now: Instant, every: Duration) -> bool {
    at.is_none_or(|at| now.saturating_duration_since(at) >= every)
}

impl Floor {
    /// The key after which this round looks: 0 (every row) for a full sweep.
    pub fn start(&mut self, now: Instant) -> i64 {
        let near = self.near.below(now);
        let deep = self.deep.below(now);
        if !due(self.swept, now, SWEEP_EVERY) {
            self.round = Round::Floor;
            return near;
        }
        self.swept = Some(now);
        if due(self.fully_swept, now, FULL_SWEEP_EVERY) {
            self.fully_swept = Some(now);
            self.round = Round::FullSweep;
            return 0;
        }
        self.round = Round::Sweep;
        deep
    }

    /// Records the round [`Floor::start`] began: the newest key it took (`None`: it took nothing),
    /// and whether it took a full batch.
    pub fn took(&mut self, now: Instant, newest: Option<i64>, full: bool) {
        if full {
            match self.round {
                Round::Floor => {}
                Round::Sweep => self.swept = None,
                Round::FullSweep => (self.swept, self.fully_swept) = (None, None),
            }
        }
        if let Some(newest) = newest {
            self.near.took(now, newest);
            self.deep.took(now, newest);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn the_first_round_sweeps_and_the_next_start_below_what_was_taken_until_the_trail_passes() {
        let t0 = Instant::now();
        let mut floor = Floor::default();
        assert_eq!(floor.start(t0), 0);
        floor.took(t0, Some(110), false);
        // Within the trail, rounds still start from below the rows just taken.
        assert_eq!(floor.start(t0 + 50 * MS), 0);
        floor.took(t0 + 50 * MS, Some(120), false);
        assert_eq!(floor.start(t0 + TRAIL), 110);
        assert_eq!(floor.start(t0 + TRAIL + 60 * MS), 120);
        // A sweep is due again: below what was taken DEEP_TRAIL ago (nothing yet).
        assert_eq!(floor.start(t0 + SWEEP_EVERY), 0);
        // Between sweeps, the start never goes back.
        assert_eq!(floor.start(t0 + SWEEP_EVERY + MS), 120);
    }

    #[test]
    fn sweeps_start_below_what_was_taken_a_while_ago_and_from_the_first_key_now_and_then() {
        let t0 = Instant::now();
        let mut floor = Floor::default();
        assert_eq!(floor.start(t0), 0, "the first round is a full sweep");
        let t1 = t0 + Duration::from_secs(1);
        assert_eq!(
            floor.start(t1),
            0,
            "a sweep, below what was taken 5 s ago: nothing"
        );
        floor.took(t1, Some(100), false);
        let t2 = t1 + Duration::from_secs(2);
        floor.start(t2);
        floor.took(t2, Some(500), false);
        assert_eq!(floor.start(t0 + FULL_SWEEP_EVERY), 0, "a full sweep");
        // After DEEP_TRAIL, sweeps start after what was taken then; rounds after the newer rows.
        let t3 = t1 + DEEP_TRAIL + 100 * MS;
        assert_eq!(floor.start(t3), 100, "a sweep");
        assert_eq!(floor.start(t3 + MS), 500, "a round between sweeps");
    }

    #[test]
    fn a_full_sweep_is_followed_by_another() {
        let t0 = Instant::now();
        let mut floor = Floor::default();
        assert_eq!(floor.start(t0), 0);
        floor.took(t0, Some(900), true);
        assert_eq!(floor.start(t0 + MS), 0, "the sweep took a full batch");
        floor.took(t0 + MS, Some(950), false);
        assert_eq!(floor.start(t0 + TRAIL + 2 * MS), 950);
    }

    #[test]
    fn a_full_sweep_below_the_deep_trail_is_followed_by_another_of_the_same_depth() {
        let t0 = Instant::now();
        let mut floor = Floor::default();
        floor.start(t0);
        let t1 = t0 + SWEEP_EVERY / 2;
        floor.start(t1);
        floor.took(t1, Some(300), false);
        assert_eq!(floor.start(t0 + FULL_SWEEP_EVERY), 0, "a full sweep");
        let t2 = t1 + DEEP_TRAIL + SWEEP_EVERY;
        assert_eq!(floor.start(t2), 300, "a sweep");
        floor.took(t2, Some(1_300), true);
        assert_eq!(
            floor.start(t2 + MS),
            300,
            "another sweep, not a round after the trail"
        );
    }

    #[test]
    fn the_trails_hold_one_entry_per_bucket() {
        let t0 = Instant::now();
        let mut floor = Floor::default();
        floor.start(t0);
        for i in 0..100_000 {
            let at = t0 + Duration::from_micros(i * 100);
            floor.took(at, Some(i as i64), false);
        }
        for trail in [&floor.near, &floor.deep] {
            let bound = (trail.after.as_millis() / trail.bucket.as_millis()) as usize + 1;
            assert!(
                trail.entries.len() <= bound,
                "{} entries",
                trail.entries.len()
            );
        }
        let later = t0 + Duration::from_secs(20);
        assert_eq!(floor.start(later), 0, "a full sweep is due");
        assert_eq!(floor.start(later), 99_999);
    }
}
