//! `wandb-rs sweep command`: the argv a run gets, as the official agent builds it.

use std::path::Path;

use wandb_sweep::{CommandContext, Value};

use super::{Format, load};
use crate::{Outcome, output};

pub(super) fn run(path: &Path, params: &str, run_id: Option<&str>, format: Format) -> Outcome {
    let config = match load(path) {
        Ok(c) => c,
        Err(outcome) => return outcome,
    };
    let params: Value = match serde_json::from_str(params) {
        Ok(p @ Value::Map(_)) => p,
        _ => {
            output::error("error: --params must be a JSON object such as '{\"lr\": 0.01}'");
            return Outcome::IoError;
        }
    };
    let ctx = CommandContext {
        json_file: run_id.map(|r| format!("config-{r}.json")),
        no_env: cfg!(windows),
        env: crate::utf8_env(),
        ..CommandContext::new()
    };
    let argv = ctx.argv(&config, &params);
    let text = match format {
        Format::Json => serde_json::to_string(&argv).unwrap_or_default(),
        Format::Text => argv.join("\n"),
    };
    output::line(&text);
    Outcome::Ok
}
