//! Benchmarks: a bayes suggestion with 100 observations, random sampling throughput.
//!
//! `cargo bench -p wandb-sweep --bench search`; the engine's numbers come from
//! `scripts/bayes_quality.py` and `scripts/bench_engine.py` (BENCHMARKS.md).
#![expect(missing_docs, reason = "criterion generates the entry point")]

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use wandb_sweep::{BayesSampler, RandomSampler, Run, RunState, Sampler, SweepConfig, Value};

const BRANIN: &str = "method: bayes
metric: {name: loss}
parameters:
  x1: {min: -5.0, max: 10.0}
  x2: {min: 0.0, max: 15.0}
";

fn branin(x1: f64, x2: f64) -> f64 {
    let pi = std::f64::consts::PI;
    (x2 - 5.1 / (4.0 * pi * pi) * x1 * x1 + 5.0 / pi * x1 - 6.0).powi(2)
        + 10.0 * (1.0 - 1.0 / (8.0 * pi)) * x1.cos()
        + 10.0
}

fn bayes_100(c: &mut Criterion) {
    let cfg = SweepConfig::from_yaml(BRANIN).expect("valid");
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    let runs: Vec<Run> = (0..100)
        .map(|i| {
            let (x1, x2) = (rng.random_range(-5.0..10.0), rng.random_range(0.0..15.0));
            let params: Value =
                serde_json::from_str(&format!(r#"{{"x1": {x1}, "x2": {x2}}}"#)).expect("json");
            let mut run = Run::new(format!("r{i}"), RunState::Finished, params);
            run.history = vec![
                serde_json::from_str(&format!(r#"{{"loss": {}}}"#, branin(x1, x2))).expect("json"),
            ];
            run
        })
        .collect();
    let mut g = c.benchmark_group("bayes");
    g.sample_size(20);
    g.bench_function("suggest_100_observations_branin", |b| {
        b.iter(|| {
            BayesSampler::new(&cfg, 1)
                .expect("bayes")
                .ask(black_box(&runs))
                .expect("suggestion")
        });
    });
    g.finish();
}

fn random_sampling(c: &mut Criterion) {
    let text = include_str!("../tests/fixtures/cases/c02_random_all_v2_dists.yaml");
    let cfg = SweepConfig::from_yaml(text).expect("valid");
    let mut sampler = RandomSampler::new(&cfg, 7);
    let mut g = c.benchmark_group("random");
    g.throughput(Throughput::Elements(1));
    g.bench_function("sample_all_15_distributions", |b| {
        b.iter(|| sampler.sample().expect("sample"));
    });
    g.finish();
}

criterion_group!(benches, bayes_100, random_sampling);
criterion_main!(benches);
