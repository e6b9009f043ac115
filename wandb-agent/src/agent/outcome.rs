//! How an agent ended and what its trials did.

use std::fmt;

use super::failure_policy::FailureStop;

/// Why an agent stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum AgentOutcome {
    /// The agent ran the `count` trials it was asked for.
    CountReached(u64),
    /// The server has no runs left for this sweep (grid exhausted or `run_cap` reached) and
    /// told the agent to exit.
    NoRunsLeft,
    /// The sweep is `FINISHED`: it has no runs left (a completed grid) or its owner stopped
    /// it; the server does not say which. No new runs.
    SweepFinished,
    /// The sweep was cancelled (`CANCELED`).
    SweepCanceled,
    /// The sweep is paused: no runs until it is resumed.
    SweepPaused,
    /// The sweep or this agent was deleted on the server.
    SweepDeleted,
    /// Too many trials failed (see [`super::FailurePolicy`]).
    TooManyFailures(FailureStop),
    /// The agent was interrupted (Ctrl-C, SIGTERM).
    Interrupted,
    /// W&B refused the API key (HTTP 401/403) or the heartbeats failed too many times in a
    /// row; the message says what failed and what to check (`WANDB_API_KEY`,
    /// `WANDB_BASE_URL`, the network).
    ConnectionLost(String),
}

impl AgentOutcome {
    /// The outcome for a sweep state as the server names it (`FINISHED`, `CANCELED`,
    /// `PAUSED`); `None` for a running (or unknown) sweep.
    #[must_use]
    pub fn from_sweep_state(state: &str) -> Option<AgentOutcome> {
        match state.to_ascii_uppercase().as_str() {
            "FINISHED" => Some(AgentOutcome::SweepFinished),
            "CANCELED" | "CANCELLED" => Some(AgentOutcome::SweepCanceled),
            "PAUSED" => Some(AgentOutcome::SweepPaused),
            _ => None,
        }
    }

    /// Whether the sweep itself is over for this agent (as opposed to the agent's own limits).
    #[must_use]
    pub fn sweep_is_done(&self) -> bool {
        matches!(
            self,
            AgentOutcome::NoRunsLeft
                | AgentOutcome::SweepFinished
                | AgentOutcome::SweepCanceled
                | AgentOutcome::SweepDeleted
        )
    }
}

impl fmt::Display for AgentOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AgentOutcome::CountReached(n) => write!(f, "ran the {n} trials asked for"),
            AgentOutcome::NoRunsLeft => f.write_str(
                "the sweep has no runs left (grid exhausted or run_cap reached)",
            ),
            AgentOutcome::SweepFinished => f.write_str(
                "the sweep is finished (no runs left, or stopped by its owner)",
            ),
            AgentOutcome::SweepCanceled => f.write_str("the sweep was cancelled (CANCELED)"),
            AgentOutcome::SweepPaused => f.write_str(
                "the sweep is paused: resume it (`wandb-rs sweep resume SWEEP` or the W&B UI), then start the agent again",
            ),
            AgentOutcome::SweepDeleted => f.write_str("the sweep or this agent was deleted on W&B"),
            AgentOutcome::TooManyFailures(why) => write!(f, "stopped: {why}"),
            AgentOutcome::Interrupted => f.write_str("interrupted"),
            AgentOutcome::ConnectionLost(why) => write!(f, "lost the connection to W&B: {why}"),
        }
    }
}

/// How one trial ended.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TrialStatus {
    /// It returned `Ok` (or exited with code 0).
    Succeeded,
    /// It returned an error, panicked or exited non-zero; the message says which.
    Failed {
        /// The error, panic message or exit status (with the output tail for processes).
        message: String,
    },
    /// The agent stopped it (the server's `stop` or `exit`, or an interrupt) and it did not
    /// exit cleanly; not counted as a failure.
    Stopped {
        /// How it ended (`killed by signal 9`, …).
        message: String,
    },
}

/// One trial an agent ran.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrialRecord {
    /// The run id the server assigned.
    pub run_id: String,
    /// How it ended.
    pub status: TrialStatus,
    /// Whether the server asked it to stop (early termination or the UI's stop button).
    pub stop_requested: bool,
    /// Why the run's upload stopped, if it did (everything is still in the local run
    /// directory: `wandb sync` uploads it).
    pub upload_error: Option<String>,
}

impl TrialRecord {
    /// Whether the trial succeeded.
    #[must_use]
    pub fn succeeded(&self) -> bool {
        self.status == TrialStatus::Succeeded
    }
}

/// What an agent did: why it stopped and every trial it ran, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentReport {
    /// Why it stopped.
    pub outcome: AgentOutcome,
    /// The trials.
    pub trials: Vec<TrialRecord>,
}
