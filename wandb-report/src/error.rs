//! The crate's error type.

use std::path::PathBuf;

use crate::skipped::Skipped;

/// Everything that stops a report from being written. Runs that cannot be read are not
/// errors: the report lists them as skipped, with the reason.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// No path was given.
    #[error("no paths given: name a local sweep directory, a wandb/ directory or run directories")]
    NoPaths,
    /// A path does not exist or cannot be listed.
    #[error(
        "cannot read {}: {source}; give a local sweep directory, a wandb/ directory, run directories or .wandb files",
        path.display()
    )]
    Read {
        /// The path.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// The paths hold no run that can be read.
    #[error(
        "no runs found in {paths}{}: give a local sweep directory (with sweep-state.json), a wandb/ directory, or offline-run-… directories that hold a .wandb log",
        reasons(skipped)
    )]
    NoRuns {
        /// The paths given, comma-separated.
        paths: String,
        /// What was found but could not be read, and why.
        skipped: Vec<Skipped>,
    },
    /// The report file could not be written.
    #[error(
        "cannot write the report {}: {source}; check that its directory exists and is writable, or choose another file",
        path.display()
    )]
    Write {
        /// The report file.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
}

/// ` (skipped: a: why; b: why)`, at most three.
fn reasons(skipped: &[Skipped]) -> String {
    if skipped.is_empty() {
        return String::new();
    }
    let shown: Vec<String> = skipped.iter().take(3).map(Skipped::to_string).collect();
    let more = skipped.len().saturating_sub(3);
    let more = if more > 0 {
        format!("; {more} more")
    } else {
        String::new()
    };
    format!(" (skipped: {}{more})", shown.join("; "))
}
