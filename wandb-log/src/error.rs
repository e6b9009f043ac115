//! The crate's error type.

use std::time::Duration;

/// Everything that can go wrong in `wandb-log`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A row for a step below the step window (a step already written), under
    /// [`crate::StepPolicy::Reject`].
    #[error(
        "step {step} is below the current step {current}: log at step {current} or higher, or choose StepPolicy::MergeIntoLatest or Drop, or a larger StepWindow"
    )]
    StepConflict {
        /// The step asked for.
        step: u64,
        /// The lowest step still accepted: the oldest step of a full window, else the step
        /// after the last one written (without a window: the current step).
        current: u64,
    },
    /// `finish` was called before.
    #[error("the run is already finished")]
    AlreadyFinished,
    /// The background writer did not answer in time.
    #[error("the run's writer did not answer within {0:?}")]
    Timeout(Duration),
    /// Online mode is not available in this version.
    #[error(
        "online mode is not implemented yet: use offline mode (WANDB_MODE=offline or Mode::Offline), then upload with `wandb sync <run dir>`"
    )]
    OnlineNotAvailable,
    /// A setting is invalid (e.g. `WANDB_MODE`).
    #[error("{0}")]
    Configuration(String),
    /// The config could not be converted.
    #[error("config key `{path}`: {message}")]
    Config {
        /// The key path.
        path: String,
        /// What is wrong.
        message: String,
    },
    /// A local sweep's config cannot be searched (e.g. a grid over a continuous parameter).
    #[error("cannot run the sweep: {0}")]
    Sweep(#[from] wandb_sweep::Error),
    /// A local sweep's state file cannot be read.
    #[error(
        "cannot read the sweep state {}: {message}; fix the file, or delete it to start the sweep over",
        path.display()
    )]
    SweepState {
        /// The state file.
        path: std::path::PathBuf,
        /// What is wrong.
        message: String,
    },
    /// A local sweep's method, metric or parameters changed since it started.
    #[error(
        "the sweep's method, metric or parameters changed since it started (state in {}): use a new sweep directory, or delete that file to start over",
        path.display()
    )]
    SweepChanged {
        /// The state file.
        path: std::path::PathBuf,
    },
    /// A random or bayes sweep without a count or `run_cap` would never end.
    #[error(
        "a {method} sweep never runs out of points: set a count (LocalSweep::count, --count N) or run_cap in the config"
    )]
    UnboundedSweep {
        /// The search method.
        method: &'static str,
    },
    /// Resuming the run is not possible (see [`crate::Resume`]).
    #[error("cannot resume the run: {0}")]
    Resume(String),
    /// A run directory could not be synced.
    #[error("cannot sync: {0}")]
    Sync(String),
    /// Writing the run's files failed.
    #[error("cannot write the run's files: {0}")]
    Io(#[from] std::io::Error),
    /// A trial's child process could not be started, signalled or waited for.
    #[error(
        "cannot {action} `{program}`: {source} (check that the program exists, is executable and is on PATH)"
    )]
    TrialProcess {
        /// What was attempted (`start`, `signal`, `kill`, `wait for`, …).
        action: &'static str,
        /// The program (`argv[0]`).
        program: String,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// W&B refused or failed a request (the message says what to do).
    #[error(transparent)]
    Api(#[from] wandb_api::Error),
}

/// The text of a caught panic's payload (a `&str` or `String` message).
pub(crate) fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a non-text panic payload".to_owned())
}
