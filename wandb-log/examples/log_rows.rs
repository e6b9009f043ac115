//! The benchmark harness: logs N rows of K metrics and finishes, then prints one JSON line
//! `{"run_id","dir","rows","rows_uploaded","log_ns_per_row","finish_ms","upload_error"}` (a
//! stable interface; `rows_uploaded` and `upload_error` are null offline, and
//! `upload_error` is null when the upload finished).
//!
//! `cargo run --release -p wandb-log --example log_rows -- --rows 1000000 --metrics 10 --mode offline`
//! (`--finish-timeout SECS`, default 30: how long `finish` waits for a slow server;
//! `--rows-per-second R`: paced logging, default unpaced; `--save FILE`: the file is saved
//! with the run, uploaded at the end, and the line gains `"files_uploaded"`, a count).
#![expect(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "an example program prints its result"
)]

use std::time::Instant;

use wandb_log::{Mode, Run};

fn arg(args: &[String], name: &str, default: &str) -> String {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .cloned()
        .unwrap_or_else(|| default.to_owned())
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let rows: u64 = arg(&args, "--rows", "100000").parse().unwrap_or(100_000);
    let metrics: usize = arg(&args, "--metrics", "10").parse().unwrap_or(10);
    let mode = match Mode::parse(&arg(&args, "--mode", "offline")) {
        Ok(m) => m,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    let finish_timeout: u64 = arg(&args, "--finish-timeout", "30").parse().unwrap_or(30);
    let pace: f64 = arg(&args, "--rows-per-second", "0").parse().unwrap_or(0.0);
    let names: Vec<String> = (0..metrics).map(|i| format!("metric_{i}")).collect();
    let run = match Run::builder()
        .project("log-rows")
        .mode(mode)
        .finish_timeout(std::time::Duration::from_secs(finish_timeout))
        .init()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(1);
        }
    };
    let saved = args.iter().any(|a| a == "--save");
    if saved && let Err(e) = run.save(arg(&args, "--save", ""), wandb_log::SavePolicy::End) {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
    let start = Instant::now();
    for step in 0..rows {
        let row: Vec<(&str, f64)> = names
            .iter()
            .enumerate()
            .map(|(i, n)| (n.as_str(), (step as f64 + i as f64) * 0.001))
            .collect();
        if let Err(e) = run.log(row) {
            eprintln!("error: {e}");
            std::process::exit(1);
        }
        if pace > 0.0 {
            // Row `step` is due at step / pace seconds after the start.
            let due = start + std::time::Duration::from_secs_f64((step + 1) as f64 / pace);
            std::thread::sleep(due.saturating_duration_since(Instant::now()));
        }
    }
    let log_ns = start.elapsed().as_nanos() as f64 / rows.max(1) as f64;
    let finish_start = Instant::now();
    let report = match run.finish(0) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(1);
        }
    };
    let mut line = serde_json::json!({
        "run_id": run.id(),
        "dir": report.dir.map(|d| d.display().to_string()),
        "rows": report.rows_written.max(report.rows_logged),
        "rows_uploaded": report.rows_uploaded,
        "log_ns_per_row": log_ns.round(),
        "finish_ms": finish_start.elapsed().as_millis() as u64,
        "upload_error": report.upload_error,
    });
    if saved {
        line["files_uploaded"] = report.files_uploaded.len().into();
    }
    println!("{line}");
}
