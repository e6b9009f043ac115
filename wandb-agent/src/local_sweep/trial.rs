//! A trial as an executor sees it: its parameters and run id, and the probe through which the
//! controller reads its metric and asks it to stop.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use wandb_sweep::Value;

use wandb_log::Run;

/// What the controller reads from a running trial and how it stops it.
///
/// [`Run`] is a probe (its watched metric, [`Run::request_stop`]); a subprocess executor
/// reads the child's `.wandb` log and signals the child.
pub trait TrialProbe: Send + Sync {
    /// The `(step, value)` history of the sweep's metric so far.
    fn history(&self) -> Vec<(u64, f64)>;

    /// Asks the trial to stop (hyperband decided it is not worth finishing).
    fn request_stop(&self);
}

impl TrialProbe for Run {
    fn history(&self) -> Vec<(u64, f64)> {
        self.watched()
    }

    fn request_stop(&self) {
        Run::request_stop(self);
    }
}

/// Runs trials: one call per trial, on a worker thread, returning when the trial has ended.
///
/// Implement it to run trials some other way than in-process closures (the CLI runs
/// subprocesses); [`crate::LocalSweep::run`] covers closures.
///
/// ```
/// use std::sync::{Arc, Mutex};
/// use wandb_agent::LocalSweep;
/// use wandb_agent::local_sweep::{Trial, TrialExecutor, TrialProbe};
///
/// /// The metric values a job reported.
/// #[derive(Default)]
/// struct Reported(Mutex<Vec<(u64, f64)>>);
///
/// impl TrialProbe for Reported {
///     fn history(&self) -> Vec<(u64, f64)> {
///         self.0.lock().map(|h| h.clone()).unwrap_or_default()
///     }
///     fn request_stop(&self) {}
/// }
///
/// struct Quadratic;
///
/// impl TrialExecutor for Quadratic {
///     fn execute(&self, trial: &Trial) -> Result<(), String> {
///         let x = trial.params().to_json()["x"].as_f64().ok_or("no x")?;
///         let probe = Arc::new(Reported::default());
///         trial.attach(probe.clone());
///         probe.0.lock().map_err(|e| e.to_string())?.push((0, (x - 2.0).powi(2)));
///         Ok(())
///     }
/// }
///
/// let config = wandb_sweep::SweepConfig::from_yaml(
///     "method: grid\nmetric: {name: loss}\nparameters:\n  x: {values: [1, 2, 3]}\n",
/// )?;
/// let dir = std::env::temp_dir().join(format!("executor-doc-{}", std::process::id()));
/// let report = LocalSweep::new(config, &dir).run_with(&Quadratic)?;
/// assert_eq!(report.best().map(|t| t.params.to_string()), Some("{x: 2}".to_owned()));
/// # std::fs::remove_dir_all(&dir).ok();
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub trait TrialExecutor: Sync {
    /// Runs one trial to its end. Call [`Trial::attach`] as soon as the trial's metric can
    /// be read, so hyperband can watch it. An `Err` (or a panic) marks the trial failed with
    /// the message.
    ///
    /// # Errors
    /// Why the trial failed, in words for the final table.
    fn execute(&self, trial: &Trial) -> Result<(), String>;
}

/// What an executor tells the controller about a running trial.
#[derive(Default)]
pub(crate) struct TrialLink {
    pub(crate) probe: Option<Arc<dyn TrialProbe>>,
    pub(crate) run_dir: Option<PathBuf>,
    /// The trial's work has returned: a cancel after this point did not cut it short.
    pub(crate) returned: bool,
}

/// The link shared by a trial and the controller.
pub(crate) type SharedLink = Arc<Mutex<TrialLink>>;

/// Locks a link, whatever a panicking holder left behind.
pub(crate) fn lock_link(link: &SharedLink) -> std::sync::MutexGuard<'_, TrialLink> {
    link.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// One trial handed to an executor.
pub struct Trial {
    pub(crate) number: u64,
    pub(crate) run_id: String,
    pub(crate) params: Value,
    pub(crate) sweep_id: String,
    pub(crate) sweep_dir: PathBuf,
    pub(crate) metric: Option<String>,
    pub(crate) project: Option<String>,
    pub(crate) link: SharedLink,
}

impl fmt::Debug for Trial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Trial")
            .field("number", &self.number)
            .field("run_id", &self.run_id)
            .field("params", &self.params)
            .field("sweep_id", &self.sweep_id)
            .finish_non_exhaustive()
    }
}

impl Trial {
    /// The trial's number, from 0.
    #[must_use]
    pub fn number(&self) -> u64 {
        self.number
    }

    /// The id its run must use.
    #[must_use]
    pub fn run_id(&self) -> &str {
        &self.run_id
    }

    /// The suggested parameters (a mapping; nested groups as mappings).
    #[must_use]
    pub fn params(&self) -> &Value {
        &self.params
    }

    /// The local sweep id.
    #[must_use]
    pub fn sweep_id(&self) -> &str {
        &self.sweep_id
    }

    /// The sweep directory: runs go to its `wandb/` directory.
    #[must_use]
    pub fn sweep_dir(&self) -> &Path {
        &self.sweep_dir
    }

    /// The sweep's metric name, if it has one.
    #[must_use]
    pub fn metric(&self) -> Option<&str> {
        self.metric.as_deref()
    }

    /// The project of the sweep config, if it names one.
    #[must_use]
    pub fn project(&self) -> Option<&str> {
        self.project.as_deref()
    }

    /// The W&B group its run joins: `sweep-<id>`, so synced runs of a sweep show together.
    #[must_use]
    pub fn group(&self) -> String {
        format!("sweep-{}", self.sweep_id)
    }

    /// Lets the controller watch the trial's metric and stop it.
    pub fn attach(&self, probe: Arc<dyn TrialProbe>) {
        lock_link(&self.link).probe = Some(probe);
    }

    /// Notes that the trial's work is done (its run may still be finishing): a cancel from
    /// now on does not interrupt it, so it is recorded as it ends instead of running again
    /// on resume. The controller notes it when [`TrialExecutor::execute`] returns at the
    /// latest; an executor with slow clean-up calls it earlier.
    pub fn mark_returned(&self) {
        lock_link(&self.link).returned = true;
    }

    /// Records the trial's run directory (shown in the final table and the state file).
    pub fn set_run_dir(&self, dir: impl Into<PathBuf>) {
        lock_link(&self.link).run_dir = Some(dir.into());
    }
}
