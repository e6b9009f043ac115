//! `wandb-rs agent SWEEP`: runs a W&B sweep's trials as child processes, as the official
//! `wandb agent` does (same argv, environment and `config-<run>.yaml`, so Python programs
//! using `wandb` and Rust programs using `wandb-log` both attach to their sweep run).
//!
//! Exit codes: 0 the agent ran its `--count` trials, or the sweep has no runs left (grid
//! exhausted or `run_cap` reached) or is finished (`FINISHED`: a completed grid, or stopped
//! by its owner; the server does not tell them apart); 1 too many trials failed; 2 usage, configuration or
//! W&B errors (unknown sweep, network; also a refused API key or 10 failed heartbeats in a
//! row while running); 3 the sweep was cancelled or deleted;
//! 4 the sweep is paused; 130 interrupted (Ctrl-C or SIGTERM: running trials get SIGTERM, a
//! second signal SIGKILLs them).

mod child_trial;
mod slot;

use std::sync::Arc;
use std::time::Duration;

use wandb_agent::StdoutMetrics;
use wandb_agent::agent::{
    AgentOutcome, AgentSession, FailurePolicy, FailureTracker, SessionOptions, SweepPath,
    TrialRecord, TrialStatus,
};
use wandb_api::Client;

use crate::trial::{Interrupts, KillDelayArg, Level, seconds_arg};
use crate::{Outcome, output};
use child_trial::TrialContext;
use slot::Slot;

/// How often the agent looks at its children and the server's commands.
const POLL: Duration = Duration::from_millis(50);

/// `wandb-rs agent` options.
#[derive(Debug, clap::Args)]
pub(crate) struct AgentArgs {
    /// The sweep: SWEEP_ID, PROJECT/SWEEP_ID or ENTITY/PROJECT/SWEEP_ID.
    sweep: String,
    /// Stop after this many trials.
    #[arg(long)]
    count: Option<u64>,
    /// Run one trial per GPU in parallel, each with CUDA_VISIBLE_DEVICES set to its GPU
    /// (comma-separated ids, e.g. 0,1,2,3).
    #[arg(long, value_delimiter = ',')]
    gpus: Vec<String>,
    /// NAME=REGEX (repeatable): for programs that do not use W&B, log the regex's capture
    /// group from each matching stdout line as metric NAME, to a run the agent creates.
    #[arg(long = "metric", value_name = "NAME=REGEX")]
    metrics: Vec<String>,
    #[command(flatten)]
    kill_delay: KillDelayArg,
    /// Stop after this many failed trials in a row.
    #[arg(long, value_name = "N")]
    max_consecutive_failures: Option<u32>,
    /// Output lines of a failed trial to report.
    #[arg(long, default_value_t = 20, value_name = "LINES")]
    tail: usize,
    /// Seconds between heartbeats (at least 0.1).
    #[arg(long, default_value_t = 5.0, value_name = "SECONDS")]
    heartbeat: f64,
    /// Seconds between reads of the sweep's state while the agent is idle (a paused sweep
    /// ends the agent with exit code 4; at least 0.1).
    #[arg(long, default_value_t = 30.0, value_name = "SECONDS")]
    state_check: f64,
}

/// `wandb-rs agent SWEEP`.
pub(crate) fn run(args: &AgentArgs) -> Outcome {
    match Supervisor::start(args) {
        Ok(mut supervisor) => {
            let outcome = supervisor.run();
            report(&outcome, &supervisor.records);
            exit_outcome(&outcome)
        }
        Err(message) => {
            output::error(&format!("error: {message}"));
            Outcome::IoError
        }
    }
}

/// The exit code of each way the agent ends (see the module docs).
fn exit_outcome(outcome: &AgentOutcome) -> Outcome {
    match outcome {
        AgentOutcome::CountReached(_) | AgentOutcome::NoRunsLeft | AgentOutcome::SweepFinished => {
            Outcome::Ok
        }
        AgentOutcome::TooManyFailures(_) => Outcome::Invalid,
        AgentOutcome::SweepPaused => Outcome::SweepPaused,
        AgentOutcome::Interrupted => Outcome::Interrupted,
        AgentOutcome::ConnectionLost(_) => Outcome::IoError,
        _ => Outcome::SweepOver,
    }
}

fn report(outcome: &AgentOutcome, records: &[TrialRecord]) {
    let count = |f: fn(&TrialStatus) -> bool| records.iter().filter(|r| f(&r.status)).count();
    let failed = count(|s| matches!(s, TrialStatus::Failed { .. }));
    let stopped = count(|s| matches!(s, TrialStatus::Stopped { .. }));
    output::error(&format!(
        "wandb-rs agent: {} trials ({} succeeded, {failed} failed, {stopped} stopped); {outcome}",
        records.len(),
        count(|s| *s == TrialStatus::Succeeded),
    ));
    for r in records.iter().filter(|r| r.upload_error.is_some()) {
        output::error(&format!(
            "wandb-rs agent: run {}: upload incomplete: {}",
            r.run_id,
            r.upload_error.as_deref().unwrap_or_default()
        ));
    }
}

/// The agent: its slots, limits and trial records.
struct Supervisor {
    slots: Vec<Slot>,
    ctx: TrialContext,
    tracker: FailureTracker,
    count: Option<u64>,
    started: u64,
    records: Vec<TrialRecord>,
    stopping: Option<AgentOutcome>,
    interrupts: Interrupts,
}

impl Supervisor {
    fn start(args: &AgentArgs) -> Result<Supervisor, String> {
        let sweep: SweepPath = args.sweep.parse().map_err(|e| format!("{e}"))?;
        let metrics = match args.metrics.is_empty() {
            true => None,
            false => Some(Arc::new(
                StdoutMetrics::from_specs(&args.metrics).map_err(|e| e.to_string())?,
            )),
        };
        let (options, kill_delay) = timing(args)?;
        let client = Client::from_env().map_err(|e| e.to_string())?;
        let slots = start_slots(&client, &sweep, &options, &args.gpus)?;
        let session = slots.first().ok_or("no GPU slot")?.session();
        let ctx = TrialContext {
            api: client.settings().clone(),
            sweep: session.sweep().clone(),
            config_yaml: session.config_yaml().map(str::to_owned),
            wandb_dir: wandb_dir()?,
            env: crate::utf8_env(),
            metrics,
            tail_lines: args.tail,
            kill_delay,
        };
        let mut policy = FailurePolicy::from_env(|k| std::env::var(k).ok());
        policy.max_consecutive_failures = args.max_consecutive_failures;
        output::error(&format!(
            "wandb-rs agent: running sweep {} with {} slot(s)",
            ctx.sweep,
            slots.len()
        ));
        Ok(Supervisor {
            slots,
            ctx,
            tracker: FailureTracker::new(policy),
            count: args.count,
            started: 0,
            records: Vec::new(),
            stopping: None,
            interrupts: Interrupts::install("agent"),
        })
    }

    /// Runs until the sweep or the agent's limits end it, and every child has ended.
    fn run(&mut self) -> AgentOutcome {
        loop {
            if let Some(level) = self.interrupts.take() {
                self.interrupt(level);
            }
            for i in 0..self.slots.len() {
                self.slots[i].take_events();
                self.collect(i);
                self.launch(i);
            }
            let busy = self.slots.iter().any(|s| s.trial.is_some());
            if let Some(outcome) = self.finished_outcome()
                && !busy
            {
                return outcome;
            }
            std::thread::sleep(POLL);
        }
    }

    /// First interrupt: no new trials, SIGTERM to the running ones; later ones: SIGKILL.
    fn interrupt(&mut self, level: Level) {
        self.stopping = Some(AgentOutcome::Interrupted);
        match level {
            Level::Kill => self.slots.iter_mut().for_each(Slot::kill),
            _ => self.slots.iter_mut().for_each(Slot::terminate),
        }
    }

    /// Records the slot's trial once it has ended.
    fn collect(&mut self, i: usize) {
        let Some((trial, exit)) = self.slots[i].poll(&self.ctx) else {
            return;
        };
        let stopped = trial.was_stopped();
        let record = trial.finish(exit);
        self.record(record, stopped);
    }

    fn record(&mut self, record: TrialRecord, stopped_by_agent: bool) {
        // A trial the agent stopped did not fail by itself.
        if !stopped_by_agent
            && let Some(why) = self.tracker.record(record.succeeded())
            && self.stopping.is_none()
        {
            self.stopping = Some(AgentOutcome::TooManyFailures(why));
            self.slots.iter_mut().for_each(Slot::terminate);
        }
        self.records.push(record);
    }

    /// Starts the slot's next trial if the agent's limits allow it.
    fn launch(&mut self, i: usize) {
        let under_count = self.count.is_none_or(|n| self.started < n);
        if self.stopping.is_some() || !under_count || !self.slots[i].can_start() {
            return;
        }
        self.started += 1;
        if let Err((run_id, message)) = self.slots[i].start_next(&self.ctx) {
            output::error(&format!(
                "wandb-rs agent: run {run_id} could not start: {message}"
            ));
            let record = TrialRecord {
                run_id,
                status: TrialStatus::Failed { message },
                stop_requested: false,
                upload_error: None,
            };
            self.record(record, false);
        }
    }

    /// Why the agent ends, once it must (it still waits for running children).
    fn finished_outcome(&self) -> Option<AgentOutcome> {
        if let Some(o) = &self.stopping {
            return Some(o.clone());
        }
        if let Some(n) = self.count
            && self.started >= n
        {
            return Some(AgentOutcome::CountReached(n));
        }
        if self.slots.iter().all(|s| s.ended.is_some()) {
            return self.slots.iter().find_map(|s| s.ended.clone());
        }
        None
    }
}

/// The heartbeat interval and the kill delay.
fn timing(args: &AgentArgs) -> Result<(SessionOptions, Duration), String> {
    let options = SessionOptions {
        heartbeat_interval: seconds_arg(args.heartbeat, "--heartbeat")?,
        state_check_interval: seconds_arg(args.state_check, "--state-check")?,
        ..SessionOptions::default()
    };
    Ok((options, args.kill_delay.resolve()?))
}

/// One registered agent per GPU (one in all without `--gpus`).
fn start_slots(
    client: &Client,
    sweep: &SweepPath,
    options: &SessionOptions,
    gpus: &[String],
) -> Result<Vec<Slot>, String> {
    let gpus: Vec<Option<String>> = match gpus.is_empty() {
        true => vec![None],
        false => gpus.iter().map(|g| Some(g.trim().to_owned())).collect(),
    };
    gpus.into_iter()
        .map(|gpu| {
            let session = AgentSession::start(client, sweep.clone(), options.clone())
                .map_err(|e| e.to_string())?;
            Ok(Slot::new(session, gpu))
        })
        .collect()
}

/// `WANDB_DIR`, else the current directory (as the official agent sets it), absolute.
fn wandb_dir() -> Result<std::path::PathBuf, String> {
    let dir: std::path::PathBuf = match std::env::var_os("WANDB_DIR") {
        Some(d) if !d.is_empty() => d.into(),
        _ => ".".into(),
    };
    std::path::absolute(&dir)
        .map_err(|e| format!("cannot resolve WANDB_DIR {}: {e}", dir.display()))
}
