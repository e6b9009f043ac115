//! Axes: a value range mapped to a fraction of the plot, linear or logarithmic, with round
//! tick values and short labels.

use wandb_sweep::{Number, Value};

/// A log axis is used when the values are positive and the largest is at least this many
/// times the smallest (two decades).
const LOG_SPAN: f64 = 100.0;

/// About how many intervals between ticks a linear axis gets (4 to 7).
const TICKS: f64 = 4.0;
/// Never more ticks than this, whatever the range.
const MAX_TICKS: i64 = 20;

/// A value axis.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Axis {
    /// The lowest value shown.
    pub(crate) lo: f64,
    /// The highest value shown.
    pub(crate) hi: f64,
    /// Logarithmic (base 10).
    pub(crate) log: bool,
}

impl Axis {
    /// An axis for values from `lo` to `hi` (finite), logarithmic when `min_positive` (the
    /// smallest positive value) equals `lo` and the values span two decades or more. With
    /// `round`, the ends move out to round values (for the value axis of a chart).
    pub(crate) fn fit(lo: f64, hi: f64, min_positive: Option<f64>, round: bool) -> Axis {
        let log = min_positive.is_some_and(|m| m == lo && m > 0.0 && hi / m >= LOG_SPAN);
        if log {
            let (lo, hi) = if round {
                (
                    10f64.powf(lo.log10().floor()),
                    10f64.powf(hi.log10().ceil()),
                )
            } else {
                (lo, hi)
            };
            return Axis { lo, hi, log };
        }
        let (lo, hi) = if hi > lo {
            (lo, hi)
        } else {
            let pad = if lo == 0.0 { 1.0 } else { lo.abs() * 0.1 };
            (lo - pad, hi + pad)
        };
        if round {
            let step = nice_step((hi - lo) / TICKS);
            Axis {
                lo: (lo / step).floor() * step,
                hi: (hi / step).ceil() * step,
                log,
            }
        } else {
            Axis { lo, hi, log }
        }
    }

    /// An axis over `values` (finite ones only), as [`Axis::fit`]; `None` when there are
    /// none.
    pub(crate) fn of_values(values: impl IntoIterator<Item = f64>, round: bool) -> Option<Axis> {
        let mut range: Option<(f64, f64)> = None;
        let mut min_positive: Option<f64> = None;
        for v in values.into_iter().filter(|v| v.is_finite()) {
            range = Some(range.map_or((v, v), |(lo, hi)| (lo.min(v), hi.max(v))));
            if v > 0.0 {
                min_positive = Some(min_positive.map_or(v, |m| m.min(v)));
            }
        }
        range.map(|(lo, hi)| Axis::fit(lo, hi, min_positive, round))
    }

    /// Where `v` is, from 0 (at `lo`) to 1 (at `hi`); NaN for values the axis cannot show
    /// (non-positive values on a log axis).
    pub(crate) fn fraction(&self, v: f64) -> f64 {
        if self.log {
            if v <= 0.0 {
                return f64::NAN;
            }
            (v.log10() - self.lo.log10()) / (self.hi.log10() - self.lo.log10())
        } else {
            (v - self.lo) / (self.hi - self.lo)
        }
    }

    /// Round values inside the axis, with their labels.
    pub(crate) fn ticks(&self) -> Vec<(f64, String)> {
        if self.log {
            return self.log_ticks();
        }
        let step = nice_step((self.hi - self.lo) / TICKS);
        let first = (self.lo / step).ceil() as i64;
        let last = (self.hi / step + 1e-9).floor() as i64;
        if !(0..=MAX_TICKS).contains(&(last.saturating_sub(first))) {
            // A range too wide for f64 steps (values near ±1e308): its ends only.
            return [self.lo, self.hi].map(|v| (v, short(v))).to_vec();
        }
        (first..=last)
            .map(|k| {
                let v = k as f64 * step;
                let v = if v.abs() < step * 1e-9 { 0.0 } else { v };
                (v, tick_label(v, step))
            })
            .collect()
    }

    fn log_ticks(&self) -> Vec<(f64, String)> {
        let (a, b) = (
            self.lo.log10().ceil() as i32,
            self.hi.log10().floor() as i32,
        );
        // Every decade, or every few when there are many.
        let stride = usize::try_from((b - a) / 8).unwrap_or(0).max(1);
        let mut ticks: Vec<f64> = (a..=b).step_by(stride).map(|k| 10f64.powi(k)).collect();
        if ticks.len() < 3 {
            let extra: Vec<f64> = (a - 1..=b)
                .flat_map(|k| [2.0, 5.0].map(|m| m * 10f64.powi(k)))
                .filter(|v| (self.lo..=self.hi).contains(v))
                .collect();
            ticks.extend(extra);
            ticks.sort_by(f64::total_cmp);
        }
        ticks.into_iter().map(|v| (v, short(v))).collect()
    }
}

/// 1, 2 or 5 times a power of ten, the nearest to `raw`.
fn nice_step(raw: f64) -> f64 {
    if !(raw.is_finite() && raw > 0.0) {
        return 1.0;
    }
    let power = 10f64.powf(raw.log10().floor());
    let m = raw / power;
    let nice = if m < 1.5 {
        1.0
    } else if m < 3.0 {
        2.0
    } else if m < 7.0 {
        5.0
    } else {
        10.0
    };
    nice * power
}

/// A tick value with as many decimals as its step needs.
fn tick_label(v: f64, step: f64) -> String {
    if v == 0.0 {
        return "0".to_owned();
    }
    if v.abs() >= 1e5 || step < 1e-4 {
        return short(v);
    }
    let decimals = usize::try_from((-step.log10().floor()) as i64).unwrap_or(0);
    format!("{v:.decimals$}")
}

/// A number in at most four significant digits: `0.3142`, `1234`, `1.5e-5`, `2.3e+6`.
pub(crate) fn short(v: f64) -> String {
    if v == 0.0 {
        return "0".to_owned();
    }
    if !v.is_finite() {
        return if v.is_nan() {
            "NaN".to_owned()
        } else if v > 0.0 {
            "inf".to_owned()
        } else {
            "-inf".to_owned()
        };
    }
    let magnitude = v.abs().log10().floor();
    if !(-4.0..5.0).contains(&magnitude) {
        let text = format!("{v:.3e}");
        let (mantissa, exponent) = text.split_once('e').unwrap_or((&text, "0"));
        let mantissa = trim_zeros(mantissa);
        return match exponent.strip_prefix('-') {
            Some(e) => format!("{mantissa}e-{e}"),
            None => format!("{mantissa}e+{exponent}"),
        };
    }
    let decimals = usize::try_from((3.0 - magnitude).max(0.0) as i64).unwrap_or(0);
    trim_zeros(&format!("{v:.decimals$}")).to_owned()
}

/// A config or parameter value as a table shows it: numbers short, text as is.
pub(crate) fn value_text(value: &Value) -> String {
    match value {
        Value::Number(Number::Float(x)) => short(*x),
        Value::Number(Number::Int(i)) => i.to_string(),
        Value::String(s) => s.clone(),
        Value::Bool(b) => b.to_string(),
        Value::Null => "null".to_owned(),
        other => other.to_json().to_string(),
    }
}

fn trim_zeros(text: &str) -> &str {
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.')
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(axis: &Axis) -> Vec<String> {
        axis.ticks().into_iter().map(|(_, l)| l).collect()
    }

    #[test]
    fn linear_axes_round_to_tidy_ticks() {
        let axis = Axis::fit(0.23, 0.91, Some(0.23), true);
        assert!(!axis.log);
        assert_eq!((axis.lo, axis.hi), (0.2, 1.0));
        assert_eq!(labels(&axis), ["0.2", "0.4", "0.6", "0.8", "1.0"]);
        let steps = Axis::fit(0.0, 27.0, None, false);
        assert_eq!(labels(&steps), ["0", "5", "10", "15", "20", "25"]);
    }

    #[test]
    fn values_spanning_decades_get_a_log_axis() {
        let axis = Axis::fit(0.004, 2.5, Some(0.004), true);
        assert!(axis.log);
        assert_eq!((axis.lo, axis.hi), (0.001, 10.0));
        assert_eq!(labels(&axis), ["0.001", "0.01", "0.1", "1", "10"]);
        assert!((axis.fraction(0.1) - 0.5).abs() < 1e-12);
        assert!(axis.fraction(0.0).is_nan());
        // Zero or negative values rule a log axis out.
        assert!(!Axis::fit(-1.0, 500.0, Some(0.5), true).log);
        // A narrow log range gets 2s and 5s.
        let narrow = Axis::fit(0.05, 8.0, Some(0.05), false);
        assert_eq!(
            labels(&narrow),
            ["0.05", "0.1", "0.2", "0.5", "1", "2", "5"]
        );
    }

    #[test]
    fn extreme_ranges_get_few_ticks() {
        let huge = Axis::fit(-1e308, 1e308, None, true);
        assert!(huge.ticks().len() <= 20);
        let decades = Axis::fit(1e-300, 1e300, Some(1e-300), true);
        assert!(
            decades.log && decades.ticks().len() <= 10,
            "{:?}",
            decades.ticks()
        );
    }

    #[test]
    fn a_single_value_still_makes_an_axis() {
        let axis = Axis::fit(3.0, 3.0, Some(3.0), true);
        assert!(axis.lo < 3.0 && axis.hi > 3.0);
        assert!(!axis.ticks().is_empty());
    }

    #[test]
    fn numbers_are_short() {
        assert_eq!(short(0.31415926), "0.3142");
        assert_eq!(short(1234.5678), "1235");
        assert_eq!(short(0.0000153), "1.53e-5");
        assert_eq!(short(2_300_000.0), "2.3e+6");
        assert_eq!(short(27.0), "27");
        assert_eq!(short(f64::NAN), "NaN");
        assert_eq!(tick_label(0.30000000000000004, 0.1), "0.3");
    }
}
