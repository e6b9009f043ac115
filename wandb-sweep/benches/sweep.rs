//! Benchmarks: checking the 80-file corpus, enumerating and counting grids.
//!
//! `cargo bench -p wandb-sweep --bench sweep`; results and the engine's numbers: BENCHMARKS.md.
#![expect(missing_docs, reason = "criterion generates the entry point")]

use std::hint::black_box;
use std::path::Path;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use wandb_sweep::{Grid, SweepConfig, check};

fn corpus() -> Vec<String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/corpus");
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .expect("corpus fixtures")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    files.sort();
    files
        .iter()
        .map(|p| std::fs::read_to_string(p).expect("readable"))
        .collect()
}

fn check_corpus(c: &mut Criterion) {
    let texts = corpus();
    assert_eq!(texts.len(), 80);
    let mut g = c.benchmark_group("check");
    g.throughput(Throughput::Elements(texts.len() as u64));
    g.bench_function("corpus_80_files", |b| {
        b.iter(|| {
            texts
                .iter()
                .map(|t| check(black_box(t)).is_valid())
                .filter(|v| *v)
                .count()
        });
    });
    g.finish();
}

/// 1,000,000 points: 100 × 100 × 10 × 10, mixing int ranges, q_uniform floats and strings.
const GRID_1M: &str = "method: grid
parameters:
  a: {min: 1, max: 100}
  b: {distribution: q_uniform, min: 0.0, max: 1.0, q: 0.01}
  c: {values: [adam, sgd, rmsprop, adagrad, adamw, lamb, lion, sophia, nadam, radam]}
  d: {values: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]}
  e: {value: 7}
";

fn grid_enumerate(c: &mut Criterion) {
    let grid = Grid::new(&SweepConfig::from_yaml(GRID_1M).expect("valid")).expect("grid");
    assert_eq!(grid.size().expect("fits"), 1_000_000);
    let mut g = c.benchmark_group("grid");
    g.throughput(Throughput::Elements(1_000_000));
    g.sample_size(20);
    g.bench_function("cursor_1M_points", |b| {
        b.iter(|| {
            let mut cursor = grid.cursor();
            let mut n = 0u64;
            while let Some(values) = cursor.next_values() {
                n += values.len() as u64;
            }
            n
        });
    });
    // Baseline in the same run: building every point as a nested mapping.
    g.bench_function("points_as_maps_1M", |b| b.iter(|| grid.points().count()));
    g.finish();
}

fn grid_count(c: &mut Criterion) {
    let mut yaml = String::from("method: grid\nparameters:\n");
    for i in 0..30 {
        yaml.push_str(&format!(
            "  p{i:02}: {{values: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]}}\n"
        ));
    }
    let cfg = SweepConfig::from_yaml(&yaml).expect("valid");
    c.bench_function("grid/count_10e30_space", |b| {
        b.iter(|| {
            Grid::new(black_box(&cfg))
                .and_then(|g| g.size())
                .expect("fits")
        });
    });
    let grid = Grid::new(&cfg).expect("grid");
    c.bench_function("grid/point_at_10e30_minus_1", |b| {
        b.iter(|| grid.point(black_box(10u128.pow(30) - 1)));
    });
}

criterion_group!(benches, check_corpus, grid_enumerate, grid_count);
criterion_main!(benches);
