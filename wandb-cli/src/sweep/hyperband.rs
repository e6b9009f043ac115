//! `wandb-rs sweep hyperband`: the schedule and the runs it stops.

use std::path::Path;

use serde_json::json;
use wandb_sweep::EarlyTerminate;

use super::{Format, load_with_runs};
use crate::{Outcome, output};

pub(super) fn run(path: &Path, runs: Option<&Path>, format: Format) -> Outcome {
    let (config, runs) = match load_with_runs(path, runs) {
        Ok(loaded) => loaded,
        Err(outcome) => return outcome,
    };
    let (Some(EarlyTerminate::Hyperband(hb)), Some(metric)) =
        (&config.early_terminate, &config.metric)
    else {
        output::error(&format!(
            "error: {}: no `early_terminate` hyperband block with a `metric`",
            path.display()
        ));
        return Outcome::Invalid;
    };
    let decision = hb.decide(metric, &runs);
    let text = match format {
        Format::Json => json!({"bands": decision.bands, "stop": decision.stop}).to_string(),
        Format::Text => format!("{}\n{}", hb.describe(), decision.lines.join("\n")),
    };
    output::line(&text);
    Outcome::Ok
}
