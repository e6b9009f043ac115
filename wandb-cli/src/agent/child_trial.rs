//! One trial as a child process: launched as the official agent launches it, its output
//! forwarded (and, with `--metric`, parsed into a run the agent logs itself), stopped with
//! SIGTERM then SIGKILL.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use wandb_agent::agent::{SweepPath, TrialLaunch, TrialRecord, TrialStatus, sweep_run};
use wandb_agent::{StdoutMetrics, Stream, TrialExit};
use wandb_log::{Mode, Run};
use wandb_sweep::Value;

use crate::output;
use crate::trial::RunningTrial;

/// What every trial of the agent shares.
#[derive(Debug)]
pub(crate) struct TrialContext {
    pub(crate) api: wandb_api::Settings,
    pub(crate) sweep: SweepPath,
    pub(crate) config_yaml: Option<String>,
    pub(crate) wandb_dir: PathBuf,
    pub(crate) env: HashMap<String, String>,
    pub(crate) metrics: Option<Arc<StdoutMetrics>>,
    pub(crate) tail_lines: usize,
    pub(crate) kill_delay: Duration,
}

/// A running trial.
#[derive(Debug)]
pub(crate) struct ChildTrial {
    process: RunningTrial,
    /// The run the agent logs `--metric` values to.
    run: Option<Run>,
    /// Where a failed trial's output tail is kept: `<sweep dir>/output-<run>.log`.
    tail_file: PathBuf,
    /// Output lines of a failed trial to report.
    tail_lines: usize,
}

impl ChildTrial {
    /// Launches `run_id` with `params`; `gpu` sets `CUDA_VISIBLE_DEVICES`.
    pub(crate) fn start(
        ctx: &TrialContext,
        run_id: &str,
        program: Option<&str>,
        params: &Value,
        gpu: Option<&str>,
    ) -> Result<ChildTrial, String> {
        let mut launch =
            TrialLaunch::new(ctx.sweep.clone(), run_id, params.clone(), &ctx.wandb_dir);
        let tail_file = launch.sweep_dir().join(format!("output-{run_id}.log"));
        if let Some(p) = program {
            launch = launch.program(p);
        }
        let mut cmd = launch
            .command(ctx.config_yaml.as_deref(), &ctx.env)
            .map_err(|e| e.to_string())?
            .tail_lines(ctx.tail_lines);
        if let Some(g) = gpu {
            cmd = cmd.env("CUDA_VISIBLE_DEVICES", g);
        }
        let run = match &ctx.metrics {
            Some(_) => Some(
                sweep_run(
                    Run::builder(),
                    &ctx.api,
                    &ctx.sweep,
                    run_id,
                    params,
                    Mode::Online,
                )
                .map_err(|e| format!("cannot start the run for --metric: {e}"))?,
            ),
            None => None,
        };
        let prefix = gpu.map(|g| format!("[gpu {g}] ")).unwrap_or_default();
        output::error(&format!(
            "wandb-rs agent: {prefix}starting run {run_id}: {:?}",
            cmd.argv()
        ));
        let forward = Forward {
            prefix,
            metrics: ctx.metrics.clone(),
            run: run.clone(),
        };
        let cmd = cmd.on_line(move |stream, line| forward.line(stream, line));
        let process = match RunningTrial::spawn(run_id, &cmd) {
            Ok(p) => p,
            Err(e) => {
                // The run exists on W&B already: it must not finish as a success.
                let message = e.to_string();
                if let Some(run) = &run
                    && let Err(fe) = run.fail(&format!("the trial could not start: {message}"))
                {
                    output::error(&format!("wandb-rs agent: run {run_id}: {fe}"));
                }
                return Err(message);
            }
        };
        Ok(ChildTrial {
            process,
            run,
            tail_file,
            tail_lines: ctx.tail_lines,
        })
    }

    /// The trial's run id.
    pub(crate) fn run_id(&self) -> &str {
        &self.process.run_id
    }

    /// The exit, once the child has ended (SIGKILL after the kill delay of a stop).
    pub(crate) fn poll(&mut self, kill_delay: Duration) -> Option<TrialExit> {
        self.process.poll(kill_delay)
    }

    /// SIGTERM (the server's `stop`, an interrupt, or the agent's limits).
    pub(crate) fn terminate(&mut self) {
        self.process.terminate();
    }

    /// SIGKILL (the server's `exit`, or a second interrupt).
    pub(crate) fn kill(&mut self) {
        self.process.kill();
    }

    /// Whether the agent stopped it (a stop is not a failure of the trial).
    pub(crate) fn was_stopped(&self) -> bool {
        self.process.was_stopped()
    }

    /// The record of the ended trial; reports a failure with the output tail.
    pub(crate) fn finish(self, exit: TrialExit) -> TrialRecord {
        let stopped = self.process.was_stopped();
        let status = match (exit.success(), stopped) {
            (true, _) => TrialStatus::Succeeded,
            (false, true) => TrialStatus::Stopped {
                message: exit.to_string(),
            },
            (false, false) => TrialStatus::Failed {
                message: self.process.failure(&exit, self.tail_lines),
            },
        };
        let upload_error = self.run.and_then(|run| {
            let done = match &status {
                TrialStatus::Failed { message } => run.fail_with(exit.reported_code(), message),
                _ => run.finish(exit.reported_code()),
            };
            done.map_or_else(|e| Some(e.to_string()), |r| r.upload_error)
        });
        let what = match &status {
            TrialStatus::Failed { message } => match std::fs::write(&self.tail_file, message) {
                Ok(()) => format!(
                    "failed: {message}\n  (kept in {})",
                    self.tail_file.display()
                ),
                Err(_) => format!("failed: {message}"),
            },
            TrialStatus::Stopped { message } => format!("stopped ({message})"),
            _ => "finished".to_owned(),
        };
        output::error(&format!(
            "wandb-rs agent: run {} {what}",
            self.process.run_id
        ));
        TrialRecord {
            run_id: self.process.run_id,
            status,
            stop_requested: stopped,
            upload_error,
        }
    }
}

/// Forwards a child's output lines and logs their metrics.
struct Forward {
    prefix: String,
    metrics: Option<Arc<StdoutMetrics>>,
    run: Option<Run>,
}

impl Forward {
    fn line(&self, stream: Stream, line: &str) {
        let text = format!("{}{line}", self.prefix);
        match stream {
            Stream::Stdout => {
                output::line(&text);
            }
            Stream::Stderr => output::error(&text),
        }
        if stream != Stream::Stdout {
            return;
        }
        if let (Some(metrics), Some(run)) = (&self.metrics, &self.run) {
            let row = metrics.parse(line);
            if !row.is_empty()
                && let Err(e) = run.log(row)
            {
                output::error(&format!("wandb-rs agent: cannot log metrics: {e}"));
            }
        }
    }
}
