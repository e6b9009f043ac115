//! The crate's error type.

/// Everything that can go wrong in `wandb-agent`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A setting or argument is invalid (a sweep path, a metric pattern, …).
    #[error("{0}")]
    Configuration(String),
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
    /// Writing the sweep's files (state, parameter files) failed.
    #[error("cannot write the sweep's files: {0}")]
    Io(#[from] std::io::Error),
    /// A trial's run could not be started or finished (the message says what to do).
    #[error(transparent)]
    Log(#[from] wandb_log::Error),
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
