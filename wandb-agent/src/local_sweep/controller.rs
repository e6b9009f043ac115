//! The controller: workers take the next trial (a retry, or the search's suggestion), run it
//! through an executor and record the outcome; meanwhile hyperband watches running trials.

use std::collections::{HashMap, VecDeque};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use wandb_sweep::{DoneReason, EarlyTerminate, Suggestion, SweepConfig, next_run};

use super::state::{SweepState, TrialRecord, TrialStatus};
use super::trial::{SharedLink, Trial, TrialExecutor, TrialProbe, lock_link};
use crate::error::{Error, panic_message};
use wandb_log::new_run_id;

/// What one invocation may do.
#[derive(Debug, Clone)]
pub(crate) struct Limits {
    /// Workers.
    pub(crate) parallel: usize,
    /// Trials this invocation may start.
    pub(crate) count: Option<u64>,
    /// How often hyperband looks at running trials.
    pub(crate) poll: Duration,
    /// Set from outside (e.g. on Ctrl-C): start nothing more, stop the running trials.
    pub(crate) cancel: Option<Arc<AtomicBool>>,
}

impl Limits {
    fn cancelled(&self) -> bool {
        self.cancel
            .as_ref()
            .is_some_and(|c| c.load(Ordering::Relaxed))
    }
}

/// A running trial, as the controller tracks it.
struct Active {
    link: SharedLink,
    stop_requested: bool,
    /// Asked to stop by a cancel before its work returned: it stays `running`, to run
    /// again (a trial that returned before the cancel reached it is recorded as it ended).
    interrupted: bool,
    /// The bands hyperband has judged the trial at (each once, when the trial reaches it).
    judged_bands: usize,
}

/// Everything the workers share.
struct Shared {
    state: SweepState,
    /// Trials (by index) to run again before asking the search.
    queue: VecDeque<usize>,
    active: HashMap<usize, Active>,
    started: u64,
    done: Option<DoneReason>,
    fatal: Option<Error>,
}

/// How an invocation ended.
pub(crate) struct Ended {
    pub(crate) state: SweepState,
    pub(crate) started: u64,
    pub(crate) done: Option<DoneReason>,
}

/// Runs trials until the search is done, the count is reached or an error stops the sweep.
pub(crate) struct Controller<'a> {
    config: &'a SweepConfig,
    dir: &'a Path,
    limits: Limits,
    shared: Mutex<Shared>,
}

impl<'a> Controller<'a> {
    /// A controller over a loaded state; `retry` lists the trials to run again first.
    pub(crate) fn new(
        config: &'a SweepConfig,
        dir: &'a Path,
        limits: Limits,
        state: SweepState,
        retry: VecDeque<usize>,
    ) -> Self {
        Controller {
            config,
            dir,
            limits,
            shared: Mutex::new(Shared {
                state,
                queue: retry,
                active: HashMap::new(),
                started: 0,
                done: None,
                fatal: None,
            }),
        }
    }

    fn metric(&self) -> Option<&str> {
        self.config.metric.as_ref().map(|m| m.name.as_str())
    }

    fn lock(&self) -> MutexGuard<'_, Shared> {
        self.shared
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Runs the sweep: `parallel` workers, hyperband on this thread.
    pub(crate) fn run(self, executor: &impl TrialExecutor) -> Result<Ended, Error> {
        let (alive, workers_gone) = mpsc::channel::<()>();
        std::thread::scope(|scope| {
            for _ in 0..self.limits.parallel.max(1) {
                let alive = alive.clone();
                let this = &self;
                scope.spawn(move || {
                    this.work(executor);
                    drop(alive);
                });
            }
            drop(alive);
            while let Err(RecvTimeoutError::Timeout) = workers_gone.recv_timeout(self.limits.poll) {
                self.watch();
            }
        });
        let shared = self
            .shared
            .into_inner()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match shared.fatal {
            Some(e) => Err(e),
            None => Ok(Ended {
                state: shared.state,
                started: shared.started,
                done: shared.done,
            }),
        }
    }

    /// One worker: trials until there are none.
    fn work(&self, executor: &impl TrialExecutor) {
        while let Some(trial) = self.next_trial() {
            let outcome = match catch_unwind(AssertUnwindSafe(|| executor.execute(&trial))) {
                Ok(result) => result,
                Err(payload) => Err(format!("panicked: {}", panic_message(payload.as_ref()))),
            };
            trial.mark_returned();
            self.record(&trial, outcome);
        }
    }

    /// The next trial to run, registered as running and saved; `None` when the sweep is done.
    fn next_trial(&self) -> Option<Trial> {
        let mut shared = self.lock();
        if shared.fatal.is_some()
            || shared.done.is_some()
            || self.limits.cancelled()
            || self.limits.count.is_some_and(|c| shared.started >= c)
        {
            return None;
        }
        let index = match shared.queue.pop_front() {
            Some(index) => {
                restart(&mut shared.state.trials[index]);
                index
            }
            None => self.suggest(&mut shared)?,
        };
        shared.started += 1;
        let link = SharedLink::default();
        shared.active.insert(
            index,
            Active {
                link: link.clone(),
                stop_requested: false,
                interrupted: false,
                judged_bands: 0,
            },
        );
        if let Err(e) = shared.state.save(self.dir) {
            shared.fatal = Some(e);
        }
        let record = &shared.state.trials[index];
        Some(Trial {
            number: record.number,
            run_id: record.run_id.clone(),
            params: record.params.clone(),
            sweep_id: shared.state.sweep_id.clone(),
            sweep_dir: self.dir.to_path_buf(),
            metric: self.metric().map(str::to_owned),
            project: self.config.project.clone(),
            link,
        })
    }

    /// Asks the search for a new trial; records why the sweep is done, or a fatal error.
    fn suggest(&self, shared: &mut Shared) -> Option<usize> {
        let runs = shared.state.search_runs(self.metric());
        let number = shared.state.trials.len() as u64;
        match next_run(self.config, &runs, shared.state.seed.wrapping_add(number)) {
            Ok(Suggestion::Run(params)) => {
                shared.state.trials.push(TrialRecord {
                    number,
                    run_id: new_run_id(),
                    params,
                    status: TrialStatus::Running,
                    metric: None,
                    history: Vec::new(),
                    run_dir: None,
                    error: None,
                    attempts: 1,
                });
                Some(shared.state.trials.len() - 1)
            }
            Ok(Suggestion::Done(reason)) => {
                tracing::info!(%reason, "the sweep is done");
                shared.done = Some(reason);
                None
            }
            Err(e) => {
                shared.fatal = Some(Error::Sweep(e));
                None
            }
        }
    }

    /// Records how a trial ended and saves the state.
    fn record(&self, trial: &Trial, outcome: Result<(), String>) {
        let mut shared = self.lock();
        let Some(index) = shared
            .state
            .trials
            .iter()
            .position(|t| t.run_id == trial.run_id)
        else {
            return;
        };
        let (stopped, interrupted) = shared
            .active
            .remove(&index)
            .map_or((false, false), |a| (a.stop_requested, a.interrupted));
        let (history, run_dir) = {
            let link = lock_link(&trial.link);
            (
                link.probe.as_ref().map(|p| p.history()),
                link.run_dir.clone(),
            )
        };
        let record = &mut shared.state.trials[index];
        if let Some(history) = history {
            record.metric = history.last().map(|&(_, v)| v);
            record.history = history;
        }
        record.run_dir = run_dir.map(|d| relative_to(&d, self.dir));
        (record.status, record.error) = match outcome {
            _ if interrupted => (TrialStatus::Running, None),
            _ if stopped => (TrialStatus::Stopped, None),
            Ok(()) => (TrialStatus::Finished, None),
            Err(message) => (TrialStatus::Failed, Some(message)),
        };
        tracing::info!(run = %record.run_id, status = record.status.as_str(), metric = ?record.metric, "trial ended");
        if let Err(e) = shared.state.save(self.dir) {
            shared.fatal.get_or_insert(e);
        }
    }

    /// Refreshes running trials' histories; hyperband judges each running trial once at each
    /// band, when the trial has reached it, and stops it when the engine's rule says so.
    /// (W&B's server re-judges running runs at every agent heartbeat instead, so there a run
    /// may be stopped long after it passed a band.)
    fn watch(&self) {
        if self.limits.cancelled() {
            interrupt(&mut self.lock().active);
            return;
        }
        // Read outside the lock: a probe may read a file.
        let probes: Vec<(usize, Arc<dyn TrialProbe>)> = self
            .lock()
            .active
            .iter()
            .filter_map(|(&index, a)| Some((index, lock_link(&a.link).probe.clone()?)))
            .collect();
        let histories: Vec<(usize, Vec<(u64, f64)>)> = probes
            .into_iter()
            .map(|(index, probe)| (index, probe.history()))
            .collect();
        let mut guard = self.lock();
        let shared = &mut *guard;
        for (index, history) in histories {
            if shared.active.contains_key(&index) {
                shared.state.trials[index].history = history;
            }
        }
        let (Some(EarlyTerminate::Hyperband(hyperband)), Some(metric)) = (
            self.config.early_terminate.as_ref(),
            self.config.metric.as_ref(),
        ) else {
            return;
        };
        let runs = shared.state.search_runs(Some(&metric.name));
        let decision = hyperband.decide(metric, &runs);
        for (&index, active) in &mut shared.active {
            let record = &shared.state.trials[index];
            let reached = decision
                .bands
                .iter()
                .take_while(|&&b| usize::try_from(b).is_ok_and(|b| b <= record.history.len()))
                .count();
            if active.stop_requested || reached <= active.judged_bands {
                continue;
            }
            active.judged_bands = reached;
            if !decision.stop.contains(&record.run_id) {
                continue;
            }
            let probe = lock_link(&active.link).probe.clone();
            if let Some(probe) = probe {
                tracing::info!(run = %record.run_id, lines = ?decision.lines, "hyperband stops the trial");
                probe.request_stop();
                active.stop_requested = true;
            }
        }
    }
}

/// Asks every running trial whose work has not returned yet to stop, once; they stay
/// `running` in the state file (the stop may have cut them short). A trial that already
/// returned keeps the status it ends with.
fn interrupt(active: &mut HashMap<usize, Active>) {
    for trial in active.values_mut().filter(|a| !a.interrupted) {
        let probe = {
            let link = lock_link(&trial.link);
            if link.returned {
                continue;
            }
            link.probe.clone()
        };
        if let Some(probe) = probe {
            probe.request_stop();
            trial.interrupted = true;
        }
    }
}

/// Resets a trial for another attempt under a new run id.
fn restart(record: &mut TrialRecord) {
    record.run_id = new_run_id();
    record.status = TrialStatus::Running;
    record.attempts += 1;
    record.metric = None;
    record.history.clear();
    record.run_dir = None;
    record.error = None;
}

/// A path relative to `base` when it lies inside it.
fn relative_to(path: &Path, base: &Path) -> PathBuf {
    path.strip_prefix(base)
        .map_or_else(|_| path.to_path_buf(), Path::to_path_buf)
}
