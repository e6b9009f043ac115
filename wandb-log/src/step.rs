//! Steps: rows for the same step merge while the step is open in the [`StepWindow`]; the
//! window's steps leave in step order; a row for a step below the window is never dropped
//! silently, the [`StepPolicy`] decides.

use std::collections::VecDeque;
use std::time::Instant;

use wandb_sweep::Value;

use crate::keys::KeyId;
use crate::outbox::Batch;
use crate::source::Origin;
use crate::step_stats::StepStats;
use crate::step_window::{OpenStep, StepWindow};

/// What to do with a row whose step is below the window (closed already).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StepPolicy {
    /// Refuse it with [`crate::Error::StepConflict`] (the default), and count it.
    #[default]
    Reject,
    /// Drop it, count it, warn once.
    Drop,
    /// Merge it into the newest open step.
    MergeIntoLatest,
}

/// Which step a row asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum At {
    /// The step after the newest one ([`crate::Run::log`]).
    Next,
    /// An explicit step.
    Step(u64),
    /// The source's next step (see [`crate::Source`]).
    SourceNext,
}

/// What happened to a logged row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Stored at this step.
    Logged(u64),
    /// Below the window and dropped (policy `Drop`).
    Dropped { step: u64, current: u64 },
    /// Below the window and refused (policy `Reject`).
    Rejected { step: u64, current: u64 },
}

/// The step counter, the open steps of the window and the statistics.
#[derive(Debug)]
pub(crate) struct Steps {
    policy: StepPolicy,
    window: StepWindow,
    /// Steps further ahead of the newest one than this count as jumps.
    jump: u64,
    /// The lowest step not yet committed.
    floor: u64,
    /// Open steps in step order, all at or above `floor`; at most `window.steps()`.
    open: VecDeque<OpenStep>,
    /// Closed steps kept for their buffers.
    pool: Vec<OpenStep>,
    /// Per source id: 1 + the last step it logged at (0: none yet).
    sources: Vec<u64>,
    stats: StepStats,
    /// An instant and the wall-clock time (Unix seconds) it stands for.
    epoch: (Instant, f64),
}

impl Steps {
    pub(crate) fn new(
        policy: StepPolicy,
        window: StepWindow,
        jump: u64,
        start: u64,
        epoch: (Instant, f64),
    ) -> Self {
        Steps {
            policy,
            window,
            jump,
            floor: start,
            open: VecDeque::new(),
            pool: Vec::new(),
            sources: Vec::new(),
            stats: StepStats::default(),
            epoch,
        }
    }

    /// The statistics so far.
    pub(crate) fn stats(&self) -> StepStats {
        StepStats {
            open_steps: self.open.len() as u64,
            ..self.stats
        }
    }

    /// Logs `cells` from `origin` at the step `at` asks for, committing the steps that leave
    /// the window to `out`. `cells` is left empty when the row is accepted.
    pub(crate) fn log(
        &mut self,
        at: At,
        origin: Origin,
        cells: &mut Vec<(KeyId, Value)>,
        now: Instant,
        out: &mut Batch,
    ) -> Outcome {
        self.expire(now, out);
        let mut step = self.resolve(at, origin);
        let lowest = self.lowest();
        if step < lowest {
            match self.policy {
                StepPolicy::Reject => {
                    self.stats.refused += 1;
                    return Outcome::Rejected {
                        step,
                        current: lowest,
                    };
                }
                StepPolicy::Drop => {
                    if self.stats.dropped == 0 {
                        tracing::warn!(
                            step,
                            current = lowest,
                            "dropping rows below the step window (StepPolicy::Drop); they are counted in StepStats::dropped"
                        );
                    }
                    self.stats.dropped += 1;
                    return Outcome::Dropped {
                        step,
                        current: lowest,
                    };
                }
                StepPolicy::MergeIntoLatest => {
                    self.stats.moved_to_latest += 1;
                    step = self.newest().unwrap_or(self.floor);
                }
            }
        }
        self.accept(step, origin, cells, now, out);
        Outcome::Logged(step)
    }

    /// The step a row for `at` would be stored at now (`None`: it would be refused or
    /// dropped), without logging it; commits the steps the window aged out, as
    /// [`Steps::log`] does first, so that `log` with the same `now` lands there.
    pub(crate) fn target(
        &mut self,
        at: At,
        origin: Origin,
        now: Instant,
        out: &mut Batch,
    ) -> Option<u64> {
        self.expire(now, out);
        let step = self.resolve(at, origin);
        if step >= self.lowest() {
            return Some(step);
        }
        match self.policy {
            StepPolicy::Reject | StepPolicy::Drop => None,
            StepPolicy::MergeIntoLatest => Some(self.newest().unwrap_or(self.floor)),
        }
    }

    /// The step `at` stands for.
    fn resolve(&self, at: At, origin: Origin) -> u64 {
        match at {
            At::Step(step) => step,
            At::Next => self.newest().map_or(self.floor, |n| n.saturating_add(1)),
            At::SourceNext => {
                let join = self.newest().unwrap_or(self.floor);
                let after_last = self.sources.get(origin.source as usize).copied();
                join.max(after_last.unwrap_or(0))
            }
        }
    }

    /// The newest open step.
    fn newest(&self) -> Option<u64> {
        self.open.back().map(|o| o.step)
    }

    /// The lowest step a row may still have: the oldest open step of a full window, else
    /// the lowest step not committed.
    fn lowest(&self) -> u64 {
        match self.open.front() {
            Some(oldest) if self.open.len() >= self.window.steps() => oldest.step,
            _ => self.floor,
        }
    }

    fn accept(
        &mut self,
        step: u64,
        origin: Origin,
        cells: &mut Vec<(KeyId, Value)>,
        now: Instant,
        out: &mut Batch,
    ) {
        let newest = self.newest();
        let i = match newest {
            Some(n) if step == n => self.open.len() - 1,
            Some(n) if step < n => {
                self.stats.late += 1;
                match self.open.binary_search_by_key(&step, |o| o.step) {
                    Ok(i) => i,
                    // A step nobody opened yet, below a newer one: superseded now, or when
                    // the step above it was, so that steps age in step order.
                    Err(i) => {
                        let since = self.open[i].superseded.map_or(now, |t| t.min(now));
                        self.open_at(i, step, now, Some(since))
                    }
                }
            }
            _ => {
                self.check_jump(step, newest);
                if let Some(previous) = self.open.back_mut() {
                    previous.superseded = Some(now);
                }
                self.open_at(self.open.len(), step, now, None)
            }
        };
        let open = &mut self.open[i];
        if !open.is_empty() {
            self.stats.merged += 1;
        }
        self.stats.overwritten += open.merge(origin, cells, now);
        self.stats.rows_logged += 1;
        self.advance_source(origin, step);
        while self.open.len() > self.window.steps() {
            self.close_oldest(out);
        }
    }

    /// Moves a source's step counter past `step` (the run itself keeps none).
    fn advance_source(&mut self, origin: Origin, step: u64) {
        let source = origin.source as usize;
        if source > 0 {
            if self.sources.len() <= source {
                self.sources.resize(source + 1, 0);
            }
            self.sources[source] = self.sources[source].max(step.saturating_add(1));
        }
    }

    /// Opens `step` at position `i` of the window, with the buffers of a closed step.
    fn open_at(&mut self, i: usize, step: u64, now: Instant, superseded: Option<Instant>) -> usize {
        let mut open = match self.pool.pop() {
            Some(mut o) => {
                o.reopen(step, now);
                o
            }
            None => OpenStep::new(step, now),
        };
        open.superseded = superseded;
        self.open.insert(i, open);
        i
    }

    /// Counts (and warns once about) a new step far ahead of the newest one.
    fn check_jump(&mut self, step: u64, newest: Option<u64>) {
        let from = newest.unwrap_or(self.floor.saturating_sub(1));
        if step.saturating_sub(from) <= self.jump {
            return;
        }
        if self.stats.step_jumps == 0 {
            tracing::warn!(
                step,
                newest = from,
                threshold = self.jump,
                "step {step} is {} steps ahead of the newest step {from} (an epoch or a global step logged as the other?); accepted; further jumps are only counted (StepStats::step_jumps)",
                step - from
            );
        }
        self.stats.step_jumps += 1;
    }

    /// Commits the open steps that were superseded as long ago as the window allows.
    pub(crate) fn expire(&mut self, now: Instant, out: &mut Batch) {
        while let Some(oldest) = self.open.front()
            && let Some(since) = oldest.superseded
            && self.window.expired(since, now)
        {
            self.close_oldest(out);
        }
    }

    /// Commits every open step (at flush and finish).
    pub(crate) fn close_all(&mut self, out: &mut Batch) {
        while !self.open.is_empty() {
            self.close_oldest(out);
        }
    }

    fn close_oldest(&mut self, out: &mut Batch) {
        let Some(mut oldest) = self.open.pop_front() else {
            return;
        };
        let (epoch, unix) = self.epoch;
        let timestamp = unix + oldest.last.saturating_duration_since(epoch).as_secs_f64();
        oldest.commit(timestamp, out);
        self.floor = oldest.step.saturating_add(1);
        self.stats.commits += 1;
        self.pool.push(oldest);
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    const RUN: Origin = Origin::RUN;

    fn cells(pairs: &[(KeyId, i64)]) -> Vec<(KeyId, Value)> {
        pairs.iter().map(|&(k, v)| (k, Value::from(v))).collect()
    }

    fn rows(b: &Batch) -> Vec<(u64, Vec<(KeyId, Value)>)> {
        let mut at = 0;
        b.rows
            .iter()
            .map(|r| {
                let c = b.cells[at..at + r.cells].to_vec();
                at += r.cells;
                (r.step, c)
            })
            .collect()
    }

    fn steps_of(b: &Batch) -> Vec<u64> {
        b.rows.iter().map(|r| r.step).collect()
    }

    struct Fixture {
        steps: Steps,
        out: Batch,
        t0: Instant,
    }

    impl Fixture {
        fn new(policy: StepPolicy, window: StepWindow) -> Self {
            let t0 = Instant::now();
            Fixture {
                steps: Steps::new(policy, window, 1000, 0, (t0, 1.7e9)),
                out: Batch::default(),
                t0,
            }
        }

        /// Logs at `at` from `origin`, `ms` milliseconds after the start.
        fn log(&mut self, at: At, origin: Origin, pairs: &[(KeyId, i64)], ms: u64) -> Outcome {
            let now = self.t0 + Duration::from_millis(ms);
            self.steps
                .log(at, origin, &mut cells(pairs), now, &mut self.out)
        }

        fn at(&mut self, step: u64, pairs: &[(KeyId, i64)]) -> Outcome {
            self.log(At::Step(step), RUN, pairs, 0)
        }
    }

    #[test]
    fn next_steps_count_up_and_commit_on_the_next_row_without_a_window() {
        let mut f = Fixture::new(StepPolicy::Reject, StepWindow::OFF);
        assert_eq!(f.log(At::Next, RUN, &[(0, 1)], 0), Outcome::Logged(0));
        assert!(f.out.rows.is_empty());
        assert_eq!(f.log(At::Next, RUN, &[(0, 2)], 0), Outcome::Logged(1));
        assert_eq!(rows(&f.out), [(0, cells(&[(0, 1)]))]);
        f.steps.close_all(&mut f.out);
        assert_eq!(f.out.rows.len(), 2);
        assert_eq!(f.log(At::Next, RUN, &[(0, 3)], 0), Outcome::Logged(2));
    }

    #[test]
    fn same_step_merges_later_values_win_and_higher_steps_skip_ahead() {
        let mut f = Fixture::new(StepPolicy::Reject, StepWindow::OFF);
        f.at(5, &[(0, 1), (1, 1)]);
        f.at(5, &[(1, 2), (2, 2), (2, 3)]);
        f.at(9, &[(0, 3)]);
        assert_eq!(rows(&f.out), [(5, cells(&[(0, 1), (1, 2), (2, 3)]))]);
        f.steps.close_all(&mut f.out);
        assert_eq!(rows(&f.out)[1], (9, cells(&[(0, 3)])), "buffers are reset");
        let s = f.steps.stats();
        assert_eq!(
            (s.rows_logged, s.merged, s.commits, s.overwritten),
            (3, 1, 2, 0)
        );
    }

    #[test]
    fn below_the_window_the_policy_decides() {
        for (policy, want) in [
            (
                StepPolicy::Reject,
                Outcome::Rejected {
                    step: 3,
                    current: 5,
                },
            ),
            (
                StepPolicy::Drop,
                Outcome::Dropped {
                    step: 3,
                    current: 5,
                },
            ),
            (StepPolicy::MergeIntoLatest, Outcome::Logged(5)),
        ] {
            let mut f = Fixture::new(policy, StepWindow::OFF);
            f.at(5, &[(0, 1)]);
            assert_eq!(f.at(3, &[(1, 2)]), want, "{policy:?}");
            let s = f.steps.stats();
            assert_eq!(
                (s.refused, s.dropped, s.moved_to_latest),
                match policy {
                    StepPolicy::Reject => (1, 0, 0),
                    StepPolicy::Drop => (0, 1, 0),
                    StepPolicy::MergeIntoLatest => (0, 0, 1),
                }
            );
        }
        let mut f = Fixture::new(StepPolicy::Reject, StepWindow::OFF);
        f.at(5, &[(0, 1)]);
        f.steps.close_all(&mut f.out);
        assert_eq!(
            f.at(5, &[(0, 1)]),
            Outcome::Rejected {
                step: 5,
                current: 6
            },
            "a committed step is closed"
        );
    }

    #[test]
    fn late_rows_merge_while_their_step_is_in_the_window_and_leave_in_order() {
        let mut f = Fixture::new(StepPolicy::Reject, StepWindow::new(3, Duration::MAX));
        f.at(10, &[(0, 10)]);
        f.at(12, &[(0, 12)]);
        assert_eq!(
            f.at(11, &[(0, 11)]),
            Outcome::Logged(11),
            "a gap opens in order"
        );
        assert_eq!(f.at(10, &[(1, 10)]), Outcome::Logged(10), "late, merged");
        assert!(f.out.rows.is_empty());
        f.at(13, &[(0, 13)]);
        assert_eq!(rows(&f.out), [(10, cells(&[(0, 10), (1, 10)]))]);
        assert_eq!(
            f.at(10, &[(1, 0)]),
            Outcome::Rejected {
                step: 10,
                current: 11
            }
        );
        assert_eq!(
            f.at(9, &[(1, 0)]),
            Outcome::Rejected {
                step: 9,
                current: 11
            },
            "the window is full: below its oldest step"
        );
        f.steps.close_all(&mut f.out);
        assert_eq!(steps_of(&f.out), [10, 11, 12, 13]);
        let s = f.steps.stats();
        assert_eq!((s.late, s.merged, s.refused, s.commits), (2, 1, 2, 4));
    }

    #[test]
    fn a_step_closes_once_a_newer_step_is_as_old_as_the_window_and_the_newest_stays_open() {
        let age = Duration::from_millis(100);
        let mut f = Fixture::new(StepPolicy::Reject, StepWindow::new(100, age));
        f.log(At::Step(1), RUN, &[(0, 1)], 0);
        assert_eq!(
            f.log(At::Step(1), RUN, &[(1, 1)], 5_000),
            Outcome::Logged(1),
            "the newest step never ages out"
        );
        f.log(At::Step(3), RUN, &[(0, 3)], 5_050); // supersedes 1
        f.log(At::Step(4), RUN, &[(0, 4)], 5_080); // supersedes 3
        f.log(At::Step(2), RUN, &[(0, 2)], 5_090); // below 3: superseded at 5,080
        assert_eq!(
            f.log(At::Step(1), RUN, &[(2, 1)], 5_149),
            Outcome::Logged(1)
        );
        assert_eq!(
            f.log(At::Step(1), RUN, &[(2, 1)], 5_150),
            Outcome::Rejected {
                step: 1,
                current: 2
            },
            "100 ms after step 3 was logged"
        );
        assert_eq!(steps_of(&f.out), [1]);
        f.steps
            .expire(f.t0 + Duration::from_millis(5_179), &mut f.out);
        assert_eq!(steps_of(&f.out), [1]);
        f.steps
            .expire(f.t0 + Duration::from_millis(5_180), &mut f.out);
        assert_eq!(steps_of(&f.out), [1, 2, 3], "2 ages with 3");
        f.steps.expire(f.t0 + Duration::from_secs(3600), &mut f.out);
        assert_eq!(
            f.steps.stats().open_steps,
            1,
            "the newest step is still open"
        );
    }

    #[test]
    fn timestamps_are_the_time_of_the_last_row_of_a_step() {
        let mut f = Fixture::new(StepPolicy::Reject, StepWindow::new(10, Duration::MAX));
        f.log(At::Step(0), RUN, &[(0, 1)], 0);
        f.log(At::Step(0), RUN, &[(1, 1)], 250);
        f.steps.close_all(&mut f.out);
        assert!((f.out.rows[0].timestamp - (1.7e9 + 0.25)).abs() < 1e-6);
    }

    #[test]
    fn next_goes_after_the_newest_step_and_sources_keep_their_own_counter() {
        let mut f = Fixture::new(StepPolicy::Reject, StepWindow::new(10, Duration::MAX));
        let eval = Origin {
            source: 1,
            priority: 0,
        };
        assert_eq!(
            f.log(At::SourceNext, eval, &[(0, 1)], 0),
            Outcome::Logged(0)
        );
        assert_eq!(
            f.log(At::SourceNext, eval, &[(0, 1)], 0),
            Outcome::Logged(1)
        );
        f.at(7, &[(1, 1)]);
        f.at(5, &[(1, 1)]);
        assert_eq!(f.log(At::Next, RUN, &[(1, 2)], 0), Outcome::Logged(8));
        assert_eq!(
            f.log(At::SourceNext, eval, &[(0, 2)], 0),
            Outcome::Logged(8),
            "joins the newest step"
        );
        assert_eq!(
            f.log(At::SourceNext, eval, &[(0, 3)], 0),
            Outcome::Logged(9)
        );
        f.log(At::Step(20), eval, &[(0, 4)], 0);
        assert_eq!(
            f.log(At::SourceNext, eval, &[(0, 5)], 0),
            Outcome::Logged(21)
        );
    }

    #[test]
    fn a_step_far_ahead_is_accepted_and_counted() {
        let mut f = Fixture::new(StepPolicy::Reject, StepWindow::new(4, Duration::MAX));
        f.at(1000, &[(0, 1)]);
        assert_eq!(
            f.steps.stats().step_jumps,
            0,
            "the first step from 0 is 1000 ahead"
        );
        assert_eq!(f.at(5000, &[(0, 1)]), Outcome::Logged(5000));
        f.at(5001, &[(0, 1)]);
        f.at(9000, &[(0, 1)]);
        assert_eq!(f.steps.stats().step_jumps, 2);
    }

    #[test]
    fn memory_is_bounded_by_the_window() {
        let mut f = Fixture::new(StepPolicy::Reject, StepWindow::new(8, Duration::MAX));
        for step in 0..1000 {
            f.at(step, &[(0, 1), (1, 2)]);
            assert!(f.steps.open.len() <= 8);
        }
        assert!(f.steps.pool.len() + f.steps.open.len() <= 9);
        assert_eq!(f.steps.stats().commits, 992);
    }
}
