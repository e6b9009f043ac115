//! `wandb-rs sweep hyperband`: the schedule and the runs it stops.

use std::path::Path;

use serde::Deserialize;
use serde_json::json;
use wandb_sweep::{EarlyTerminate, Run, SweepConfig};

use super::{Format, load_with_runs, read};
use crate::{Outcome, output};

pub(super) fn run(path: &Path, runs: Option<&Path>, format: Format) -> Outcome {
    let (config, runs) = match load_with_python_runs(path, runs) {
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

/// The checked sweep file and its runs file, read as Python's `json.dump` and W&B history
/// write it: JSON plus the bare tokens `NaN`, `Infinity` and `-Infinity`. A diverging metric
/// is logged as exactly those; the searches and hyperband drop non-finite metric values the
/// way the engine does.
pub(super) fn load_with_python_runs(
    path: &Path,
    runs: Option<&Path>,
) -> Result<(SweepConfig, Vec<Run>), Outcome> {
    // The shared loader reads only strict JSON runs, so it gets none here.
    let (config, _) = load_with_runs(path, None)?;
    let Some(runs_path) = runs else {
        return Ok((config, Vec::new()));
    };
    let text = read(runs_path).ok_or(Outcome::IoError)?;
    let parsed = wandb_api::parse_extended_json(&text)
        .map_err(|e| e.to_string())
        .and_then(|value| Vec::<Run>::deserialize(value).map_err(|e| e.to_string()));
    match parsed {
        Ok(runs) => Ok((config, runs)),
        Err(e) => {
            output::error(&format!(
                "error: {}: not a JSON list of runs: {e}",
                runs_path.display()
            ));
            Err(Outcome::IoError)
        }
    }
}
