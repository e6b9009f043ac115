//! `wandb-rs sweep suggest`: the next run's parameters.

use std::path::Path;

use serde_json::json;
use wandb_sweep::{Suggestion, next_run};

use super::load_with_runs;
use crate::{Outcome, output};

pub(super) fn run(path: &Path, runs: Option<&Path>, seed: u64) -> Outcome {
    let (config, runs) = match load_with_runs(path, runs) {
        Ok(loaded) => loaded,
        Err(outcome) => return outcome,
    };
    match next_run(&config, &runs, seed) {
        Ok(Suggestion::Run(params)) => {
            output::line(&json!({"params": params.to_json()}).to_string())
        }
        Ok(Suggestion::Done(reason)) => {
            output::line(&json!({"done": reason.to_string()}).to_string())
        }
        Err(e) => {
            output::error(&format!("error: {e}"));
            return Outcome::Invalid;
        }
    };
    Outcome::Ok
}
