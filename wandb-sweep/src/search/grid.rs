//! Grid search: the first grid point no run has used yet.

use std::collections::BTreeSet;

use super::{DoneReason, Run, Sampler, Suggestion};
use crate::config::SweepConfig;
use crate::error::Error;
use crate::grid::Grid;

/// Suggests grid points in the engine's order, skipping points any run (whatever its state)
/// already has; done when every point has a run.
#[derive(Debug, Clone)]
pub struct GridSampler {
    grid: Grid,
}

impl GridSampler {
    /// A grid sampler over a config's parameters.
    ///
    /// # Errors
    /// [`Error::NotEnumerable`] when a parameter cannot be enumerated.
    pub fn new(config: &SweepConfig) -> Result<Self, Error> {
        Ok(GridSampler {
            grid: Grid::new(config)?,
        })
    }
}

impl Sampler for GridSampler {
    fn ask(&mut self, runs: &[Run]) -> Result<Suggestion, Error> {
        let size = self.grid.size()?;
        let used: BTreeSet<u128> = runs
            .iter()
            .filter_map(|r| self.grid.index_of(&r.params))
            .collect();
        let mut next = 0u128;
        for &i in &used {
            if i != next {
                break;
            }
            next += 1;
        }
        Ok(match self.grid.point(next) {
            Some(point) => Suggestion::Run(point),
            None => Suggestion::Done(DoneReason::GridExhausted { points: size }),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::search::RunState;
    use crate::value::Value;

    fn run(params: &str) -> Run {
        Run::new(
            "r",
            RunState::Crashed,
            serde_json::from_str::<Value>(params).unwrap(),
        )
    }

    #[test]
    fn skips_used_points_including_nested_and_float_int_equal_values() {
        let cfg = SweepConfig::from_yaml(
            "method: grid\nparameters:\n  a: {values: [1, 2]}\n  m: {parameters: {w: {values: [x, y]}}}\n",
        )
        .unwrap();
        let mut s = GridSampler::new(&cfg).unwrap();
        let runs = [
            run(r#"{"a": 1.0, "m": {"w": "x"}}"#),
            run(r#"{"a": 1, "m": {"w": "y"}}"#),
        ];
        let Suggestion::Run(p) = s.ask(&runs).unwrap() else {
            panic!("a point is left")
        };
        assert_eq!(p.to_string(), "{a: 2, m: {w: x}}");
    }

    #[test]
    fn done_when_every_point_has_a_run() {
        let cfg =
            SweepConfig::from_yaml("method: grid\nparameters:\n  a: {values: [1, 2]}\n").unwrap();
        let mut s = GridSampler::new(&cfg).unwrap();
        let runs = [run(r#"{"a": 2}"#), run(r#"{"a": 1}"#), run(r#"{"a": 3}"#)];
        assert_eq!(
            s.ask(&runs).unwrap(),
            Suggestion::Done(DoneReason::GridExhausted { points: 2 })
        );
    }
}
