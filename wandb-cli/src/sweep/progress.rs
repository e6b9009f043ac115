//! The progress of a local sweep on stderr: a bar with the best metric so far when stderr is a
//! terminal, plain lines otherwise; children's output lines pass above the bar.

use std::io::IsTerminal;
use std::sync::{Arc, Mutex};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use wandb_agent::local_sweep::{Trial, TrialProbe};

use crate::output;

/// Shared by the workers; cheap to clone.
#[derive(Clone)]
pub(super) struct Progress {
    bar: Option<ProgressBar>,
    metric: Option<String>,
    maximize: bool,
    best: Arc<Mutex<Option<f64>>>,
}

impl Progress {
    /// A bar of `total` trials (a spinner when unknown), drawn only on a terminal.
    pub(super) fn new(total: Option<u64>, metric: Option<String>, maximize: bool) -> Self {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = ProgressBar::with_draw_target(total, ProgressDrawTarget::stderr());
            let template = if total.is_some() {
                "{spinner} trials {pos}/{len} [{bar:30}] {elapsed} {msg}"
            } else {
                "{spinner} trials {pos} {elapsed} {msg}"
            };
            if let Ok(style) = ProgressStyle::with_template(template) {
                bar.set_style(style.progress_chars("=> "));
            }
            bar
        });
        Progress {
            bar,
            metric,
            maximize,
            best: Arc::new(Mutex::new(None)),
        }
    }

    /// One line above the bar (or on stderr).
    pub(super) fn println(&self, line: &str) {
        match &self.bar {
            Some(bar) => bar.println(line),
            None => output::error(line),
        }
    }

    /// Counts a finished trial and updates the best value.
    pub(super) fn trial_ended(&self, trial: &Trial, probe: &dyn TrialProbe) {
        let last = probe.history().last().map(|&(_, v)| v);
        let best = {
            let mut best = self
                .best
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if let Some(v) = last
                && best.is_none_or(|b| if self.maximize { v > b } else { v < b })
            {
                *best = Some(v);
            }
            *best
        };
        let metric = self.metric.as_deref().unwrap_or("metric");
        let shown = last.map_or_else(|| "-".to_owned(), |v| format!("{v:.5}"));
        match &self.bar {
            Some(bar) => {
                bar.inc(1);
                if let Some(b) = best {
                    bar.set_message(format!("best {metric} {b:.5}"));
                }
            }
            None => output::error(&format!(
                "trial {} ({}) ended: {metric} {shown}",
                trial.number(),
                trial.run_id()
            )),
        }
    }

    /// Removes the bar.
    pub(super) fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
