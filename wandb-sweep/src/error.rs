//! The crate's error type.

use crate::diagnostic::Diagnostic;
use crate::distribution::Distribution;

/// Everything that can go wrong in `wandb-sweep`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The config has errors; each diagnostic says where and what to do.
    #[error("{}", summary(.diagnostics))]
    Invalid {
        /// Every error and warning found, in source order.
        diagnostics: Vec<Diagnostic>,
    },
    /// Grid search cannot enumerate a parameter.
    #[error(
        "grid search cannot enumerate parameter `{parameter}` ({distribution}): give it \
         `values: [...]`, or use int_uniform or q_uniform, or switch to method random or bayes"
    )]
    NotEnumerable {
        /// The dotted parameter name.
        parameter: String,
        /// Its distribution.
        distribution: Distribution,
    },
    /// The grid has more points than `u128` can count.
    #[error(
        "the grid has more than 2^128 points ({factors}); it would never finish: use fewer \
         values or method random"
    )]
    GridTooLarge {
        /// The factors, e.g. `lr 7 × bs 5`.
        factors: String,
    },
    /// A quantile outside [0, 1] was given to a percent-point function.
    #[error("quantile {0} is outside [0, 1]; give a probability between 0 and 1")]
    InvalidQuantile(f64),
    /// A parameter that cannot be sampled.
    #[error("cannot sample {0}: give the parameter at least one value")]
    NotSampleable(String),
    /// The search method has no sampler here.
    #[error(
        "method `{0}` has no sampler here: an external scheduler runs `custom` sweeps; use \
         grid, random or bayes"
    )]
    UnsupportedMethod(&'static str),
    /// Bayes search without a metric.
    #[error("bayes search needs `metric` (name and goal) to optimise; add it or use method random")]
    BayesNeedsMetric,
    /// The config could not be written as YAML or JSON.
    #[error("could not write the sweep config: {0}")]
    Serialize(String),
}

fn summary(diagnostics: &[Diagnostic]) -> String {
    let errors: Vec<&Diagnostic> = diagnostics.iter().filter(|d| d.is_error()).collect();
    match errors.as_slice() {
        [] => "invalid sweep config".to_owned(),
        [one] => format!("invalid sweep config: {one}"),
        [first, rest @ ..] => format!(
            "invalid sweep config: {first} (and {} more errors)",
            rest.len()
        ),
    }
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
