//! Times the report of many long runs: writes `RUNS` offline runs of `ROWS` rows each (a
//! noisy `loss`, `acc` and `lr` per row, with `_step`, `_runtime`, `_timestamp`) into `DIR`
//! (once; they are reused when they are there), then writes the report three times and
//! prints each time and the page's size.
//!
//! `cargo run --release -p wandb-report --example large_report -- [RUNS] [ROWS] [DIR]`
//! (default 100 runs × 100,000 rows in `large-report-runs`; the runs take about 1.5 GB).
#![expect(clippy::print_stdout, reason = "an example program prints its result")]

use std::path::{Path, PathBuf};
use std::time::Instant;

use wandb_log::{OfflineRun, RunInfo};
use wandb_sweep::Value;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let runs: usize = args.next().map_or(Ok(100), |a| a.parse())?;
    let rows: u32 = args.next().map_or(Ok(100_000), |a| a.parse())?;
    let dir = args
        .next()
        .map_or_else(|| PathBuf::from("large-report-runs"), PathBuf::from);
    let marker = dir.join(format!("complete-{runs}x{rows}"));
    if !marker.exists() {
        let _ = std::fs::remove_dir_all(&dir);
        let started = Instant::now();
        for k in 0..runs {
            write_run(&dir, k, rows)?;
        }
        std::fs::write(&marker, b"")?;
        println!(
            "wrote {runs} runs × {rows} rows in {:.1} s",
            started.elapsed().as_secs_f64()
        );
    }
    let logs = log_bytes(&dir.join("wandb"))?;
    println!(
        "{runs} runs × {rows} rows: {:.0} MB of .wandb logs",
        logs as f64 / 1e6
    );
    let file = dir.join("report.html");
    for attempt in 1..=3 {
        let started = Instant::now();
        let page = wandb_report::Report::new([&dir]).write(&file)?;
        println!(
            "report {attempt}: {:.2} s, {} runs, {} charts, {:.0} KB, {} skipped",
            started.elapsed().as_secs_f64(),
            page.runs,
            page.charts.len(),
            page.html.len() as f64 / 1024.0,
            page.skipped.len()
        );
    }
    Ok(())
}

/// One run: a loss that decays with noise (and a few spikes), an accuracy, a schedule.
fn write_run(dir: &Path, k: usize, rows: u32) -> std::io::Result<()> {
    let config: Value = serde_json::from_str(&format!(
        r#"{{"lr": {}, "seed": {k}}}"#,
        0.001 * (1.0 + k as f64)
    ))
    .map_err(std::io::Error::other)?;
    let info = RunInfo {
        run_id: format!("large{k:03}"),
        config,
        ..RunInfo::default()
    };
    let mut run = OfflineRun::create(dir, &info, 1_700_000_000 + k as i64)?;
    let mut noise = 0x9e37_79b9_7f4a_7c15_u64 ^ k as u64;
    for step in 0..rows {
        noise ^= noise << 13;
        noise ^= noise >> 7;
        noise ^= noise << 17;
        let jitter = (noise % 1000) as f64 / 1000.0;
        let t = f64::from(step) + 1.0;
        let spike = if noise.is_multiple_of(50_000) {
            10.0
        } else {
            0.0
        };
        let row = Value::Map(
            [
                (
                    "loss",
                    1.0 / t.sqrt() + 0.05 * jitter + spike + k as f64 * 0.001,
                ),
                ("acc", 1.0 - 0.5 / t.sqrt() - 0.02 * jitter),
                ("lr", 0.01 * (1.0 - t / f64::from(rows))),
            ]
            .into_iter()
            .map(|(key, v)| (key.to_owned(), Value::from(v)))
            .collect(),
        );
        run.history(i64::from(step), &row, t * 0.01, 1.7e9 + t * 0.01)?;
    }
    run.exit(0, (f64::from(rows) * 0.01) as i32)
}

fn log_bytes(dir: &Path) -> std::io::Result<u64> {
    let mut total = 0;
    for entry in std::fs::read_dir(dir)? {
        for file in std::fs::read_dir(entry?.path())? {
            let file = file?;
            if file.path().extension().is_some_and(|e| e == "wandb") {
                total += file.metadata()?.len();
            }
        }
    }
    Ok(total)
}
