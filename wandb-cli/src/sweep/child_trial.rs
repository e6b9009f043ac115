//! Trials as child processes, started as the official `wandb agent` starts them: the sweep's
//! command line, `WANDB_RUN_ID` and `WANDB_SWEEP_PARAM_PATH` (a `config-<run>.yaml` of
//! `{param: {value: v}}`), offline mode in the sweep directory; hyperband and Ctrl-C stop a
//! child as the agent does ([`RunningTrial`]: SIGTERM, then SIGKILL after the kill delay; a
//! second Ctrl-C: SIGKILL at once).

use std::collections::VecDeque;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use wandb_agent::agent::{TRIAL_OWNED_VARS, param_file_yaml};
use wandb_agent::local_sweep::{Trial, TrialExecutor};
use wandb_agent::{Stream, TrialCommand, TrialExit};
use wandb_sweep::{CommandContext, SweepConfig, Value, python_json};

use super::child_log::ChildLog;
use super::progress::Progress;
use crate::trial::{Interrupts, Level, RunningTrial};
/// How often a worker looks at its child.
const CHILD_POLL: Duration = Duration::from_millis(50);

/// Variables of this process that would attach a child to another sweep or server run:
/// `WANDB_SERVICE` and the run's own ([`TRIAL_OWNED_VARS`], those the trial needs are set
/// again). `WANDB_SWEEP_ID` in particular: a run carrying a sweep id that W&B does not know
/// is not uploaded by `wandb sync` ("sweep not found"), so local trials join the group
/// `sweep-<id>` instead.
fn not_inherited() -> impl Iterator<Item = &'static str> {
    std::iter::once("WANDB_SERVICE").chain(TRIAL_OWNED_VARS)
}

/// Runs each trial as a child process.
pub(super) struct ChildTrials {
    /// The config whose `command` (or `program`) gives the argv.
    pub(super) config: SweepConfig,
    /// Free GPUs (`CUDA_VISIBLE_DEVICES` values), one per running trial.
    pub(super) gpus: Option<Mutex<VecDeque<String>>>,
    pub(super) progress: Progress,
    /// Ctrl-C: the first stops the children, a second kills them.
    pub(super) interrupts: Arc<Interrupts>,
    /// Between SIGTERM and SIGKILL.
    pub(super) kill_delay: Duration,
}

impl TrialExecutor for ChildTrials {
    fn execute(&self, trial: &Trial) -> Result<(), String> {
        let gpu = self.take_gpu();
        let result = self.run_child(trial, gpu.as_deref());
        if let (Some(pool), Some(gpu)) = (&self.gpus, gpu) {
            lock(pool).push_back(gpu);
        }
        result
    }
}

impl ChildTrials {
    fn take_gpu(&self) -> Option<String> {
        self.gpus.as_ref().and_then(|pool| lock(pool).pop_front())
    }

    fn run_child(&self, trial: &Trial, gpu: Option<&str>) -> Result<(), String> {
        let command = self.command(trial, gpu).map_err(|e| e.to_string())?;
        let probe = Arc::new(ChildLog::new(
            trial.sweep_dir(),
            trial.run_id(),
            trial.metric(),
        ));
        trial.attach(probe.clone());
        let mut child = RunningTrial::spawn(trial.run_id(), &command).map_err(|e| e.to_string())?;
        let exit = self.wait(&mut child, &probe);
        if let Some(dir) = probe.run_dir() {
            trial.set_run_dir(dir);
        }
        self.progress.trial_ended(trial, probe.as_ref());
        if exit.success() || probe.stop_requested() || child.was_stopped() {
            Ok(())
        } else {
            Err(child.failure(&exit, 0))
        }
    }

    /// Waits for the child, stopping it when the controller asks (hyperband, or a first
    /// Ctrl-C), killing it on a second Ctrl-C.
    fn wait(&self, child: &mut RunningTrial, probe: &ChildLog) -> TrialExit {
        loop {
            if let Some(exit) = child.poll(self.kill_delay) {
                return exit;
            }
            // A first Ctrl-C reaches the child through the controller (it cancels the sweep and
            // asks each running trial to stop), so that the trial is kept to run again.
            match self.interrupts.level() {
                Level::Kill => child.kill(),
                _ if probe.stop_requested() => child.terminate(),
                _ => {}
            }
            std::thread::sleep(CHILD_POLL);
        }
    }

    /// The argv and environment of a trial; writes its parameter files.
    fn command(&self, trial: &Trial, gpu: Option<&str>) -> std::io::Result<TrialCommand> {
        let files = trial
            .sweep_dir()
            .join("wandb")
            .join(format!("sweep-{}", trial.sweep_id()));
        std::fs::create_dir_all(&files)?;
        let yaml = files.join(format!("config-{}.yaml", trial.run_id()));
        std::fs::write(&yaml, param_file_yaml(trial.params()))?;
        let json = files.join(format!("config-{}.json", trial.run_id()));
        std::fs::write(&json, python_json(trial.params()))?;
        let ctx = CommandContext {
            json_file: Some(json.display().to_string()),
            no_env: cfg!(windows),
            env: crate::utf8_env(),
            ..CommandContext::new()
        };
        let argv = ctx.argv(&self.config, trial.params());
        let prefix = format!("[{}] ", trial.run_id());
        let progress = self.progress.clone();
        let mut command = TrialCommand::new(argv)
            .env("WANDB_MODE", "offline")
            .env("WANDB_DIR", trial.sweep_dir().display().to_string())
            .env("WANDB_RUN_ID", trial.run_id())
            .env("WANDB_SWEEP_PARAM_PATH", yaml.display().to_string())
            .env("WANDB_RUN_GROUP", trial.group())
            .on_line(move |_stream: Stream, line: &str| {
                progress.println(&format!("{prefix}{line}"));
            });
        for key in not_inherited() {
            command = command.env_remove(key);
        }
        if let Some(project) = &self.config.project {
            command = command.env("WANDB_PROJECT", project.clone());
        }
        if let Some(entity) = &self.config.entity {
            command = command.env("WANDB_ENTITY", entity.clone());
        }
        if let Some(gpu) = gpu {
            command = command.env("CUDA_VISIBLE_DEVICES", gpu);
        }
        Ok(command)
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The sweep config whose command runs `program` (the argv after `--`): as given when it
/// uses a macro such as `${args}`, else with `${args}` appended.
pub(super) fn with_program(mut config: SweepConfig, program: &[String]) -> SweepConfig {
    if program.is_empty() {
        return config;
    }
    let mut template: Vec<Value> = program.iter().map(|s| Value::from(s.as_str())).collect();
    if !program.iter().any(|a| a.contains("${")) {
        template.push(Value::from("${args}"));
    }
    config.command = Some(template);
    config
}

/// The absolute form of a directory (created if missing), so children can use it from
/// anywhere.
pub(super) fn absolute_dir(dir: &Path) -> std::io::Result<PathBuf> {
    std::fs::create_dir_all(dir)?;
    std::path::absolute(dir)
}
