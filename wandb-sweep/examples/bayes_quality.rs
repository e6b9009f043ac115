//! Bayes search quality on standard test functions: median best regret over seeds.
//!
//! `cargo run --release -p wandb-sweep --example bayes_quality -- [SEEDS] [TRIALS]`
//! (defaults 10 and 50). Prints one JSON line per function; `scripts/bayes_quality.py`
//! runs W&B's engine on the same functions for comparison (BENCHMARKS.md).
#![expect(clippy::print_stdout, reason = "an example program prints its result")]

use std::time::Instant;

use wandb_sweep::{BayesSampler, Run, RunState, Sampler, Suggestion, SweepConfig, Value};

const BRANIN: &str = "method: bayes
metric: {name: loss, goal: minimize}
parameters:
  x1: {distribution: uniform, min: -5.0, max: 10.0}
  x2: {distribution: uniform, min: 0.0, max: 15.0}
";

const HARTMANN6: &str = "method: bayes
metric: {name: loss, goal: minimize}
parameters:
  x1: {distribution: uniform, min: 0.0, max: 1.0}
  x2: {distribution: uniform, min: 0.0, max: 1.0}
  x3: {distribution: uniform, min: 0.0, max: 1.0}
  x4: {distribution: uniform, min: 0.0, max: 1.0}
  x5: {distribution: uniform, min: 0.0, max: 1.0}
  x6: {distribution: uniform, min: 0.0, max: 1.0}
";

const MIXED: &str = "method: bayes
metric: {name: loss, goal: minimize}
parameters:
  opt: {values: [adam, sgd, rmsprop, adagrad]}
  lr: {distribution: log_uniform_values, min: 0.0001, max: 0.1}
  layers: {distribution: int_uniform, min: 1, max: 8}
";

/// A test function of a run's parameters (regret: 0 at the optimum).
type Objective = fn(&serde_json::Value) -> f64;

fn num(p: &serde_json::Value, k: &str) -> f64 {
    p[k].as_f64().unwrap_or(f64::NAN)
}

fn branin(p: &serde_json::Value) -> f64 {
    let (x1, x2) = (num(p, "x1"), num(p, "x2"));
    let pi = std::f64::consts::PI;
    let b = 5.1 / (4.0 * pi * pi);
    let c = 5.0 / pi;
    let t = 1.0 / (8.0 * pi);
    (x2 - b * x1 * x1 + c * x1 - 6.0).powi(2) + 10.0 * (1.0 - t) * x1.cos() + 10.0
        - 0.397_887_357_729_738
}

fn hartmann6(p: &serde_json::Value) -> f64 {
    const ALPHA: [f64; 4] = [1.0, 1.2, 3.0, 3.2];
    const A: [[f64; 6]; 4] = [
        [10.0, 3.0, 17.0, 3.5, 1.7, 8.0],
        [0.05, 10.0, 17.0, 0.1, 8.0, 14.0],
        [3.0, 3.5, 1.7, 10.0, 17.0, 8.0],
        [17.0, 8.0, 0.05, 10.0, 0.1, 14.0],
    ];
    const P: [[f64; 6]; 4] = [
        [0.1312, 0.1696, 0.5569, 0.0124, 0.8283, 0.5886],
        [0.2329, 0.4135, 0.8307, 0.3736, 0.1004, 0.9991],
        [0.2348, 0.1451, 0.3522, 0.2883, 0.3047, 0.6650],
        [0.4047, 0.8828, 0.8732, 0.5743, 0.1091, 0.0381],
    ];
    let x: Vec<f64> = (1..=6).map(|i| num(p, &format!("x{i}"))).collect();
    let value: f64 = (0..4)
        .map(|i| {
            let inner: f64 = (0..6).map(|j| A[i][j] * (x[j] - P[i][j]).powi(2)).sum();
            -ALPHA[i] * (-inner).exp()
        })
        .sum();
    value + 3.322_368_011_415_515
}

fn mixed(p: &serde_json::Value) -> f64 {
    let offset = match p["opt"].as_str() {
        Some("sgd") => 0.0,
        Some("adam") => 0.3,
        Some("rmsprop") => 0.6,
        _ => 1.0,
    };
    offset + (num(p, "lr").log10() + 2.5).powi(2) + 0.1 * (num(p, "layers") - 5.0).powi(2)
}

fn regret(yaml: &str, f: Objective, seed: u64, trials: usize) -> f64 {
    let cfg = SweepConfig::from_yaml(yaml).expect("valid config");
    let mut sampler = BayesSampler::new(&cfg, seed).expect("bayes config");
    let mut runs: Vec<Run> = Vec::new();
    let mut best = f64::INFINITY;
    for i in 0..trials {
        let Ok(Suggestion::Run(params)) = sampler.ask(&runs) else {
            break;
        };
        let y = f(&params.to_json());
        best = best.min(y);
        let mut run = Run::new(format!("r{i}"), RunState::Finished, params);
        run.history = vec![Value::Map(
            [("loss".to_owned(), Value::from(y))].into_iter().collect(),
        )];
        runs.push(run);
    }
    best
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let seeds = args.first().copied().unwrap_or(10) as u64;
    let trials = args.get(1).copied().unwrap_or(50);
    let functions: [(&str, &str, Objective); 3] = [
        ("branin", BRANIN, branin),
        ("hartmann6", HARTMANN6, hartmann6),
        ("mixed", MIXED, mixed),
    ];
    for (name, yaml, f) in functions {
        let start = Instant::now();
        let regrets: Vec<f64> = (0..seeds).map(|s| regret(yaml, f, s, trials)).collect();
        let secs = start.elapsed().as_secs_f64();
        println!(
            "{{\"function\":\"{name}\",\"seeds\":{seeds},\"trials\":{trials},\"median_regret\":{},\"regrets\":{:?},\"seconds\":{secs:.2}}}",
            median(regrets.clone()),
            regrets
        );
    }
}
