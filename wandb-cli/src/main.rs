//! `wandb-rs`: the command line of wandb-rs.
//!
//! `wandb-rs sweep check FILE...` lints sweep configs, `wandb-rs sweep grid FILE` lists the
//! grid, `wandb-rs sweep schema` prints the JSON Schema; `wandb-rs sweep local FILE` runs a
//! sweep on this machine (trials as child processes, offline runs); `wandb-rs sweep create` and
//! `wandb-rs login` talk to W&B. Exit codes: 0 success (all files
//! valid), 1 invalid config (or a failed trial), 2 usage or I/O error, 130 interrupted.

mod output;
mod remote;
mod sweep;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// wandb-rs: a typed Weights & Biases toolkit.
#[derive(Debug, Parser)]
#[command(name = "wandb-rs", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Check, count and enumerate sweep configs; create and control sweeps on W&B.
    #[command(subcommand)]
    Sweep(sweep::SweepCommand),
    /// Check that an API key is configured (WANDB_API_KEY or netrc); --verify asks W&B.
    Login {
        /// Verify the key with W&B (the Viewer query).
        #[arg(long)]
        verify: bool,
    },
}

/// How a command ended; mapped to the process exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    /// Everything was valid (exit 0).
    Ok,
    /// A config was invalid (exit 1).
    Invalid,
    /// A file could not be read or written (exit 2).
    IoError,
    /// Ctrl-C or SIGTERM ended the command early (exit 130).
    Interrupted,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let outcome = match cli.command {
        Command::Sweep(cmd) => sweep::run(cmd),
        Command::Login { verify } => remote::login(verify),
    };
    match outcome {
        Outcome::Ok => ExitCode::SUCCESS,
        Outcome::Invalid => ExitCode::from(1),
        Outcome::IoError => ExitCode::from(2),
        Outcome::Interrupted => ExitCode::from(sweep::interrupt::INTERRUPTED_EXIT),
    }
}
