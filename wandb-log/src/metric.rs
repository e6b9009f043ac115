//! `define_metric`: which step a metric is plotted against and how it is summarised.

use serde_json::{Map, Value as Json, json};

use crate::error::Error;
use crate::proto::metric_record::MetricGoal;
use crate::proto::{MetricOptions, MetricRecord, MetricSummary};

/// How the summary keeps a metric (W&B's `define_metric(summary=…)`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Aggregation {
    /// The smallest value.
    Min,
    /// The largest value.
    Max,
    /// The mean of all values.
    Mean,
    /// The smallest or largest value, by the definition's [`Goal`].
    Best,
    /// The first value.
    First,
    /// The last value (the default).
    Last,
    /// Not in the summary at all.
    None,
}

impl Aggregation {
    /// The name W&B uses (`min`, `max`, `mean`, `best`, `first`, `last`, `none`).
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Aggregation::Min => "min",
            Aggregation::Max => "max",
            Aggregation::Mean => "mean",
            Aggregation::Best => "best",
            Aggregation::First => "first",
            Aggregation::Last => "last",
            Aggregation::None => "none",
        }
    }
}

/// Whether smaller or larger values are better (for [`Aggregation::Best`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Goal {
    /// Smaller is better.
    Minimize,
    /// Larger is better.
    Maximize,
}

/// A metric definition: `MetricDefinition::new("val/*").step_metric("epoch")` plots every
/// `val/…` key against `epoch`; a name with `*` is a glob (`*` matches any characters but `/`).
///
/// ```
/// use wandb_log::{Aggregation, Goal, MetricDefinition, Mode, Run};
/// let dir = std::env::temp_dir().join(format!("wandb-log-metric-doc-{}", std::process::id()));
/// let run = Run::builder().mode(Mode::Offline).dir(&dir).init()?;
/// run.define_metric(MetricDefinition::new("epoch").hidden(true))?;
/// run.define_metric(
///     MetricDefinition::new("val/*")
///         .step_metric("epoch")
///         .summary(Aggregation::Best)
///         .goal(Goal::Minimize),
/// )?;
/// run.log([("epoch", 0.0), ("val/loss", 0.9)])?;
/// run.log([("val/loss", 0.4)])?; // `epoch` 0 is added to this row (step sync)
/// run.log([("epoch", 1.0), ("val/loss", 0.6)])?;
/// let report = run.finish(0)?;
/// assert_eq!(report.summary["val/loss"], serde_json::json!({"best": 0.4}));
/// # std::fs::remove_dir_all(&dir).ok();
/// # Ok::<(), wandb_log::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct MetricDefinition {
    pub(crate) name: String,
    pub(crate) step_metric: Option<String>,
    pub(crate) step_sync: Option<bool>,
    pub(crate) hidden: bool,
    pub(crate) summary: Vec<Aggregation>,
    pub(crate) goal: Option<Goal>,
}

impl MetricDefinition {
    /// A definition for `name` (a key, or a glob with `*`).
    #[must_use]
    pub fn new(name: impl Into<String>) -> Self {
        MetricDefinition {
            name: name.into(),
            step_metric: None,
            step_sync: None,
            hidden: false,
            summary: Vec::new(),
            goal: None,
        }
    }

    /// The metric's x axis. Rows that log the metric without the step metric get the step
    /// metric's last value added (W&B's `step_sync`, on by default with a step metric).
    #[must_use]
    pub fn step_metric(mut self, key: impl Into<String>) -> Self {
        self.step_metric = Some(key.into());
        self
    }

    /// Turns the adding of the step metric's last value on or off.
    #[must_use]
    pub fn step_sync(mut self, on: bool) -> Self {
        self.step_sync = Some(on);
        self
    }

    /// Hides the metric in the UI's automatic panels.
    #[must_use]
    pub fn hidden(mut self, hidden: bool) -> Self {
        self.hidden = hidden;
        self
    }

    /// Adds a summary aggregation (several may be given).
    #[must_use]
    pub fn summary(mut self, aggregation: Aggregation) -> Self {
        if !self.summary.contains(&aggregation) {
            self.summary.push(aggregation);
        }
        self
    }

    /// Whether smaller or larger is better (needed by [`Aggregation::Best`]).
    #[must_use]
    pub fn goal(mut self, goal: Goal) -> Self {
        self.goal = Some(goal);
        self
    }

    /// The definition a `.wandb` metric record holds (`None` for a record without a name).
    pub(crate) fn from_record(r: &MetricRecord) -> Option<Self> {
        let name = if r.name.is_empty() {
            &r.glob_name
        } else {
            &r.name
        };
        if name.is_empty() {
            return None;
        }
        let mut def = MetricDefinition::new(name.clone());
        if !r.step_metric.is_empty() {
            def = def.step_metric(r.step_metric.clone());
        }
        if let Some(o) = &r.options {
            def = def.hidden(o.hidden).step_sync(o.step_sync);
        }
        if let Some(s) = &r.summary {
            let kinds = [
                (s.min, Aggregation::Min),
                (s.max, Aggregation::Max),
                (s.mean, Aggregation::Mean),
                (s.best, Aggregation::Best),
                (s.last, Aggregation::Last),
                (s.none, Aggregation::None),
                (s.first, Aggregation::First),
            ];
            for (on, a) in kinds {
                if on {
                    def = def.summary(a);
                }
            }
        }
        def.goal = match MetricGoal::try_from(r.goal) {
            Ok(MetricGoal::GoalMinimize) => Some(Goal::Minimize),
            Ok(MetricGoal::GoalMaximize) => Some(Goal::Maximize),
            _ => None,
        };
        Some(def)
    }

    /// Checks the definition as W&B does.
    pub(crate) fn validate(&self) -> Result<(), Error> {
        let bad = |why: &str| {
            Err(Error::Configuration(format!(
                "define_metric `{}`: {why}",
                self.name
            )))
        };
        if self.name.is_empty() {
            return bad("the name is empty: give a key or a glob such as `val/*`");
        }
        if self.step_metric.as_deref().is_some_and(|s| s.contains('*')) {
            return bad("a step metric cannot be a glob: name one key, e.g. `epoch`");
        }
        if self.summary.contains(&Aggregation::Best) && self.goal.is_none() {
            return bad("summary `best` needs a goal: add .goal(Goal::Minimize) or Goal::Maximize");
        }
        Ok(())
    }

    /// True when `key` is named by this definition.
    pub(crate) fn matches(&self, key: &str) -> bool {
        if self.name.contains('*') {
            glob_match(self.name.as_bytes(), key.as_bytes())
        } else {
            self.name == key
        }
    }

    /// Step sync is on (explicitly, or by default with a step metric).
    pub(crate) fn syncs_step(&self) -> bool {
        self.step_metric.is_some() && self.step_sync.unwrap_or(true)
    }

    /// The `.wandb` record of the definition.
    pub(crate) fn record(&self) -> MetricRecord {
        let (name, glob_name) = if self.name.contains('*') {
            (String::new(), self.name.clone())
        } else {
            (self.name.clone(), String::new())
        };
        let has = |a| self.summary.contains(&a);
        MetricRecord {
            name,
            glob_name,
            step_metric: self.step_metric.clone().unwrap_or_default(),
            options: Some(MetricOptions {
                step_sync: self.syncs_step(),
                hidden: self.hidden,
                defined: true,
            }),
            summary: (!self.summary.is_empty()).then(|| MetricSummary {
                min: has(Aggregation::Min),
                max: has(Aggregation::Max),
                mean: has(Aggregation::Mean),
                best: has(Aggregation::Best),
                last: has(Aggregation::Last),
                none: has(Aggregation::None),
                copy: false,
                first: has(Aggregation::First),
            }),
            goal: match self.goal {
                Some(Goal::Minimize) => MetricGoal::GoalMinimize,
                Some(Goal::Maximize) => MetricGoal::GoalMaximize,
                None => MetricGoal::GoalUnset,
            }
            .into(),
            ..MetricRecord::default()
        }
    }
}

/// `filepath.Match`-style globbing of `*`: any run of characters except `/`.
fn glob_match(pattern: &[u8], text: &[u8]) -> bool {
    match pattern.split_first() {
        None => text.is_empty(),
        Some((b'*', rest)) => {
            let mut i = 0;
            loop {
                if glob_match(rest, &text[i..]) {
                    return true;
                }
                if i == text.len() || text[i] == b'/' {
                    return false;
                }
                i += 1;
            }
        }
        Some((&c, rest)) => match text.split_first() {
            Some((&t, more)) if c == t => glob_match(rest, more),
            _ => false,
        },
    }
}

/// Config `_wandb.m`: each definition as W&B encodes a `MetricRecord` (field numbers as
/// keys, boolean messages as lists of the set fields' numbers), a step metric given by
/// its 1-based index in the list (defined first when it was not).
pub(crate) fn config_metrics(defs: &[MetricDefinition]) -> Json {
    let mut out: Vec<Map<String, Json>> = Vec::new();
    let mut index: Vec<String> = Vec::new();
    for def in defs {
        let mut entry = encode(&def.record());
        if let Some(step) = &def.step_metric {
            let at = match index.iter().position(|n| n == step) {
                Some(i) => i,
                None => {
                    index.push(step.clone());
                    out.push(Map::from_iter([("1".to_owned(), json!(step))]));
                    out.len() - 1
                }
            };
            entry.remove("4");
            entry.insert("5".into(), json!(at + 1));
        }
        match index.iter().position(|n| *n == def.name) {
            Some(i) => out[i] = entry,
            None => {
                index.push(def.name.clone());
                out.push(entry);
            }
        }
    }
    Json::Array(out.into_iter().map(Json::Object).collect())
}

fn encode(r: &MetricRecord) -> Map<String, Json> {
    let mut m = Map::new();
    let mut text = |k: &str, v: &str| {
        if !v.is_empty() {
            m.insert(k.into(), json!(v));
        }
    };
    text("1", &r.name);
    text("2", &r.glob_name);
    text("4", &r.step_metric);
    if let Some(o) = &r.options {
        let set: Vec<u32> = [(1, o.step_sync), (2, o.hidden), (3, o.defined)]
            .into_iter()
            .filter_map(|(n, on)| on.then_some(n))
            .collect();
        m.insert("6".into(), json!(set));
    }
    if let Some(s) = &r.summary {
        let flags = [
            s.min, s.max, s.mean, s.best, s.last, s.none, s.copy, s.first,
        ];
        let set: Vec<usize> = (1..)
            .zip(flags)
            .filter_map(|(n, on)| on.then_some(n))
            .collect();
        m.insert("7".into(), json!(set));
    }
    if r.goal != 0 {
        m.insert("8".into(), json!(r.goal));
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_match_within_one_path_segment() {
        let def = MetricDefinition::new("val/*");
        assert!(def.matches("val/loss") && def.matches("val/"));
        assert!(!def.matches("val/a/b") && !def.matches("train/loss"));
        assert!(MetricDefinition::new("*_acc").matches("top1_acc"));
        assert!(!MetricDefinition::new("loss").matches("loss2"));
    }

    #[test]
    fn config_metrics_index_step_metrics_from_one() {
        let defs = [
            MetricDefinition::new("val/*")
                .step_metric("epoch")
                .summary(Aggregation::Min)
                .summary(Aggregation::Last)
                .goal(Goal::Minimize),
            MetricDefinition::new("epoch").hidden(true),
        ];
        assert_eq!(
            config_metrics(&defs),
            json!([
                {"1": "epoch", "6": [2, 3]},
                {"2": "val/*", "5": 1, "6": [1, 3], "7": [1, 5], "8": 1},
            ])
        );
    }

    #[test]
    fn records_round_trip() {
        let def = MetricDefinition::new("val/*")
            .step_metric("epoch")
            .hidden(true)
            .summary(Aggregation::Max)
            .goal(Goal::Maximize);
        assert_eq!(
            MetricDefinition::from_record(&def.record()),
            Some(def.step_sync(true))
        );
    }

    #[test]
    fn invalid_definitions_say_what_to_do() {
        let best = MetricDefinition::new("acc").summary(Aggregation::Best);
        assert!(
            best.validate()
                .unwrap_err()
                .to_string()
                .contains("needs a goal")
        );
        assert!(MetricDefinition::new("").validate().is_err());
        assert!(
            MetricDefinition::new("a")
                .step_metric("e*")
                .validate()
                .is_err()
        );
        assert!(best.goal(Goal::Maximize).validate().is_ok());
    }
}
