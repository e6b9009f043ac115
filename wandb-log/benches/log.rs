//! `Run::log` of a 10-metric row: the call itself while the writer keeps up (bursts of
//! 1,000 rows with pauses), sustained logging into one run (bounded by the writer),
//! and disabled mode, each with the default step window and without one; the baseline is
//! building the same row without logging it.
//!
//! `cargo bench -p wandb-log --bench log -- --window-probe` instead runs the eight-thread
//! case of the step window (eight threads log the same steps without synchronising) and
//! prints how far behind the newest step rows arrive and which windows accept every row.
#![expect(missing_docs, reason = "criterion generates the entry point")]

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group};
use wandb_log::{Mode, Run, StepWindow};

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

fn offline(dir: &std::path::Path, window: StepWindow) -> Run {
    Run::builder()
        .project("bench")
        .mode(Mode::Offline)
        .dir(dir)
        .step_window(window)
        .init_with(|_| None)
        .expect("init")
}

const WINDOWS: [(&str, StepWindow); 2] = [
    ("window on (default)", StepWindow::DEFAULT),
    ("window off", StepWindow::OFF),
];

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
    for (name, window) in WINDOWS {
        g.bench_function(format!("disabled, {name}"), |b| {
            let run = Run::builder()
                .mode(Mode::Disabled)
                .step_window(window)
                .init()
                .expect("init");
            let mut i = 0;
            b.iter(|| {
                i += 1;
                run.log(row(i)).expect("log")
            });
        });
    }
    for (name, window) in WINDOWS {
        g.bench_function(format!("offline, writer keeping up, {name}"), |b| {
            // A training loop: bursts of 1,000 rows with a pause (untimed) in which the
            // writer catches up, as it does between the steps of a real trainer.
            let run = offline(&dir, window);
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
    }
    for (name, window) in WINDOWS {
        g.bench_function(format!("offline, sustained, {name}"), |b| {
            let run = offline(&dir, window);
            let mut i = 0;
            b.iter(|| {
                i += 1;
                run.log(row(i)).expect("log")
            });
            run.finish(0).expect("finish");
        });
    }
    g.finish();
    let _ = std::fs::remove_dir_all(&dir);
}

criterion_group!(benches, bench_log);

fn main() {
    if std::env::args().any(|a| a == "--window-probe") {
        window_probe::run();
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}

/// The eight-thread case of the step window: eight threads log the same steps without
/// synchronising, in a tight loop and paced at training speeds (each thread logs step `s`
/// at `s` periods after the start, as threads that follow one trainer do).
#[expect(clippy::print_stdout, reason = "the probe's report")]
mod window_probe {
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::{Arc, Barrier};
    use std::time::{Duration, Instant};

    use wandb_log::{Mode, Run, StepWindow};

    const THREADS: u64 = 8;

    /// What one run of the eight threads saw.
    #[derive(Debug, Default, Clone, Copy)]
    struct Seen {
        /// Most steps a row's step was behind the newest step logged so far.
        behind: u64,
        /// Longest time from a step's first row to a later row of it.
        late: Duration,
        /// Longest time from the first row of the next step to a later row of a step (the
        /// window's age counts from there).
        superseded: Duration,
        refused: u64,
    }

    impl Seen {
        fn max(self, o: Seen) -> Seen {
            Seen {
                behind: self.behind.max(o.behind),
                late: self.late.max(o.late),
                superseded: self.superseded.max(o.superseded),
                refused: self.refused.max(o.refused),
            }
        }
    }

    fn eight_threads(window: StepWindow, steps: u64, period: Option<Duration>) -> Seen {
        let dir = std::env::temp_dir().join(format!("wandb-log-probe-{}", std::process::id()));
        let run = Run::builder()
            .mode(Mode::Offline)
            .dir(&dir)
            .step_window(window)
            .init_with(|_| None)
            .expect("init");
        let newest = Arc::new(AtomicU64::new(0));
        let first: Arc<Vec<AtomicU64>> = Arc::new((0..steps).map(|_| AtomicU64::new(0)).collect());
        let start = Arc::new(Barrier::new(THREADS as usize));
        let threads: Vec<_> = (0..THREADS)
            .map(|t| {
                let (run, newest, first, start) = (
                    run.clone(),
                    Arc::clone(&newest),
                    Arc::clone(&first),
                    Arc::clone(&start),
                );
                std::thread::spawn(move || {
                    let key = format!("t{t}");
                    let mut seen = Seen::default();
                    start.wait();
                    let t0 = Instant::now();
                    for step in 0..steps {
                        if let Some(p) = period {
                            let due = t0 + p * u32::try_from(step).expect("steps");
                            std::thread::sleep(due.saturating_duration_since(Instant::now()));
                        }
                        seen.behind = seen
                            .behind
                            .max(newest.load(Ordering::Relaxed).saturating_sub(step));
                        #[expect(clippy::cast_precision_loss, reason = "probe values")]
                        let value = step as f64;
                        if run.log_at(step, [(key.as_str(), value)]).is_err() {
                            seen.refused += 1;
                        }
                        newest.fetch_max(step, Ordering::Relaxed);
                        let now = u64::try_from(t0.elapsed().as_nanos()).unwrap_or(u64::MAX) + 1;
                        let slot = &first[usize::try_from(step).expect("steps")];
                        if let Err(at) =
                            slot.compare_exchange(0, now, Ordering::Relaxed, Ordering::Relaxed)
                        {
                            seen.late = seen.late.max(Duration::from_nanos(now.saturating_sub(at)));
                        }
                        let next = first.get(usize::try_from(step + 1).expect("steps"));
                        let since = next.map_or(0, |n| n.load(Ordering::Relaxed));
                        if since > 0 {
                            let after = Duration::from_nanos(now.saturating_sub(since));
                            seen.superseded = seen.superseded.max(after);
                        }
                    }
                    seen
                })
            })
            .collect();
        let mut seen = threads
            .into_iter()
            .map(|t| t.join().expect("thread"))
            .fold(Seen::default(), Seen::max);
        let report = run.finish(0).expect("finish");
        seen.refused = report.step_stats.refused;
        let _ = std::fs::remove_dir_all(&dir);
        seen
    }

    fn worst(reps: u32, window: StepWindow, steps: u64, period: Option<Duration>) -> Seen {
        (0..reps)
            .map(|_| eight_threads(window, steps, period))
            .fold(Seen::default(), Seen::max)
    }

    pub(crate) fn run() {
        let unbounded = StepWindow::new(usize::MAX, Duration::MAX);
        println!("eight threads x N steps, log_at without synchronising; worst of the repetitions");
        println!(
            "| pace | steps per thread | reps | most steps behind | longest late | longest after the next step | refused, window off | refused, default window |"
        );
        println!("|---|---|---|---|---|---|---|---|");
        for (pace, steps, reps) in [
            (None, 20_000, 5),
            (Some(Duration::from_micros(10)), 20_000, 3),
            (Some(Duration::from_micros(100)), 10_000, 3),
            (Some(Duration::from_millis(1)), 2_000, 3),
        ] {
            let seen = worst(reps, unbounded, steps, pace);
            let off = worst(reps, StepWindow::OFF, steps, pace);
            let default = worst(reps, StepWindow::DEFAULT, steps, pace);
            let pace = pace.map_or("tight loop".to_owned(), |p| format!("{p:?} per step"));
            println!(
                "| {pace} | {steps} | {reps} | {} | {:?} | {:?} | {} | {} |",
                seen.behind, seen.late, seen.superseded, off.refused, default.refused
            );
        }
        println!();
        println!("tight loop, 20,000 steps: refused rows (worst of 5) by window");
        for k in [1024, 4096, 16_384, 19_000, 19_999, 20_000] {
            let seen = worst(5, StepWindow::new(k, Duration::MAX), 20_000, None);
            println!("{k} steps, no time bound: refused {}", seen.refused);
        }
        for ms in [10, 50, 100, 250, 1000] {
            let age = Duration::from_millis(ms);
            let seen = worst(5, StepWindow::new(usize::MAX, age), 20_000, None);
            println!("{age:?}, no step bound: refused {}", seen.refused);
        }
    }
}
