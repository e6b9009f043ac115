//! Steps: rows for the same step merge; a row for a step below the pending one is never
//! dropped silently, the [`StepPolicy`] decides.

use indexmap::IndexMap;
use wandb_sweep::Value;

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

/// A history row that is complete: no more values can join it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Committed {
    pub(crate) step: u64,
    pub(crate) values: IndexMap<String, Value>,
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
    /// The step of `pending` (or the next step when nothing is pending).
    current: u64,
    pending: Option<IndexMap<String, Value>>,
}

impl Steps {
    pub(crate) fn new(policy: StepPolicy, start: u64) -> Self {
        Steps {
            policy,
            current: start,
            pending: None,
        }
    }

    /// Logs at the next step: commits the pending row first.
    pub(crate) fn log_next(
        &mut self,
        values: IndexMap<String, Value>,
        out: &mut Vec<Committed>,
    ) -> Outcome {
        let step = if self.pending.is_some() {
            self.current + 1
        } else {
            self.current
        };
        self.log_at(step, values, out)
    }

    /// Logs at an explicit step.
    pub(crate) fn log_at(
        &mut self,
        step: u64,
        values: IndexMap<String, Value>,
        out: &mut Vec<Committed>,
    ) -> Outcome {
        if step < self.current {
            return match self.policy {
                StepPolicy::Reject => Outcome::Rejected {
                    step,
                    current: self.current,
                },
                StepPolicy::Drop => Outcome::Dropped {
                    step,
                    current: self.current,
                },
                StepPolicy::MergeIntoLatest => self.merge(self.current, values, out),
            };
        }
        self.merge(step, values, out)
    }

    fn merge(
        &mut self,
        step: u64,
        values: IndexMap<String, Value>,
        out: &mut Vec<Committed>,
    ) -> Outcome {
        if step > self.current {
            self.commit(out);
            self.current = step;
        }
        match &mut self.pending {
            Some(row) => row.extend(values),
            None => self.pending = Some(values),
        }
        Outcome::Logged(step)
    }

    /// Commits the pending row (at flush, finish, or when a higher step arrives).
    pub(crate) fn commit(&mut self, out: &mut Vec<Committed>) {
        if let Some(values) = self.pending.take() {
            out.push(Committed {
                step: self.current,
                values,
            });
            self.current += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(k: &str, v: i64) -> IndexMap<String, Value> {
        [(k.to_owned(), Value::from(v))].into_iter().collect()
    }

    #[test]
    fn next_steps_count_up_and_commit_on_the_next_row() {
        let (mut s, mut out) = (Steps::new(StepPolicy::Reject, 0), Vec::new());
        assert_eq!(s.log_next(row("a", 1), &mut out), Outcome::Logged(0));
        assert!(out.is_empty());
        assert_eq!(s.log_next(row("a", 2), &mut out), Outcome::Logged(1));
        assert_eq!(
            out,
            [Committed {
                step: 0,
                values: row("a", 1)
            }]
        );
        s.commit(&mut out);
        assert_eq!(out.len(), 2);
        assert_eq!(s.log_next(row("a", 3), &mut out), Outcome::Logged(2));
    }

    #[test]
    fn same_step_merges_and_higher_steps_skip_ahead() {
        let (mut s, mut out) = (Steps::new(StepPolicy::Reject, 0), Vec::new());
        s.log_at(5, row("a", 1), &mut out);
        s.log_at(5, row("b", 2), &mut out);
        s.log_at(9, row("a", 3), &mut out);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].step, 5);
        assert_eq!(out[0].values.len(), 2);
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
            let (mut s, mut out) = (Steps::new(policy, 0), Vec::new());
            s.log_at(5, row("a", 1), &mut out);
            assert_eq!(s.log_at(3, row("b", 2), &mut out), want, "{policy:?}");
        }
        let (mut s, mut out) = (Steps::new(StepPolicy::Reject, 0), Vec::new());
        s.log_at(5, row("a", 1), &mut out);
        s.commit(&mut out);
        assert!(
            matches!(s.log_at(5, row("a", 1), &mut out), Outcome::Rejected { .. }),
            "a committed step is closed"
        );
    }
}
