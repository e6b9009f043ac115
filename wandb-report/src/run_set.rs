//! The runs of a report in the order shown (a sweep's best first), each with its state, its
//! trial and its value of the sweep metric; the metrics to chart; what was left out.

use indexmap::{IndexMap, IndexSet};
use wandb_agent::local_sweep::TrialRecord;
use wandb_sweep::{SweepConfig, Value};

use crate::run_log::RunLog;
use crate::run_state::RunState;
use crate::skipped::Skipped;
use crate::sweep::{Bands, LocalSweep};

/// Metrics charted when none are named: the sweep metric and then the others in the order
/// logged, up to this many.
const AUTO_CHARTS: usize = 24;

/// One run as the report shows it.
#[derive(Debug, Clone)]
pub(crate) struct ReportRun {
    /// What its log holds.
    pub(crate) log: RunLog,
    /// Its local sweep trial.
    pub(crate) trial: Option<TrialRecord>,
    /// How it ended.
    pub(crate) state: RunState,
    /// Its value of the sweep metric (or of the first metric named).
    pub(crate) metric: Option<f64>,
}

/// Everything a report shows.
#[derive(Debug, Clone, Default)]
pub(crate) struct RunSet {
    /// The runs; a run's index is its colour.
    pub(crate) runs: Vec<ReportRun>,
    /// The local sweep, if the report is of one.
    pub(crate) sweep: Option<LocalSweep>,
    /// Hyperband's bands, when the sweep config was given and has hyperband.
    pub(crate) bands: Option<Bands>,
    /// The sweep metric, or the first metric named.
    pub(crate) metric: Option<String>,
    /// Whether larger values of `metric` are better.
    pub(crate) maximize: bool,
    /// The metrics charted, in order.
    pub(crate) charts: Vec<String>,
    /// What was left out.
    pub(crate) skipped: Vec<Skipped>,
}

impl RunSet {
    /// Puts the runs in order and decides what to chart.
    pub(crate) fn new(
        logs: Vec<RunLog>,
        sweep: Option<LocalSweep>,
        config: Option<&SweepConfig>,
        requested: &[String],
        skipped: Vec<Skipped>,
    ) -> RunSet {
        let sweep = match (sweep, config) {
            (Some(s), Some(c)) => Some(s.with_config(c)),
            (s, _) => s,
        };
        let bands = config.and_then(Bands::of);
        let metric = sweep
            .as_ref()
            .and_then(|s| s.metric.clone())
            .or_else(|| requested.first().cloned());
        let maximize = sweep.as_ref().is_some_and(|s| s.maximize);
        let mut set = RunSet {
            sweep,
            bands,
            metric,
            maximize,
            skipped,
            ..RunSet::default()
        };
        set.runs = logs.into_iter().map(|log| set.run(log)).collect();
        set.note_trials_without_runs();
        if set.sweep.is_some() {
            let maximize = set.maximize;
            set.runs
                .sort_by(|a, b| rank(a.metric, maximize).total_cmp(&rank(b.metric, maximize)));
        }
        set.charts = set.choose_charts(requested);
        set.note_damage();
        set
    }

    fn run(&self, log: RunLog) -> ReportRun {
        let trial = self
            .sweep
            .as_ref()
            .and_then(|s| s.trial_of(log.path.parent()?, &log.run_id))
            .cloned();
        let state = RunState::of(&log, trial.as_ref(), self.bands.as_ref());
        let metric = self.metric.as_deref().and_then(|name| {
            trial
                .as_ref()
                .and_then(|t| t.metric)
                .or_else(|| summary_number(log.summary.get(name)?, self.maximize))
                .or_else(|| log.series.get(name)?.last)
        });
        ReportRun {
            log,
            trial,
            state,
            metric,
        }
    }

    /// Sweep trials whose run was not among the logs read.
    fn note_trials_without_runs(&mut self) {
        let Some(sweep) = &self.sweep else { return };
        let shown: IndexSet<&str> = self
            .runs
            .iter()
            .filter_map(|r| r.trial.as_ref().map(|t| t.run_id.as_str()))
            .collect();
        for t in sweep
            .trials
            .iter()
            .filter(|t| !shown.contains(t.run_id.as_str()))
        {
            self.skipped.push(Skipped::new(
                format!("trial {} (run {})", t.number, t.run_id),
                format!(
                    "in the sweep state ({}) but its run directory has no readable log",
                    t.status.as_str()
                ),
            ));
        }
    }

    fn choose_charts(&mut self, requested: &[String]) -> Vec<String> {
        let logged = |name: &str| self.runs.iter().any(|r| r.log.series.contains_key(name));
        let mut charts: Vec<String> = Vec::new();
        if requested.is_empty() {
            let steps: IndexSet<&str> = self
                .runs
                .iter()
                .flat_map(|r| &r.log.metrics)
                .map(|d| d.step_metric.as_str())
                .collect();
            if let Some(m) = self.metric.as_deref().filter(|m| logged(m)) {
                charts.push(m.to_owned());
            }
            let all: IndexSet<&String> =
                self.runs.iter().flat_map(|r| r.log.series.keys()).collect();
            let more = all
                .into_iter()
                .filter(|k| !steps.contains(k.as_str()) && !charts.contains(k));
            let more: Vec<String> = more.cloned().collect();
            let room = AUTO_CHARTS.saturating_sub(charts.len());
            if more.len() > room {
                self.skipped.push(Skipped::new(
                    format!("{} more metrics", more.len() - room),
                    format!(
                        "not charted (a report charts {AUTO_CHARTS} by default): {}; name the ones you want with --metric (Report::metric)",
                        more[room..].join(", ")
                    ),
                ));
            }
            charts.extend(more.into_iter().take(room));
        } else {
            for name in requested {
                if logged(name) {
                    charts.push(name.clone());
                } else {
                    let why = match self.runs.iter().find_map(|r| r.log.non_numeric.get(name)) {
                        Some(what) => format!("holds {what}, not numbers: not charted"),
                        None => "no run logged it".to_owned(),
                    };
                    self.skipped
                        .push(Skipped::new(format!("metric {name}"), why));
                }
            }
        }
        for name in &charts {
            let without: Vec<&str> = self
                .runs
                .iter()
                .filter(|r| !r.log.series.contains_key(name))
                .map(|r| r.log.name())
                .collect();
            if !without.is_empty() {
                self.skipped.push(Skipped::new(
                    format!("metric {name}"),
                    format!(
                        "not logged by {} of {} runs ({}): their lines are missing from its chart",
                        without.len(),
                        self.runs.len(),
                        names(&without)
                    ),
                ));
            }
        }
        charts
    }

    /// Damaged logs, runs without an exit record, keys that hold no numbers.
    fn note_damage(&mut self) {
        let mut non_numeric: IndexMap<(String, String), Vec<&str>> = IndexMap::new();
        for r in &self.runs {
            let log = &r.log;
            let file = log.path.display();
            if log.damaged_chunks > 0 || log.damaged_records > 0 {
                self.skipped.push(Skipped::new(
                    format!("run {} ({file})", log.name()),
                    format!(
                        "damaged log: {} chunks and {} records could not be read and were skipped; the rest is shown",
                        log.damaged_chunks, log.damaged_records
                    ),
                ));
            }
            if log.exit.is_none() && r.state == RunState::Crashed {
                self.skipped.push(Skipped::new(
                    format!("run {} ({file})", log.name()),
                    "the log ends without an exit record (the process was killed, or still runs): shown as crashed, with what it logged",
                ));
            }
            for (key, what) in &log.non_numeric {
                non_numeric
                    .entry((key.clone(), what.clone()))
                    .or_default()
                    .push(log.name());
            }
        }
        for ((key, what), runs) in non_numeric {
            self.skipped.push(Skipped::new(
                format!("key {key}"),
                format!(
                    "holds {what}, not numbers: not charted (in {})",
                    names(&runs)
                ),
            ));
        }
    }
}

/// Runs in order of the metric, best first, runs without a finite value last.
fn rank(metric: Option<f64>, maximize: bool) -> f64 {
    match metric {
        Some(v) if v.is_finite() => {
            if maximize {
                -v
            } else {
                v
            }
        }
        _ => f64::INFINITY,
    }
}

/// A summary value as one number: a number, or the `best`, `min`/`max` (by goal), `last` or
/// `mean` of a summary mapping (`define_metric(summary=…)`).
pub(crate) fn summary_number(value: &Value, maximize: bool) -> Option<f64> {
    match value {
        Value::Number(n) => Some(n.as_f64()),
        Value::Map(m) => {
            let goal = if maximize { "max" } else { "min" };
            ["best", goal, "last", "mean"]
                .iter()
                .find_map(|k| m.get(*k)?.as_number())
                .map(|n| n.as_f64())
        }
        _ => None,
    }
}

/// Up to five names, then how many more.
fn names(list: &[&str]) -> String {
    let mut text = list.iter().take(5).copied().collect::<Vec<_>>().join(", ");
    if list.len() > 5 {
        text.push_str(&format!(" and {} more", list.len() - 5));
    }
    text
}
