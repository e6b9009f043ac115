//! Sources: named handles of one run for the threads that log to it (a trainer, its
//! callbacks, an evaluation thread), each with a priority and its own step counter.

use std::sync::Arc;

use crate::error::Error;
use crate::row::IntoRow;
use crate::run::Run;
use crate::step::At;

/// Who wrote a value: a source id (0 for the run's own rows) and the priority it had.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Origin {
    pub(crate) source: u32,
    pub(crate) priority: i32,
}

impl Origin {
    /// Rows logged through the [`Run`] itself.
    pub(crate) const RUN: Origin = Origin {
        source: 0,
        priority: 0,
    };
}

/// A named source of rows for one run: a cheap, cloneable handle for a thread that logs to
/// the run beside others (a trainer's callbacks, an evaluation or an inference thread). Get
/// one with [`Run::source`].
///
/// **Priority.** When two sources log the same key at the same step, the value with the
/// higher priority wins; on equal priorities the later call wins. The run's own rows
/// ([`Run::log`], [`Run::log_at`]) and new sources have priority 0. Every value that loses
/// against another source or priority is counted in [`crate::StepStats::overwritten`].
/// The priority belongs to the handle: [`Source::priority`] returns a handle with another
/// one, and clones keep it.
///
/// **Steps.** [`Source::log_at`] logs at the given step, as [`Run::log_at`] does.
/// [`Source::log`] uses the source's own step counter: the row joins the run's newest open
/// step, unless this source already logged at that step or later, in which case it goes
/// to the step after the source's last one. So a source that logs once per training step
/// (after the trainer's row) lands on the trainer's step, a slower one (an evaluation every
/// 100 steps) lands on the step the trainer is at, and a source never logs twice at the same
/// step through `log`; such a row is never below the window. Handles with the same name
/// share the counter.
///
/// ```
/// use wandb_log::{Mode, Run};
/// let run = Run::builder().mode(Mode::Disabled).init()?;
/// let eval = run.source("eval").priority(1);
/// let callbacks = run.source("callbacks");
/// run.log_at(7, [("loss", 0.5)])?;
/// assert_eq!(callbacks.log([("lr", 0.01)])?, 7); // joins the newest step
/// eval.log_at(7, [("loss", 0.4)])?;              // wins over the run's value
/// run.log_at(7, [("loss", 0.6)])?;               // loses: priority 0 < 1
/// assert_eq!(run.step_stats().overwritten, 2);
/// assert_eq!(callbacks.log([("lr", 0.02)])?, 8); // already logged at 7: the next one
/// # Ok::<(), wandb_log::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Source {
    run: Run,
    name: Arc<str>,
    origin: Origin,
}

impl Source {
    pub(crate) fn new(run: Run, name: Arc<str>, id: u32) -> Self {
        Source {
            run,
            name,
            origin: Origin {
                source: id,
                priority: 0,
            },
        }
    }

    /// This source with `priority` (higher wins; the default and the run's own rows: 0).
    #[must_use]
    pub fn priority(mut self, priority: i32) -> Source {
        self.origin.priority = priority;
        self
    }

    /// The source's name.
    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The source's priority.
    #[must_use]
    pub fn current_priority(&self) -> i32 {
        self.origin.priority
    }

    /// Logs a row at the source's next step (see the type's documentation) and returns it.
    ///
    /// # Errors
    /// [`Error::AlreadyFinished`].
    pub fn log(&self, row: impl IntoRow) -> Result<u64, Error> {
        self.run.record(At::SourceNext, self.origin, row)
    }

    /// Logs a row at `step`, as [`Run::log_at`] does, with this source's priority.
    ///
    /// # Errors
    /// As [`Run::log_at`].
    pub fn log_at(&self, step: u64, row: impl IntoRow) -> Result<u64, Error> {
        self.run.record(At::Step(step), self.origin, row)
    }
}
