//! What happened to the rows of a run so far: merges, late rows, refusals, priority
//! losses, step jumps and commits.

/// Counters of how a run's rows became steps; read them live with
/// [`crate::Run::step_stats`] and at the end in [`crate::FinishReport::step_stats`].
///
/// A row counts once in `rows_logged` or once in `refused` or `dropped`; `merged`, `late`,
/// `moved_to_latest` and `step_jumps` describe accepted rows and may overlap (a late row
/// that joins an open step is both late and merged).
///
/// ```
/// use wandb_log::{Mode, Run, StepPolicy, StepWindow};
/// let run = Run::builder()
///     .mode(Mode::Disabled)
///     .step_window(StepWindow::OFF)
///     .step_policy(StepPolicy::Drop)
///     .init()?;
/// run.log_at(1, [("a", 1)])?;
/// run.log_at(1, [("b", 2)])?; // merged into the open step 1
/// run.log_at(2, [("a", 3)])?; // closes step 1
/// run.log_at(1, [("c", 4)])?; // below the window: dropped, counted
/// let stats = run.step_stats();
/// assert_eq!((stats.rows_logged, stats.merged, stats.dropped, stats.commits), (3, 1, 1, 1));
/// assert_eq!(stats.open_steps, 1);
/// # Ok::<(), wandb_log::Error>(())
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct StepStats {
    /// Rows accepted (`log` calls that returned a step).
    pub rows_logged: u64,
    /// Accepted rows that joined a step that already held a row (same-step merges).
    pub merged: u64,
    /// Accepted rows for a step below the newest one, kept at their own step because it was
    /// still in the window ("late but merged").
    pub late: u64,
    /// Rows below the window refused with [`crate::Error::StepConflict`]
    /// ([`crate::StepPolicy::Reject`]).
    pub refused: u64,
    /// Rows below the window dropped ([`crate::StepPolicy::Drop`]).
    pub dropped: u64,
    /// Rows below the window merged into the newest step
    /// ([`crate::StepPolicy::MergeIntoLatest`]).
    pub moved_to_latest: u64,
    /// Values (not rows) that lost against a value of another source or priority for the
    /// same key at the same step (see [`crate::Source`]).
    pub overwritten: u64,
    /// Rows whose step was far ahead of the newest one (see
    /// [`crate::RunBuilder::step_jump_threshold`]); accepted.
    pub step_jumps: u64,
    /// Steps that left the window: history rows committed to the log.
    pub commits: u64,
    /// Steps open in the window now (0 after `flush` and `finish`).
    pub open_steps: u64,
}
