//! An agent's connection to its sweep: registration, a heartbeat every few seconds on a
//! dedicated thread with its own runtime, and the server's commands as events. It runs no
//! trials itself: the in-process [`super::Agent`] and `wandb-rs agent` (child processes) both
//! build on it.

use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use wandb_api::{AgentCommand, Client};

use super::outcome::AgentOutcome;
use super::sweep_path::SweepPath;
use crate::error::Error;

/// The official agent's heartbeat period.
pub const HEARTBEAT_INTERVAL: Duration = Duration::from_secs(5);

/// How often an idle agent reads the sweep's state (to notice a pause).
pub const STATE_CHECK_INTERVAL: Duration = Duration::from_secs(30);

/// The shortest heartbeat and state-check interval: shorter ones (zero included) are taken
/// as this, so that a session never loops on the server without pause.
pub const MIN_INTERVAL: Duration = Duration::from_millis(100);

/// Failed heartbeats in a row after which the session gives up (default of
/// [`SessionOptions::max_failed_heartbeats`]).
pub const MAX_FAILED_HEARTBEATS: u32 = 10;

/// Retries of one request of the session (fewer than the client's default 20).
const MAX_RETRIES: u32 = 3;

/// Called on the session's thread with the run ids the server asked to stop (for `exit`:
/// every running run), before the event is delivered.
pub type StopHook = Arc<dyn Fn(&[String]) + Send + Sync>;

/// How a session talks to the server.
#[derive(Clone)]
pub struct SessionOptions {
    /// Time between heartbeats (default [`HEARTBEAT_INTERVAL`], at least [`MIN_INTERVAL`]).
    pub heartbeat_interval: Duration,
    /// Time between reads of the sweep's state while idle (default
    /// [`STATE_CHECK_INTERVAL`], at least [`MIN_INTERVAL`]).
    pub state_check_interval: Duration,
    /// The host name reported to W&B (default `WANDB_HOST`, else this machine's name).
    pub host: Option<String>,
    /// Called with the run ids to stop, as soon as the heartbeat brings the command.
    pub on_stop: Option<StopHook>,
    /// Failed heartbeats in a row (each after the client's retries) after which the session
    /// ends with [`AgentOutcome::ConnectionLost`] (default [`MAX_FAILED_HEARTBEATS`]; 0 is
    /// taken as 1). A refused API key (HTTP 401/403) ends it at once.
    pub max_failed_heartbeats: u32,
}

impl std::fmt::Debug for SessionOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionOptions")
            .field("heartbeat_interval", &self.heartbeat_interval)
            .field("state_check_interval", &self.state_check_interval)
            .field("host", &self.host)
            .field("on_stop", &self.on_stop.is_some())
            .field("max_failed_heartbeats", &self.max_failed_heartbeats)
            .finish()
    }
}

impl Default for SessionOptions {
    fn default() -> Self {
        SessionOptions {
            heartbeat_interval: HEARTBEAT_INTERVAL,
            state_check_interval: STATE_CHECK_INTERVAL,
            host: None,
            on_stop: None,
            max_failed_heartbeats: MAX_FAILED_HEARTBEATS,
        }
    }
}

/// What the server said.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum SessionEvent {
    /// A `run`, `resume`, `stop` or unknown command, in the order the server sent them.
    Command(AgentCommand),
    /// The server said `exit`: stop every trial now. The outcome says why (the sweep's state
    /// is read to tell a finished grid from a stopped or cancelled sweep).
    Exit(AgentOutcome),
    /// No more work will come (the sweep was deleted, stopped or cancelled, or W&B can no
    /// longer be reached); running trials may finish.
    Ended(AgentOutcome),
    /// An idle agent found the sweep paused (repeated at each state check while it is).
    Paused,
}

/// The running-run ids the next heartbeat reports.
#[derive(Debug, Default)]
struct Shared {
    running: Mutex<Vec<String>>,
}

/// A registered agent: heartbeats run on a background thread until the session is dropped.
///
/// ```no_run
/// use std::time::Duration;
/// use wandb_agent::agent::{AgentSession, SessionEvent, SessionOptions};
/// # fn demo() -> Result<(), wandb_agent::Error> {
/// let client = wandb_api::Client::from_env()?;
/// let session = AgentSession::start(&client, "team/proj/sw33p1d".parse()?, SessionOptions::default())?;
/// while let Some(event) = session.next_event(Duration::from_secs(60)) {
///     match event {
///         SessionEvent::Command(cmd) => println!("{cmd:?}"),
///         _ => break,
///     }
/// }
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct AgentSession {
    path: SweepPath,
    agent_id: Option<String>,
    config_yaml: Option<String>,
    events: Receiver<SessionEvent>,
    shared: Arc<Shared>,
    wake: Option<Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

/// What the background thread reports once it has registered (or found the sweep over).
struct Startup {
    path: SweepPath,
    agent_id: Option<String>,
    config_yaml: Option<String>,
}

impl AgentSession {
    /// Reads the sweep, registers an agent and starts heartbeating. A sweep that is already
    /// finished, cancelled or paused gives a session whose first event is
    /// [`SessionEvent::Ended`] (no agent is registered).
    ///
    /// # Errors
    /// [`Error::Api`] when the sweep does not exist or W&B refuses the agent;
    /// [`Error::Configuration`] when the background thread cannot start.
    pub fn start(client: &Client, path: SweepPath, options: SessionOptions) -> Result<Self, Error> {
        let path = path.or(
            client.settings().entity.as_deref(),
            client.settings().project.as_deref(),
        );
        // A client of its own: connections stay on the session's runtime. Few retries: the
        // next heartbeat comes in seconds anyway, and a long retry would hold up commands.
        let mut retry = client.retry_policy();
        retry.max_retries = retry.max_retries.min(MAX_RETRIES);
        let client = Client::builder()
            .settings(client.settings().clone())
            .retry(retry)
            .build()?;
        let shared = Arc::new(Shared::default());
        let (events_tx, events) = mpsc::channel();
        let (wake, wake_rx) = mpsc::channel();
        let (startup_tx, startup_rx) = mpsc::channel();
        let control = Control {
            client,
            path,
            options,
            shared: Arc::clone(&shared),
            events: events_tx,
            wake: wake_rx,
        };
        let thread = thread::Builder::new()
            .name("wandb-agent".into())
            .spawn(move || control.run(&startup_tx))
            .map_err(|e| Error::Configuration(format!("cannot start the agent thread: {e}")))?;
        let startup = startup_rx.recv().map_err(|_| {
            Error::Configuration("the agent thread stopped before registering".into())
        })??;
        Ok(AgentSession {
            path: startup.path,
            agent_id: startup.agent_id,
            config_yaml: startup.config_yaml,
            events,
            shared,
            wake: Some(wake),
            thread: Some(thread),
        })
    }

    /// The sweep (entity and project filled from the settings where the path had none).
    #[must_use]
    pub fn sweep(&self) -> &SweepPath {
        &self.path
    }

    /// The agent id W&B assigned (`None` when the sweep was over before registration).
    #[must_use]
    pub fn agent_id(&self) -> Option<&str> {
        self.agent_id.as_deref()
    }

    /// The sweep's config as stored on W&B (YAML).
    #[must_use]
    pub fn config_yaml(&self) -> Option<&str> {
        self.config_yaml.as_deref()
    }

    /// Whether the heartbeat thread still runs (it sends an [`SessionEvent::Exit`] or
    /// [`SessionEvent::Ended`] before it stops).
    #[must_use]
    pub fn is_running(&self) -> bool {
        self.thread.as_ref().is_some_and(|t| !t.is_finished())
    }

    /// Sets the run ids the heartbeats report as running: the trials started and those
    /// received but not started yet (a `run` command's id is added as soon as it arrives).
    pub fn set_running(&self, run_ids: Vec<String>) {
        *self
            .shared
            .running
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = run_ids;
    }

    /// Sends the next heartbeat now (after a trial ended, for instance).
    pub fn wake(&self) {
        if let Some(w) = &self.wake {
            // The thread is gone once the sweep ended; nothing to wake then.
            let _gone = w.send(());
        }
    }

    /// The next event, waiting up to `timeout`; `None` on timeout or once the session's
    /// thread has stopped and every event was taken.
    #[must_use]
    pub fn next_event(&self, timeout: Duration) -> Option<SessionEvent> {
        self.events.recv_timeout(timeout).ok()
    }

    /// The next event if one is waiting.
    #[must_use]
    pub fn try_event(&self) -> Option<SessionEvent> {
        self.events.try_recv().ok()
    }
}

impl Drop for AgentSession {
    fn drop(&mut self) {
        // Closing the wake channel stops the heartbeat loop at its next wait. The thread is
        // not joined: a heartbeat in flight (retried while W&B is unreachable) must not hold
        // up the caller; it ends on its own.
        self.wake = None;
        drop(self.thread.take());
    }
}

/// The background thread's state.
struct Control {
    client: Client,
    path: SweepPath,
    options: SessionOptions,
    shared: Arc<Shared>,
    events: Sender<SessionEvent>,
    wake: Receiver<()>,
}

impl Control {
    fn run(self, startup: &Sender<Result<Startup, Error>>) {
        let rt = match tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        {
            Ok(rt) => rt,
            Err(e) => {
                let msg = format!("cannot start the agent's runtime: {e}");
                let _gone = startup.send(Err(Error::Configuration(msg)));
                return;
            }
        };
        let agent_id = match rt.block_on(self.register()) {
            Ok((start, agent_id)) => {
                let _gone = startup.send(Ok(start));
                agent_id
            }
            Err(e) => {
                let _gone = startup.send(Err(e));
                return;
            }
        };
        if let Some(id) = agent_id {
            self.heartbeats(&rt, &id);
        }
    }

    /// Reads the sweep and registers; `None` as agent id when the sweep is over (the
    /// `Ended` event is already queued then).
    async fn register(&self) -> Result<(Startup, Option<String>), Error> {
        let p = &self.path;
        let sweep = self
            .client
            .sweep(p.entity.as_deref(), p.project.as_deref(), &p.sweep_id, None)
            .await?
            .ok_or_else(|| wandb_api::Error::NotFound {
                what: format!("sweep {p}"),
            })?;
        let mut start = Startup {
            path: p.clone(),
            agent_id: None,
            config_yaml: sweep.config_yaml,
        };
        if let Some(over) = sweep
            .state
            .as_deref()
            .and_then(AgentOutcome::from_sweep_state)
        {
            let _gone = self.events.send(SessionEvent::Ended(over));
            return Ok((start, None));
        }
        let id = self
            .client
            .create_agent(
                &self.host(),
                p.entity.as_deref(),
                p.project.as_deref(),
                &p.sweep_id,
            )
            .await?;
        start.agent_id = Some(id.clone());
        Ok((start, Some(id)))
    }

    fn host(&self) -> String {
        self.options
            .host
            .clone()
            .or_else(|| std::env::var("WANDB_HOST").ok())
            .unwrap_or_else(machine_name)
    }

    fn running(&self) -> Vec<String> {
        self.shared
            .running
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Heartbeats until the sweep ends, the server says `exit`, W&B refuses the key or
    /// cannot be reached for [`SessionOptions::max_failed_heartbeats`] beats in a row, or
    /// the session is dropped.
    fn heartbeats(&self, rt: &tokio::runtime::Runtime, agent_id: &str) {
        let mut last_state_check = Instant::now();
        let mut failures = 0_u32;
        loop {
            let running = self.running();
            let idle = match rt.block_on(self.client.heartbeat(agent_id, &running)) {
                Ok(commands) => {
                    failures = 0;
                    let idle = commands.is_empty() && running.is_empty();
                    if !self.deliver(rt, commands, &running) {
                        return;
                    }
                    idle
                }
                Err(wandb_api::Error::NotFound { .. }) => {
                    let _gone = self
                        .events
                        .send(SessionEvent::Ended(AgentOutcome::SweepDeleted));
                    return;
                }
                Err(wandb_api::Error::Unauthorized) => {
                    let why = format!(
                        "{}; check WANDB_API_KEY and WANDB_BASE_URL",
                        wandb_api::Error::Unauthorized
                    );
                    let _gone = self
                        .events
                        .send(SessionEvent::Ended(AgentOutcome::ConnectionLost(why)));
                    return;
                }
                Err(e) => {
                    failures += 1;
                    if failures >= self.options.max_failed_heartbeats.max(1) {
                        let why = format!(
                            "{failures} heartbeats in a row failed (last: {e}); check the network, WANDB_BASE_URL and WANDB_API_KEY"
                        );
                        let _gone = self
                            .events
                            .send(SessionEvent::Ended(AgentOutcome::ConnectionLost(why)));
                        return;
                    }
                    tracing::warn!(error = %e, failures, "agent heartbeat failed; trying again");
                    false
                }
            };
            let state_check = self.options.state_check_interval.max(MIN_INTERVAL);
            if idle && last_state_check.elapsed() >= state_check {
                last_state_check = Instant::now();
                if !self.check_state(rt) {
                    return;
                }
            }
            match self
                .wake
                .recv_timeout(self.options.heartbeat_interval.max(MIN_INTERVAL))
            {
                Ok(()) | Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => return,
            }
        }
    }

    /// Hands the commands on; false when the loop must end (exit, or nobody listens).
    fn deliver(
        &self,
        rt: &tokio::runtime::Runtime,
        commands: Vec<AgentCommand>,
        running: &[String],
    ) -> bool {
        for command in commands {
            let event = match command {
                AgentCommand::Exit => {
                    self.stop_hook(running);
                    let outcome = rt
                        .block_on(self.state())
                        .unwrap_or(AgentOutcome::NoRunsLeft);
                    let _gone = self.events.send(SessionEvent::Exit(outcome));
                    return false;
                }
                AgentCommand::Stop { run_ids } => {
                    self.stop_hook(&run_ids);
                    SessionEvent::Command(AgentCommand::Stop { run_ids })
                }
                AgentCommand::Run { ref run_id, .. } | AgentCommand::Resume { ref run_id, .. } => {
                    // Reported as running from the next heartbeat on, until the owner says
                    // otherwise (closes the gap before the owner starts it).
                    let mut ids = self
                        .shared
                        .running
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner);
                    if !ids.contains(run_id) {
                        ids.push(run_id.clone());
                    }
                    SessionEvent::Command(command)
                }
                other => SessionEvent::Command(other),
            };
            if self.events.send(event).is_err() {
                return false;
            }
        }
        true
    }

    fn stop_hook(&self, run_ids: &[String]) {
        if let Some(hook) = &self.options.on_stop
            && !run_ids.is_empty()
        {
            hook(run_ids);
        }
    }

    /// Reads the sweep's state; false when it is over (the `Ended` event is sent).
    fn check_state(&self, rt: &tokio::runtime::Runtime) -> bool {
        match rt.block_on(self.state()) {
            Some(AgentOutcome::SweepPaused) => self.events.send(SessionEvent::Paused).is_ok(),
            Some(over) => {
                let _gone = self.events.send(SessionEvent::Ended(over));
                false
            }
            None => true,
        }
    }

    /// The outcome the sweep's state implies (`None`: running, or unreadable).
    async fn state(&self) -> Option<AgentOutcome> {
        let p = &self.path;
        match self
            .client
            .sweep(p.entity.as_deref(), p.project.as_deref(), &p.sweep_id, None)
            .await
        {
            Ok(Some(sweep)) => sweep
                .state
                .as_deref()
                .and_then(AgentOutcome::from_sweep_state),
            Ok(None) => Some(AgentOutcome::SweepDeleted),
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the sweep's state");
                None
            }
        }
    }
}

/// This machine's name (`/etc/hostname` or the kernel's), else `localhost`.
fn machine_name() -> String {
    ["/proc/sys/kernel/hostname", "/etc/hostname"]
        .iter()
        .filter_map(|p| std::fs::read_to_string(p).ok())
        .map(|s| s.trim().to_owned())
        .find(|s| !s.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "localhost".to_owned())
}
