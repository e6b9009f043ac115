//! Bayesian search: a Gaussian process over the parameters' quantiles, expected improvement
//! over random candidates, as W&B's engine 0.3.0 does it.

use indexmap::IndexMap;
use rand::seq::index::sample;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::gaussian_process::{GaussianProcess, LENGTH_BOUNDS};
use super::{Run, RunState, Sampler, Suggestion};
use crate::config::{Goal, Impute, ImputeWhileRunning, Metric, SweepConfig};
use crate::distribution::Distribution;
use crate::error::Error;
use crate::grid::{insert_path, lookup};
use crate::parameter::{Parameter, Parameters, flatten};
use crate::special::{normal_cdf, normal_pdf};
use crate::value::Value;

/// Candidates scored by expected improvement per suggestion.
const CANDIDATES: usize = 1000;
/// At most this many observations are fitted (a random subset beyond).
const MAX_OBSERVATIONS: usize = 100;
/// Candidates (best by expected improvement) refined by local perturbation.
const REFINE_ANCHORS: usize = 10;
/// Perturbations per anchor and radius.
const REFINE_STEPS: usize = 30;
/// At most this many pending runs get fantasy values.
const MAX_PENDING: usize = 95;

/// A point in [0, 1]^d with its value on the minimisation scale.
type Observation = (Vec<f64>, f64);

/// What the last bayes suggestion was based on.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct BayesInfo {
    /// Φ(z): the probability that the suggestion improves on the best run.
    pub success_probability: f64,
    /// The predicted metric value (in the metric's units and direction).
    pub predicted_value: f64,
    /// The predicted standard deviation (in the metric's units).
    pub predicted_std_dev: f64,
    /// The expected improvement (standardized units).
    pub expected_improvement: f64,
    /// Why the suggestion is less informed than usual (e.g. a random point).
    pub warnings: Vec<String>,
}

/// Suggests runs by expected improvement under a Gaussian process.
///
/// ```
/// use wandb_sweep::{BayesSampler, Run, RunState, Sampler, Suggestion, SweepConfig, Value};
/// let cfg = SweepConfig::from_yaml("method: bayes\nmetric: {name: loss}\nparameters:\n  x: {min: 0.0, max: 1.0}\n")?;
/// let mut bayes = BayesSampler::new(&cfg, 1)?;
/// let mut runs = Vec::new();
/// for i in 0..12 {
///     let Suggestion::Run(p) = bayes.ask(&runs)? else { unreachable!() };
///     let x = p.to_json()["x"].as_f64().unwrap();
///     let mut run = Run::new(format!("r{i}"), RunState::Finished, p);
///     run.history = vec![serde_json::from_str(&format!(r#"{{"loss": {}}}"#, (x - 0.3).powi(2))).unwrap()];
///     runs.push(run);
/// }
/// let best = runs.iter().map(|r| r.metric_history("loss")[0]).fold(f64::INFINITY, f64::min);
/// assert!(best < 0.01, "{best}");
/// # Ok::<(), wandb_sweep::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct BayesSampler {
    parameters: Parameters,
    metric: Metric,
    rng: ChaCha8Rng,
    info: Option<BayesInfo>,
}

impl BayesSampler {
    /// A bayes sampler for a config.
    ///
    /// # Errors
    /// [`Error::BayesNeedsMetric`] without `metric`, [`Error::NotSampleable`] when every
    /// parameter is constant.
    pub fn new(config: &SweepConfig, seed: u64) -> Result<Self, Error> {
        let metric = config.metric.clone().ok_or(Error::BayesNeedsMetric)?;
        let searchable = flatten(&config.parameters)
            .iter()
            .any(|f| !matches!(f.parameter, Parameter::Constant { .. }));
        if !searchable {
            return Err(Error::NotSampleable(
                "a bayes search whose parameters are all constant".into(),
            ));
        }
        Ok(BayesSampler {
            parameters: config.parameters.clone(),
            metric,
            rng: ChaCha8Rng::seed_from_u64(seed),
            info: None,
        })
    }

    /// What the last suggestion was based on.
    #[must_use]
    pub fn info(&self) -> Option<&BayesInfo> {
        self.info.as_ref()
    }

    fn maximize(&self) -> bool {
        self.metric.goal == Some(Goal::Maximize)
    }

    /// A run's best value of the metric (history and summary), in the metric's direction.
    fn best(&self, run: &Run) -> Option<f64> {
        self.extreme(run, self.maximize())
    }

    /// A run's worst value of the metric.
    fn worst_of(&self, run: &Run) -> Option<f64> {
        self.extreme(run, !self.maximize())
    }

    /// The largest (`max`) or smallest value of the metric in a run's history and summary.
    fn extreme(&self, run: &Run, max: bool) -> Option<f64> {
        let values = run
            .metric_history(&self.metric.name)
            .into_iter()
            .chain(run.summary_metric(&self.metric.name));
        if max {
            values.reduce(f64::max)
        } else {
            values.reduce(f64::min)
        }
    }

    fn impute(&self, run: &Run, strategy: Impute, worst: f64) -> f64 {
        match strategy {
            Impute::Worst => worst,
            Impute::Best => self.best(run).unwrap_or(0.0),
            Impute::Latest => run
                .metric_history(&self.metric.name)
                .last()
                .copied()
                .unwrap_or(0.0),
        }
    }

    /// Observed points with their values (minimisation scale) and pending points.
    fn observations(
        &self,
        runs: &[Run],
        dims: &[(Vec<String>, &Parameter)],
    ) -> (Vec<Observation>, Vec<Vec<f64>>) {
        let terminal = |s: &RunState| {
            matches!(
                s,
                RunState::Finished | RunState::Failed | RunState::Crashed | RunState::Killed
            )
        };
        let worsts = runs
            .iter()
            .filter(|r| terminal(&r.state))
            .filter_map(|r| self.worst_of(r));
        let worst = if self.maximize() {
            worsts.reduce(f64::min)
        } else {
            worsts.reduce(f64::max)
        }
        .unwrap_or(0.0);
        let impute = self.metric.impute.unwrap_or(Impute::Worst);
        // A run's own best value when it has one, else the strategy's value.
        let best_or = |run: &Run, strategy| {
            self.best(run)
                .unwrap_or_else(|| self.impute(run, strategy, worst))
        };
        let (mut observed, mut pending) = (Vec::new(), Vec::new());
        for run in runs {
            let x = embed(&run.params, dims);
            let y = match run.state {
                RunState::Finished => Some(best_or(run, impute)),
                RunState::Failed | RunState::Crashed | RunState::Killed => {
                    Some(self.impute(run, impute, worst))
                }
                // Like finished runs: the engine imputes only when the run has no value yet.
                RunState::Running => match self
                    .metric
                    .impute_while_running
                    .unwrap_or(ImputeWhileRunning::False)
                {
                    ImputeWhileRunning::False => None,
                    ImputeWhileRunning::Latest => Some(best_or(run, Impute::Latest)),
                    ImputeWhileRunning::Best => Some(best_or(run, Impute::Best)),
                    ImputeWhileRunning::Worst => Some(best_or(run, Impute::Worst)),
                },
                RunState::Pending
                | RunState::Preempting
                | RunState::Preempted
                | RunState::Other(_) => None,
            };
            match y {
                Some(y) => {
                    let y = if y.is_finite() { y } else { worst };
                    observed.push((x, if self.maximize() { -y } else { y }));
                }
                None => pending.push(x),
            }
        }
        (observed, pending)
    }

    fn random_point(&mut self, d: usize) -> Vec<f64> {
        (0..d).map(|_| self.rng.random::<f64>()).collect()
    }

    fn choose(
        &mut self,
        observed: Vec<Observation>,
        pending: Vec<Vec<f64>>,
        dims: &[(Vec<String>, &Parameter)],
    ) -> Vec<f64> {
        let d = dims.len();
        let mut observed = observed;
        if observed.len() > MAX_OBSERVATIONS {
            let keep = sample(&mut self.rng, observed.len(), MAX_OBSERVATIONS);
            observed = keep.iter().map(|i| observed[i].clone()).collect();
        }
        let scale = observed.iter().map(|(_, y)| y.abs()).fold(0.0, f64::max);
        let scale = if scale > 0.0 { scale } else { 1.0 };
        let raw: Vec<f64> = observed.iter().map(|(_, y)| y / scale).collect();
        let mean = raw.iter().sum::<f64>() / raw.len() as f64;
        let std = (raw.iter().map(|y| (y - mean).powi(2)).sum::<f64>() / raw.len() as f64).sqrt();
        let y: Vec<f64> = raw.iter().map(|v| (v - mean) / (std + 1e-6)).collect();
        let x: Vec<Vec<f64>> = observed.into_iter().map(|(x, _)| x).collect();
        let Some(mut gp) = GaussianProcess::fit(x.clone(), &y) else {
            return self.fallback(d, "the Gaussian process could not be fitted; random point");
        };
        if !pending.is_empty() {
            let (mut fx, mut fy) = (x.clone(), y.clone());
            for p in pending.into_iter().take(MAX_PENDING) {
                fy.push(gp.predict(&p).0);
                fx.push(p);
            }
            match GaussianProcess::fit(fx, &fy) {
                Some(refit) => gp = refit,
                None => {
                    return self.fallback(
                        d,
                        "the Gaussian process could not be refitted; random point",
                    );
                }
            }
        }
        let best_y = y.iter().copied().fold(f64::INFINITY, f64::min);
        let near = |a: f64, b: f64| (a - b).abs() <= 1e-8 + 1e-5 * b.abs();
        if near(gp.length(), LENGTH_BOUNDS.0) || near(gp.length(), LENGTH_BOUNDS.1) {
            return self.fallback(d, "the fitted length scale is at a bound; random point");
        }
        let score = |c: &mut Vec<f64>| {
            snap(c, dims);
            let (mu, sigma) = gp.predict(c);
            let z = -(mu - best_y) / (sigma + 1e-6);
            (
                -(mu - best_y) * normal_cdf(z) + sigma * normal_pdf(z),
                mu,
                sigma,
            )
        };
        let mut scored: Vec<(f64, Vec<f64>, f64, f64)> = (0..CANDIDATES)
            .map(|_| {
                let mut c = self.random_point(d);
                let (ei, mu, sigma) = score(&mut c);
                (ei, c, mu, sigma)
            })
            .collect();
        // Beyond the engine: refine around the best candidates and the best observations.
        scored.sort_by(|a, b| b.0.total_cmp(&a.0));
        scored.truncate(REFINE_ANCHORS);
        let mut anchors: Vec<Vec<f64>> = scored.iter().map(|s| s.1.clone()).collect();
        let mut by_value: Vec<(f64, &Vec<f64>)> = y.iter().copied().zip(&x).collect();
        by_value.sort_by(|a, b| a.0.total_cmp(&b.0));
        anchors.extend(by_value.iter().take(3).map(|(_, p)| (*p).clone()));
        for radius in [0.05, 0.01, 0.002] {
            for anchor in &anchors {
                for _ in 0..REFINE_STEPS {
                    let mut c: Vec<f64> = anchor
                        .iter()
                        .map(|&v| {
                            (v + self.rng.random_range(-radius..radius)).clamp(0.0, 1.0 - 1e-12)
                        })
                        .collect();
                    let (ei, mu, sigma) = score(&mut c);
                    scored.push((ei, c, mu, sigma));
                }
            }
        }
        let best = scored.into_iter().max_by(|a, b| a.0.total_cmp(&b.0));
        let Some((ei, point, mu, sigma)) = best else {
            return self.random_point(d);
        };
        let z = -(mu - best_y) / (sigma + 1e-6);
        let unscale = |v: f64| (v * (std + 1e-6) + mean) * scale;
        let sign = if self.maximize() { -1.0 } else { 1.0 };
        self.info = Some(BayesInfo {
            success_probability: normal_cdf(z),
            predicted_value: sign * unscale(mu),
            predicted_std_dev: sigma * (std + 1e-6) * scale,
            expected_improvement: ei,
            warnings: Vec::new(),
        });
        point
    }

    fn fallback(&mut self, d: usize, why: &str) -> Vec<f64> {
        self.info = Some(BayesInfo {
            warnings: vec![why.to_owned()],
            ..BayesInfo::default()
        });
        self.random_point(d)
    }
}

/// Moves each coordinate of a discrete parameter to the embedding of the value it maps to,
/// so that a candidate equal to an observed run scores as that run (beyond the engine, which
/// keeps suggesting a known point from another spot of its bin).
fn snap(c: &mut [f64], dims: &[(Vec<String>, &Parameter)]) {
    for (x, (_, p)) in c.iter_mut().zip(dims) {
        let discrete = matches!(
            p.distribution(),
            Some(
                Distribution::Categorical
                    | Distribution::CategoricalWProbabilities
                    | Distribution::IntUniform
                    | Distribution::QUniform
                    | Distribution::QLogUniformValues
                    | Distribution::QLogUniform
                    | Distribution::QNormal
                    | Distribution::QLogNormal
                    | Distribution::QBeta
            )
        );
        if discrete && let Some(u) = p.ppf(*x).ok().and_then(|v| p.cdf(&v)) {
            *x = u;
        }
    }
}

/// Each searchable parameter's quantile of the run's value (0 when missing, as the engine).
fn embed(params: &Value, dims: &[(Vec<String>, &Parameter)]) -> Vec<f64> {
    dims.iter()
        .map(|(path, p)| {
            let value = lookup(params, path).cloned().unwrap_or(Value::from(0));
            p.cdf(&value).unwrap_or(0.0)
        })
        .collect()
}

impl Sampler for BayesSampler {
    fn ask(&mut self, runs: &[Run]) -> Result<Suggestion, Error> {
        let parameters = self.parameters.clone();
        let flat = flatten(&parameters);
        let dims: Vec<(Vec<String>, &Parameter)> = flat
            .iter()
            .filter(|f| !matches!(f.parameter, Parameter::Constant { .. }))
            .map(|f| (f.path.clone(), f.parameter))
            .collect();
        let (observed, pending) = self.observations(runs, &dims);
        let point = if observed.len() < 2 {
            self.info = Some(BayesInfo {
                warnings: vec!["fewer than two observations; random point".into()],
                ..BayesInfo::default()
            });
            self.random_point(dims.len())
        } else {
            self.choose(observed, pending, &dims)
        };
        let mut out = IndexMap::new();
        let mut coords = point.into_iter();
        for f in &flat {
            let value = match f.parameter {
                Parameter::Constant { value } => value.clone(),
                p => p.ppf(coords.next().unwrap_or(0.5))?,
            };
            insert_path(&mut out, &f.path, value);
        }
        Ok(Suggestion::Run(Value::Map(out)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(name: &str, state: RunState, x: f64, losses: &[f64], summary: Option<f64>) -> Run {
        let params = Value::Map([("x".to_owned(), Value::from(x))].into_iter().collect());
        let mut r = Run::new(name, state, params);
        r.history = losses
            .iter()
            .map(|&l| Value::Map([("loss".to_owned(), Value::from(l))].into_iter().collect()))
            .collect();
        if let Some(s) = summary {
            r.summary = Value::Map([("loss".to_owned(), Value::from(s))].into_iter().collect());
        }
        r
    }

    /// The y values the engine 0.3.0 fits (`_construct_gp_data`, checked with the oracle's
    /// engine) for each impute and impute_while_running strategy.
    #[test]
    fn observations_follow_the_engine_for_every_strategy() {
        let runs = [
            run("a", RunState::Finished, 0.1, &[5.0, 4.0], None),
            run("b", RunState::Finished, 0.2, &[], None),
            run("c", RunState::Failed, 0.3, &[f64::NAN], None),
            run("d", RunState::Running, 0.4, &[3.0, 1.0, 2.0], None),
            run("e", RunState::Crashed, 0.5, &[7.0, 6.0], Some(0.5)),
        ];
        let cases: [(&str, &str, &str, &[f64]); 7] = [
            ("minimize", "best", "false", &[4.0, 0.0, 0.0, 0.5]),
            ("minimize", "best", "latest", &[4.0, 0.0, 0.0, 1.0, 0.5]),
            ("minimize", "latest", "false", &[4.0, 0.0, 0.0, 6.0]),
            ("minimize", "latest", "worst", &[4.0, 0.0, 0.0, 1.0, 6.0]),
            ("minimize", "worst", "false", &[4.0, 7.0, 7.0, 7.0]),
            ("minimize", "worst", "worst", &[4.0, 7.0, 7.0, 1.0, 7.0]),
            (
                "maximize",
                "best",
                "latest",
                &[-5.0, -0.0, -0.0, -3.0, -7.0],
            ),
        ];
        for (goal, impute, while_running, want) in cases {
            let yaml = format!(
                "method: bayes\nmetric: {{name: loss, goal: {goal}, impute: {impute}, \
                 impute_while_running: \"{while_running}\"}}\nparameters:\n  x: {{min: 0.0, max: 1.0}}\n"
            );
            let cfg = SweepConfig::from_yaml(&yaml).expect("valid");
            let bayes = BayesSampler::new(&cfg, 0).expect("sampler");
            let dims: Vec<(Vec<String>, &Parameter)> =
                vec![(vec!["x".into()], &cfg.parameters["x"])];
            let (observed, _) = bayes.observations(&runs, &dims);
            let ys: Vec<f64> = observed.iter().map(|(_, y)| *y).collect();
            assert_eq!(
                ys, want,
                "{goal} impute {impute} while running {while_running}"
            );
        }
    }
}
