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
//! sweep from the first key every [`SWEEP_EVERY`] takes it (and rows another relay gave back, or
//! whose lease ran out). A sweep that took a full batch is followed by another one.

use std::{
    collections::VecDeque,
    time::{Duration, Instant},
};

/// How long after a round took rows the next rounds still start below them.
pub const TRAIL: Duration = Duration::from_millis(200);
/// How often a round starts from the first key.
pub const SWEEP_EVERY: Duration = Duration::from_millis(500);
/// Rounds closer together than this share one entry of the trail, which so holds at most
/// `TRAIL / BUCKET + 1` entries however fast rounds run.
const BUCKET: Duration = Duration::from_millis(10);

/// The start of a relay's rounds.
#[derive(Debug, Default)]
pub struct Floor {
    /// The newest key taken by recent rounds, oldest first, at most one per [`BUCKET`].
    trail: VecDeque<(Instant, i64)>,
    /// The newest key taken at least [`TRAIL`] ago.
    below: i64,
    /// When the last sweep began; `None` before the first and after a full one.
    swept: Option<Instant>,
    /// Whether the round in progress is a sweep.
    sweeping: bool,
}

impl Floor {
    /// The key after which this round looks: 0 (every row) for a sweep.
    pub fn start(&mut self, now: Instant) -> i64 {
        if self
            .swept
            .is_none_or(|at| now.saturating_duration_since(at) >= SWEEP_EVERY)
        {
            self.swept = Some(now);
            self.sweeping = true;
            return 0;
        }
        self.sweeping = false;
        self.advance(now);
        self.below
    }

    /// Records the round [`Floor::start`] began: the newest key it took (`None`: it took nothing),
    /// and whether it took a full batch.
    pub fn took(&mut self, now: Instant, newest: Option<i64>, full: bool) {
        if self.sweeping && full {
            self.swept = None;
        }
        self.advance(now);
        let Some(newest) = newest else {
            return;
        };
        match self.trail.back_mut() {
            Some((at, last)) if now.saturating_duration_since(*at) < BUCKET => {
                *last = (*last).max(newest);
            }
            _ => self.trail.push_back((now, newest)),
        }
    }

    /// Moves what was taken at least [`TRAIL`] ago from the trail to the start.
    fn advance(&mut self, now: Instant) {
        while let Some(&(at, newest)) = self.trail.front() {
            if now.saturating_duration_since(at) < TRAIL {
                break;
            }
            self.below = self.below.max(newest);
            self.trail.pop_front();
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
        // A sweep is due again.
        assert_eq!(floor.start(t0 + SWEEP_EVERY), 0);
        // Between sweeps, the start never goes back.
        assert_eq!(floor.start(t0 + SWEEP_EVERY + MS), 120);
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
    fn the_trail_holds_one_entry_per_bucket() {
        let t0 = Instant::now();
        let mut floor = Floor::default();
        floor.start(t0);
        for i in 0..10_000 {
            let at = t0 + Duration::from_micros(i * 100);
            floor.took(at, Some(i as i64), false);
        }
        let bound = (TRAIL.as_millis() / BUCKET.as_millis()) as usize + 1;
        assert!(floor.trail.len() <= bound, "{} entries", floor.trail.len());
        let later = t0 + Duration::from_secs(2);
        assert_eq!(floor.start(later), 0, "a sweep is due");
        assert_eq!(floor.start(later), 9_999);
    }
}
