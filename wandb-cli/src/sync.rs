//! `wandb-rs sync DIR...`: uploads run directories (offline runs, or online runs whose upload
//! did not finish) from their `.wandb` logs, as the official `wandb sync` does.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::{Outcome, output};

/// Where to upload: each given one overrides the logs' (which override `WANDB_ENTITY` and
/// `WANDB_PROJECT`).
pub(crate) struct Target {
    pub(crate) entity: Option<String>,
    pub(crate) project: Option<String>,
}

/// Uploads each directory to `target`, with a progress line on stderr every `progress`
/// seconds (none for 0).
pub(crate) fn sync(
    dirs: &[PathBuf],
    target: &Target,
    include_synced: bool,
    progress: f64,
) -> Outcome {
    let api = match wandb_api::Settings::builder().resolve() {
        Ok(api) => api,
        Err(e) => {
            output::error(&format!("error: {e}"));
            return Outcome::IoError;
        }
    };
    let mut outcome = Outcome::Ok;
    for dir in dirs {
        let options = wandb_log::SyncOptions {
            entity: target.entity.clone(),
            project: target.project.clone(),
            include_synced,
            progress: progress_lines(dir, progress),
            ..wandb_log::SyncOptions::default()
        };
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

/// The longest `--progress` interval: a day.
const MAX_PROGRESS_SECONDS: f64 = 86_400.0;

/// `--progress`: a number of seconds from 0 (no progress lines) to a day.
pub(crate) fn progress_seconds(text: &str) -> Result<f64, String> {
    let seconds: f64 = text
        .trim()
        .parse()
        .map_err(|_| format!("`{text}` is not a number of seconds"))?;
    if (0.0..=MAX_PROGRESS_SECONDS).contains(&seconds) {
        Ok(seconds)
    } else {
        Err(format!(
            "{text} seconds: give 0 (no progress lines) to {MAX_PROGRESS_SECONDS} (a day)"
        ))
    }
}

/// Progress lines for `dir` on stderr every `seconds` (none for 0); the last report is left
/// to the summary line.
fn progress_lines(dir: &Path, seconds: f64) -> Option<wandb_log::SyncProgressFn> {
    let every = Duration::try_from_secs_f64(seconds)
        .ok()
        .filter(|d| !d.is_zero())?;
    let dir = dir.display().to_string();
    Some(wandb_log::SyncProgressFn::new(every, move |p| {
        if p.done {
            return;
        }
        let mut line = format!(
            "{dir}: run {}, {} rows sent, {} read from the log",
            p.run_id, p.rows_uploaded, p.rows_read
        );
        if p.rows_on_server > 0 {
            line.push_str(&format!(
                " ({} held by the server already)",
                p.rows_on_server
            ));
        }
        if let Some(why) = &p.waiting {
            line.push_str(&format!("; waiting to try again: {why}"));
        }
        output::error(&line);
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_takes_seconds_from_zero_to_a_day_and_nothing_else() {
        assert_eq!(progress_seconds("0"), Ok(0.0));
        assert_eq!(progress_seconds("0.05"), Ok(0.05));
        assert_eq!(progress_seconds("86400"), Ok(86_400.0));
        for bad in ["-1", "86401", "1e19", "nan", "inf", "-inf", "five", ""] {
            let e = progress_seconds(bad).expect_err(bad);
            assert!(e.contains("seconds"), "{bad}: {e}");
        }
    }
}
