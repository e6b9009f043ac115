//! Random search: each parameter's ppf at a seeded uniform draw, in the engine's order.

use std::collections::HashSet;

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::{DoneReason, Run, Sampler, Suggestion};
use crate::config::SweepConfig;
use crate::distribution::Distribution;
use crate::error::Error;
use crate::grid::{Grid, insert_path};
use crate::parameter::{Parameters, flatten};
use crate::value::Value;

/// How many draws to try for an unused point before listing the unused ones.
const DRAWS_BEFORE_SCAN: usize = 256;
/// The largest space whose unused points are listed when draws keep colliding.
const MAX_SCAN: u128 = 1_000_000;

/// Samples every parameter independently, one uniform draw each (constants included, in
/// sorted order), as the engine does. Reproducible for a given seed.
#[derive(Debug, Clone)]
pub struct RandomSampler {
    parameters: Parameters,
    rng: ChaCha8Rng,
    /// The grid of a finite space, when sampling without replacement.
    distinct: Option<Grid>,
}

impl RandomSampler {
    /// A sampler over a config's parameters.
    #[must_use]
    pub fn new(config: &SweepConfig, seed: u64) -> Self {
        RandomSampler {
            parameters: config.parameters.clone(),
            rng: ChaCha8Rng::seed_from_u64(seed),
            distinct: None,
        }
    }

    /// Beyond the engine: never suggest a point some run already has, when every parameter
    /// is categorical, int_uniform or constant (a finite space); the search is done once
    /// every point has a run. Other spaces sample as usual.
    ///
    /// ```
    /// use wandb_sweep::{RandomSampler, Run, RunState, Sampler, Suggestion, SweepConfig};
    /// let cfg = SweepConfig::from_yaml("method: random\nparameters:\n  a: {values: [1, 2, 3]}\n")?;
    /// let mut s = RandomSampler::new(&cfg, 7).without_replacement();
    /// let mut runs = Vec::new();
    /// while let Suggestion::Run(p) = s.ask(&runs)? {
    ///     runs.push(Run::new(format!("r{}", runs.len()), RunState::Finished, p));
    /// }
    /// assert_eq!(runs.len(), 3);
    /// # Ok::<(), wandb_sweep::Error>(())
    /// ```
    #[must_use]
    pub fn without_replacement(mut self) -> Self {
        let finite = flatten(&self.parameters).iter().all(|f| {
            matches!(
                f.parameter.distribution(),
                Some(Distribution::Categorical | Distribution::IntUniform | Distribution::Constant)
            )
        });
        self.distinct = if finite {
            Grid::from_parameters(&self.parameters).ok()
        } else {
            None
        };
        self
    }

    /// One independent sample.
    ///
    /// # Errors
    /// [`Error::NotSampleable`] for a parameter without values.
    pub fn sample(&mut self) -> Result<Value, Error> {
        let mut point = indexmap::IndexMap::new();
        for flat in flatten(&self.parameters) {
            let u = self.rng.random::<f64>();
            insert_path(&mut point, &flat.path, flat.parameter.ppf(u)?);
        }
        Ok(Value::Map(point))
    }

    fn sample_unused(&mut self, runs: &[Run], grid: &Grid) -> Result<Suggestion, Error> {
        let size = grid.size()?;
        let used: HashSet<u128> = runs
            .iter()
            .filter_map(|r| grid.index_of(&r.params))
            .collect();
        if used.len() as u128 >= size {
            return Ok(Suggestion::Done(DoneReason::SpaceExhausted {
                points: size,
            }));
        }
        for _ in 0..DRAWS_BEFORE_SCAN {
            let point = self.sample()?;
            if grid.index_of(&point).is_none_or(|i| !used.contains(&i)) {
                return Ok(Suggestion::Run(point));
            }
        }
        if size > MAX_SCAN {
            return self.sample().map(Suggestion::Run);
        }
        let unused: Vec<u128> = (0..size).filter(|i| !used.contains(i)).collect();
        let pick = unused[self.rng.random_range(0..unused.len())];
        Ok(grid.point(pick).map_or(
            Suggestion::Done(DoneReason::SpaceExhausted { points: size }),
            Suggestion::Run,
        ))
    }
}

impl Sampler for RandomSampler {
    fn ask(&mut self, runs: &[Run]) -> Result<Suggestion, Error> {
        match self.distinct.clone() {
            Some(grid) => self.sample_unused(runs, &grid),
            None => self.sample().map(Suggestion::Run),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(yaml: &str) -> SweepConfig {
        SweepConfig::from_yaml(yaml).unwrap()
    }

    #[test]
    fn seeded_samples_are_reproducible_and_cover_nested_groups() {
        let c = cfg(
            "method: random\nparameters:\n  lr: {min: 0.001, max: 0.1}\n  m: {parameters: {w: {values: [1, 2]}}}\n",
        );
        let a: Vec<Value> = (0..5)
            .map(|_| RandomSampler::new(&c, 3).sample().unwrap())
            .collect();
        assert!(a.windows(2).all(|w| w[0] == w[1]));
        let mut s = RandomSampler::new(&c, 3);
        let first = s.sample().unwrap();
        assert_ne!(first, s.sample().unwrap());
        assert!(matches!(&first, Value::Map(m) if matches!(m.get("m"), Some(Value::Map(_)))));
    }

    #[test]
    fn without_replacement_never_repeats_and_ends() {
        let c = cfg("method: random\nparameters:\n  a: {min: 1, max: 20}\n  b: {values: [x, y]}\n");
        let mut s = RandomSampler::new(&c, 11).without_replacement();
        let mut runs: Vec<Run> = Vec::new();
        let mut seen = HashSet::new();
        loop {
            match s.ask(&runs).unwrap() {
                Suggestion::Run(p) => {
                    assert!(seen.insert(p.to_string()), "repeated {p}");
                    runs.push(Run::new("r", super::super::RunState::Finished, p));
                }
                Suggestion::Done(reason) => {
                    assert_eq!(reason, DoneReason::SpaceExhausted { points: 40 });
                    break;
                }
            }
            assert!(runs.len() <= 40);
        }
        assert_eq!(runs.len(), 40);
    }
}
