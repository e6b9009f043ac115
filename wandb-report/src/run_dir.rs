//! Finding runs: the `.wandb` logs and local sweeps named by the paths given to a report.
//!
//! A path is a local sweep directory (it holds `sweep-state.json` and its runs under
//! `wandb/`), a `wandb/` directory (one run directory per entry), a directory that holds a
//! `wandb/` directory, a run directory (`offline-run-…`, `run-…`) or a `.wandb` file.

use std::collections::HashSet;
use std::fs;
use std::path::{Path, PathBuf};

use wandb_agent::local_sweep::STATE_FILE;

use crate::error::Error;
use crate::skipped::Skipped;

/// What the paths hold.
#[derive(Debug, Default)]
pub(crate) struct Found {
    /// The `.wandb` logs, one per run, in the order found (run directories by name, which
    /// for W&B's names is their start time).
    pub(crate) logs: Vec<PathBuf>,
    /// Local sweep directories.
    pub(crate) sweeps: Vec<PathBuf>,
    /// Paths that hold nothing a report can show.
    pub(crate) skipped: Vec<Skipped>,
}

impl Found {
    /// Looks at every path.
    ///
    /// # Errors
    /// [`Error::NoPaths`], or [`Error::Read`] for a path that does not exist or cannot be
    /// listed.
    pub(crate) fn search(paths: &[PathBuf]) -> Result<Found, Error> {
        if paths.is_empty() {
            return Err(Error::NoPaths);
        }
        let mut found = Found::default();
        let mut seen = HashSet::new();
        for path in paths {
            let read = |source| Error::Read {
                path: path.clone(),
                source,
            };
            let meta = fs::metadata(path).map_err(read)?;
            let before = found.logs.len();
            if meta.is_file() {
                if is_log(path) {
                    found.logs.push(path.clone());
                } else {
                    found.skipped.push(Skipped::new(
                        path.display(),
                        "not a .wandb log or a directory",
                    ));
                }
            } else {
                found.directory(path).map_err(read)?;
            }
            if found.logs.len() == before && meta.is_dir() {
                found.skipped.push(Skipped::new(
                    path.display(),
                    "no runs here (no .wandb log in it, in its run directories or in its wandb/ directory)",
                ));
            }
        }
        found
            .logs
            .retain(|log| seen.insert(fs::canonicalize(log).unwrap_or_else(|_| log.clone())));
        Ok(found)
    }

    fn directory(&mut self, dir: &Path) -> std::io::Result<()> {
        if dir.join(STATE_FILE).is_file() {
            self.sweeps.push(dir.to_path_buf());
        }
        let own = logs_in(dir)?;
        if !own.is_empty() {
            self.logs.extend(own);
            return Ok(());
        }
        for name in ["wandb", ".wandb"] {
            let inner = dir.join(name);
            if inner.is_dir() {
                return self.run_dirs(&inner);
            }
        }
        self.run_dirs(dir)
    }

    /// The logs of each run directory in `dir`, by name; symbolic links (`latest-run`) are
    /// not followed, as they point at a run listed anyway.
    fn run_dirs(&mut self, dir: &Path) -> std::io::Result<()> {
        let mut entries: Vec<_> = fs::read_dir(dir)?
            .filter_map(Result::ok)
            .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
            .map(|e| e.path())
            .collect();
        entries.sort();
        for entry in entries {
            // An unreadable run directory is one run fewer, not a failed report.
            if let Ok(logs) = logs_in(&entry) {
                self.logs.extend(logs);
            }
        }
        Ok(())
    }
}

/// The `.wandb` files directly in `dir`, by name.
fn logs_in(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut logs: Vec<PathBuf> = fs::read_dir(dir)?
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .map(|e| e.path())
        .filter(|p| is_log(p))
        .collect();
    logs.sort();
    Ok(logs)
}

fn is_log(path: &Path) -> bool {
    path.extension().is_some_and(|e| e == "wandb")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn touch(path: &Path) {
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, b"").unwrap();
    }

    #[test]
    fn sweep_wandb_and_run_directories_lead_to_the_same_logs() {
        let root = std::env::temp_dir().join(format!("report-run-dir-{}", std::process::id()));
        let _ = fs::remove_dir_all(&root);
        touch(&root.join(STATE_FILE));
        touch(&root.join("wandb/offline-run-20260101_000002-b/run-b.wandb"));
        touch(&root.join("wandb/offline-run-20260101_000001-a/run-a.wandb"));
        touch(&root.join("wandb/offline-run-20260101_000001-a/files/output.log"));
        fs::create_dir_all(root.join("empty")).unwrap();
        let names = |f: &Found| {
            f.logs
                .iter()
                .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
                .collect::<Vec<_>>()
        };
        let sweep = Found::search(std::slice::from_ref(&root)).unwrap();
        assert_eq!(names(&sweep), ["run-a.wandb", "run-b.wandb"]);
        assert_eq!(sweep.sweeps, std::slice::from_ref(&root));
        let wandb = Found::search(&[root.join("wandb")]).unwrap();
        assert_eq!(names(&wandb), ["run-a.wandb", "run-b.wandb"]);
        assert!(wandb.sweeps.is_empty());
        let twice = Found::search(&[
            root.join("wandb/offline-run-20260101_000002-b"),
            root.join("wandb/offline-run-20260101_000002-b/run-b.wandb"),
        ])
        .unwrap();
        assert_eq!(names(&twice), ["run-b.wandb"]);
        let empty = Found::search(&[root.join("empty")]).unwrap();
        assert!(empty.logs.is_empty());
        assert_eq!(empty.skipped.len(), 1);
        assert!(matches!(
            Found::search(&[root.join("missing")]),
            Err(Error::Read { .. })
        ));
        fs::remove_dir_all(&root).ok();
    }
}
