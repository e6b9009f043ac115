//! `wandb-rs`: the command line of wandb-rs.
//!
//! `wandb-rs sweep check FILE...` lints sweep configs, `wandb-rs sweep grid FILE` lists the
//! grid, `wandb-rs sweep schema` prints the JSON Schema; `wandb-rs sweep local FILE` runs a
//! sweep on this machine (trials as child processes, offline runs); `wandb-rs sweep create` and
//! `wandb-rs login` talk to W&B; `wandb-rs sync DIR` uploads offline runs; `wandb-rs agent
//! SWEEP` runs a sweep's trials.
//!
//! Exit codes, one meaning each in every command: 0 success; 1 an invalid sweep config
//! (`agent`: too many failed trials; `sweep local`: a failed trial); 2 a usage, I/O,
//! configuration or W&B error (a refused or missing API key, a request W&B rejected, an
//! unreachable server); 3 the sweep was cancelled or deleted and 4 it is paused (`agent`);
//! 130 interrupted (`agent`, `sweep local`).

mod agent;
mod output;
mod remote;
mod report;
mod sweep;
mod sync;
mod trial;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// wandb-rs: a typed Weights & Biases toolkit.
///
/// Exit codes, the same in every command: 0 success; 1 an invalid sweep config (agent: too
/// many failed trials; sweep local: a failed trial); 2 a usage, I/O, configuration or W&B
/// error (a refused or missing API key, a request W&B rejected, an unreachable server);
/// 3 sweep cancelled or deleted, 4 sweep paused (agent); 130 interrupted.
#[derive(Debug, Parser)]
#[command(name = "wandb-rs", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Check, count and enumerate sweep configs; create and control sweeps on W&B.
    ///
    /// Exit codes: 0 success, 1 an invalid sweep config (sweep local: a failed trial), 2 a
    /// usage, I/O or W&B error (a refused or missing API key, a request W&B rejected, an
    /// unreachable server), 130 interrupted (sweep local).
    #[command(subcommand)]
    Sweep(sweep::SweepCommand),
    /// Run a W&B sweep's trials as child processes (like `wandb agent`).
    ///
    /// Exit codes: 0 done (count reached, or no runs left: grid exhausted, run_cap, or the
    /// sweep is finished or was stopped by its owner), 1 too many failed trials, 2 usage or
    /// W&B errors (also: API key refused, or 10 heartbeats in a row failed), 3 sweep
    /// cancelled or deleted, 4 sweep paused, 130 interrupted.
    Agent(agent::AgentArgs),
    /// Check that an API key is configured (WANDB_API_KEY or netrc); --verify asks W&B.
    ///
    /// Exit codes: 0 a key is configured (and, with --verify, accepted), 2 no key, or W&B
    /// refused it or could not be reached.
    Login {
        /// Verify the key with W&B (the Viewer query).
        #[arg(long)]
        verify: bool,
    },
    /// Upload run directories (wandb/offline-run-…) from their .wandb logs, like `wandb sync`.
    Sync {
        /// Run directories (or .wandb files).
        #[arg(required = true)]
        dirs: Vec<std::path::PathBuf>,
        /// The entity to upload to (else the log's, else WANDB_ENTITY).
        #[arg(long)]
        entity: Option<String>,
        /// The project to upload to (else the log's, else WANDB_PROJECT).
        #[arg(long)]
        project: Option<String>,
        /// Sync runs marked synced again (run-<id>.wandb.synced); the rows the server holds
        /// are still not sent twice.
        #[arg(long)]
        include_synced: bool,
        /// Every this many seconds (0 to 86400), a line on stderr with the rows sent so far
        /// and why the upload waits, if it does (0: none).
        #[arg(long, value_name = "SECONDS", default_value_t = 5.0, value_parser = sync::progress_seconds)]
        progress: f64,
    },
    /// Write one HTML file with the runs' learning curves, a run table and, for a local
    /// sweep, the parameter charts; it opens in any browser, offline. No account needed.
    ///
    /// Exit codes: 0 written (unreadable runs are skipped and listed), 1 an invalid --config,
    /// 2 no runs found, a path or the output cannot be read or written.
    Report(report::ReportArgs),
}

/// The process's environment without the variables whose name or value is not UTF-8
/// (`std::env::vars` panics on them; no W&B variable or `${envvar:…}` can use them).
fn utf8_env<C: FromIterator<(String, String)>>() -> C {
    std::env::vars_os()
        .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
        .collect()
}

/// How a command ended; mapped to the process exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    /// Everything was valid (exit 0).
    Ok,
    /// A config was invalid (exit 1).
    Invalid,
    /// A usage, I/O, configuration or W&B error: a file could not be read or written, the
    /// API key is missing or refused, W&B rejected a request or cannot be reached (exit 2).
    IoError,
    /// The sweep was cancelled or deleted (exit 3).
    SweepOver,
    /// The sweep is paused (exit 4).
    SweepPaused,
    /// Interrupted by a signal (exit 130).
    Interrupted,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let outcome = match cli.command {
        Command::Sweep(cmd) => sweep::run(cmd),
        Command::Agent(args) => agent::run(&args),
        Command::Login { verify } => remote::login(verify),
        Command::Sync {
            dirs,
            entity,
            project,
            include_synced,
            progress,
        } => sync::sync(
            &dirs,
            &sync::Target { entity, project },
            include_synced,
            progress,
        ),
        Command::Report(args) => report::run(&args),
    };
    match outcome {
        Outcome::Ok => ExitCode::SUCCESS,
        Outcome::Invalid => ExitCode::from(1),
        Outcome::IoError => ExitCode::from(2),
        Outcome::SweepOver => ExitCode::from(3),
        Outcome::SweepPaused => ExitCode::from(4),
        Outcome::Interrupted => ExitCode::from(trial::INTERRUPTED_EXIT),
    }
}
