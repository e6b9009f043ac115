//! Sweep agents: registration and heartbeats with typed commands.

use serde_json::{Map, Value as Json};
use wandb_sweep::{Value, python_json};

use crate::client::Client;
use crate::error::Error;
use crate::graphql::{CreateAgent, Heartbeat, create_agent, heartbeat};
use crate::retry::RetrySafety;

/// What the server tells an agent to do.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum AgentCommand {
    /// Start a run with these parameters (nested groups as mappings, no `{value: …}`).
    Run {
        /// The run id to use.
        run_id: String,
        /// The sweep's `program`.
        program: Option<String>,
        /// The parameters.
        params: Value,
    },
    /// Restart a preempted run with the same id.
    Resume {
        /// The run id.
        run_id: String,
        /// The sweep's `program`.
        program: Option<String>,
        /// The parameters.
        params: Value,
    },
    /// Stop these runs (SIGTERM, later SIGKILL).
    Stop {
        /// The run ids.
        run_ids: Vec<String>,
    },
    /// Stop everything and exit.
    Exit,
    /// A command this client does not know, or a `run`/`resume` whose `args` are not a
    /// mapping of parameters (kept, not fatal, never run; a `tracing` warning names the run).
    Unknown {
        /// The raw command.
        raw: Json,
    },
}

/// Parses the heartbeat's `commands` (a JSON string holding a list of command objects).
///
/// ```
/// use wandb_api::{parse_commands, AgentCommand};
/// let cmds = parse_commands(r#"[{"type": "run", "run_id": "r1", "program": "train.py", "args": {"lr": {"value": 0.01}}}, {"type": "exit"}]"#)?;
/// assert!(matches!(&cmds[0], AgentCommand::Run { run_id, .. } if run_id == "r1"));
/// assert_eq!(cmds[1], AgentCommand::Exit);
/// # Ok::<(), wandb_api::Error>(())
/// ```
///
/// # Errors
/// [`Error::InvalidResponse`] when the text is not a JSON list.
pub fn parse_commands(text: &str) -> Result<Vec<AgentCommand>, Error> {
    let list: Vec<Json> = serde_json::from_str(text)
        .map_err(|e| Error::InvalidResponse(format!("heartbeat commands: {e}")))?;
    Ok(list.into_iter().map(command).collect())
}

fn command(raw: Json) -> AgentCommand {
    let text = |k: &str| raw.get(k).and_then(Json::as_str).map(str::to_owned);
    match (raw.get("type").and_then(Json::as_str), text("run_id")) {
        (Some(kind @ ("run" | "resume")), Some(run_id)) => {
            let Some(params) = unwrap_args(raw.get("args")) else {
                tracing::warn!(
                    run = %run_id,
                    "W&B sent a {kind} command whose args are not a mapping of parameters; the run is not started"
                );
                return AgentCommand::Unknown { raw };
            };
            let program = text("program");
            if kind == "run" {
                AgentCommand::Run {
                    run_id,
                    program,
                    params,
                }
            } else {
                AgentCommand::Resume {
                    run_id,
                    program,
                    params,
                }
            }
        }
        (Some("stop"), Some(run_id)) => AgentCommand::Stop {
            run_ids: vec![run_id],
        },
        (Some("stop"), None) => {
            let ids = raw.get("run_ids").and_then(Json::as_array).map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect()
            });
            AgentCommand::Stop {
                run_ids: ids.unwrap_or_default(),
            }
        }
        (Some("exit"), _) => AgentCommand::Exit,
        _ => AgentCommand::Unknown { raw },
    }
}

/// `{k: {value: v}}` → `{k: v}`; `None` when `args` is missing or not a mapping.
fn unwrap_args(args: Option<&Json>) -> Option<Value> {
    let Some(Json::Object(m)) = args else {
        return None;
    };
    let plain: Map<String, Json> = m
        .iter()
        .map(|(k, v)| {
            (
                k.clone(),
                v.get("value").cloned().unwrap_or_else(|| v.clone()),
            )
        })
        .collect();
    serde_json::from_value(Json::Object(plain)).ok()
}

/// `createAgent` makes a new agent each time it is carried out.
const CREATE_AGENT: RetrySafety = RetrySafety::Creates {
    check: "the sweep's agents in the W&B app",
};

impl Client {
    /// Registers an agent for a sweep; returns the agent id. Fails with HTTP 400 when the
    /// sweep is not running. Not sent again after a failure W&B may have acted on.
    ///
    /// # Errors
    /// [`Error::NotRetried`] after a timeout or 5xx, and any [`Error`].
    pub async fn create_agent(
        &self,
        host: &str,
        entity: Option<&str>,
        project: Option<&str>,
        sweep_id: &str,
    ) -> Result<String, Error> {
        let vars = create_agent::Variables {
            host: host.to_owned(),
            entity_name: entity
                .map(str::to_owned)
                .or_else(|| self.settings().entity.clone()),
            project_name: project
                .map(str::to_owned)
                .or_else(|| self.settings().project.clone()),
            sweep: sweep_id.to_owned(),
        };
        let data = self.execute::<CreateAgent>(vars, CREATE_AGENT).await?;
        data.create_agent
            .and_then(|p| p.agent)
            .map(|a| a.id)
            .ok_or_else(|| Error::InvalidResponse("createAgent returned no agent".into()))
    }

    /// One heartbeat: reports the agent's running runs, returns the server's commands.
    ///
    /// # Errors
    /// [`Error::NotFound`] when the sweep or agent was deleted, and any [`Error`].
    pub async fn heartbeat(
        &self,
        agent_id: &str,
        running: &[String],
    ) -> Result<Vec<AgentCommand>, Error> {
        // Python's json.dumps layout, byte for byte as the official agent sends it.
        let run_state = Value::Map(
            running
                .iter()
                .map(|r| (r.clone(), Value::Bool(true)))
                .collect(),
        );
        let vars = heartbeat::Variables {
            id: agent_id.to_owned(),
            metrics: Some("{}".to_owned()),
            run_state: Some(python_json(&run_state)),
        };
        let data = self
            .execute::<Heartbeat>(vars, RetrySafety::Idempotent)
            .await?;
        match data.agent_heartbeat.and_then(|p| p.commands) {
            Some(text) => parse_commands(&text),
            None => Ok(Vec::new()),
        }
    }
}
