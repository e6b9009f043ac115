//! The [`Run`] of one sweep trial: the server's run id, attached to the sweep, the command's
//! parameters as config.

use wandb_sweep::Value;

use super::sweep_path::SweepPath;
use crate::error::Error;
use crate::run::Run;
use crate::run_builder::RunBuilder;
use crate::settings::Mode;

/// Starts the run of a trial from `template`: id `run_id`, sweep `sweep`, the template's
/// config with `params` (plain values) over it, backend `api`, entity and project from the
/// sweep path. A
/// `WANDB_SWEEP_PARAM_PATH` of this process (an outer agent's) is ignored: the parameters are
/// the command's.
///
/// ```
/// use wandb_log::{Mode, Run, agent::{SweepPath, sweep_run}};
/// let api = wandb_api::Settings::builder().resolve_with(|_| None, None).unwrap();
/// let params: wandb_sweep::Value = serde_json::from_str(r#"{"lr": 0.1}"#).unwrap();
/// let run = sweep_run(Run::builder(), &api, &"proj/sw33p1d".parse()?, "swrun001", &params, Mode::Disabled)?;
/// assert_eq!(run.id(), "swrun001");
/// assert_eq!(run.config::<serde_json::Value>()?["lr"], 0.1);
/// # Ok::<(), wandb_log::Error>(())
/// ```
///
/// # Errors
/// As [`RunBuilder::init`].
pub fn sweep_run(
    template: RunBuilder,
    api: &wandb_api::Settings,
    sweep: &SweepPath,
    run_id: &str,
    params: &Value,
    mode: Mode,
) -> Result<Run, Error> {
    let mut builder = template
        .id(run_id)
        .sweep_id(sweep.sweep_id.clone())
        .sweep_params(&params.to_json())
        .api(api.clone())
        .mode(mode);
    if let Some(e) = &sweep.entity {
        builder = builder.entity(e.clone());
    }
    if let Some(p) = &sweep.project {
        builder = builder.project(p.clone());
    }
    builder.init_with(|k| match k {
        "WANDB_SWEEP_PARAM_PATH" => None,
        _ => std::env::var(k).ok(),
    })
}
