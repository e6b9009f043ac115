//! The [`Run`] of one sweep trial: the server's run id, attached to the sweep, the command's
//! parameters as config.

use wandb_sweep::Value;

use super::sweep_path::SweepPath;
use crate::error::Error;
use wandb_log::Mode;
use wandb_log::Run;
use wandb_log::RunBuilder;

/// Variables that say which run a process logs to (id, name, group, resume mode, sweep,
/// parameter file). A sweep gives each trial its own; the values of this process (an outer
/// agent's, or the user's shell) would make every trial the same run, so trials never
/// inherit them: the in-process agent, the local sweep's closures and `wandb-rs sweep
/// local`'s children all skip them.
pub const TRIAL_OWNED_VARS: [&str; 6] = [
    "WANDB_RUN_ID",
    "WANDB_NAME",
    "WANDB_RUN_GROUP",
    "WANDB_RESUME",
    "WANDB_SWEEP_ID",
    "WANDB_SWEEP_PARAM_PATH",
];

/// `lookup(key)`, except for [`TRIAL_OWNED_VARS`] and `also`.
pub(crate) fn trial_var(
    key: &str,
    also: &[&str],
    lookup: impl Fn(&str) -> Option<String>,
) -> Option<String> {
    match TRIAL_OWNED_VARS.contains(&key) || also.contains(&key) {
        true => None,
        false => lookup(key),
    }
}

/// Starts the run of a trial from `template`: id `run_id`, sweep `sweep`, the template's
/// config with `params` (plain values) over it, backend `api`, entity and project from the
/// sweep path. This process's [`TRIAL_OWNED_VARS`] (an outer agent's `WANDB_SWEEP_PARAM_PATH`,
/// a `WANDB_NAME`, …) are ignored: the parameters are the command's. The run does not capture
/// the process's stdout and stderr ([`wandb_log::Console::Off`]): runs share this process.
///
/// ```
/// use wandb_agent::agent::{SweepPath, sweep_run};
/// use wandb_log::{Mode, Run};
/// let api = wandb_api::Settings::builder().resolve_with(|_| None, None).unwrap();
/// let params: wandb_sweep::Value = serde_json::from_str(r#"{"lr": 0.1}"#).unwrap();
/// let run = sweep_run(Run::builder(), &api, &"proj/sw33p1d".parse()?, "swrun001", &params, Mode::Disabled)?;
/// assert_eq!(run.id(), "swrun001");
/// assert_eq!(run.config::<serde_json::Value>()?["lr"], 0.1);
/// # Ok::<(), wandb_agent::Error>(())
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
        .mode(mode)
        // Runs share this process: none captures its stdout and stderr.
        .console(wandb_log::Console::Off);
    if let Some(e) = &sweep.entity {
        builder = builder.entity(e.clone());
    }
    if let Some(p) = &sweep.project {
        builder = builder.project(p.clone());
    }
    Ok(builder.init_with(|k| trial_var(k, &[], |k| std::env::var(k).ok()))?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trials_do_not_inherit_the_variables_of_a_run() {
        let env = |k: &str| Some(format!("outer-{k}"));
        for key in [
            "WANDB_RESUME",
            "WANDB_NAME",
            "WANDB_RUN_GROUP",
            "WANDB_RUN_ID",
        ] {
            assert_eq!(trial_var(key, &[], env), None, "{key}");
        }
        assert_eq!(trial_var("WANDB_MODE", &["WANDB_MODE"], env), None);
        assert_eq!(
            trial_var("WANDB_API_KEY", &["WANDB_MODE"], env).as_deref(),
            Some("outer-WANDB_API_KEY")
        );
    }
}
