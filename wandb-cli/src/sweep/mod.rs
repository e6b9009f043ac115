//! `wandb-rs sweep ...`: the sweep inspection commands.

mod check;
mod grid;

use std::path::{Path, PathBuf};

use clap::{Subcommand, ValueEnum};

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
