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
    /// Resuming the run is not possible (see [`crate::Resume`]).
    #[error("cannot resume the run: {0}")]
    Resume(String),
    /// A run directory could not be synced.
    #[error("cannot sync: {0}")]
    Sync(String),
    /// A media value ([`crate::Image`], [`crate::Histogram`], [`crate::Table`]) could not be
    /// made from its input; the message says what is wrong and what to do.
    #[error("{0}")]
    Media(String),
    /// Writing the run's files failed.
    #[error("cannot write the run's files: {0}")]
    Io(#[from] std::io::Error),
    /// The feature does not work on this platform (the message says what to use instead):
    /// [`crate::Console::Capture`] elsewhere than unix.
    #[error("not supported on this platform: {0}")]
    Unsupported(&'static str),
    /// W&B refused or failed a request (the message says what to do).
    #[error(transparent)]
    Api(#[from] wandb_api::Error),
}
