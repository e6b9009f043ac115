//! A run with every kind of value the official client logs: at each of `--steps` steps an
//! image `samples` (a generated 32×24 RGB picture) and a histogram `weights` (1,000 values),
//! then a table `predictions`, a saved file `notes.txt`, console lines (from `tracing` and
//! `Run::console`), system metrics sampled every `--stats-interval` seconds while the run stays
//! open at least `--seconds`, and the run's metadata. Prints one JSON line
//! `{"run_id", "dir", "project"}`.
//!
//! `cargo run --release -p wandb-log --example rich_run -- --mode offline --steps 5
//! --stats-interval 1 --seconds 3` (online: `--mode online` with `WANDB_BASE_URL` and
//! `WANDB_API_KEY` set; offline runs upload with `wandb sync DIR`).
#![expect(clippy::print_stdout, reason = "an example program prints its result")]

use std::time::{Duration, Instant};

use tracing_subscriber::layer::SubscriberExt;
use wandb_log::{Histogram, Image, Mode, RowValue, Run, SavePolicy, Table, Value};

/// `--name VALUE` from the command line, else `default`.
fn arg(args: &[String], name: &str, default: &str) -> String {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .map_or_else(|| default.to_owned(), Clone::clone)
}

/// A 32×24 RGB picture that changes with the step: a diagonal gradient with a moving bar.
fn picture(step: u64) -> Vec<u8> {
    let (w, h) = (32_u64, 24_u64);
    let mut pixels = Vec::new();
    for y in 0..h {
        for x in 0..w {
            let bar = (x + step * 3) % w < 4;
            let [r, g, b] = [x * 255 / w, y * 255 / h, if bar { 255 } else { 40 }]
                .map(|c| u8::try_from(c.min(255)).unwrap_or(u8::MAX));
            pixels.extend([r, g, b]);
        }
    }
    pixels
}

/// 1,000 bell-shaped values (sums of evenly spread ones), shifted by the step.
fn weights(step: u64) -> Vec<f64> {
    let shift = f64::from(u32::try_from(step).unwrap_or(u32::MAX)) * 0.1;
    (0..1000)
        .map(|i| f64::from(i % 10 + i % 7 + i % 13) / 10.0 - 1.4 + shift)
        .collect()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mode = Mode::parse(&arg(&args, "--mode", "offline"))?;
    let steps: u64 = arg(&args, "--steps", "5").parse()?;
    let interval: f64 = arg(&args, "--stats-interval", "15").parse()?;
    let seconds: f64 = arg(&args, "--seconds", "0").parse()?;
    let started = Instant::now();
    let run = Run::builder()
        .project(arg(&args, "--project", "rich-run"))
        .mode(mode)
        .stats_interval(Duration::try_from_secs_f64(interval)?)
        .init()?;
    tracing::subscriber::set_global_default(
        tracing_subscriber::registry().with(run.console_layer()),
    )?;
    tracing::info!(target: "rich_run", steps, "training starts");
    let pixels_of = |step| Image::from_pixels(&picture(step), &[24, 32, 3]);
    for step in 0..steps {
        let row: Vec<(&str, RowValue)> = vec![
            (
                "samples",
                pixels_of(step)?.with_caption(format!("step {step}")).into(),
            ),
            ("weights", Histogram::from_values(&weights(step))?.into()),
            ("loss", (1.0 / (1.0 + step as f64)).into()),
        ];
        run.log(row)?;
    }
    let table = Table::new(["id", "label", "score"])
        .with_row([Value::from(0), "cat".into(), 0.9.into()])?
        .with_row([Value::from(1), "dog".into(), 0.2.into()])?;
    run.log([("predictions", table)])?;
    let notes = std::env::temp_dir().join(format!("rich-run-notes-{}.txt", run.id()));
    std::fs::write(&notes, format!("run {} logged {steps} steps\n", run.id()))?;
    run.save_as(&notes, "notes.txt", SavePolicy::Now)?;
    run.console("a line from Run::console")?;
    tracing::warn!(target: "rich_run", "waiting for the system-metrics sampler");
    let open_for = Duration::try_from_secs_f64(seconds)?;
    std::thread::sleep(open_for.saturating_sub(started.elapsed()));
    let report = run.finish(0)?;
    std::fs::remove_file(&notes).ok();
    let line = serde_json::json!({
        "run_id": run.id(),
        "dir": report.dir.map(|d| d.display().to_string()),
        "project": arg(&args, "--project", "rich-run"),
        "upload_error": report.upload_error,
        "file_errors": report.file_errors,
    });
    println!("{line}");
    Ok(())
}
