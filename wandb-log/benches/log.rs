//! `Run::log` of a 10-metric row: the call itself while the writer keeps up (bursts of
//! 1,000 rows with pauses), sustained logging into one run (bounded by the writer),
//! and disabled mode; the baseline is building the same row without logging it.
#![expect(missing_docs, reason = "criterion generates the entry point")]

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use wandb_log::{Mode, Run};

const KEYS: [&str; 10] = [
    "loss",
    "acc",
    "lr",
    "grad_norm",
    "val/loss",
    "val/acc",
    "epoch",
    "tokens",
    "mem",
    "time",
];

fn row(i: u64) -> [(&'static str, f64); 10] {
    #[expect(clippy::cast_precision_loss, reason = "bench values")]
    let x = i as f64;
    KEYS.map(|k| (k, x * 0.001))
}

fn offline(dir: &std::path::Path) -> Run {
    Run::builder()
        .project("bench")
        .mode(Mode::Offline)
        .dir(dir)
        .init_with(|_| None)
        .expect("init")
}

fn bench_log(c: &mut Criterion) {
    let dir = std::env::temp_dir().join(format!("wandb-log-bench-{}", std::process::id()));
    let mut g = c.benchmark_group("log_10_metrics");
    g.bench_function("baseline: build the row", |b| {
        let mut i = 0;
        b.iter(|| {
            i += 1;
            black_box(row(i))
        });
    });
    g.bench_function("disabled", |b| {
        let run = Run::builder().mode(Mode::Disabled).init().expect("init");
        let mut i = 0;
        b.iter(|| {
            i += 1;
            run.log(row(i)).expect("log")
        });
    });
    g.bench_function("offline, writer keeping up", |b| {
        // A training loop: bursts of 1,000 rows with a pause (untimed) in which the writer
        // catches up, as it does between the steps of a real trainer.
        let run = offline(&dir);
        let mut i = 0;
        b.iter_custom(|iters| {
            let mut spent = Duration::ZERO;
            let mut left = iters;
            while left > 0 {
                let n = left.min(1_000);
                let start = Instant::now();
                for _ in 0..n {
                    i += 1;
                    run.log(row(i)).expect("log");
                }
                spent += start.elapsed();
                std::thread::sleep(Duration::from_millis(3));
                left -= n;
            }
            spent
        });
        run.finish(0).expect("finish");
    });
    g.bench_function("offline, sustained", |b| {
        let run = offline(&dir);
        let mut i = 0;
        b.iter(|| {
            i += 1;
            run.log(row(i)).expect("log")
        });
        run.finish(0).expect("finish");
    });
    g.finish();
    let _ = std::fs::remove_dir_all(&dir);
}

criterion_group!(benches, bench_log);
criterion_main!(benches);
