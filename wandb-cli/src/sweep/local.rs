//! `wandb-rs sweep local FILE`: runs a sweep on this machine, no W&B server: trials are child
//! processes of the sweep's command (or of the program after `--`), logged offline in the
//! sweep directory; bayes and hyperband read each child's metric back from its `.wandb` log.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use wandb_agent::{LocalSweep, SweepReport};
use wandb_sweep::{Goal, Grid, Method, SweepConfig};

use super::child_trial::{ChildTrials, absolute_dir, with_program};
use super::load;
use super::progress::Progress;
use crate::trial::{Interrupts, KillDelayArg};
use crate::{Outcome, output};

/// How often hyperband reads the children's logs.
const LOG_POLL: Duration = Duration::from_millis(500);

/// The options of `sweep local`.
#[derive(Debug, clap::Args)]
pub(crate) struct LocalArgs {
    /// Trials at the same time (default 1, or one per GPU with --gpus).
    #[arg(long)]
    parallel: Option<usize>,
    /// Start at most this many trials now (random and bayes need it, or run_cap).
    #[arg(long)]
    count: Option<u64>,
    /// The sweep directory: state and runs (default wandb/local-sweep-<file name>); running
    /// again with the same directory resumes the sweep.
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Run failed trials again before new ones.
    #[arg(long)]
    retry_failed: bool,
    /// Seed of random and bayes choices (fixed when the sweep starts).
    #[arg(long)]
    seed: Option<u64>,
    /// GPUs to share out, comma-separated (`0,1`): each trial gets one as
    /// CUDA_VISIBLE_DEVICES.
    #[arg(long, value_delimiter = ',')]
    gpus: Vec<String>,
    #[command(flatten)]
    kill_delay: KillDelayArg,
    /// The sweep file.
    file: PathBuf,
    /// The program and its arguments (instead of the sweep's command); `${args}` is appended
    /// unless a macro is given.
    #[arg(last = true)]
    program: Vec<String>,
}

pub(super) fn run(args: &LocalArgs) -> Outcome {
    let config = match load(&args.file) {
        Ok(c) => with_program(c, &args.program),
        Err(outcome) => return outcome,
    };
    let interrupts = Arc::new(Interrupts::install("sweep local"));
    match start(args, config, &interrupts) {
        Ok(report) if interrupts.interrupted() => {
            show(&report);
            output::error(
                "interrupted: run the same command again to resume (the stopped trials run again)",
            );
            Outcome::Interrupted
        }
        Ok(report) => show(&report),
        Err(message) => {
            output::error(&format!("error: {message}"));
            Outcome::IoError
        }
    }
}

fn start(
    args: &LocalArgs,
    config: SweepConfig,
    interrupts: &Arc<Interrupts>,
) -> Result<SweepReport, String> {
    if config.command.is_none() && config.program.is_none() {
        return Err("the sweep has no `program` or `command`: add one, or give the program after `--` (wandb-rs sweep local sweep.yaml -- ./train --epochs 10)".into());
    }
    let parallel = args.parallel.unwrap_or(args.gpus.len().max(1));
    if !args.gpus.is_empty() && parallel > args.gpus.len() {
        return Err(format!(
            "--parallel {parallel} needs as many GPUs, but --gpus gives {}: each trial gets one GPU",
            args.gpus.len()
        ));
    }
    let dir = args.dir.clone().unwrap_or_else(|| default_dir(&args.file));
    let dir = absolute_dir(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let mut sweep = LocalSweep::new(config.clone(), &dir)
        .parallel(parallel)
        .retry_failed(args.retry_failed)
        .poll_interval(LOG_POLL)
        .cancel_flag(interrupts.cancel_flag());
    if let Some(count) = args.count {
        sweep = sweep.count(count);
    }
    if let Some(seed) = args.seed {
        sweep = sweep.seed(seed);
    }
    let metric = config.metric.as_ref();
    let progress = Progress::new(
        bound(&config, args.count),
        metric.map(|m| m.name.clone()),
        metric.is_some_and(|m| m.goal == Some(Goal::Maximize)),
    );
    let gpus = (!args.gpus.is_empty())
        .then(|| Mutex::new(args.gpus.iter().cloned().collect::<VecDeque<_>>()));
    let executor = ChildTrials {
        config,
        gpus,
        progress: progress.clone(),
        interrupts: Arc::clone(interrupts),
        kill_delay: args.kill_delay.resolve()?,
    };
    let result = sweep.run_with(&executor);
    progress.finish();
    result.map_err(|e| e.to_string())
}

/// How many trials this invocation runs at most, when known.
fn bound(config: &SweepConfig, count: Option<u64>) -> Option<u64> {
    let grid = (config.method == Method::Grid)
        .then(|| Grid::new(config).ok()?.size().ok())
        .flatten()
        .and_then(|n| u64::try_from(n).ok());
    [count, grid, config.run_cap].into_iter().flatten().min()
}

/// `wandb/local-sweep-<file stem>`.
fn default_dir(file: &Path) -> PathBuf {
    let stem = file
        .file_stem()
        .map_or_else(|| "sweep".into(), |s| s.to_string_lossy());
    PathBuf::from("wandb").join(format!("local-sweep-{stem}"))
}

/// Prints the table, the runs and the upload command; exit 1 when a trial failed.
fn show(report: &SweepReport) -> Outcome {
    output::text(&report.to_string());
    output::line(&format!(
        "\nruns: {} (offline)\nupload: {}",
        report.dir.join("wandb").display(),
        report.sync_command()
    ));
    if report.failures().is_empty() {
        Outcome::Ok
    } else {
        Outcome::Invalid
    }
}
