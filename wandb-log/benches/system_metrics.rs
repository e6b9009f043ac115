//! The cost of the system-metrics sampler: one sample of the machine and the process (what
//! the `wandb-system` thread does every 15 s), as wall time and as the CPU time of the
//! sampling thread (Linux: `/proc/thread-self/schedstat`, nanoseconds on CPU; elsewhere
//! wall time). Its share of one core is the CPU time per sample divided by the interval.
//!
//! `cargo bench -p wandb-log --bench system_metrics -- --warm-up-time 1 --measurement-time 5`
#![expect(missing_docs, reason = "criterion generates the entry point")]

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use wandb_log::SystemSampler;

/// Nanoseconds this thread has spent on a CPU (`None` where that cannot be read).
fn thread_cpu_ns() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    text.split_whitespace().next()?.parse().ok()
}

fn bench(c: &mut Criterion) {
    let mut sampler = SystemSampler::new();
    let mut group = c.benchmark_group("system_metrics");
    group.bench_function("sample (wall time)", |b| {
        b.iter(|| black_box(sampler.sample()));
    });
    group.bench_function("sample (CPU time of the thread)", |b| {
        b.iter_custom(|iters| {
            let (cpu0, wall0) = (thread_cpu_ns(), Instant::now());
            for _ in 0..iters {
                black_box(sampler.sample());
            }
            match (cpu0, thread_cpu_ns()) {
                (Some(a), Some(b)) => Duration::from_nanos(b.saturating_sub(a)),
                _ => wall0.elapsed(),
            }
        });
    });
    group.bench_function("start (SystemSampler::new)", |b| {
        b.iter(|| black_box(SystemSampler::new()));
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
