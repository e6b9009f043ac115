//! Hyperband bands: the iteration counts at which runs are compared (engine 0.3.0).

use crate::config::{Goal, Hyperband, Metric};
use crate::python::float_repr;
use crate::search::{Run, RunState};
use crate::value::Number;

/// What hyperband decides for a set of runs (engine 0.3.0).
#[derive(Debug, Clone, PartialEq)]
pub struct HyperbandDecision {
    /// The bands, ascending.
    pub bands: Vec<u64>,
    /// The threshold at each band; `None` when no run has reached it yet (infinity).
    pub thresholds: Vec<Option<Number>>,
    /// The running runs to stop, in the order given.
    pub stop: Vec<String>,
    /// The engine's explanation, line by line (`Bands: ...`, then one line per running run).
    pub lines: Vec<String>,
}

/// The number of bands built from `min_iter`.
const MIN_ITER_BANDS: usize = 100;

impl Hyperband {
    /// The bands, ascending. With `max_iter` (which wins when both are set): divide by `eta`
    /// `s` times, stopping below 1, never including `max_iter` itself. Else 100 bands
    /// `min_iter · eta^k`, saturating at `u64::MAX`. Empty when neither is usable.
    ///
    /// ```
    /// use wandb_sweep::{Hyperband, Number};
    /// let hb = Hyperband { min_iter: None, max_iter: Some(81), s: Some(3), eta: Some(Number::Int(3)), strict: None };
    /// assert_eq!(hb.bands(), [3, 9, 27]);
    /// let hb = Hyperband { min_iter: Some(3), max_iter: None, s: None, eta: None, strict: None };
    /// assert_eq!(&hb.bands()[..4], [3, 9, 27, 81]);
    /// ```
    #[must_use]
    pub fn bands(&self) -> Vec<u64> {
        let eta = self.eta.unwrap_or(Number::Int(3));
        if let Some(max_iter) = self.max_iter {
            return self
                .s
                .map_or_else(Vec::new, |s| from_max_iter(max_iter, s, eta.as_f64()));
        }
        self.min_iter
            .filter(|&m| m >= 1)
            .map_or_else(Vec::new, |m| from_min_iter(m, eta))
    }
}

impl Hyperband {
    /// Which running runs to stop. Histories are the finite values of the metric in order
    /// (negated for `maximize`); the iteration of a run is the number of values it logged.
    /// Thresholds use every run with values, whatever its state. With `strict` (the
    /// default) a run is stopped when its value *at* the band is worse than the threshold,
    /// otherwise when its best value is.
    ///
    /// ```
    /// use wandb_sweep::{Hyperband, Metric, Run, RunState, Value};
    /// let hb = Hyperband { min_iter: None, max_iter: Some(5), s: Some(2), eta: Some(2.into()), strict: None };
    /// let metric = Metric { name: "loss".into(), goal: None, target: None, impute: None, impute_while_running: None };
    /// let run = |name: &str, state, losses: &[i64]| {
    ///     let mut r = Run::new(name, state, Value::Map(Default::default()));
    ///     r.history = losses.iter().map(|&l| serde_json::from_str(&format!("{{\"loss\": {l}}}")).unwrap()).collect();
    ///     r
    /// };
    /// let runs = [
    ///     run("a", RunState::Finished, &[10, 9]),
    ///     run("b", RunState::Running, &[10, 10]),
    ///     run("c", RunState::Running, &[10, 8, 8]),
    ///     run("d", RunState::Running, &[10, 7, 7]),
    ///     run("e", RunState::Finished, &[10, 6, 6]),
    /// ];
    /// // Band 2: threshold 8 (the median of 9, 10, 8, 7, 6); b is at 10, c ties at 8.
    /// assert_eq!(hb.decide(&metric, &runs).stop, ["b"]);
    /// ```
    #[must_use]
    pub fn decide(&self, metric: &Metric, runs: &[Run]) -> HyperbandDecision {
        let bands = self.bands();
        let r = 1.0 / self.eta.unwrap_or(Number::Int(3)).as_f64();
        let maximize = metric.goal == Some(Goal::Maximize);
        let history = |run: &Run| -> Vec<Number> {
            let values = run.metric_values(&metric.name);
            if maximize {
                values.into_iter().map(negate).collect()
            } else {
                values
            }
        };
        let histories: Vec<Vec<Number>> =
            runs.iter().map(history).filter(|h| !h.is_empty()).collect();
        let thresholds: Vec<Option<Number>> =
            bands.iter().map(|&b| threshold(&histories, b, r)).collect();
        let mut lines = vec![bands_line(&bands, &thresholds)];
        let mut stop = Vec::new();
        for run in runs.iter().filter(|run| run.state == RunState::Running) {
            let h = history(run);
            let reached = bands
                .iter()
                .zip(&thresholds)
                .take_while(|(b, _)| usize::try_from(**b).is_ok_and(|b| b >= 1 && b <= h.len()))
                .last();
            let (band_text, stop_text) = match reached {
                Some((&band, &thr)) => {
                    let value = if self.strict.unwrap_or(true) {
                        h[usize::try_from(band).unwrap_or(1) - 1]
                    } else {
                        min(&h)
                    };
                    let stopped = thr.is_some_and(|t| value.as_f64() > t.as_f64());
                    if stopped {
                        stop.push(run.name.clone());
                    }
                    let text = format!(
                        " (Band: {band} Metric: {} Threshold: {})",
                        show(Some(value)),
                        show(thr)
                    );
                    (text, if stopped { " STOP" } else { "" })
                }
                None => (String::new(), ""),
            };
            lines.push(format!(
                "Run: {} Step: {} {band_text} {stop_text}",
                run.name,
                h.len()
            ));
        }
        HyperbandDecision {
            bands,
            thresholds,
            stop,
            lines,
        }
    }

    /// The schedule in words.
    ///
    /// ```
    /// use wandb_sweep::Hyperband;
    /// let hb = Hyperband { min_iter: Some(3), max_iter: None, s: None, eta: None, strict: None };
    /// assert!(hb.describe().starts_with("Runs are compared after 3, 9, 27, 81, 243, … logged values"));
    /// ```
    #[must_use]
    pub fn describe(&self) -> String {
        let bands = self.bands();
        if bands.is_empty() {
            return "No bands: set min_iter, or max_iter with s (and eta > 1).".to_owned();
        }
        let shown: Vec<String> = bands.iter().take(5).map(u64::to_string).collect();
        let more = if bands.len() > 5 { ", …" } else { "" };
        let eta = self.eta.unwrap_or(Number::Int(3));
        let rule = if self.strict.unwrap_or(true) {
            "its value at the band"
        } else {
            "its best value so far"
        };
        format!(
            "Runs are compared after {}{more} logged values of the metric ({} bands). At each band, \
             the threshold is the value that the best 1/{eta} of all runs reaching the band beat; \
             a running run is stopped when {rule} is worse than the threshold (ties continue).",
            shown.join(", "),
            bands.len()
        )
    }
}

fn negate(n: Number) -> Number {
    match n {
        Number::Int(i) => Number::Int(i.saturating_neg()),
        Number::Float(x) => Number::Float(-x),
    }
}

fn min(h: &[Number]) -> Number {
    h.iter()
        .copied()
        .fold(h[0], |m, x| if x.as_f64() < m.as_f64() { x } else { m })
}

/// `sorted(values at the band)[int(r · n)]`, or `None` (infinity) when no run reached it.
fn threshold(histories: &[Vec<Number>], band: u64, r: f64) -> Option<Number> {
    let band = usize::try_from(band).ok()?;
    let mut values: Vec<Number> = histories
        .iter()
        .filter(|h| h.len() >= band && band >= 1)
        .map(|h| h[band - 1])
        .collect();
    values.sort_by(|a, b| a.as_f64().total_cmp(&b.as_f64()));
    let i = (r * values.len() as f64) as usize;
    values.get(i).copied()
}

fn show(n: Option<Number>) -> String {
    match n {
        None => "inf".to_owned(),
        Some(Number::Int(i)) => i.to_string(),
        Some(Number::Float(x)) => float_repr(x),
    }
}

fn bands_line(bands: &[u64], thresholds: &[Option<Number>]) -> String {
    let parts: Vec<String> = bands
        .iter()
        .zip(thresholds)
        .map(|(b, t)| format!("{b} = {}", show(*t)))
        .collect();
    format!("Bands: {}", parts.join(", "))
}

fn from_max_iter(max_iter: i64, s: i64, eta: f64) -> Vec<u64> {
    let mut b = max_iter as f64;
    let mut out = Vec::new();
    for _ in 0..s.clamp(0, 64) {
        b /= eta;
        if b < 1.0 || !b.is_finite() {
            break;
        }
        out.push(b as u64);
    }
    out.sort_unstable();
    out
}

fn from_min_iter(min_iter: i64, eta: Number) -> Vec<u64> {
    let mut out = Vec::with_capacity(MIN_ITER_BANDS);
    match eta {
        Number::Int(e) if e > 1 => {
            let mut b = min_iter as u64;
            for _ in 0..MIN_ITER_BANDS {
                out.push(b);
                b = b.saturating_mul(e as u64);
            }
        }
        _ => {
            let mut b = min_iter as f64;
            for _ in 0..MIN_ITER_BANDS {
                out.push(if b >= u64::MAX as f64 {
                    u64::MAX
                } else {
                    b as u64
                });
                b *= eta.as_f64();
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hb(min_iter: Option<i64>, max_iter: Option<i64>, s: Option<i64>, eta: Number) -> Hyperband {
        Hyperband {
            min_iter,
            max_iter,
            s,
            eta: Some(eta),
            strict: None,
        }
    }

    #[test]
    fn max_iter_bands_match_the_engine_examples() {
        let three = Number::Int(3);
        assert_eq!(hb(None, Some(27), Some(3), three).bands(), [1, 3, 9]);
        assert_eq!(hb(None, Some(18), Some(2), three).bands(), [2, 6]);
        assert_eq!(hb(None, Some(5), Some(2), Number::Int(2)).bands(), [1, 2]);
        assert_eq!(hb(None, Some(40), Some(2), three).bands(), [4, 13]);
        assert_eq!(hb(Some(2), Some(40), Some(2), three).bands(), [4, 13]);
    }

    #[test]
    fn min_iter_bands_accumulate_float_eta_and_saturate() {
        let b = hb(Some(30), None, None, Number::Float(1.5)).bands();
        assert_eq!(&b[..4], [30, 45, 67, 101]);
        let big = hb(Some(3), None, None, Number::Int(3)).bands();
        assert_eq!(big.len(), 100);
        assert_eq!(big[99], u64::MAX);
    }
}
