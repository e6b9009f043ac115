//! Trials as closures: each gets an offline [`Run`] in the sweep directory, configured with
//! its parameters and watching the sweep's metric.

use std::fmt::Display;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;

use super::trial::{Trial, TrialExecutor};
use crate::agent::trial_var;
use crate::error::{Error, panic_message};
use wandb_log::Mode;
use wandb_log::Run;

/// Variables the local sweep sets itself besides [`crate::agent::TRIAL_OWNED_VARS`]; the
/// process's own values are not inherited by trial runs.
const SWEEP_OWNED: [&str; 2] = ["WANDB_MODE", "WANDB_DIR"];

/// Runs each trial by calling a closure with its run.
pub(crate) struct ClosureExecutor<F>(pub(crate) F);

impl<F, E> TrialExecutor for ClosureExecutor<F>
where
    F: Fn(Run) -> Result<(), E> + Sync,
    E: Display,
{
    fn execute(&self, trial: &Trial) -> Result<(), String> {
        let run = trial_run(trial).map_err(|e| format!("cannot start the run: {e}"))?;
        trial.attach(Arc::new(run.clone()));
        if let Some(dir) = run.dir() {
            trial.set_run_dir(dir);
        }
        let outcome = match catch_unwind(AssertUnwindSafe(|| (self.0)(run.clone()))) {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(e.to_string()),
            Err(payload) => Err(format!("panicked: {}", panic_message(payload.as_ref()))),
        };
        // A cancel while the run finishes does not make the trial run again.
        trial.mark_returned();
        let finished = match &outcome {
            Ok(()) => run.finish(0).map(drop),
            Err(message) => run.fail(message).map(drop),
        };
        match finished {
            // The closure may finish its run itself.
            Ok(()) | Err(wandb_log::Error::AlreadyFinished) => outcome,
            Err(e) => outcome.and(Err(format!("cannot finish the run: {e}"))),
        }
    }
}

/// The trial's offline run: its id, parameters as config, the sweep group, the metric
/// watched.
pub(crate) fn trial_run(trial: &Trial) -> Result<Run, Error> {
    let mut builder = Run::builder()
        .mode(Mode::Offline)
        .dir(trial.sweep_dir())
        .id(trial.run_id())
        .name(format!("{}-{}", trial.group(), trial.number()))
        .group(trial.group())
        .sweep_params(&trial.params().to_json())
        // Trials share this process: none captures its stdout and stderr.
        .console(wandb_log::Console::Off);
    if let Some(metric) = trial.metric() {
        builder = builder.watch_metric(metric);
    }
    if let Some(project) = trial.project() {
        builder = builder.project(project);
    }
    Ok(builder.init_with(|key| trial_var(key, &SWEEP_OWNED, |k| std::env::var(k).ok()))?)
}
