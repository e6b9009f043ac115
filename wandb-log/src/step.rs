//! Steps: rows for the same step merge; a row for a step below the pending one is never
//! dropped silently, the [`StepPolicy`] decides.

use wandb_sweep::Value;

use crate::keys::KeyId;
use crate::offline_run::unix_now;
use crate::outbox::Batch;

/// What to do with a row whose step is below the current one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StepPolicy {
    /// Refuse it with [`crate::Error::StepConflict`] (the default), and count it.
    #[default]
    Reject,
    /// Drop it, count it, warn once.
    Drop,
    /// Merge it into the current step.
    MergeIntoLatest,
}

/// What happened to a logged row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Stored at this step.
    Logged(u64),
    /// Below the current step and dropped (policy `Drop`).
    Dropped { step: u64, current: u64 },
    /// Below the current step and refused (policy `Reject`).
    Rejected { step: u64, current: u64 },
}

/// The step counter and the row being assembled.
#[derive(Debug, Default)]
pub(crate) struct Steps {
    policy: StepPolicy,
    /// The step of the pending row (or the next step when nothing is pending).
    current: u64,
    has_pending: bool,
    pending: Vec<(KeyId, Value)>,
    /// Per key id: 1 + its index in `pending`, or 0 when absent.
    slot: Vec<u32>,
}

impl Steps {
    pub(crate) fn new(policy: StepPolicy, start: u64) -> Self {
        Steps {
            policy,
            current: start,
            ..Steps::default()
        }
    }

    /// Logs `cells` at `step`, or at the next step (`None`), committing rows to `out`.
    /// `cells` is left empty.
    pub(crate) fn log(
        &mut self,
        step: Option<u64>,
        cells: &mut Vec<(KeyId, Value)>,
        out: &mut Batch,
    ) -> Outcome {
        let step = step.unwrap_or(self.current + u64::from(self.has_pending));
        if step < self.current {
            let current = self.current;
            return match self.policy {
                StepPolicy::Reject => Outcome::Rejected { step, current },
                StepPolicy::Drop => Outcome::Dropped { step, current },
                StepPolicy::MergeIntoLatest => self.merge(current, cells, out),
            };
        }
        self.merge(step, cells, out)
    }

    fn merge(&mut self, step: u64, cells: &mut Vec<(KeyId, Value)>, out: &mut Batch) -> Outcome {
        if step > self.current {
            self.commit(out);
            self.current = step;
        }
        self.has_pending = true;
        for (id, value) in cells.drain(..) {
            let i = id as usize;
            if self.slot.len() <= i {
                self.slot.resize(i + 1, 0);
            }
            match self.slot[i] {
                0 => {
                    self.pending.push((id, value));
                    self.slot[i] = u32::try_from(self.pending.len()).unwrap_or(u32::MAX);
                }
                n => self.pending[n as usize - 1].1 = value,
            }
        }
        Outcome::Logged(step)
    }

    /// Commits the pending row (at flush, finish, or when a higher step arrives).
    pub(crate) fn commit(&mut self, out: &mut Batch) {
        if !self.has_pending {
            return;
        }
        for (id, _) in &self.pending {
            self.slot[*id as usize] = 0;
        }
        out.push_row(self.current, unix_now(), &mut self.pending);
        self.has_pending = false;
        self.current += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn next_steps_count_up_and_commit_on_the_next_row() {
        let (mut s, mut out) = (Steps::new(StepPolicy::Reject, 0), Batch::default());
        assert_eq!(
            s.log(None, &mut cells(&[(0, 1)]), &mut out),
            Outcome::Logged(0)
        );
        assert!(out.rows.is_empty());
        assert_eq!(
            s.log(None, &mut cells(&[(0, 2)]), &mut out),
            Outcome::Logged(1)
        );
        assert_eq!(rows(&out), [(0, cells(&[(0, 1)]))]);
        s.commit(&mut out);
        assert_eq!(out.rows.len(), 2);
        assert_eq!(
            s.log(None, &mut cells(&[(0, 3)]), &mut out),
            Outcome::Logged(2)
        );
    }

    #[test]
    fn same_step_merges_later_values_win_and_higher_steps_skip_ahead() {
        let (mut s, mut out) = (Steps::new(StepPolicy::Reject, 0), Batch::default());
        s.log(Some(5), &mut cells(&[(0, 1), (1, 1)]), &mut out);
        s.log(Some(5), &mut cells(&[(1, 2), (2, 2), (2, 3)]), &mut out);
        s.log(Some(9), &mut cells(&[(0, 3)]), &mut out);
        assert_eq!(rows(&out), [(5, cells(&[(0, 1), (1, 2), (2, 3)]))]);
        s.commit(&mut out);
        assert_eq!(
            rows(&out)[1],
            (9, cells(&[(0, 3)])),
            "slots are reset per row"
        );
    }

    #[test]
    fn lower_steps_follow_the_policy() {
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
            let (mut s, mut out) = (Steps::new(policy, 0), Batch::default());
            s.log(Some(5), &mut cells(&[(0, 1)]), &mut out);
            assert_eq!(
                s.log(Some(3), &mut cells(&[(1, 2)]), &mut out),
                want,
                "{policy:?}"
            );
        }
        let (mut s, mut out) = (Steps::new(StepPolicy::Reject, 0), Batch::default());
        s.log(Some(5), &mut cells(&[(0, 1)]), &mut out);
        s.commit(&mut out);
        assert!(
            matches!(
                s.log(Some(5), &mut cells(&[(0, 1)]), &mut out),
                Outcome::Rejected { .. }
            ),
            "a committed step is closed"
        );
    }
}
