//! `wandb-rs sweep ...`: the sweep inspection commands.

mod check;
mod child_log;
mod child_trial;
mod command;
mod grid;
mod hyperband;
mod local;
mod ppf;
mod progress;
mod suggest;

use std::path::{Path, PathBuf};

use clap::{Subcommand, ValueEnum};
use wandb_api::SweepState;

use crate::{Outcome, output};

/// The sweep subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum SweepCommand {
    /// Validate sweep YAML/JSON files: located errors and warnings, method and grid size.
    Check {
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
        /// The sweep files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// List the grid points in the engine's order, one per line.
    Grid {
        /// Stop after this many points.
        #[arg(long)]
        limit: Option<u128>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
        /// The sweep file.
        file: PathBuf,
    },
    /// Print the JSON Schema of sweep configs (for editors).
    Schema,
    /// Print each sampled parameter's value at the given quantiles (the engine's ppf).
    Ppf {
        /// Comma-separated quantiles in [0, 1].
        #[arg(long, value_delimiter = ',', default_values_t = [0.0, 0.001, 0.1, 0.5, 0.9, 0.999, 1.0])]
        u: Vec<f64>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
        /// The sweep file.
        file: PathBuf,
    },
    /// Show the hyperband schedule, and which running runs it stops.
    Hyperband {
        /// Runs in W&B's format: a JSON list of {name, state, history or sampledHistory}.
        #[arg(long)]
        runs: Option<PathBuf>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
        /// The sweep file.
        file: PathBuf,
    },
    /// Print the command line a run gets (dry run): one argv element per argument.
    Command {
        /// The run's parameters as a JSON object.
        #[arg(long)]
        params: String,
        /// The run id (names the `${args_json_file}` file, `config-<id>.json`).
        #[arg(long)]
        run_id: Option<String>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
        /// The sweep file.
        file: PathBuf,
    },
    /// Create the sweep on W&B (validated locally first); prints its id and URL.
    Create {
        /// The entity (else the config's, WANDB_ENTITY, your default entity).
        #[arg(long)]
        entity: Option<String>,
        /// The project (else the config's, WANDB_PROJECT).
        #[arg(long)]
        project: Option<String>,
        /// The sweep file.
        file: PathBuf,
    },
    /// Stop a sweep: running runs finish, no new ones start.
    Stop {
        /// `[entity/][project/]sweep_id`.
        sweep: String,
    },
    /// Pause a sweep.
    Pause {
        /// `[entity/][project/]sweep_id`.
        sweep: String,
    },
    /// Resume a paused sweep.
    Resume {
        /// `[entity/][project/]sweep_id`.
        sweep: String,
    },
    /// Cancel a sweep: running runs are killed.
    Cancel {
        /// `[entity/][project/]sweep_id`.
        sweep: String,
    },
    /// Run the sweep on this machine, no W&B server: trials are child processes of the
    /// sweep's command (or the program after `--`), logged offline; resumable.
    Local(local::LocalArgs),
    /// Print the next run's parameters (grid, random or bayes), or why the sweep is done.
    Suggest {
        /// Runs so far, in W&B's format.
        #[arg(long)]
        runs: Option<PathBuf>,
        /// Seed for random choices.
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// The sweep file.
        file: PathBuf,
    },
}

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Format {
    /// For people.
    Text,
    /// One JSON object per line, for tools.
    Json,
}

pub(crate) fn run(cmd: SweepCommand) -> Outcome {
    match cmd {
        SweepCommand::Check { format, files } => check::run(&files, format),
        SweepCommand::Grid {
            limit,
            format,
            file,
        } => grid::run(&file, limit, format),
        SweepCommand::Ppf { u, format, file } => ppf::run(&file, &u, format),
        SweepCommand::Hyperband { runs, format, file } => {
            hyperband::run(&file, runs.as_deref(), format)
        }
        SweepCommand::Command {
            params,
            run_id,
            format,
            file,
        } => command::run(&file, &params, run_id.as_deref(), format),
        SweepCommand::Local(args) => local::run(&args),
        SweepCommand::Suggest { runs, seed, file } => suggest::run(&file, runs.as_deref(), seed),
        SweepCommand::Create {
            entity,
            project,
            file,
        } => crate::remote::create_sweep(&file, entity.as_deref(), project.as_deref()),
        SweepCommand::Stop { sweep } => crate::remote::set_state(&sweep, SweepState::Finished),
        SweepCommand::Pause { sweep } => crate::remote::set_state(&sweep, SweepState::Paused),
        SweepCommand::Resume { sweep } => crate::remote::set_state(&sweep, SweepState::Running),
        SweepCommand::Cancel { sweep } => crate::remote::set_state(&sweep, SweepState::Canceled),
        SweepCommand::Schema => {
            let schema = wandb_sweep::json_schema();
            let text = serde_json::to_string_pretty(&schema).unwrap_or_default();
            output::line(&text);
            Outcome::Ok
        }
    }
}

/// Reads a file, reporting failure on stderr.
fn read(path: &Path) -> Option<String> {
    match std::fs::read_to_string(path) {
        Ok(text) => Some(text),
        Err(e) => {
            output::error(&format!("error: cannot read {}: {e}", path.display()));
            None
        }
    }
}

/// Reads and checks a sweep file; prints the errors and returns `Err` with the outcome
/// when it cannot be used.
pub(crate) fn load(path: &Path) -> Result<wandb_sweep::SweepConfig, Outcome> {
    let text = read(path).ok_or(Outcome::IoError)?;
    let file = path.display().to_string();
    let report = wandb_sweep::check(&text);
    for d in report.errors() {
        output::error(d.render(&file, &text).trim_end());
    }
    report.into_result().map_err(|_| Outcome::Invalid)
}

/// The checked sweep file and its runs file, read as Python's `json.dump` and W&B history
/// write it: JSON plus the bare tokens `NaN`, `Infinity` and `-Infinity`. A diverging metric
/// is logged as exactly those; the searches and hyperband drop non-finite metric values the
/// way the engine does.
fn load_with_runs(
    path: &Path,
    runs: Option<&Path>,
) -> Result<(wandb_sweep::SweepConfig, Vec<wandb_sweep::Run>), Outcome> {
    Ok((load(path)?, read_runs(runs)?))
}

/// Reads a runs file (W&B's run format, extended JSON).
fn read_runs(path: Option<&Path>) -> Result<Vec<wandb_sweep::Run>, Outcome> {
    use serde::Deserialize;
    let Some(path) = path else {
        return Ok(Vec::new());
    };
    let text = read(path).ok_or(Outcome::IoError)?;
    wandb_api::parse_extended_json(&text)
        .map_err(|e| e.to_string())
        .and_then(|value| Vec::<wandb_sweep::Run>::deserialize(value).map_err(|e| e.to_string()))
        .map_err(|e| {
            output::error(&format!(
                "error: {}: not a JSON list of runs: {e}",
                path.display()
            ));
            Outcome::IoError
        })
}
