//! `wandb-rs sync DIR...`: uploads run directories (offline runs, or online runs whose upload
//! did not finish) from their `.wandb` logs, as the official `wandb sync` does.

use std::path::PathBuf;

use crate::{Outcome, output};

/// Uploads each directory; `entity` and `project` override the logs' (which override
/// `WANDB_ENTITY` and `WANDB_PROJECT`).
pub(crate) fn sync(
    dirs: &[PathBuf],
    entity: Option<String>,
    project: Option<String>,
    include_synced: bool,
) -> Outcome {
    let api = match wandb_api::Settings::builder().resolve() {
        Ok(api) => api,
        Err(e) => {
            output::error(&format!("error: {e}"));
            return Outcome::IoError;
        }
    };
    let options = wandb_log::SyncOptions {
        entity,
        project,
        include_synced,
        ..wandb_log::SyncOptions::default()
    };
    let mut outcome = Outcome::Ok;
    for dir in dirs {
        match wandb_log::sync(dir, api.clone(), &options) {
            Ok(r) if r.already_synced => {
                output::line(&format!(
                    "{}: run {} already synced (--include-synced to sync it again)",
                    dir.display(),
                    r.run_id
                ));
            }
            Ok(r) => {
                output::line(&format!(
                    "synced {}: run {}, {} of {} rows sent ({} held by the server already), exit code {}",
                    dir.display(),
                    r.run_id,
                    r.rows_uploaded,
                    r.rows,
                    r.rows_on_server,
                    r.exit_code
                ));
                if !r.files_uploaded.is_empty() {
                    output::line(&format!(
                        "  files uploaded: {}",
                        r.files_uploaded.join(", ")
                    ));
                }
                for (name, why) in &r.file_errors {
                    output::error(&format!("  file {name} did not upload: {why}"));
                }
            }
            Err(e) => {
                output::error(&format!("error: {}: {e}", dir.display()));
                outcome = Outcome::IoError;
            }
        }
    }
    outcome
}
