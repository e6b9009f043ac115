//! The names of W&B's parameter distributions and the keys each one takes.

use std::fmt;
use std::str::FromStr;

/// A parameter distribution as named in sweep YAML (`distribution: q_uniform`).
///
/// ```
/// use wandb_sweep::Distribution;
/// let d: Distribution = "log_uniform_values".parse().unwrap();
/// assert_eq!(d.as_str(), "log_uniform_values");
/// assert!(Distribution::LogUniform.is_deprecated());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Distribution {
    /// A single fixed `value`.
    Constant,
    /// One of `values`, uniformly.
    Categorical,
    /// One of `values`, with `probabilities`.
    CategoricalWProbabilities,
    /// An integer in `[min, max]`, both ends included.
    IntUniform,
    /// A float in `[min, max)`.
    Uniform,
    /// `uniform` rounded to multiples of `q`.
    QUniform,
    /// Deprecated: `exp(uniform(min, max))`; min/max are natural-log exponents.
    LogUniform,
    /// Log-uniform between the limit values `min` and `max`.
    LogUniformValues,
    /// Deprecated: `q_log_uniform` with natural-log exponents as bounds.
    QLogUniform,
    /// `log_uniform_values` rounded to multiples of `q`.
    QLogUniformValues,
    /// Deprecated: `exp(-uniform(min, max))`; min/max are exponents of `1/x`.
    InvLogUniform,
    /// Inverse log-uniform between the limit values `min` and `max`.
    InvLogUniformValues,
    /// Normal with mean `mu` and standard deviation `sigma`.
    Normal,
    /// `normal` rounded to multiples of `q`.
    QNormal,
    /// `exp(normal(mu, sigma))`.
    LogNormal,
    /// `log_normal` rounded to multiples of `q`.
    QLogNormal,
    /// Beta with shape parameters `a` and `b`.
    Beta,
    /// `beta` rounded to multiples of `q`.
    QBeta,
}

/// The keys a parameter may hold besides `distribution`, with whether each is required.
pub(crate) struct KeySpec {
    pub(crate) required: &'static [&'static str],
    pub(crate) optional: &'static [&'static str],
}

impl Distribution {
    /// Every distribution, in the order of the documentation.
    pub const ALL: [Distribution; 18] = [
        Distribution::Constant,
        Distribution::Categorical,
        Distribution::CategoricalWProbabilities,
        Distribution::IntUniform,
        Distribution::Uniform,
        Distribution::QUniform,
        Distribution::LogUniform,
        Distribution::LogUniformValues,
        Distribution::QLogUniform,
        Distribution::QLogUniformValues,
        Distribution::InvLogUniform,
        Distribution::InvLogUniformValues,
        Distribution::Normal,
        Distribution::QNormal,
        Distribution::LogNormal,
        Distribution::QLogNormal,
        Distribution::Beta,
        Distribution::QBeta,
    ];

    /// The YAML name.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Distribution::Constant => "constant",
            Distribution::Categorical => "categorical",
            Distribution::CategoricalWProbabilities => "categorical_w_probabilities",
            Distribution::IntUniform => "int_uniform",
            Distribution::Uniform => "uniform",
            Distribution::QUniform => "q_uniform",
            Distribution::LogUniform => "log_uniform",
            Distribution::LogUniformValues => "log_uniform_values",
            Distribution::QLogUniform => "q_log_uniform",
            Distribution::QLogUniformValues => "q_log_uniform_values",
            Distribution::InvLogUniform => "inv_log_uniform",
            Distribution::InvLogUniformValues => "inv_log_uniform_values",
            Distribution::Normal => "normal",
            Distribution::QNormal => "q_normal",
            Distribution::LogNormal => "log_normal",
            Distribution::QLogNormal => "q_log_normal",
            Distribution::Beta => "beta",
            Distribution::QBeta => "q_beta",
        }
    }

    /// True for the v1 log distributions whose bounds are natural-log exponents; W&B
    /// rejects them and asks for the `_values` form.
    #[must_use]
    pub fn is_deprecated(self) -> bool {
        matches!(
            self,
            Distribution::LogUniform | Distribution::QLogUniform | Distribution::InvLogUniform
        )
    }

    /// The `_values` replacement of a deprecated distribution.
    #[must_use]
    pub fn replacement(self) -> Option<Distribution> {
        match self {
            Distribution::LogUniform => Some(Distribution::LogUniformValues),
            Distribution::QLogUniform => Some(Distribution::QLogUniformValues),
            Distribution::InvLogUniform => Some(Distribution::InvLogUniformValues),
            _ => None,
        }
    }

    /// True for the distributions grid search can enumerate.
    #[must_use]
    pub fn is_grid_enumerable(self) -> bool {
        matches!(
            self,
            Distribution::Constant
                | Distribution::Categorical
                | Distribution::IntUniform
                | Distribution::QUniform
        )
    }

    pub(crate) fn keys(self) -> KeySpec {
        const BOUNDS: &[&str] = &["min", "max"];
        let (required, optional): (&[&str], &[&str]) = match self {
            Distribution::Constant => (&["value"], &[]),
            Distribution::Categorical => (&["values"], &[]),
            Distribution::CategoricalWProbabilities => (&["values", "probabilities"], &[]),
            Distribution::IntUniform
            | Distribution::Uniform
            | Distribution::LogUniform
            | Distribution::LogUniformValues
            | Distribution::InvLogUniform
            | Distribution::InvLogUniformValues => (BOUNDS, &[]),
            Distribution::QUniform
            | Distribution::QLogUniform
            | Distribution::QLogUniformValues => (BOUNDS, &["q"]),
            Distribution::Normal | Distribution::LogNormal => (&[], &["mu", "sigma"]),
            Distribution::QNormal | Distribution::QLogNormal => (&[], &["mu", "sigma", "q"]),
            Distribution::Beta => (&[], &["a", "b"]),
            Distribution::QBeta => (&[], &["a", "b", "q"]),
        };
        KeySpec { required, optional }
    }
}

impl fmt::Display for Distribution {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The error of parsing an unknown distribution name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownDistribution(pub String);

impl fmt::Display for UnknownDistribution {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unknown distribution `{}`", self.0)
    }
}

impl std::error::Error for UnknownDistribution {}

impl FromStr for Distribution {
    type Err = UnknownDistribution;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Distribution::ALL
            .into_iter()
            .find(|d| d.as_str() == s)
            .ok_or_else(|| UnknownDistribution(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for d in Distribution::ALL {
            assert_eq!(d.as_str().parse::<Distribution>(), Ok(d));
        }
        assert!("gaussian".parse::<Distribution>().is_err());
    }
}
