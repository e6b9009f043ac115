//! The runs of a sweep as a search sees them: state, parameters, metric history, summary.

use serde::Deserialize;

use crate::value::{Number, Value};

/// The state of a run, as W&B reports it.
///
/// A state this crate does not know is kept as [`RunState::Other`]: the run still counts
/// (its parameters are taken, so a search does not suggest them again) but gives no
/// observation.
///
/// ```
/// use wandb_sweep::RunState;
/// assert_eq!(RunState::from_name("FINISHED"), RunState::Finished);
/// assert_eq!(RunState::from_name("zombie"), RunState::Other("zombie".into()));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunState {
    /// Created, not started.
    Pending,
    /// Running now.
    Running,
    /// Ended normally.
    Finished,
    /// Ended with an error.
    Failed,
    /// Lost its heartbeat.
    Crashed,
    /// Stopped by the user or the sweep.
    Killed,
    /// Being preempted.
    Preempting,
    /// Preempted.
    Preempted,
    /// A state this crate does not know, as the server named it.
    Other(String),
}

impl RunState {
    /// The state named `name` (any case); an unknown name is kept as [`RunState::Other`].
    #[must_use]
    pub fn from_name(name: &str) -> RunState {
        match name.to_ascii_lowercase().as_str() {
            "pending" => RunState::Pending,
            "running" => RunState::Running,
            "finished" => RunState::Finished,
            "failed" => RunState::Failed,
            "crashed" => RunState::Crashed,
            "killed" => RunState::Killed,
            "preempting" => RunState::Preempting,
            "preempted" => RunState::Preempted,
            _ => RunState::Other(name.to_owned()),
        }
    }
}

impl<'de> Deserialize<'de> for RunState {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = std::borrow::Cow::<str>::deserialize(d)?;
        Ok(RunState::from_name(&name))
    }
}

/// One run of a sweep.
///
/// Deserializes from the engine's run format (`name`, `state`, `config` with `{value: v}`
/// wrappers, `history` or `sampledHistory`, `summaryMetrics`), so `--runs` files of W&B's
/// sweeps tooling can be read. Files that Python wrote with bare `NaN`/`Infinity` tokens:
/// parse them into a [`Value`] (e.g. with `wandb_api::parse_extended_json`) and deserialize
/// the runs from that value, which keeps the non-finite floats (metrics then skip them, as
/// the engine does).
///
/// ```
/// use wandb_sweep::{Run, RunState};
/// let run: Run = serde_json::from_str(r#"{"name": "r1", "state": "running",
///     "config": {"lr": {"value": 0.1}}, "sampledHistory": [{"loss": 3}, {"acc": 1}, {"loss": 2.5}]}"#).unwrap();
/// assert_eq!(run.state, RunState::Running);
/// assert_eq!(run.params.to_string(), "{lr: 0.1}");
/// assert_eq!(run.metric_history("loss"), [3.0, 2.5]);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Run {
    /// The run id.
    pub name: String,
    /// Its state.
    pub state: RunState,
    /// Its parameters: a mapping, nested groups as mappings (no `{value: ...}` wrappers).
    pub params: Value,
    /// The history rows, in order.
    pub history: Vec<Value>,
    /// The summary mapping.
    pub summary: Value,
}

#[derive(Deserialize)]
struct RawRun {
    name: String,
    state: RunState,
    #[serde(default)]
    config: Option<Value>,
    #[serde(default, alias = "sampledHistory")]
    history: Vec<Value>,
    #[serde(default, alias = "summaryMetrics")]
    summary: Option<Value>,
}

impl<'de> Deserialize<'de> for Run {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = RawRun::deserialize(d)?;
        let mut run = Run::from_stored_config(raw.name, raw.state, raw.config);
        run.history = raw.history;
        if let Some(summary) = raw.summary {
            run.summary = summary;
        }
        Ok(run)
    }
}

/// `{k: {value: v}}` → `{k: v}` (top level only, as runs store their config).
fn unwrap_values(config: Value) -> Value {
    let Value::Map(m) = config else { return config };
    Value::Map(
        m.into_iter()
            .map(|(k, v)| match v {
                Value::Map(mut inner) if inner.contains_key("value") => {
                    (k, inner.shift_remove("value").unwrap_or_default())
                }
                other => (k, other),
            })
            .collect(),
    )
}

impl Run {
    /// A run with parameters and no history (for tests and local controllers).
    #[must_use]
    pub fn new(name: impl Into<String>, state: RunState, params: Value) -> Self {
        Run {
            name: name.into(),
            state,
            params,
            history: Vec::new(),
            summary: Value::Map(Default::default()),
        }
    }

    /// A run from W&B's stored config, `{param: {value: v}}` (`None`: no parameters).
    ///
    /// ```
    /// use wandb_sweep::{Run, RunState, parse_value};
    /// let config = parse_value("{lr: {value: 0.1}, _wandb: {value: {}}}").unwrap();
    /// let run = Run::from_stored_config("r1", RunState::Finished, Some(config));
    /// assert_eq!(run.params.to_string(), "{lr: 0.1, _wandb: {}}");
    /// ```
    #[must_use]
    pub fn from_stored_config(
        name: impl Into<String>,
        state: RunState,
        config: Option<Value>,
    ) -> Self {
        let params = config.map_or_else(|| Value::Map(Default::default()), unwrap_values);
        Run::new(name, state, params)
    }

    /// The finite numeric values of `metric` in history order; strings, booleans and
    /// non-finite values are skipped, as the engine skips them.
    #[must_use]
    pub fn metric_history(&self, metric: &str) -> Vec<f64> {
        self.metric_values(metric)
            .into_iter()
            .map(Number::as_f64)
            .collect()
    }

    /// As [`Run::metric_history`], keeping each value's integer or float type.
    #[must_use]
    pub fn metric_values(&self, metric: &str) -> Vec<Number> {
        self.history
            .iter()
            .filter_map(|row| match row {
                Value::Map(m) => m.get(metric),
                _ => None,
            })
            .filter_map(|v| match v {
                Value::Number(n) if n.as_f64().is_finite() => Some(*n),
                _ => None,
            })
            .collect()
    }

    /// The summary value of `metric`, if it is a finite number.
    #[must_use]
    pub fn summary_metric(&self, metric: &str) -> Option<f64> {
        match &self.summary {
            Value::Map(m) => m.get(metric).and_then(finite),
            _ => None,
        }
    }
}

fn finite(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n @ (Number::Int(_) | Number::Float(_))) => {
            Some(n.as_f64()).filter(|x| x.is_finite())
        }
        _ => None,
    }
}
