//! Each distribution's percent-point function (inverse CDF), exactly as W&B's engine computes
//! it: `value = ppf(u)` for a uniform draw `u` in [0, 1].

use crate::error::Error;
use crate::grid::GridKey;
use crate::parameter::Parameter;
use crate::special::{ibeta, ibeta_inv, ndtri, normal_cdf};
use crate::value::{Number, Value};

impl Parameter {
    /// The value at quantile `u` (the engine's `ppf`), defaults filled as the engine fills them.
    ///
    /// Integer results follow the engine: `int_uniform` and q-distributions with an integer
    /// `q` give integers, everything else floats. `u = 0` keeps the engine's edge cases
    /// (`values[-1]` for categorical, `min - 1` for `int_uniform`).
    ///
    /// ```
    /// use wandb_sweep::{Parameter, Value};
    /// let p = Parameter::IntUniform { min: 16, max: 20 };
    /// assert_eq!(p.ppf(0.5)?, Value::from(18));
    /// let c = Parameter::Categorical { values: vec!["a".into(), "b".into()] };
    /// assert_eq!(c.ppf(0.5)?, Value::from("a"));
    /// # Ok::<(), wandb_sweep::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::InvalidQuantile`] for `u` outside [0, 1] or NaN, and [`Error::NotSampleable`]
    /// for a nested group or an empty list of values.
    pub fn ppf(&self, u: f64) -> Result<Value, Error> {
        if !(0.0..=1.0).contains(&u) {
            return Err(Error::InvalidQuantile(u));
        }
        // The engine's defaults, read in place: filling a copy would clone every `values` list.
        let f = |n: Option<Number>, default: f64| n.map_or(default, Number::as_f64);
        let uniform = |lo: f64, hi: f64| u * (hi - lo) + lo;
        Ok(match self {
            Parameter::Constant { value } => value.clone(),
            Parameter::Categorical { values } => pick(values, categorical_index(u, values.len()))?,
            Parameter::CategoricalWProbabilities {
                values,
                probabilities,
            } => pick(values, weighted_index(u, probabilities) as i64)?,
            Parameter::IntUniform { min, max } => {
                Value::from(randint(u, *min, max.saturating_add(1)))
            }
            Parameter::Uniform { min, max } => Value::from(uniform(min.as_f64(), max.as_f64())),
            Parameter::QUniform { min, max, q } => {
                quantize(uniform(min.as_f64(), max.as_f64()), *q)
            }
            Parameter::LogUniform { min, max } => {
                Value::from(uniform(min.as_f64(), max.as_f64()).exp())
            }
            Parameter::LogUniformValues { min, max } => {
                Value::from(uniform(min.as_f64().ln(), max.as_f64().ln()).exp())
            }
            Parameter::QLogUniform { min, max, q } => {
                quantize(uniform(min.as_f64(), max.as_f64()).exp(), *q)
            }
            Parameter::QLogUniformValues { min, max, q } => {
                quantize(uniform(min.as_f64().ln(), max.as_f64().ln()).exp(), *q)
            }
            Parameter::InvLogUniform { min, max } => {
                Value::from(inv_log(u, min.as_f64(), max.as_f64()))
            }
            Parameter::InvLogUniformValues { min, max } => {
                Value::from(inv_log(u, -max.as_f64().ln(), -min.as_f64().ln()))
            }
            Parameter::Normal { mu, sigma } => Value::from(normal(u, f(*mu, 0.0), f(*sigma, 1.0))),
            Parameter::QNormal { mu, sigma, q } => {
                quantize(normal(u, f(*mu, 0.0), f(*sigma, 1.0)), *q)
            }
            Parameter::LogNormal { mu, sigma } => {
                Value::from(log_normal(u, f(*mu, 0.0), f(*sigma, 1.0)))
            }
            Parameter::QLogNormal { mu, sigma, q } => {
                quantize(log_normal(u, f(*mu, 0.0), f(*sigma, 1.0)), *q)
            }
            Parameter::Beta { a, b } => Value::from(ibeta_inv(f(*a, 1.0), f(*b, 1.0), u)),
            Parameter::QBeta { a, b, q } => quantize(ibeta_inv(f(*a, 1.0), f(*b, 1.0), u), *q),
            Parameter::Nested { .. } => return Err(Error::NotSampleable("a nested group".into())),
        })
    }
}

impl Parameter {
    /// The quantile of `value` in [0, 1], as the engine's bayes search embeds values:
    /// categorical value `i` of `n` maps to `(i + 1) / n`, `int_uniform` to
    /// `(v − min + 1) / (max − min + 1)`, q-distributions use their continuous CDF, log
    /// families the CDF of `ln v`. `None` for constants, nested groups and values that are
    /// not in the parameter's domain.
    ///
    /// ```
    /// use wandb_sweep::{Number, Parameter, Value};
    /// let p = Parameter::Uniform { min: Number::Float(0.0), max: Number::Float(2.0) };
    /// assert_eq!(p.cdf(&Value::from(0.5)), Some(0.25));
    /// let c = Parameter::Categorical { values: vec!["a".into(), "b".into()] };
    /// assert_eq!(c.cdf(&Value::from("a")), Some(0.5));
    /// ```
    #[must_use]
    pub fn cdf(&self, value: &Value) -> Option<f64> {
        // The engine's defaults, read in place: filling a copy would clone every `values` list.
        let f = |n: Option<Number>, default: f64| n.map_or(default, Number::as_f64);
        let v = value.as_number().map(Number::as_f64);
        let linear = |x: f64, lo: f64, hi: f64| ((x - lo) / (hi - lo)).clamp(0.0, 1.0);
        let inv = |x: f64, lo: f64, hi: f64| (1.0 - (-x.ln() - lo) / (hi - lo)).clamp(0.0, 1.0);
        let u = match self {
            Parameter::Constant { .. } | Parameter::Nested { .. } => return None,
            Parameter::Categorical { values } => {
                let i = values
                    .iter()
                    .position(|x| GridKey::of(x) == GridKey::of(value))?;
                (i + 1) as f64 / values.len() as f64
            }
            Parameter::CategoricalWProbabilities {
                values,
                probabilities,
            } => {
                let i = values
                    .iter()
                    .position(|x| GridKey::of(x) == GridKey::of(value))?;
                probabilities[..(i + 1).min(probabilities.len())]
                    .iter()
                    .map(|p| p.as_f64())
                    .sum::<f64>()
                    .min(1.0)
            }
            Parameter::IntUniform { min, max } => {
                ((v? - *min as f64 + 1.0) / (*max as f64 - *min as f64 + 1.0)).clamp(0.0, 1.0)
            }
            Parameter::Uniform { min, max } | Parameter::QUniform { min, max, .. } => {
                linear(v?, min.as_f64(), max.as_f64())
            }
            Parameter::LogUniform { min, max } | Parameter::QLogUniform { min, max, .. } => {
                linear(v?.ln(), min.as_f64(), max.as_f64())
            }
            Parameter::LogUniformValues { min, max }
            | Parameter::QLogUniformValues { min, max, .. } => {
                linear(v?.ln(), min.as_f64().ln(), max.as_f64().ln())
            }
            Parameter::InvLogUniform { min, max } => inv(v?, min.as_f64(), max.as_f64()),
            Parameter::InvLogUniformValues { min, max } => {
                inv(v?, -max.as_f64().ln(), -min.as_f64().ln())
            }
            Parameter::Normal { mu, sigma } | Parameter::QNormal { mu, sigma, .. } => {
                normal_cdf((v? - f(*mu, 0.0)) / f(*sigma, 1.0))
            }
            Parameter::LogNormal { mu, sigma } | Parameter::QLogNormal { mu, sigma, .. } => {
                normal_cdf((v?.ln() - f(*mu, 0.0)) / f(*sigma, 1.0))
            }
            Parameter::Beta { a, b } | Parameter::QBeta { a, b, .. } => {
                ibeta(f(*a, 1.0), f(*b, 1.0), v?)
            }
        };
        u.is_finite().then_some(u)
    }
}

/// `values[i]` with Python's negative indexing (`-1` is the last value).
fn pick(values: &[Value], i: i64) -> Result<Value, Error> {
    let n = values.len() as i64;
    let idx = if i < 0 { n + i } else { i };
    usize::try_from(idx)
        .ok()
        .and_then(|i| values.get(i))
        .cloned()
        .ok_or_else(|| Error::NotSampleable("an empty list of values".into()))
}

/// scipy's `randint.ppf(u, 0, n)`.
fn categorical_index(u: f64, n: usize) -> i64 {
    randint(u, 0, n as i64)
}

/// scipy's `randint.ppf(u, low, high)`: `ceil(u·(high−low) + low) − 1`, stepped down when
/// the CDF one below already reaches `u`; `low − 1` at 0 and `high − 1` at 1.
/// Saturates at the ends of `i64` (the engine has Python's unbounded integers there).
fn randint(u: f64, low: i64, high: i64) -> i64 {
    if u == 0.0 {
        return low.saturating_sub(1);
    }
    if u == 1.0 {
        return high.saturating_sub(1);
    }
    let (lo, hi) = (low as f64, high as f64);
    let vals = (u * (hi - lo) + lo).ceil() - 1.0;
    // numpy's clip: no panic when low > high (a config built in code may have min > max).
    let vals1 = (vals - 1.0).max(lo).min(hi);
    let cdf = (vals1.floor() - lo + 1.0) / (hi - lo);
    (if cdf >= u { vals1 } else { vals }) as i64
}

/// The first index whose cumulative probability exceeds `u` (0 if none), as `np.argmin(u >= cdf)`.
fn weighted_index(u: f64, probabilities: &[Number]) -> usize {
    let mut cum = 0.0;
    for (i, p) in probabilities.iter().enumerate() {
        cum += p.as_f64();
        if u < cum {
            return i;
        }
    }
    0
}

fn inv_log(u: f64, lo: f64, hi: f64) -> f64 {
    (-((1.0 - u) * (hi - lo) + lo)).exp()
}

fn normal(u: f64, mu: f64, sigma: f64) -> f64 {
    if sigma == 0.0 {
        // scipy returns NaN for a zero scale.
        return f64::NAN;
    }
    ndtri(u) * sigma + mu
}

fn log_normal(u: f64, mu: f64, sigma: f64) -> f64 {
    if sigma == 0.0 {
        return f64::NAN;
    }
    (sigma * ndtri(u)).exp() * mu.exp()
}

/// numpy's `round(x / q) * q` (half to even); an integer when `q` is an integer literal.
/// Like numpy's `astype(int)`, a non-finite or out-of-range result becomes `i64::MIN` (only
/// reachable at `u` = 0 or 1 of the normal families).
fn quantize(x: f64, q: Option<Number>) -> Value {
    let q = q.unwrap_or(Number::Float(1.0));
    let r = (x / q.as_f64()).round_ties_even() * q.as_f64();
    match q {
        Number::Int(_) if r.is_finite() && r.abs() < 9.2e18 => Value::from(r as i64),
        Number::Int(_) => Value::from(i64::MIN),
        Number::Float(_) => Value::from(r),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn randint_edges_follow_scipy() {
        assert_eq!(randint(0.0, 16, 21), 15);
        assert_eq!(randint(1e-9, 16, 21), 16);
        assert_eq!(randint(0.2, 16, 21), 16);
        assert_eq!(
            randint(0.3, 0, 10),
            2,
            "0.3·10 rounds above 3, the CDF step corrects it"
        );
        assert_eq!(randint(1.0, 16, 21), 20);
    }

    #[test]
    fn weighted_index_boundaries() {
        let p = [Number::Float(0.2), Number::Float(0.3), Number::Float(0.5)];
        assert_eq!(weighted_index(0.0, &p), 0);
        assert_eq!(weighted_index(0.2, &p), 1);
        assert_eq!(weighted_index(0.99, &p), 2);
        assert_eq!(weighted_index(1.0, &p), 0);
    }

    #[test]
    fn quantize_rounds_half_to_even() {
        assert_eq!(quantize(2.5, Some(Number::Int(1))), Value::from(2));
        assert_eq!(quantize(3.5, Some(Number::Int(1))), Value::from(4));
        assert_eq!(quantize(32.2, None), Value::from(32.0));
    }

    #[test]
    fn out_of_range_quantiles_are_errors() {
        let p = Parameter::Uniform {
            min: Number::Int(0),
            max: Number::Int(1),
        };
        assert!(p.ppf(1.5).is_err());
        assert!(p.ppf(f64::NAN).is_err());
    }
}
