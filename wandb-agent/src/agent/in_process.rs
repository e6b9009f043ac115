//! The in-process agent: trials are closures that receive their [`Run`], one at a time, on
//! the caller's thread.

use std::collections::{HashSet, VecDeque};
use std::fmt::Display;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use wandb_api::{AgentCommand, Client};
use wandb_sweep::Value;

use super::failure_policy::{FailurePolicy, FailureTracker};
use super::outcome::{AgentOutcome, AgentReport, TrialRecord, TrialStatus};
use super::session::{AgentSession, SessionEvent, SessionOptions, StopHook};
use super::sweep_path::SweepPath;
use super::sweep_run::sweep_run;
use crate::error::{Error, panic_message};
use wandb_log::Mode;
use wandb_log::Run;
use wandb_log::RunBuilder;

/// How long to wait for the next event before looking again (the session ends the wait as
/// soon as anything arrives).
const EVENT_WAIT: Duration = Duration::from_secs(60);

/// A sweep agent that runs each trial as a closure in this process: it registers with the
/// sweep, heartbeats on a thread of its own, and for every `run` command starts an online
/// [`Run`] attached to the sweep (the server's run id, the sweep's parameters as config) and
/// hands it to the closure. A `stop` command makes that run's [`Run::should_stop`] true; an
/// `exit`, a finished, cancelled or paused sweep ends the agent with an [`AgentOutcome`].
///
/// A trial that returns `Err` or panics marks its run failed with the message; a
/// [`FailurePolicy`] decides when to give up. No global state; callable from any thread,
/// including from inside a tokio runtime (the agent never blocks on the caller's runtime).
///
/// ```no_run
/// use wandb_agent::agent::{Agent, AgentOutcome};
/// # fn demo() -> Result<(), wandb_agent::Error> {
/// let client = wandb_api::Client::from_env()?;
/// let report = Agent::new(client, "team/proj/sw33p1d").count(10).run(|run| {
///     let lr: f64 = run.config::<serde_json::Value>()?["lr"].as_f64().unwrap_or(0.01);
///     for step in 0..100 {
///         if run.should_stop() {
///             break;
///         }
///         run.log([("loss", 1.0 / (1.0 + lr * f64::from(step)))])?;
///     }
///     Ok::<(), wandb_log::Error>(())
/// })?;
/// println!("{} ({} trials)", report.outcome, report.trials.len());
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Agent {
    client: Client,
    sweep: String,
    count: Option<u64>,
    policy: FailurePolicy,
    session: SessionOptions,
    template: RunBuilder,
    mode: Mode,
}

impl Agent {
    /// An agent for the sweep at `sweep` (`[entity/][project/]sweep_id`; entity and project
    /// default to the client's settings). Failures follow [`FailurePolicy::from_env`].
    #[must_use]
    pub fn new(client: Client, sweep: impl Into<String>) -> Self {
        Agent {
            client,
            sweep: sweep.into(),
            count: None,
            policy: FailurePolicy::from_env(|k| std::env::var(k).ok()),
            session: SessionOptions::default(),
            template: RunBuilder::default(),
            mode: Mode::Online,
        }
    }

    /// Stops after `n` trials (like `wandb agent --count`).
    #[must_use]
    pub fn count(mut self, n: u64) -> Self {
        self.count = Some(n);
        self
    }

    /// When to give up on failing trials.
    #[must_use]
    pub fn failure_policy(mut self, policy: FailurePolicy) -> Self {
        self.policy = policy;
        self
    }

    /// Time between heartbeats (default 5 s, as the official agent; at least
    /// [`super::MIN_INTERVAL`], 100 ms).
    #[must_use]
    pub fn heartbeat_interval(mut self, interval: Duration) -> Self {
        self.session.heartbeat_interval = interval;
        self
    }

    /// Time between reads of the sweep's state while idle (default 30 s; at least
    /// [`super::MIN_INTERVAL`], 100 ms).
    #[must_use]
    pub fn state_check_interval(mut self, interval: Duration) -> Self {
        self.session.state_check_interval = interval;
        self
    }

    /// Failed heartbeats in a row after which the agent ends with
    /// [`AgentOutcome::ConnectionLost`] (default 10; a refused API key ends it at once).
    #[must_use]
    pub fn max_failed_heartbeats(mut self, n: u32) -> Self {
        self.session.max_failed_heartbeats = n;
        self
    }

    /// The host name reported to W&B (default `WANDB_HOST`, else this machine's name).
    #[must_use]
    pub fn host(mut self, host: impl Into<String>) -> Self {
        self.session.host = Some(host.into());
        self
    }

    /// The builder each trial's run starts from (directory, tags, watched metric, …). Its
    /// id, sweep, config, backend and mode are set by the agent.
    #[must_use]
    pub fn runs(mut self, template: RunBuilder) -> Self {
        self.template = template;
        self
    }

    /// The trials' mode (default online; offline runs are invisible to the sweep's
    /// controller until synced, so use it for testing only).
    #[must_use]
    pub fn mode(mut self, mode: Mode) -> Self {
        self.mode = mode;
        self
    }

    /// Runs trials until the sweep or the agent's limits end it.
    ///
    /// # Errors
    /// [`Error::Configuration`] for a bad sweep path, [`Error::Api`] when the sweep does not
    /// exist or W&B refuses the agent. Trial failures are not errors: they are in the report.
    pub fn run<E: Display>(
        self,
        trial: impl FnMut(Run) -> Result<(), E>,
    ) -> Result<AgentReport, Error> {
        let path: SweepPath = self.sweep.parse()?;
        let current: Arc<Mutex<Current>> = Arc::default();
        let mut options = self.session.clone();
        options.on_stop = Some(stop_hook(Arc::clone(&current)));
        let session = AgentSession::start(&self.client, path, options)?;
        let mut trials = Trials {
            agent: &self,
            session: &session,
            current,
            queue: VecDeque::new(),
            records: Vec::new(),
            tracker: FailureTracker::new(self.policy),
            trial,
        };
        let outcome = trials.run();
        Ok(AgentReport {
            outcome,
            trials: trials.records,
        })
    }
}

/// The trial's run, and stops that arrived before it started.
#[derive(Debug, Default)]
struct Current {
    run: Option<Run>,
    stops: HashSet<String>,
}

impl Current {
    /// Makes `run` current; a stop that came for it already applies at once.
    fn start(&mut self, run: Run) {
        if self.stops.remove(run.id()) {
            run.request_stop();
        }
        self.run = Some(run);
    }
}

/// Requests a stop of the current run when the server names it (remembered for a run that
/// is still starting).
fn stop_hook(current: Arc<Mutex<Current>>) -> StopHook {
    Arc::new(move |ids: &[String]| {
        let mut guard = lock(&current);
        for id in ids {
            match guard.run.as_ref() {
                Some(run) if run.id() == id => run.request_stop(),
                _ => {
                    guard.stops.insert(id.clone());
                }
            }
        }
    })
}

/// The agent's loop state.
struct Trials<'a, F> {
    agent: &'a Agent,
    session: &'a AgentSession,
    current: Arc<Mutex<Current>>,
    queue: VecDeque<(String, Value)>,
    records: Vec<TrialRecord>,
    tracker: FailureTracker,
    trial: F,
}

impl<E: Display, F: FnMut(Run) -> Result<(), E>> Trials<'_, F> {
    fn run(&mut self) -> AgentOutcome {
        loop {
            while let Some(event) = self.session.try_event() {
                if let Some(outcome) = self.handle(event) {
                    return outcome;
                }
            }
            if let Some((run_id, params)) = self.queue.pop_front() {
                if let Some(outcome) = self.run_one(run_id, &params) {
                    return outcome;
                }
                continue;
            }
            match self.session.next_event(EVENT_WAIT) {
                Some(event) => {
                    if let Some(outcome) = self.handle(event) {
                        return outcome;
                    }
                }
                // The session always says why it ends first; this only guards the loop.
                None if !self.session.is_running() => return AgentOutcome::SweepDeleted,
                None => {}
            }
        }
    }

    /// Applies one event; `Some` when the agent must end.
    fn handle(&mut self, event: SessionEvent) -> Option<AgentOutcome> {
        match event {
            SessionEvent::Command(
                AgentCommand::Run { run_id, params, .. }
                | AgentCommand::Resume { run_id, params, .. },
            ) => self.queue.push_back((run_id, params)),
            SessionEvent::Command(AgentCommand::Stop { run_ids }) => {
                self.queue.retain(|(id, _)| !run_ids.contains(id));
                self.report_running(None);
            }
            SessionEvent::Command(other) => {
                tracing::warn!(command = ?other, "unknown agent command ignored");
            }
            SessionEvent::Exit(outcome) | SessionEvent::Ended(outcome) => return Some(outcome),
            SessionEvent::Paused if self.queue.is_empty() => {
                return Some(AgentOutcome::SweepPaused);
            }
            SessionEvent::Paused => {}
        }
        None
    }

    /// Tells the heartbeats the current trial and the queued ones.
    fn report_running(&self, current: Option<&str>) {
        let ids = current
            .into_iter()
            .map(str::to_owned)
            .chain(self.queue.iter().map(|(id, _)| id.clone()))
            .collect();
        self.session.set_running(ids);
    }

    /// Runs one trial; `Some` when the agent's own limits end it.
    fn run_one(&mut self, run_id: String, params: &Value) -> Option<AgentOutcome> {
        self.report_running(Some(&run_id));
        let record = self.trial_record(run_id, params);
        self.report_running(None);
        self.session.wake();
        let stop = self.tracker.record(record.succeeded());
        self.records.push(record);
        if let Some(why) = stop {
            return Some(AgentOutcome::TooManyFailures(why));
        }
        let done = u64::try_from(self.records.len()).unwrap_or(u64::MAX);
        match self.agent.count {
            Some(n) if done >= n => Some(AgentOutcome::CountReached(n)),
            _ => None,
        }
    }

    fn trial_record(&mut self, run_id: String, params: &Value) -> TrialRecord {
        let run = match self.start_run(&run_id, params) {
            Ok(run) => run,
            Err(e) => {
                tracing::warn!(run = %run_id, error = %e, "cannot start the trial's run");
                return TrialRecord {
                    run_id,
                    status: TrialStatus::Failed {
                        message: format!("cannot start the run: {e}"),
                    },
                    stop_requested: false,
                    upload_error: None,
                };
            }
        };
        lock(&self.current).start(run.clone());
        let trial = &mut self.trial;
        let result = catch_unwind(AssertUnwindSafe(|| trial(run.clone())));
        lock(&self.current).run = None;
        let status = match result {
            Ok(Ok(())) => TrialStatus::Succeeded,
            Ok(Err(e)) => TrialStatus::Failed {
                message: e.to_string(),
            },
            Err(panic) => TrialStatus::Failed {
                message: format!("the trial panicked: {}", panic_message(panic.as_ref())),
            },
        };
        let finished = match &status {
            TrialStatus::Failed { message } => run.fail(message),
            _ => run.finish(0),
        };
        let upload_error = match finished {
            Ok(report) => report.upload_error,
            // The trial finished its run itself.
            Err(wandb_log::Error::AlreadyFinished) => None,
            Err(e) => Some(e.to_string()),
        };
        TrialRecord {
            run_id,
            status,
            stop_requested: run.should_stop(),
            upload_error,
        }
    }

    fn start_run(&self, run_id: &str, params: &Value) -> Result<Run, Error> {
        sweep_run(
            self.agent.template.clone(),
            self.agent.client.settings(),
            self.session.sweep(),
            run_id,
            params,
            self.agent.mode,
        )
    }
}

fn lock(current: &Mutex<Current>) -> MutexGuard<'_, Current> {
    current.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn disabled(id: &str) -> Run {
        Run::builder()
            .mode(Mode::Disabled)
            .id(id)
            .init_with(|_| None)
            .unwrap()
    }

    #[test]
    fn a_stop_that_comes_while_the_run_starts_is_not_lost() {
        let current: Arc<Mutex<Current>> = Arc::default();
        let hook = stop_hook(Arc::clone(&current));
        hook(&["r1".to_owned()]);
        let (r1, r2) = (disabled("r1"), disabled("r2"));
        lock(&current).start(r2.clone());
        assert!(!r2.should_stop(), "another run's stop");
        lock(&current).start(r1.clone());
        assert!(r1.should_stop());
        hook(&["r1".to_owned()]);
        let r1_again = disabled("r1");
        lock(&current).run = None;
        lock(&current).start(r1_again.clone());
        assert!(!r1_again.should_stop(), "a stop applies once");
    }

    #[test]
    fn a_stop_reaches_the_running_trial() {
        let current: Arc<Mutex<Current>> = Arc::default();
        let run = disabled("r1");
        lock(&current).start(run.clone());
        stop_hook(Arc::clone(&current))(&["r1".to_owned()]);
        assert!(run.should_stop());
    }
}
