//! The typed sweep configuration: every top-level key W&B knows.

use indexmap::IndexMap;
use schemars::JsonSchema;
use serde::Serialize;

use crate::parameter::Parameters;
use crate::value::{Number, Value};

/// A W&B sweep configuration (the contents of `sweep.yaml`).
///
/// Build one from text with [`SweepConfig::from_yaml`] / [`SweepConfig::from_json`] (errors
/// are located), or in code and then call [`SweepConfig::validate`].
///
/// ```
/// use wandb_sweep::{Method, SweepConfig};
/// let cfg = SweepConfig::from_yaml("method: random\nparameters:\n  lr: {min: 0.0001, max: 0.1}\n")?;
/// assert_eq!(cfg.method, Method::Random);
/// assert_eq!(cfg.parameters["lr"].distribution().unwrap().as_str(), "uniform");
/// # Ok::<(), wandb_sweep::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "W&B sweep configuration")]
pub struct SweepConfig {
    /// The training script the agent runs (`${program}` in `command`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub program: Option<String>,
    /// The search strategy.
    pub method: Method,
    /// The sweep's display name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// A free-text description.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The entity (user or team) the sweep belongs to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entity: Option<String>,
    /// The project the sweep belongs to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub project: Option<String>,
    /// The metric to optimise (needed by `bayes` and by hyperband).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metric: Option<Metric>,
    /// Several metrics, for external schedulers with `method: custom`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metrics: Option<Vec<Metric>>,
    /// Early termination of poorly performing runs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub early_terminate: Option<EarlyTerminate>,
    /// The maximum number of runs the sweep creates.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run_cap: Option<u64>,
    /// The hyperparameters to search.
    #[serde(skip_serializing_if = "IndexMap::is_empty")]
    pub parameters: Parameters,
    /// The command line of each run; elements such as `${args}` are macros.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub command: Option<Vec<Value>>,
    /// Where the sweep controller runs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub controller: Option<Controller>,
    /// The API version string (`apiVersion`).
    #[serde(rename = "apiVersion", skip_serializing_if = "Option::is_none")]
    pub api_version: Option<String>,
    /// The document kind; only `sweep` exists.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<Kind>,
    /// A W&B Launch job to run instead of `program`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub job: Option<String>,
    /// A container image for W&B Launch.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image_uri: Option<String>,
    /// An external scheduler (Optuna, Ax, or W&B's own).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scheduler: Option<Scheduler>,
}

impl SweepConfig {
    /// A config with the given method and parameters and nothing else.
    ///
    /// ```
    /// use wandb_sweep::{Method, Parameter, Parameters, SweepConfig, Value};
    /// let mut params = Parameters::new();
    /// params.insert("lr".into(), Parameter::Categorical { values: vec![Value::from(0.1), Value::from(0.01)] });
    /// let cfg = SweepConfig::new(Method::Grid, params);
    /// assert!(cfg.validate().iter().all(|d| !d.is_error()));
    /// ```
    #[must_use]
    pub fn new(method: Method, parameters: Parameters) -> Self {
        SweepConfig {
            program: None,
            method,
            name: None,
            description: None,
            entity: None,
            project: None,
            metric: None,
            metrics: None,
            early_terminate: None,
            run_cap: None,
            parameters,
            command: None,
            controller: None,
            api_version: None,
            kind: None,
            job: None,
            image_uri: None,
            scheduler: None,
        }
    }
}

/// The search strategy (`method`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Method {
    /// Every combination of the (discrete) parameter values.
    Grid,
    /// Independent random samples.
    Random,
    /// Bayesian optimisation with a Gaussian process.
    Bayes,
    /// An external scheduler picks the runs.
    Custom,
}

impl Method {
    /// The YAML name.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Grid => "grid",
            Method::Random => "random",
            Method::Bayes => "bayes",
            Method::Custom => "custom",
        }
    }
}

/// The metric a sweep optimises.
#[derive(Debug, Clone, PartialEq, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Metric {
    /// The name of the logged metric.
    pub name: String,
    /// Minimise (default) or maximise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub goal: Option<Goal>,
    /// Stop creating runs once a run reaches this value.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<f64>")]
    pub target: Option<Number>,
    /// The value bayes uses for failed runs (default `worst`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub impute: Option<Impute>,
    /// Whether bayes uses running runs, and with which value (default `"false"`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub impute_while_running: Option<ImputeWhileRunning>,
}

/// Whether the metric should go down or up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Goal {
    /// Smaller is better (the default).
    Minimize,
    /// Larger is better.
    Maximize,
}

/// How bayes scores a failed, crashed or killed run, and a finished run that logged no finite
/// value of the metric.
///
/// As in W&B's engine, `latest` and `best` fall back to 0.0 for a run with no finite value,
/// which is a good score for a minimised loss; validation warns about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Impute {
    /// The run's last finite logged value (history only), else 0.0.
    Latest,
    /// The run's best finite value (history and summary), else 0.0.
    Best,
    /// The worst value of any ended run, else 0.0 (the default).
    Worst,
}

/// How running runs are scored by bayes (`"false"`: they are not used). A running run
/// with a finite value of the metric is scored by its best value, whatever the strategy; the
/// strategy applies only to running runs without one (as in W&B's engine).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ImputeWhileRunning {
    /// The string `"false"`: running runs are pending (the default).
    False,
    /// The last logged value.
    Latest,
    /// The best value seen.
    Best,
    /// The worst value.
    Worst,
}

/// Early termination of runs (`early_terminate`); only hyperband exists.
#[derive(Debug, Clone, PartialEq, JsonSchema)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum EarlyTerminate {
    /// Hyperband: stop runs whose metric is worse than most others at a band.
    Hyperband(Hyperband),
}

/// Hyperband settings: bands from `min_iter` and `eta`, or from `max_iter`, `s` and `eta`.
#[derive(Debug, Clone, PartialEq, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Hyperband {
    /// The first band, in logged metric values.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_iter: Option<i64>,
    /// The maximum number of iterations; needs `s`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_iter: Option<i64>,
    /// The number of bands below `max_iter`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub s: Option<i64>,
    /// The band multiplier (default 3).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<f64>")]
    pub eta: Option<Number>,
    /// Compare the value at the band (default `true`) instead of the best value so far.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub strict: Option<bool>,
}

/// Where the sweep controller runs.
#[derive(Debug, Clone, PartialEq, JsonSchema)]
pub struct Controller {
    /// `local` or `cloud`.
    #[serde(rename = "type")]
    pub kind: ControllerType,
    /// Any further keys, kept as written.
    #[serde(flatten)]
    #[schemars(with = "IndexMap<String, serde_json::Value>")]
    pub extra: IndexMap<String, Value>,
}

/// The controller type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ControllerType {
    /// `wandb controller` on the user's machine.
    Local,
    /// The W&B server (the default).
    Cloud,
}

/// The document kind (`kind: sweep`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// The only kind.
    Sweep,
}

/// An external scheduler.
#[derive(Debug, Clone, PartialEq, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Scheduler {
    /// Which engine runs the search.
    pub engine: SchedulerEngine,
    /// Where the scheduler's files come from (needed by `optimizer` and `search_space`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// The optimizer file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub optimizer: Option<String>,
    /// The search-space file (then `parameters` may be omitted).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub search_space: Option<String>,
}

/// The scheduler engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum SchedulerEngine {
    /// Optuna (with `method: custom`).
    Optuna,
    /// Ax (with `method: custom`).
    Ax,
    /// W&B's own engine (grid, random or bayes).
    Wandb,
}
