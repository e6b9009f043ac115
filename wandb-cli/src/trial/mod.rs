//! What `wandb-rs agent` and `wandb-rs sweep local` share about trials that are child
//! processes: one way to stop them (SIGTERM, then SIGKILL after the kill delay), one set of
//! Ctrl-C rules ([`Interrupts`]), one failure message.

mod interrupt;
mod running;

use std::time::Duration;

pub(crate) use interrupt::{INTERRUPTED_EXIT, Interrupts, Level};
pub(crate) use running::RunningTrial;

/// The official default of `WANDB_AGENT_KILL_DELAY` (seconds).
const DEFAULT_KILL_DELAY: f64 = 30.0;

/// `--kill-delay`, shared by the commands that run trials.
#[derive(Debug, clap::Args)]
pub(crate) struct KillDelayArg {
    /// Seconds between SIGTERM and SIGKILL when a trial is stopped (default
    /// WANDB_AGENT_KILL_DELAY, else 30).
    #[arg(long = "kill-delay", value_name = "SECONDS")]
    seconds: Option<f64>,
}

impl KillDelayArg {
    /// `--kill-delay`, else `WANDB_AGENT_KILL_DELAY`, else 30 s.
    pub(crate) fn resolve(&self) -> Result<Duration, String> {
        let seconds = self
            .seconds
            .or_else(|| {
                std::env::var("WANDB_AGENT_KILL_DELAY")
                    .ok()
                    .and_then(|v| v.trim().parse().ok())
            })
            .unwrap_or(DEFAULT_KILL_DELAY);
        seconds_arg(seconds, "--kill-delay")
    }
}

/// A number of seconds given as an option, as a duration (negative, NaN or huge: an error).
pub(crate) fn seconds_arg(seconds: f64, option: &str) -> Result<Duration, String> {
    Duration::try_from_secs_f64(seconds)
        .map_err(|_| format!("{option}: {seconds} is not a number of seconds"))
}
