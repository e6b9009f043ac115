//! What a child-process trial needs, exactly as the official `wandb agent` prepares it: the
//! argv from the sweep's `command` (macros expanded, one element per argument), the run's
//! parameters in `<dir>/wandb/sweep-<id>/config-<run>.yaml`, and the environment a W&B
//! client (Python `wandb` or `wandb-log`'s [`wandb_log::Run`]) reads to attach to the sweep run.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use indexmap::IndexMap;
use wandb_sweep::{
    CommandContext, Method, Parameters, SweepConfig, Value, python_json, python_str,
};

use super::sweep_path::SweepPath;
use crate::error::Error;
use crate::trial_process::TrialCommand;

/// The macro whose presence makes the agent write `config-<run>.json`.
const ARGS_JSON_FILE: &str = "${args_json_file}";

/// One trial to launch as a child process.
///
/// ```
/// use wandb_agent::agent::{SweepPath, TrialLaunch};
/// use wandb_sweep::Value;
/// let dir = std::env::temp_dir().join(format!("wandb-log-launch-doc-{}", std::process::id()));
/// let params: Value = serde_json::from_str(r#"{"lr": 0.01, "tag": "a b"}"#).unwrap();
/// let launch = TrialLaunch::new("team/proj/sw33p1d".parse()?, "swrun001", params, &dir)
///     .program("train.py");
/// let cmd = launch.command(Some("program: train.py\nmethod: grid\n"), &Default::default())?;
/// assert_eq!(cmd.argv(), ["/usr/bin/env", "python", "train.py", "--lr=0.01", "--tag=a b"]);
/// let yaml = std::fs::read_to_string(launch.param_file())?;
/// assert_eq!(yaml, "wandb_version: 1\n\nlr:\n  value: 0.01\ntag:\n  value: \"a b\"\n");
/// # std::fs::remove_dir_all(&dir).ok();
/// # Ok::<(), wandb_agent::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct TrialLaunch {
    sweep: SweepPath,
    run_id: String,
    program: Option<String>,
    params: Value,
    dir: PathBuf,
    context: CommandContext,
}

impl TrialLaunch {
    /// A trial of `sweep` with the server's `run_id` and `params` (plain values, as
    /// [`wandb_api::AgentCommand::Run`] carries them); `dir` is the `WANDB_DIR` (the parent
    /// of `wandb/`), made absolute against the current directory so that the paths the
    /// child receives do not depend on its working directory.
    #[must_use]
    pub fn new(sweep: SweepPath, run_id: impl Into<String>, params: Value, dir: &Path) -> Self {
        TrialLaunch {
            sweep,
            run_id: run_id.into(),
            program: None,
            params,
            dir: std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf()),
            context: CommandContext::new(),
        }
    }

    /// The program of the `run` command (wins over the sweep config's `program`).
    #[must_use]
    pub fn program(mut self, program: impl Into<String>) -> Self {
        self.program = Some(program.into());
        self
    }

    /// What `${interpreter}` expands to (default `python`).
    #[must_use]
    pub fn interpreter(mut self, interpreter: impl Into<String>) -> Self {
        self.context.interpreter = Some(interpreter.into());
        self
    }

    /// The run id.
    #[must_use]
    pub fn run_id(&self) -> &str {
        &self.run_id
    }

    /// `<dir>/wandb/sweep-<sweep id>/`.
    #[must_use]
    pub fn sweep_dir(&self) -> PathBuf {
        self.dir
            .join("wandb")
            .join(format!("sweep-{}", self.sweep.sweep_id))
    }

    /// `<sweep dir>/config-<run id>.yaml`, the file `WANDB_SWEEP_PARAM_PATH` names.
    #[must_use]
    pub fn param_file(&self) -> PathBuf {
        self.sweep_dir()
            .join(format!("config-{}.yaml", self.run_id))
    }

    /// Writes the parameter files and returns the command: argv from `sweep_config_yaml`'s
    /// `command` (default `${env} ${interpreter} ${program} ${args}`), `env` for
    /// `${envvar:NAME}`, and the child environment of the official agent (`WANDB_RUN_ID`,
    /// `WANDB_SWEEP_ID`, `WANDB_SWEEP_PARAM_PATH`, `WANDB_ENTITY`, `WANDB_PROJECT`,
    /// `WANDB_DIR`; `WANDB_SERVICE` removed). As with the official agent, the child keeps
    /// the caller's working directory (a relative `program` is found there, not in `dir`).
    ///
    /// # Errors
    /// [`Error::Io`] when the parameter files cannot be written.
    pub fn command(
        &self,
        sweep_config_yaml: Option<&str>,
        env: &HashMap<String, String>,
    ) -> Result<TrialCommand, Error> {
        let config = self.config(sweep_config_yaml);
        std::fs::create_dir_all(self.sweep_dir())?;
        let param_file = self.param_file();
        std::fs::write(&param_file, param_file_yaml(&self.params))?;
        let mut context = self.context.clone();
        context.env.clone_from(env);
        if uses_json_file(&config) {
            let json_file = self
                .sweep_dir()
                .join(format!("config-{}.json", self.run_id));
            std::fs::write(&json_file, python_json(&self.params))?;
            context.json_file = Some(json_file.display().to_string());
        }
        let argv = context.argv(&config, &self.params);
        let mut cmd = TrialCommand::new(argv)
            .env("WANDB_RUN_ID", &self.run_id)
            .env("WANDB_SWEEP_ID", &self.sweep.sweep_id)
            .env("WANDB_SWEEP_PARAM_PATH", param_file.display().to_string())
            .env("WANDB_DIR", self.dir.display().to_string())
            .env_remove("WANDB_SERVICE");
        for (key, value) in [
            ("WANDB_ENTITY", &self.sweep.entity),
            ("WANDB_PROJECT", &self.sweep.project),
        ] {
            if let Some(v) = value {
                cmd = cmd.env(key, v);
            }
        }
        Ok(cmd)
    }

    /// The parts of the stored config the argv needs (`command`, `program`); a config this
    /// crate cannot fully check still gives them.
    fn config(&self, yaml: Option<&str>) -> SweepConfig {
        let doc = yaml
            .and_then(|y| wandb_sweep::parse_value(y).ok())
            .unwrap_or(Value::Null);
        let field = |k: &str| match &doc {
            Value::Map(m) => m.get(k).cloned(),
            _ => None,
        };
        let mut config = SweepConfig::new(Method::Grid, Parameters::new());
        config.program = self
            .program
            .clone()
            .or_else(|| field("program").and_then(|p| p.as_str().map(str::to_owned)));
        config.command = match field("command") {
            Some(Value::List(items)) => Some(items),
            _ => None,
        };
        config
    }
}

/// The text of the parameter file the official agent writes (`WANDB_SWEEP_PARAM_PATH`):
/// `wandb_version: 1`, a blank line, then `param: {value: v}` per parameter in block style.
///
/// ```
/// let params: wandb_sweep::Value = serde_json::from_str(r#"{"lr": 0.01}"#).unwrap();
/// let yaml = wandb_agent::agent::param_file_yaml(&params);
/// assert_eq!(yaml, "wandb_version: 1\n\nlr:\n  value: 0.01\n");
/// ```
#[must_use]
pub fn param_file_yaml(params: &Value) -> String {
    let wrapped: IndexMap<String, Value> = match params {
        Value::Map(m) => m
            .iter()
            .map(|(k, v)| {
                let inner = IndexMap::from([("value".to_owned(), v.clone())]);
                (k.clone(), Value::Map(inner))
            })
            .collect(),
        _ => IndexMap::new(),
    };
    format!("wandb_version: 1\n\n{}", Value::Map(wrapped).to_yaml())
}

fn uses_json_file(config: &SweepConfig) -> bool {
    config
        .command
        .iter()
        .flatten()
        .any(|v| python_str(v) == ARGS_JSON_FILE)
}
