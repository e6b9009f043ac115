//! Local sweeps: a sweep controller on your machine, no W&B server and no account.
//!
//! [`LocalSweep`] reads a sweep config (grid, random or bayes search, hyperband early
//! termination), runs trials on `parallel` worker threads and logs each trial as an offline
//! run in the sweep directory, which `wandb sync` uploads later. A trial is a closure that
//! receives its [`Run`]: `run.config::<T>()` holds the suggested parameters, and
//! `run.should_stop()` turns true when hyperband stops the trial.
//!
//! The sweep directory keeps `sweep-state.json` (each trial's parameters, status, metric and
//! run directory): running the same sweep again continues where it stopped (a grid never
//! repeats a finished point; interrupted trials run again), and
//! [`LocalSweep::retry_failed`] runs failed points again. A trial that returns `Err` or
//! panics is marked failed with the message.
//!
//! ```
//! use wandb_agent::LocalSweep;
//! use wandb_log::Run;
//! use wandb_sweep::SweepConfig;
//!
//! let config = SweepConfig::from_yaml(
//!     "method: grid\nmetric: {name: loss}\nparameters:\n  lr: {values: [0.1, 0.01, 0.001]}\n",
//! )?;
//! let dir = std::env::temp_dir().join(format!("local-sweep-doc-{}", std::process::id()));
//! # std::fs::remove_dir_all(&dir).ok();
//! #[derive(serde::Deserialize)]
//! struct Params { lr: f64 }
//! let report = LocalSweep::new(config, &dir).parallel(2).run(|run: Run| {
//!     let p: Params = run.config()?;
//!     for epoch in 0..5 {
//!         if run.should_stop() { break; }
//!         run.log([("loss", (p.lr - 0.01).abs() + 1.0 / (epoch as f64 + 1.0))])?;
//!     }
//!     Ok::<(), wandb_log::Error>(())
//! })?;
//! assert_eq!(report.trials.len(), 3);
//! assert_eq!(report.best().unwrap().params.to_string(), "{lr: 0.01}");
//! println!("{report}");                 // the leaderboard and failures
//! println!("{}", report.sync_command()); // wandb sync <dir>/wandb/offline-run-*
//! # std::fs::remove_dir_all(&dir).ok();
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod closure;
mod controller;
mod report;
mod state;
mod trial;

use std::collections::VecDeque;
use std::fmt::Display;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use wandb_sweep::{Method, SweepConfig};

pub use report::SweepReport;
pub use state::{STATE_FILE, TrialRecord, TrialStatus};
pub use trial::{Trial, TrialExecutor, TrialProbe};

use closure::ClosureExecutor;
use controller::{Controller, Limits};
use state::SweepState;

use crate::error::Error;
use wandb_log::Run;
use wandb_log::new_run_id;

/// How often hyperband looks at running trials by default.
const DEFAULT_POLL: Duration = Duration::from_millis(50);

/// The shortest poll interval: shorter ones (zero included) are taken as this, so that the
/// controller never spins. It is this low because trials that log fast (the quickstart's, in
/// milliseconds) pass hyperband's bands between two looks at a longer interval.
pub const MIN_POLL: Duration = Duration::from_millis(1);

/// A sweep run on this machine; see the [module docs](self).
#[derive(Debug, Clone)]
pub struct LocalSweep {
    config: SweepConfig,
    dir: PathBuf,
    parallel: usize,
    count: Option<u64>,
    retry_failed: bool,
    seed: Option<u64>,
    poll: Duration,
    cancel: Option<Arc<AtomicBool>>,
}

impl LocalSweep {
    /// A sweep of `config` kept in `dir` (created if missing; an existing sweep there is
    /// resumed). One worker, no count, failed trials not retried.
    #[must_use]
    pub fn new(config: SweepConfig, dir: impl AsRef<Path>) -> Self {
        LocalSweep {
            config,
            dir: dir.as_ref().to_path_buf(),
            parallel: 1,
            count: None,
            retry_failed: false,
            seed: None,
            poll: DEFAULT_POLL,
            cancel: None,
        }
    }

    /// Trials run at the same time (at least 1).
    #[must_use]
    pub fn parallel(mut self, workers: usize) -> Self {
        self.parallel = workers.max(1);
        self
    }

    /// Start at most this many trials in this invocation (retries included), as
    /// `wandb agent --count`. Random and bayes sweeps need a count or `run_cap`.
    #[must_use]
    pub fn count(mut self, trials: u64) -> Self {
        self.count = Some(trials);
        self
    }

    /// Run the sweep's failed trials again (same parameters, a new run) before new ones.
    #[must_use]
    pub fn retry_failed(mut self, retry: bool) -> Self {
        self.retry_failed = retry;
        self
    }

    /// The seed of random and bayes choices (default: derived from the sweep id). Fixed
    /// when the sweep starts; a resumed sweep keeps its seed.
    #[must_use]
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = Some(seed);
        self
    }

    /// How often hyperband looks at running trials (default 50 ms, at least [`MIN_POLL`],
    /// 1 ms).
    #[must_use]
    pub fn poll_interval(mut self, every: Duration) -> Self {
        self.poll = every.max(MIN_POLL);
        self
    }

    /// A flag that cancels the sweep when it turns true (set it from a Ctrl-C handler): no
    /// trial starts after it, running trials are asked to stop (`should_stop()`), and they
    /// stay `running` in the state file, so they run again when the sweep resumes. Whether a
    /// trial was cut short is decided by whether the stop reached it before its closure
    /// returned: one that returned first is recorded as it ended (`Ok`: finished), even if
    /// its run was still being written when the cancel came.
    #[must_use]
    pub fn cancel_flag(mut self, flag: Arc<AtomicBool>) -> Self {
        self.cancel = Some(flag);
        self
    }

    /// The sweep directory.
    #[must_use]
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The sweep config.
    #[must_use]
    pub fn config(&self) -> &SweepConfig {
        &self.config
    }

    /// Runs trials as closures until the search is done or the count is reached. Each call
    /// gets a fresh offline run; it is finished (or failed, on `Err` or panic) afterwards
    /// unless the closure finished it.
    ///
    /// # Errors
    /// [`Error::UnboundedSweep`], [`Error::Sweep`] (e.g. a grid over a continuous
    /// parameter), [`Error::SweepChanged`], [`Error::SweepState`], I/O errors of the state
    /// file. Trial failures are not errors: they are in the report.
    pub fn run<F, E>(&self, trial: F) -> Result<SweepReport, Error>
    where
        F: Fn(Run) -> Result<(), E> + Sync,
        E: Display,
    {
        self.run_with(&ClosureExecutor(trial))
    }

    /// Runs trials through an executor (e.g. subprocesses), as [`LocalSweep::run`].
    ///
    /// # Errors
    /// As [`LocalSweep::run`].
    pub fn run_with(&self, executor: &impl TrialExecutor) -> Result<SweepReport, Error> {
        self.check_bounded()?;
        std::fs::create_dir_all(&self.dir)?;
        let state = self.load_or_create()?;
        let retry = self.retry_queue(&state);
        let limits = Limits {
            parallel: self.parallel,
            count: self.count,
            poll: self.poll,
            cancel: self.cancel.clone(),
        };
        let ended = Controller::new(&self.config, &self.dir, limits, state, retry).run(executor)?;
        Ok(SweepReport::new(
            &self.config,
            &self.dir,
            ended.state.sweep_id,
            ended.state.trials,
            ended.started,
            ended.done,
        ))
    }

    fn check_bounded(&self) -> Result<(), Error> {
        let endless = matches!(self.config.method, Method::Random | Method::Bayes);
        if endless && self.count.is_none() && self.config.run_cap.is_none() {
            return Err(Error::UnboundedSweep {
                method: self.config.method.as_str(),
            });
        }
        Ok(())
    }

    fn load_or_create(&self) -> Result<SweepState, Error> {
        if let Some(state) = SweepState::load(&self.dir, &self.config)? {
            tracing::info!(sweep = %state.sweep_id, trials = state.trials.len(), "resuming the local sweep");
            return Ok(state);
        }
        let sweep_id = new_run_id();
        let seed = self.seed.unwrap_or_else(|| seed_of(&sweep_id));
        let state = SweepState::new(&self.config, sweep_id, seed);
        state.save(&self.dir)?;
        Ok(state)
    }

    /// Interrupted trials and (with `retry_failed`) failed ones, by number.
    fn retry_queue(&self, state: &SweepState) -> VecDeque<usize> {
        let again = |s: TrialStatus| {
            s == TrialStatus::Running || (self.retry_failed && s == TrialStatus::Failed)
        };
        state
            .trials
            .iter()
            .enumerate()
            .filter(|(_, t)| again(t.status))
            .map(|(i, _)| i)
            .collect()
    }
}

/// A seed from a sweep id (FNV-1a).
fn seed_of(id: &str) -> u64 {
    id.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}
