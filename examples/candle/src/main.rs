//! A local W&B sweep over a candle MLP, offline: validates the embedded sweep config, runs
//! its trials in this process (each an offline run), prints the leaderboard, the best run and
//! the `wandb sync` command that uploads the runs.
//!
//! `cargo run --release -p wandb-candle-example [SWEEP_DIR] [TRIALS]` (default
//! `candle-sweep`, 6 trials; running it again continues that sweep).
#![expect(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "an example program prints its result"
)]

use std::error::Error;
use std::path::PathBuf;

use wandb_agent::LocalSweep;
use wandb_candle_example::{Data, Params, train, two_moons};
use wandb_log::Run;
use wandb_sweep::SweepConfig;

/// Bayes search over the learning rate and the hidden width, minimising the validation loss.
const SWEEP_YAML: &str = "\
method: bayes
metric:
  name: val/loss
  goal: minimize
parameters:
  lr:
    distribution: log_uniform_values
    min: 0.001
    max: 0.3
  hidden:
    values: [4, 8, 16, 32]
  epochs:
    value: 60
";

fn main() -> Result<(), Box<dyn Error>> {
    let mut args = std::env::args().skip(1);
    let dir = PathBuf::from(args.next().unwrap_or_else(|| "candle-sweep".into()));
    let trials: u64 = match args.next() {
        Some(n) => n.parse().map_err(|e| format!("TRIALS `{n}`: {e}"))?,
        None => 6,
    };

    let check = wandb_sweep::check(SWEEP_YAML);
    for diagnostic in check.diagnostics() {
        eprint!("{}", diagnostic.render("sweep.yaml", SWEEP_YAML));
    }
    let config: SweepConfig = check.into_result()?;
    println!("sweep config valid: {} search", config.method.as_str());

    let points = two_moons(600, 0.3, 42);
    let data = Data::new(&points[..450], &points[450..])?;
    let report = LocalSweep::new(config, &dir)
        .count(trials)
        .parallel(2)
        .run(|run: Run| {
            let params: Params = run.config()?;
            train(&run, &params, &data).map(|_| ())
        })?;

    println!("{report}");
    match report.best() {
        Some(best) => println!(
            "best run: {} with val/loss {:.4}, parameters {}",
            best.run_id,
            best.metric.unwrap_or(f64::NAN),
            best.params
        ),
        None => println!("no trial finished"),
    }
    println!("upload the runs with: {}", report.sync_command());
    Ok(())
}
