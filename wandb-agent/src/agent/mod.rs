//! Sweep agents: take runs from a W&B sweep's server-side controller and run them.
//!
//! * [`Agent`]: trials are closures in this process, each handed an online [`wandb_log::Run`]
//!   attached to the sweep.
//! * [`TrialLaunch`]: what a child-process trial needs (argv from the sweep's `command`
//!   macros, the official agent's environment and `config-<run>.yaml`), for agents that run
//!   programs, such as `wandb-rs agent`; [`crate::TrialProcess`] runs them.
//! * [`AgentSession`]: registration and heartbeats on a thread of their own, the server's
//!   commands as events; both of the above build on it.
//!
//! The protocol is the official `wandb agent`'s (0.31): `createAgent`, then a heartbeat
//! every 5 s reporting the running run ids (`{"<run id>": true}`) and receiving `run`,
//! `stop` and `exit` commands.

mod failure_policy;
mod in_process;
mod outcome;
mod session;
mod sweep_path;
mod sweep_run;
mod trial_launch;

pub use failure_policy::{
    DEFAULT_MAX_INITIAL_FAILURES, FLAPPING_FAILURES, FLAPPING_WINDOW, FailurePolicy, FailureStop,
    FailureTracker,
};
pub use in_process::Agent;
pub use outcome::{AgentOutcome, AgentReport, TrialRecord, TrialStatus};
pub use session::{
    AgentSession, HEARTBEAT_INTERVAL, MAX_FAILED_HEARTBEATS, MIN_INTERVAL, STATE_CHECK_INTERVAL,
    SessionEvent, SessionOptions, StopHook,
};
pub use sweep_path::SweepPath;
pub(crate) use sweep_run::trial_var;
pub use sweep_run::{TRIAL_OWNED_VARS, sweep_run};
pub use trial_launch::{TrialLaunch, param_file_yaml};
