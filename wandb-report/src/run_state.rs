//! How a run ended, from its exit record and, in a local sweep, its trial's status.

use wandb_agent::local_sweep::{TrialRecord, TrialStatus};

use crate::run_log::RunLog;
use crate::sweep::Bands;

/// How a run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum RunState {
    /// Exit code 0.
    Finished,
    /// A non-zero exit code, or a trial that returned an error.
    Failed {
        /// The exit code, when the log has one.
        code: Option<i32>,
        /// The trial's error.
        reason: Option<String>,
    },
    /// Stopped by hyperband after `steps` values of the sweep metric.
    Stopped {
        /// Values of the metric it logged.
        steps: usize,
        /// The band it was stopped at, when the bands are known.
        band: Option<u64>,
    },
    /// The log ends without an exit record: the process was killed (or still runs).
    Crashed,
    /// A local sweep trial that was running when the sweep was interrupted.
    Interrupted,
}

impl RunState {
    /// The state of a run.
    pub(crate) fn of(log: &RunLog, trial: Option<&TrialRecord>, bands: Option<&Bands>) -> Self {
        let by_exit = match log.exit {
            Some(e) if e.code == 0 => RunState::Finished,
            Some(e) => RunState::Failed {
                code: Some(e.code),
                reason: None,
            },
            None => RunState::Crashed,
        };
        let Some(trial) = trial else {
            return by_exit;
        };
        match trial.status {
            TrialStatus::Stopped => RunState::Stopped {
                steps: trial.history.len(),
                band: bands.and_then(|b| b.band_of(trial.history.len())),
            },
            TrialStatus::Failed => RunState::Failed {
                code: log.exit.map(|e| e.code).filter(|&c| c != 0),
                reason: trial.error.clone(),
            },
            TrialStatus::Running if log.exit.is_none() => RunState::Interrupted,
            TrialStatus::Finished if log.exit.is_none() => RunState::Finished,
            _ => by_exit,
        }
    }

    /// The words in the run table.
    pub(crate) fn label(&self) -> String {
        match self {
            RunState::Finished => "finished".to_owned(),
            RunState::Failed { code: Some(c), .. } => format!("failed (exit {c})"),
            RunState::Failed { code: None, .. } => "failed".to_owned(),
            RunState::Stopped { band: Some(b), .. } => format!("stopped early (band {b})"),
            RunState::Stopped { band: None, .. } => "stopped early".to_owned(),
            RunState::Crashed => "crashed (no exit record)".to_owned(),
            RunState::Interrupted => "interrupted".to_owned(),
        }
    }

    /// The CSS class of the label.
    pub(crate) fn class(&self) -> &'static str {
        match self {
            RunState::Finished => "st-finished",
            RunState::Failed { .. } | RunState::Crashed => "st-failed",
            RunState::Stopped { .. } => "st-stopped",
            RunState::Interrupted => "st-running",
        }
    }

    /// Whether hyperband stopped it.
    pub(crate) fn stopped(&self) -> bool {
        matches!(self, RunState::Stopped { .. })
    }
}
