//! Sweeps that run things: W&B sweep agents that take runs from a sweep's server-side
//! controller (trials as closures in this process, or as child processes), local sweeps that
//! need no server, and the child-process control both use.
//!
//! - [`Agent`]: a W&B sweep's trials as closures in this process, each handed an online
//!   [`wandb_log::Run`] attached to the sweep; [`AgentSession`] and [`TrialLaunch`] serve
//!   agents that run trials as programs (`wandb-rs agent`).
//! - [`LocalSweep`]: grid, random and bayes sweeps with hyperband on this machine, no server
//!   and no account; each trial an offline run that `wandb sync` uploads.
//! - [`TrialProcess`]: a trial as a child process (argv, environment, its own process group,
//!   SIGTERM then SIGKILL, a bounded output tail), for any controller; [`StdoutMetrics`] reads
//!   metrics from the output of programs that do not use W&B.
//!
//! A trainer that only logs needs `wandb-log` alone; this crate adds process control and
//! sweep controllers on top of it.

pub mod agent;
mod error;
pub mod local_sweep;
mod stdout_metrics;
pub mod trial_process;

pub use agent::{Agent, AgentOutcome, AgentReport, AgentSession, SweepPath, TrialLaunch};
pub use error::Error;
pub use local_sweep::{LocalSweep, SweepReport};
pub use stdout_metrics::StdoutMetrics;
pub use trial_process::{OutputLine, OutputTail, Stream, TrialCommand, TrialExit, TrialProcess};
