//! The cost of media values, per call: a 224x224 RGB image (encoded to PNG and hashed when
//! it is made, its file written by `log`) and a 1,000-value histogram (made and logged).
//! Images of two contents: a smooth gradient (compresses well) and noise (the worst
//! case for PNG). Each logged image goes to a new step, so a new file is made per call, as
//! in training; the files are deleted between samples, outside the timed part.
#![expect(missing_docs, reason = "criterion generates the entry point")]

use std::hint::black_box;
use std::time::Instant;

use criterion::{Criterion, criterion_group, criterion_main};
use wandb_log::{Histogram, Image, Mode, Run, StepWindow};

const SIDE: usize = 224;

fn gradient() -> Vec<u8> {
    let mut out = Vec::with_capacity(SIDE * SIDE * 3);
    for y in 0..SIDE {
        for x in 0..SIDE {
            #[expect(clippy::cast_possible_truncation, reason = "below 256")]
            out.extend([x as u8, y as u8, ((x + y) / 2) as u8]);
        }
    }
    out
}

fn noise() -> Vec<u8> {
    let mut state = 0x9E37_79B9_7F4A_7C15_u64;
    (0..SIDE * SIDE * 3)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state.to_le_bytes()[0]
        })
        .collect()
}

fn normal_values(n: usize) -> Vec<f64> {
    // Deterministic, roughly bell-shaped: the sum of uniform steps.
    let mut state = 42_u64;
    (0..n)
        .map(|_| {
            (0..4)
                .map(|_| {
                    state = state
                        .wrapping_mul(6_364_136_223_846_793_005)
                        .wrapping_add(1);
                    #[expect(clippy::cast_precision_loss, reason = "bench values")]
                    let u = (state >> 11) as f64 / (1_u64 << 53) as f64;
                    u - 0.5
                })
                .sum()
        })
        .collect()
}

#[expect(clippy::print_stderr, reason = "the bench reports the PNG sizes")]
fn bench_media(c: &mut Criterion) {
    let dir = std::env::temp_dir().join(format!("wandb-log-bench-media-{}", std::process::id()));
    let run = Run::builder()
        .project("bench")
        .mode(Mode::Offline)
        .dir(&dir)
        .step_window(StepWindow::OFF)
        .init_with(|_| None)
        .expect("init");
    let media = run.dir().expect("offline").join("files").join("media");
    let mut g = c.benchmark_group("media");
    for (name, pixels) in [("gradient", gradient()), ("noise", noise())] {
        let side = u32::try_from(SIDE).expect("small");
        let size = Image::from_rgb(side, side, &pixels).expect("rgb").size();
        eprintln!("224x224 RGB {name}: PNG of {size} bytes");
        g.bench_function(format!("image 224x224 rgb {name}: encode + hash"), |b| {
            b.iter(|| black_box(Image::from_rgb(side, side, black_box(&pixels)).expect("rgb")));
        });
        g.bench_function(
            format!("image 224x224 rgb {name}: encode + hash + log (write)"),
            |b| {
                b.iter_custom(|iters| {
                    let start = Instant::now();
                    for _ in 0..iters {
                        let image = Image::from_rgb(side, side, black_box(&pixels)).expect("rgb");
                        run.log([("samples", image)]).expect("log");
                    }
                    let took = start.elapsed();
                    std::fs::remove_dir_all(&media).expect("delete the sample's files");
                    took
                });
            },
        );
    }
    let values = normal_values(1000);
    g.bench_function("histogram 1,000 values: make", |b| {
        b.iter(|| black_box(Histogram::from_values(black_box(&values)).expect("finite")));
    });
    g.bench_function("histogram 1,000 values: make + log", |b| {
        b.iter(|| {
            let h = Histogram::from_values(black_box(&values)).expect("finite");
            run.log([("weights", h)]).expect("log")
        });
    });
    g.finish();
    run.finish(0).expect("finish");
    std::fs::remove_dir_all(&dir).ok();
}

criterion_group!(benches, bench_media);
criterion_main!(benches);
