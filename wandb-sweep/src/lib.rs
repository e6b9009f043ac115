//! Typed Weights & Biases sweep configurations.
//!
//! `wandb-sweep` reads sweep YAML (or JSON) the way W&B does, reports every problem with its
//! line, column and key path, and counts and enumerates grids exactly as W&B's sweeps engine
//! (0.3.0) does. It does no I/O: give it text, get back a typed [`SweepConfig`] or diagnostics.
//!
//! # Lint a sweep file
//!
//! ```
//! let text = "\
//! method: bayes
//! metric: {name: val_loss, goal: minimise}
//! parameters:
//!   lr: {distribution: log_uniform_values, min: 1e-5, max: 0.1}
//!   layers: {values: [2, 4, 8]}
//! ";
//! let report = wandb_sweep::check(text);
//! assert!(!report.is_valid());
//! let e = report.errors()[0];
//! assert_eq!((e.path.as_str(), e.location.unwrap().line), ("metric.goal", 2));
//! assert!(e.message.contains("did you mean `minimize`?"));
//! // `1e-5` is a float on W&B cloud but a string for the local controller: a warning.
//! assert!(report.warnings()[0].message.contains("1.0e-5"));
//! ```
//!
//! # Count and iterate a grid
//!
//! ```
//! use wandb_sweep::{Grid, SweepConfig};
//! let cfg = SweepConfig::from_yaml("\
//! method: grid
//! parameters:
//!   optimizer: {values: [adam, sgd]}
//!   batch_size: {min: 16, max: 20}
//!   model:
//!     parameters:
//!       width: {values: [64, 128]}
//! ")?;
//! let grid = Grid::new(&cfg)?;
//! assert_eq!(grid.size()?, 20);
//! assert_eq!(grid.to_string(), "batch_size 5 × model.width 2 × optimizer 2 = 20 runs");
//! let first = grid.points().next().unwrap();
//! assert_eq!(first.to_string(), "{batch_size: 16, model: {width: 64}, optimizer: adam}");
//! assert_eq!(grid.point(19).unwrap().to_string(), "{batch_size: 20, model: {width: 128}, optimizer: sgd}");
//! # Ok::<(), wandb_sweep::Error>(())
//! ```
//!
//! # Search and early termination
//!
//! ```
//! use wandb_sweep::{next_run, CommandContext, Run, RunState, Suggestion, SweepConfig};
//! let cfg = SweepConfig::from_yaml("\
//! program: train.py
//! method: random
//! parameters:
//!   lr: {distribution: log_uniform_values, min: 0.0001, max: 0.1}
//!   OUTPUT_DIR: {value: ./x}
//! ")?;
//! let Suggestion::Run(params) = next_run(&cfg, &[], 42)? else { unreachable!() };
//! let argv = CommandContext::new().argv(&cfg, &params);
//! assert_eq!(&argv[..3], ["/usr/bin/env", "python", "train.py"]);
//! assert!(argv.contains(&"--OUTPUT_DIR=./x".to_owned())); // one element, never split or joined
//! # Ok::<(), wandb_sweep::Error>(())
//! ```
//!
//! # Deliberate differences from W&B
//!
//! The verdict (`valid`) equals the sweeps engine's on every file of the conformance suite,
//! except where the engine accepts a config that then fails or silently misbehaves. Those are
//! errors here:
//!
//! * grid search over a parameter it cannot enumerate (`uniform`, `normal`, probabilities):
//!   the engine fails when the first run is generated;
//! * hyperband `max_iter` without `s`: the engine fails with `KeyError: 's'`;
//! * min/max, probability and deprecated-distribution rules inside nested groups: the engine
//!   checks only top-level parameters, then crashes on the nested ones;
//! * bounds mixing an integer and a float without `distribution` (`{min: 0, max: 1.5}`): the
//!   W&B client refuses them as ambiguous before the engine sees them;
//! * non-finite numbers (`.inf`, `.nan`) as bounds, `q`, `mu`, `sigma`, `a`, `b` or
//!   probabilities: the engine samples infinities and NaN, or gives an empty grid;
//! * duplicate keys: PyYAML silently keeps the last one;
//! * `bayes` or hyperband without `metric`, and `bayes` with only constants: the engine fails
//!   when it makes the first suggestion.
//!
//! Search goes beyond the engine where it only gains: random search can sample without
//! replacement, bayes refines its best candidates locally and scores discrete parameters at
//! their values, a bayes fit uses at most 100 runs chosen without replacement (the engine
//! draws with replacement), and `categorical_w_probabilities` works with bayes (the engine
//! crashes). Hyperband bands past `u64::MAX` saturate (the engine uses big integers).
//!
//! [`SweepConfig::validate`] applies to a config built in code every rule that parsing applies
//! (parameter names, empty groups, `run_cap`, non-finite numbers); grids, samplers and `ppf`
//! return errors, never panic, on configs that fail it.
//!
//! Scalars are read as W&B's cloud path reads them (YAML 1.2 numbers plus YAML 1.1 booleans
//! `yes`/`no`/`on`/`off`), with a warning wherever YAML 1.1 and 1.2 disagree.

mod check;
mod command;
mod config;
mod decode;
mod diagnostic;
mod distribution;
mod document;
mod emitter;
mod error;
mod grid;
mod hyperband;
mod output;
mod parameter;
mod ppf;
mod python;
mod rules;
mod scalar;
mod schema;
mod search;
mod special;
mod spelling;
mod value;

pub use check::{Report, check, parse_value};
pub use command::{CommandContext, DEFAULT_COMMAND, hydra_overrides, yacs_overrides};
pub use config::{
    Controller, ControllerType, EarlyTerminate, Goal, Hyperband, Impute, ImputeWhileRunning, Kind,
    Method, Metric, Scheduler, SchedulerEngine, SweepConfig,
};
pub use diagnostic::{Diagnostic, Location, Severity};
pub use distribution::{Distribution, UnknownDistribution};
pub use error::{Error, Result};
pub use grid::{Cursor, Factor, Grid, Points};
pub use hyperband::HyperbandDecision;
pub use parameter::{FlatParameter, Parameter, Parameters, flatten};
pub use python::{python_json, python_str};
pub use schema::json_schema;
pub use search::{
    BayesInfo, BayesSampler, DoneReason, GridSampler, RandomSampler, Run, RunState, Sampler,
    Suggestion, next_run,
};
pub use value::{Number, Value};
