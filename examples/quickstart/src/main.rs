//! Quickstart: check a sweep config, then run it as a local sweep (bayes search, hyperband
//! early termination) over a small MLP trained on two moons, all offline: no account, no
//! network. Prints the leaderboard, where the runs are and how to upload them, and writes an
//! HTML report of the sweep (learning curves, parameter charts) that opens offline.
//!
//! `cargo run --release -p quickstart [SWEEP_DIR]` (default
//! `quickstart-sweep`; running it again resumes that sweep).
#![expect(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "an example program prints its result"
)]

mod mlp;
mod moons;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde::Deserialize;
use wandb_agent::{LocalSweep, SweepReport};
use wandb_log::Run;
use wandb_report::Report;
use wandb_sweep::{EarlyTerminate, SweepConfig};

use crate::mlp::Mlp;
use crate::moons::{Sample, two_moons};

/// The sweep this quickstart runs.
const SWEEP: (&str, &str) = (
    "examples/sweeps/quickstart.yaml",
    include_str!("../../sweeps/quickstart.yaml"),
);
/// A grid sweep, to show counting.
const GRID: (&str, &str) = (
    "examples/sweeps/grid.yaml",
    include_str!("../../sweeps/grid.yaml"),
);

/// Trials running at the same time.
const PARALLEL: usize = 2;

/// One trial's hyperparameters, as the sweep suggests them.
#[derive(Debug, Deserialize)]
struct Params {
    lr: f64,
    momentum: f64,
    hidden: usize,
    epochs: u64,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::args_os()
        .nth(1)
        .map_or_else(|| PathBuf::from("quickstart-sweep"), PathBuf::from);
    println!("1. Sweep configs checked:");
    let config = check(SWEEP)?;
    check(GRID)?;

    let data = two_moons(1200, 0.2, 42);
    let (train, val) = data.split_at(800);
    println!(
        "\n2. Local sweep in {}/: bayes search, {PARALLEL} trials at a time, an MLP on two moons \
         ({} training, {} validation points)",
        dir.display(),
        train.len(),
        val.len()
    );
    let started = Instant::now();
    let sweep = LocalSweep::new(config, &dir)
        .parallel(PARALLEL)
        .poll_interval(Duration::from_millis(1));
    let report = sweep.run(|run: Run| fit(&run, train, val))?;
    summarize(&report, started.elapsed());

    let file = report.dir.join("report.html");
    let page = Report::new([&report.dir])
        .sweep_config(sweep.config())
        .write(&file)?;
    for skipped in &page.skipped {
        eprintln!("   report: skipped {skipped}");
    }
    println!(
        "\n5. The report: learning curves, parameters against {}, hyperband's stops and the run \
         table ({} runs, {} charts, {} KB; it opens offline, no account needed):\n   open {}",
        report.metric.as_deref().unwrap_or("the metric"),
        page.runs,
        page.charts.len(),
        page.html.len().div_ceil(1024),
        file.display()
    );
    Ok(())
}

/// Validates a sweep file, prints what it is; the typed config, or the diagnostics.
fn check((name, text): (&str, &str)) -> Result<SweepConfig, Box<dyn std::error::Error>> {
    let report = wandb_sweep::check(text);
    for d in report.diagnostics() {
        eprint!("{}", d.render(name, text));
    }
    let grid = report.grid();
    let config = report.into_result()?;
    let runs = match grid {
        Some(grid) => grid.to_string(),
        None => "continuous parameters: sampled".to_owned(),
    };
    println!(
        "   {name}: valid, method {}, {runs}",
        config.method.as_str()
    );
    if let Some(EarlyTerminate::Hyperband(hb)) = &config.early_terminate {
        println!("     hyperband: {}", hb.describe());
    }
    Ok(config)
}

/// One trial: trains for `epochs` epochs (fewer when hyperband stops it), logging the
/// training loss and the validation loss and accuracy after each.
fn fit(run: &Run, train: &[Sample], val: &[Sample]) -> Result<(), Box<dyn std::error::Error>> {
    let p: Params = run.config()?;
    let mut model = Mlp::new(p.hidden, 7);
    for epoch in 0..p.epochs {
        if run.should_stop() {
            break;
        }
        model.train_epoch(train, p.lr, p.momentum);
        let (fit, held_out) = (model.evaluate(train), model.evaluate(val));
        if !held_out.loss.is_finite() {
            return Err(format!("diverged at epoch {epoch} (lr {:.3})", p.lr).into());
        }
        run.log([
            ("train_loss", fit.loss),
            ("val_loss", held_out.loss),
            ("val_acc", held_out.accuracy),
        ])?;
    }
    Ok(())
}

fn summarize(report: &SweepReport, took: Duration) {
    println!(
        "   {} trials ran now, in {:.1} s\n\n3. Leaderboard (val_loss, lower is better)\n{report}",
        report.started,
        took.as_secs_f64()
    );
    if let Some(best) = report.best() {
        let value = best.metric.unwrap_or(f64::NAN);
        println!(
            "best: run {} (val_loss {value:.5}), parameters {}",
            best.run_id, best.params
        );
    }
    println!(
        "\n4. The runs are offline W&B runs in {}; upload them (W&B account needed) with:\n   {}\n   Run this example again to resume the sweep (delete {} to start over).",
        report.dir.join("wandb").display(),
        report.sync_command(),
        report.dir.display()
    );
}
