//! One agent registration and the trial it runs: `--gpus 0,1` gives one slot per GPU, each
//! its own agent on the server (the server hands an agent one run at a time).

use std::collections::VecDeque;

use wandb_agent::TrialExit;
use wandb_agent::agent::{AgentOutcome, AgentSession, SessionEvent};
use wandb_api::AgentCommand;
use wandb_sweep::Value;

use super::child_trial::{ChildTrial, TrialContext};
use crate::output;

/// A run the server assigned that has not started yet.
#[derive(Debug)]
struct Pending {
    run_id: String,
    program: Option<String>,
    params: Value,
}

/// An agent registration, its queue and its running trial.
#[derive(Debug)]
pub(crate) struct Slot {
    pub(crate) gpu: Option<String>,
    session: AgentSession,
    queue: VecDeque<Pending>,
    pub(crate) trial: Option<ChildTrial>,
    /// Why the server will send no more work, once it said so.
    pub(crate) ended: Option<AgentOutcome>,
}

impl Slot {
    pub(crate) fn new(session: AgentSession, gpu: Option<String>) -> Self {
        Slot {
            gpu,
            session,
            queue: VecDeque::new(),
            trial: None,
            ended: None,
        }
    }

    /// The slot's registration.
    pub(crate) fn session(&self) -> &AgentSession {
        &self.session
    }

    /// Applies the session's waiting events.
    pub(crate) fn take_events(&mut self) {
        while let Some(event) = self.session.try_event() {
            self.handle(event);
        }
        // The session always says why it ends first; this only guards the agent's loop.
        if self.ended.is_none() && !self.session.is_running() {
            self.ended = Some(AgentOutcome::SweepDeleted);
        }
    }

    fn handle(&mut self, event: SessionEvent) {
        match event {
            SessionEvent::Command(
                AgentCommand::Run {
                    run_id,
                    program,
                    params,
                }
                | AgentCommand::Resume {
                    run_id,
                    program,
                    params,
                },
            ) => self.queue.push_back(Pending {
                run_id,
                program,
                params,
            }),
            SessionEvent::Command(AgentCommand::Stop { run_ids }) => self.stop(&run_ids),
            SessionEvent::Command(other) => {
                output::error(&format!(
                    "wandb-rs agent: ignoring unknown command {other:?}"
                ));
            }
            SessionEvent::Exit(outcome) => {
                self.queue.clear();
                if let Some(t) = &mut self.trial {
                    t.kill();
                }
                self.ended = Some(outcome);
            }
            SessionEvent::Ended(outcome) => {
                self.queue.clear();
                self.ended = Some(outcome);
            }
            SessionEvent::Paused if self.is_idle() => self.ended = Some(AgentOutcome::SweepPaused),
            SessionEvent::Paused => {}
            other => output::error(&format!("wandb-rs agent: ignoring {other:?}")),
        }
        self.report_running();
    }

    fn stop(&mut self, run_ids: &[String]) {
        self.queue.retain(|p| !run_ids.contains(&p.run_id));
        if let Some(t) = &mut self.trial
            && run_ids.iter().any(|id| id == t.run_id())
        {
            output::error(&format!(
                "wandb-rs agent: stopping run {} (SIGTERM)",
                t.run_id()
            ));
            t.terminate();
        }
    }

    fn is_idle(&self) -> bool {
        self.trial.is_none() && self.queue.is_empty()
    }

    /// Whether a trial is queued and the slot is free to start it.
    pub(crate) fn can_start(&self) -> bool {
        self.trial.is_none() && self.ended.is_none() && !self.queue.is_empty()
    }

    /// Starts the next queued trial; a launch failure is returned as the trial's error.
    pub(crate) fn start_next(&mut self, ctx: &TrialContext) -> Result<(), (String, String)> {
        let Some(p) = self.queue.pop_front() else {
            return Ok(());
        };
        let started = ChildTrial::start(
            ctx,
            &p.run_id,
            p.program.as_deref(),
            &p.params,
            self.gpu.as_deref(),
        );
        let result = match started {
            Ok(trial) => {
                self.trial = Some(trial);
                Ok(())
            }
            Err(e) => Err((p.run_id, e)),
        };
        self.report_running();
        result
    }

    /// The running trial's exit, once it has ended (the trial is taken out of the slot).
    pub(crate) fn poll(&mut self, ctx: &TrialContext) -> Option<(ChildTrial, TrialExit)> {
        let exit = self.trial.as_mut()?.poll(ctx.kill_delay)?;
        let trial = self.trial.take()?;
        self.report_running();
        self.session.wake();
        Some((trial, exit))
    }

    /// SIGTERM to the running trial (the agent is stopping).
    pub(crate) fn terminate(&mut self) {
        self.queue.clear();
        if let Some(t) = &mut self.trial
            && !t.was_stopped()
        {
            t.terminate();
        }
    }

    /// SIGKILL to the running trial.
    pub(crate) fn kill(&mut self) {
        self.queue.clear();
        if let Some(t) = &mut self.trial {
            t.kill();
        }
    }

    fn report_running(&self) {
        let ids = self
            .trial
            .iter()
            .map(|t| t.run_id().to_owned())
            .chain(self.queue.iter().map(|p| p.run_id.clone()))
            .collect();
        self.session.set_running(ids);
    }
}
