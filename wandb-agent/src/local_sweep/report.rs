//! What a local sweep did: every trial, the leaderboard by the metric, the failures.

use std::cmp::Ordering;
use std::fmt;
use std::path::{Path, PathBuf};

use wandb_sweep::{DoneReason, Goal, Number, SweepConfig, Value};

use super::state::{TrialRecord, TrialStatus};

/// Rows of the leaderboard [`SweepReport`]'s `Display` shows.
const SHOWN: usize = 10;

/// The outcome of [`crate::LocalSweep::run`]: every trial of the sweep so far (earlier
/// invocations included), and a table of the best runs and the failures (`Display`).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct SweepReport {
    /// The local sweep id.
    pub sweep_id: String,
    /// The sweep directory.
    pub dir: PathBuf,
    /// Every trial, by number.
    pub trials: Vec<TrialRecord>,
    /// The trials this invocation started (retries included).
    pub started: u64,
    /// Why the search has no trials left, when it has none.
    pub done: Option<DoneReason>,
    /// The metric's name, if the sweep has one.
    pub metric: Option<String>,
    /// Whether larger metric values are better.
    pub maximize: bool,
}

impl SweepReport {
    pub(crate) fn new(
        config: &SweepConfig,
        dir: &Path,
        sweep_id: String,
        trials: Vec<TrialRecord>,
        started: u64,
        done: Option<DoneReason>,
    ) -> Self {
        SweepReport {
            sweep_id,
            dir: dir.to_path_buf(),
            trials,
            started,
            done,
            metric: config.metric.as_ref().map(|m| m.name.clone()),
            maximize: config
                .metric
                .as_ref()
                .is_some_and(|m| m.goal == Some(Goal::Maximize)),
        }
    }

    /// Finished and stopped trials with a metric value, best first.
    #[must_use]
    pub fn leaderboard(&self) -> Vec<&TrialRecord> {
        let mut ranked: Vec<&TrialRecord> = self
            .trials
            .iter()
            .filter(|t| matches!(t.status, TrialStatus::Finished | TrialStatus::Stopped))
            .filter(|t| t.metric.is_some_and(f64::is_finite))
            .collect();
        ranked.sort_by(|a, b| self.compare(a, b));
        ranked
    }

    /// The best trial by the metric.
    #[must_use]
    pub fn best(&self) -> Option<&TrialRecord> {
        self.leaderboard().into_iter().next()
    }

    /// The failed trials.
    #[must_use]
    pub fn failures(&self) -> Vec<&TrialRecord> {
        self.with_status(TrialStatus::Failed)
    }

    /// The trials with a status.
    #[must_use]
    pub fn with_status(&self, status: TrialStatus) -> Vec<&TrialRecord> {
        self.trials.iter().filter(|t| t.status == status).collect()
    }

    /// The command that uploads the sweep's runs (offline runs, synced by the official CLI).
    #[must_use]
    pub fn sync_command(&self) -> String {
        format!(
            "wandb sync {}",
            self.dir.join("wandb").join("offline-run-*").display()
        )
    }

    fn compare(&self, a: &TrialRecord, b: &TrialRecord) -> Ordering {
        let (x, y) = (a.metric.unwrap_or(f64::NAN), b.metric.unwrap_or(f64::NAN));
        let order = x.total_cmp(&y);
        if self.maximize {
            order.reverse()
        } else {
            order
        }
    }

    fn headline(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = |s| self.with_status(s).len();
        write!(
            f,
            "sweep {}: {} trials ({} finished, {} stopped early, {} failed",
            self.sweep_id,
            self.trials.len(),
            n(TrialStatus::Finished),
            n(TrialStatus::Stopped),
            n(TrialStatus::Failed),
        )?;
        match n(TrialStatus::Running) {
            0 => write!(f, ")")?,
            r => write!(f, ", {r} interrupted)")?,
        }
        match &self.done {
            Some(reason) => writeln!(f, "; done: {reason}"),
            None => writeln!(f),
        }
    }
}

impl fmt::Display for SweepReport {
    /// The headline, the best runs (at most 10) and every failure.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.headline(f)?;
        let board = self.leaderboard();
        let metric = self.metric.as_deref().unwrap_or("metric");
        if !board.is_empty() {
            let width = metric.len().max(10);
            writeln!(
                f,
                "{:>4}  {:<8}  {:<8}  {metric:>width$}  {:>5}  params",
                "rank", "run", "status", "steps"
            )?;
            for (rank, t) in board.iter().take(SHOWN).enumerate() {
                writeln!(
                    f,
                    "{:>4}  {:<8}  {:<8}  {:>width$}  {:>5}  {}",
                    rank + 1,
                    t.run_id,
                    t.status.as_str(),
                    format!("{:.5}", t.metric.unwrap_or(f64::NAN)),
                    t.history.len(),
                    compact(&t.params)
                )?;
            }
            if board.len() > SHOWN {
                writeln!(f, "      … {} more", board.len() - SHOWN)?;
            }
        }
        for t in self.failures() {
            let why = t.error.as_deref().unwrap_or("unknown error");
            writeln!(f, "failed  {}  {}: {why}", t.run_id, compact(&t.params))?;
        }
        Ok(())
    }
}

/// Parameters for a table: `lr=0.0123 hidden=8`, floats to 4 significant digits, nested
/// groups with dotted names.
fn compact(params: &Value) -> String {
    let mut parts = Vec::new();
    flatten_into(params, "", &mut parts);
    parts.join(" ")
}

fn flatten_into(value: &Value, prefix: &str, out: &mut Vec<String>) {
    match value {
        Value::Map(m) => {
            for (k, v) in m {
                let name = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                flatten_into(v, &name, out);
            }
        }
        Value::Number(Number::Float(x)) => out.push(format!("{prefix}={}", short_float(*x))),
        other => out.push(format!("{prefix}={other}")),
    }
}

/// A float to 4 significant digits, trailing zeros dropped.
fn short_float(x: f64) -> String {
    if x == 0.0 || !x.is_finite() {
        return x.to_string();
    }
    let magnitude = x.abs().log10().floor();
    if !(-4.0..6.0).contains(&magnitude) {
        return format!("{x:.3e}");
    }
    let decimals = usize::try_from((3.0 - magnitude).max(0.0) as i64).unwrap_or(0);
    let text = format!("{x:.decimals$}");
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_owned()
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_are_shown_short_and_dotted() {
        let params: Value = serde_json::from_str(
            r#"{"lr": 0.0012345678, "n": 8, "m": {"w": 1.5, "k": "res"}, "big": 123456789.0}"#,
        )
        .unwrap();
        assert_eq!(
            compact(&params),
            "lr=0.001235 n=8 m.w=1.5 m.k=res big=1.235e8"
        );
        assert_eq!(short_float(2.0356569787657466), "2.036");
    }
}
