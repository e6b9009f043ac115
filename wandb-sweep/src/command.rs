//! The command line of a sweep run, built from `command` and its macros exactly as the
//! official agent builds it: every argument is its own argv element, never joined.

use std::collections::HashMap;

use crate::config::SweepConfig;
use crate::python::{python_json, python_str};
use crate::value::Value;

/// The default `command` when the config has none.
pub const DEFAULT_COMMAND: [&str; 4] = ["${env}", "${interpreter}", "${program}", "${args}"];

/// What the macros expand to besides the parameters.
///
/// ```
/// use wandb_sweep::{CommandContext, SweepConfig, Value};
/// let cfg = SweepConfig::from_yaml("program: train.py\nmethod: grid\nparameters:\n  lr: {values: [0.01]}\n  layers: {values: [[64, 32]]}\n")?;
/// let params: Value = serde_json::from_str(r#"{"lr": 0.01, "layers": [64, 32]}"#).unwrap();
/// let argv = CommandContext::new().argv(&cfg, &params);
/// assert_eq!(argv, ["/usr/bin/env", "python", "train.py", "--lr=0.01", "--layers=[64, 32]"]);
/// # Ok::<(), wandb_sweep::Error>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct CommandContext {
    /// What `${interpreter}` expands to (default `python`).
    pub interpreter: Option<String>,
    /// The path `${args_json_file}` expands to (the agent writes the JSON there).
    pub json_file: Option<String>,
    /// Whether `${env}` expands to nothing (Windows); default: `/usr/bin/env`.
    pub no_env: bool,
    /// Environment values for `${envvar:NAME}`; unset names expand to `NAME`.
    pub env: HashMap<String, String>,
}

impl CommandContext {
    /// A context with the official agent's defaults and an empty environment.
    #[must_use]
    pub fn new() -> Self {
        CommandContext::default()
    }

    /// The argv for a run with `params` (a mapping of top-level parameter names to values,
    /// nested groups as mappings).
    #[must_use]
    pub fn argv(&self, config: &SweepConfig, params: &Value) -> Vec<String> {
        let template: Vec<String> = match &config.command {
            Some(items) => items.iter().map(python_str).collect(),
            None => DEFAULT_COMMAND.iter().map(|s| (*s).to_owned()).collect(),
        };
        let mut argv = Vec::new();
        for element in template {
            let element = self.expand_envvars(&element);
            match element.strip_prefix("${").and_then(|e| e.strip_suffix('}')) {
                Some(name) if !name.contains("${") => {
                    argv.extend(self.expand(name, config, params));
                }
                _ => argv.push(element),
            }
        }
        argv
    }

    fn expand(&self, name: &str, config: &SweepConfig, params: &Value) -> Vec<String> {
        let pairs = pairs(params);
        let each = |f: &dyn Fn(&str, &str) -> String| pairs.iter().map(|(k, v)| f(k, v)).collect();
        match name {
            "env" if self.no_env => Vec::new(),
            "env" => vec!["/usr/bin/env".to_owned()],
            "interpreter" => vec![
                self.interpreter
                    .clone()
                    .unwrap_or_else(|| "python".to_owned()),
            ],
            "program" => config.program.clone().into_iter().collect(),
            "args" => each(&|k, v| format!("--{k}={v}")),
            "args_no_hyphens" => each(&|k, v| format!("{k}={v}")),
            "args_append_hydra" => each(&|k, v| format!("+{k}={v}")),
            "args_override_hydra" => each(&|k, v| format!("++{k}={v}")),
            "args_no_equals" => pairs
                .iter()
                .flat_map(|(k, v)| [format!("--{k}"), v.clone()])
                .collect(),
            "args_no_boolean_flags" => no_boolean_flags(params),
            "args_json" => vec![python_json(params)],
            "args_json_file" => self.json_file.clone().into_iter().collect(),
            _ => Vec::new(),
        }
    }

    /// Replaces `${envvar:NAME}` (NAME of `[A-Z0-9_]`) by its value, or by `NAME` when unset.
    fn expand_envvars(&self, element: &str) -> String {
        let mut out = String::new();
        let mut rest = element;
        while let Some(start) = rest.find("${envvar:") {
            let after = &rest[start + 9..];
            let name_len =
                after.find(|c: char| !(c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_'));
            match name_len {
                Some(n) if after[n..].starts_with('}') => {
                    let name = &after[..n];
                    out.push_str(&rest[..start]);
                    out.push_str(self.env.get(name).map_or(name, String::as_str));
                    rest = &after[n + 1..];
                }
                _ => {
                    out.push_str(&rest[..start + 9]);
                    rest = after;
                }
            }
        }
        out.push_str(rest);
        out
    }
}

/// `(name, str(value))` for each top-level parameter.
fn pairs(params: &Value) -> Vec<(String, String)> {
    match params {
        Value::Map(m) => m.iter().map(|(k, v)| (k.clone(), python_str(v))).collect(),
        _ => Vec::new(),
    }
}

fn no_boolean_flags(params: &Value) -> Vec<String> {
    let Value::Map(m) = params else {
        return Vec::new();
    };
    m.iter()
        .filter_map(|(k, v)| match v {
            Value::Bool(true) => Some(format!("--{k}")),
            Value::Bool(false) => None,
            other => Some(format!("--{k}={}", python_str(other))),
        })
        .collect()
}

/// Hydra overrides `key=value`, nested groups as dotted keys (`model.width=64`).
///
/// ```
/// use wandb_sweep::{hydra_overrides, Value};
/// let p: Value = serde_json::from_str(r#"{"model": {"width": 64}, "lr": 0.001}"#).unwrap();
/// assert_eq!(hydra_overrides(&p), ["model.width=64", "lr=0.001"]);
/// ```
#[must_use]
pub fn hydra_overrides(params: &Value) -> Vec<String> {
    leaves(params, "")
        .into_iter()
        .map(|(k, v)| format!("{k}={}", python_str(v)))
        .collect()
}

/// YACS overrides: `KEY VALUE` as two argv elements each, nested groups as dotted keys.
///
/// ```
/// use wandb_sweep::{yacs_overrides, Value};
/// let p: Value = serde_json::from_str(r#"{"OUTPUT_DIR": "./x", "SOLVER": {"BASE_LR": 0.01}}"#).unwrap();
/// assert_eq!(yacs_overrides(&p), ["OUTPUT_DIR", "./x", "SOLVER.BASE_LR", "0.01"]);
/// ```
#[must_use]
pub fn yacs_overrides(params: &Value) -> Vec<String> {
    leaves(params, "")
        .into_iter()
        .flat_map(|(k, v)| [k, python_str(v)])
        .collect()
}

fn leaves<'v>(v: &'v Value, prefix: &str) -> Vec<(String, &'v Value)> {
    match v {
        Value::Map(m) => m
            .iter()
            .flat_map(|(k, inner)| {
                let key = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                match inner {
                    Value::Map(_) => leaves(inner, &key),
                    _ => vec![(key, inner)],
                }
            })
            .collect(),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(command: &str) -> SweepConfig {
        let yaml = format!(
            "program: train.py\nmethod: random\ncommand: {command}\nparameters:\n  a: {{value: 1}}\n"
        );
        SweepConfig::from_yaml(&yaml).unwrap()
    }

    fn params() -> Value {
        serde_json::from_str(
            r#"{"lr": 0.01, "use_bn": true, "dropout_off": false, "opt": {"name": "adam", "beta": 0.9}, "layers": [64, 32], "tag": "a b"}"#,
        )
        .unwrap()
    }

    #[test]
    fn every_macro_matches_the_captured_agent_argv() {
        let c = cfg(
            "['${env}', '${interpreter}', '${program}', '${args}', '${args_no_hyphens}', '${args_no_boolean_flags}', '${args_json}', '${args_json_file}']",
        );
        let ctx = CommandContext {
            json_file: Some("/abs/config-r.json".into()),
            ..CommandContext::new()
        };
        let argv = ctx.argv(&c, &params());
        let want: Vec<&str> = vec![
            "/usr/bin/env",
            "python",
            "train.py",
            "--lr=0.01",
            "--use_bn=True",
            "--dropout_off=False",
            "--opt={'name': 'adam', 'beta': 0.9}",
            "--layers=[64, 32]",
            "--tag=a b",
            "lr=0.01",
            "use_bn=True",
            "dropout_off=False",
            "opt={'name': 'adam', 'beta': 0.9}",
            "layers=[64, 32]",
            "tag=a b",
            "--lr=0.01",
            "--use_bn",
            "--opt={'name': 'adam', 'beta': 0.9}",
            "--layers=[64, 32]",
            "--tag=a b",
            r#"{"lr": 0.01, "use_bn": true, "dropout_off": false, "opt": {"name": "adam", "beta": 0.9}, "layers": [64, 32], "tag": "a b"}"#,
            "/abs/config-r.json",
        ];
        assert_eq!(argv, want);
    }

    #[test]
    fn no_equals_and_hydra_macros_split_and_prefix() {
        let c = cfg(
            "['${args_no_equals}', '${args_append_hydra}', '${args_override_hydra}', '${unknown}', 'keep ${args} inside']",
        );
        let p: Value = serde_json::from_str(r#"{"OUTPUT_DIR": "./x"}"#).unwrap();
        let argv = CommandContext::new().argv(&c, &p);
        assert_eq!(
            argv,
            [
                "--OUTPUT_DIR",
                "./x",
                "+OUTPUT_DIR=./x",
                "++OUTPUT_DIR=./x",
                "keep ${args} inside"
            ]
        );
    }

    #[test]
    fn envvar_macros_use_the_environment_or_the_name() {
        let c = cfg("['--data=${envvar:DATA_DIR}/x', '${envvar:UNSET_1}', '${envvar:lower}']");
        let mut ctx = CommandContext::new();
        ctx.env.insert("DATA_DIR".into(), "/data".into());
        let argv = ctx.argv(&c, &Value::Map(Default::default()));
        // Lower-case names are not envvar macros; the whole element is then an unknown macro.
        assert_eq!(argv, ["--data=/data/x", "UNSET_1"]);
    }
}
