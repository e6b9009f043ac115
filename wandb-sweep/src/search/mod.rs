//! Searching a sweep: the next run's parameters for grid and random search, the runs a search
//! sees, and the [`Sampler`] trait other samplers plug into.

mod bayes;
mod gaussian_process;
mod grid;
mod random;
mod run;

use std::fmt;

pub use bayes::{BayesInfo, BayesSampler};
pub use grid::GridSampler;
pub use random::RandomSampler;
pub use run::{Run, RunState};

use crate::config::{Method, SweepConfig};
use crate::error::Error;
use crate::value::Value;

/// What a search proposes next.
#[derive(Debug, Clone, PartialEq)]
pub enum Suggestion {
    /// Start a run with these parameters (a mapping; nested groups as mappings).
    Run(Value),
    /// The sweep has no runs left.
    Done(DoneReason),
}

/// Why a sweep has no runs left.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub enum DoneReason {
    /// Every grid point has a run.
    GridExhausted {
        /// The number of grid points.
        points: u128,
    },
    /// Sampling without replacement used up every distinct point of a finite space.
    SpaceExhausted {
        /// The number of distinct points.
        points: u128,
    },
    /// The sweep has `run_cap` runs.
    RunCapReached {
        /// The cap.
        run_cap: u64,
    },
    /// A run reached `metric.target`.
    TargetReached {
        /// The best value, which reached the target.
        value: f64,
    },
}

impl fmt::Display for DoneReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DoneReason::GridExhausted { points } => write!(f, "all {points} grid points have run"),
            DoneReason::SpaceExhausted { points } => {
                write!(f, "all {points} distinct points have run")
            }
            DoneReason::RunCapReached { run_cap } => write!(f, "run_cap {run_cap} reached"),
            DoneReason::TargetReached { value } => {
                write!(f, "a run reached the metric target ({value})")
            }
        }
    }
}

/// A search strategy: asked for the next run given every run of the sweep so far, told
/// about runs as they change (for samplers that keep state).
pub trait Sampler {
    /// The next suggestion.
    ///
    /// # Errors
    /// A sampler-specific [`Error`], e.g. when a parameter cannot be sampled.
    fn ask(&mut self, runs: &[Run]) -> Result<Suggestion, Error>;

    /// Learns about a run (finished, failed, new metric values). Stateless samplers ignore it.
    fn tell(&mut self, _run: &Run) {}
}

/// The next run of a sweep, as W&B would suggest it (`seed` makes random choices
/// reproducible). `run_cap` ends the sweep once that many runs exist, and `metric.target`
/// once a run's value reaches it (as the W&B server does).
///
/// ```
/// use wandb_sweep::{next_run, Run, RunState, Suggestion, SweepConfig};
/// let cfg = SweepConfig::from_yaml("method: grid\nparameters:\n  a: {values: [1, 2]}\n")?;
/// let first = next_run(&cfg, &[], 0)?;
/// assert_eq!(first, Suggestion::Run(serde_json::from_str(r#"{"a": 1}"#).unwrap()));
/// let runs = [Run::new("r1", RunState::Failed, serde_json::from_str(r#"{"a": 1}"#).unwrap())];
/// assert_eq!(next_run(&cfg, &runs, 0)?, Suggestion::Run(serde_json::from_str(r#"{"a": 2}"#).unwrap()));
/// # Ok::<(), wandb_sweep::Error>(())
/// ```
///
/// # Errors
/// [`Error::UnsupportedMethod`] for `custom` (an external scheduler decides),
/// [`Error::NotEnumerable`] for grids over continuous parameters, [`Error::BayesNeedsMetric`].
pub fn next_run(config: &SweepConfig, runs: &[Run], seed: u64) -> Result<Suggestion, Error> {
    if let Some(cap) = config.run_cap
        && runs.len() as u64 >= cap
    {
        return Ok(Suggestion::Done(DoneReason::RunCapReached { run_cap: cap }));
    }
    if let Some(value) = target_reached(config, runs) {
        return Ok(Suggestion::Done(DoneReason::TargetReached { value }));
    }
    match config.method {
        Method::Grid => GridSampler::new(config)?.ask(runs),
        Method::Random => RandomSampler::new(config, seed).ask(runs),
        Method::Bayes => BayesSampler::new(config, seed)?.ask(runs),
        Method::Custom => Err(Error::UnsupportedMethod(config.method.as_str())),
    }
}

/// The best value that reached `metric.target`, if any run's did.
fn target_reached(config: &SweepConfig, runs: &[Run]) -> Option<f64> {
    let metric = config.metric.as_ref()?;
    let target = metric.target?.as_f64();
    let maximize = metric.goal == Some(crate::config::Goal::Maximize);
    runs.iter()
        .flat_map(|r| {
            r.metric_history(&metric.name)
                .into_iter()
                .chain(r.summary_metric(&metric.name))
        })
        .find(|&v| if maximize { v >= target } else { v <= target })
}
