//! [`Report`]: which runs, which metrics; [`Page`]: the HTML written.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use wandb_sweep::SweepConfig;

use crate::error::Error;
use crate::run_dir::Found;
use crate::run_log::RunLog;
use crate::run_set::RunSet;
use crate::skipped::Skipped;
use crate::sweep::LocalSweep;

/// A report of runs: the paths to read and what to show. [`Report::write`] reads the runs'
/// `.wandb` logs and writes one self-contained HTML file.
///
/// ```
/// use wandb_log::{OfflineRun, RunInfo};
/// let dir = std::env::temp_dir().join(format!("report-doc-{}", std::process::id()));
/// for (id, lr) in [("run00001", 0.1), ("run00002", 0.01)] {
///     let info = RunInfo { run_id: id.into(), config: serde_json::from_str(&format!(r#"{{"lr": {lr}}}"#))?, ..RunInfo::default() };
///     let mut run = OfflineRun::create(&dir, &info, 1_700_000_000)?;
///     for step in 0..20 {
///         let loss = 1.0 / (1.0 + lr * step as f64);
///         run.history(step, &serde_json::from_str(&format!(r#"{{"loss": {loss}}}"#))?, 0.1, 1.7e9)?;
///     }
///     run.exit(0, 2)?;
/// }
/// let page = wandb_report::Report::new([&dir]).write(dir.join("report.html"))?;
/// assert_eq!((page.runs, page.charts.as_slice()), (2, ["loss".to_owned()].as_slice()));
/// assert!(page.html.contains("<svg") && !page.html.contains("<script src"));
/// # std::fs::remove_dir_all(&dir).ok();
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Default)]
#[must_use]
pub struct Report {
    paths: Vec<PathBuf>,
    metrics: Vec<String>,
    config: Option<SweepConfig>,
    title: Option<String>,
}

impl Report {
    /// A report of the runs in `paths`: local sweep directories (with `sweep-state.json`),
    /// `wandb/` directories, directories holding a `wandb/` directory, run directories or
    /// `.wandb` files.
    pub fn new<I, P>(paths: I) -> Report
    where
        I: IntoIterator<Item = P>,
        P: AsRef<Path>,
    {
        Report {
            paths: paths
                .into_iter()
                .map(|p| p.as_ref().to_path_buf())
                .collect(),
            ..Report::default()
        }
    }

    /// Charts this metric (call again for more, in order). Without any, every numeric
    /// metric is charted (the sweep metric first); step metrics and hidden metrics are not.
    pub fn metric(mut self, name: impl Into<String>) -> Report {
        self.metrics.push(name.into());
        self
    }

    /// The sweep's config: with hyperband, the report shows at which band each stopped trial
    /// was stopped; a state file without a metric takes the config's.
    pub fn sweep_config(mut self, config: &SweepConfig) -> Report {
        self.config = Some(config.clone());
        self
    }

    /// The page title (default: the sweep, or the number of runs).
    pub fn title(mut self, title: impl Into<String>) -> Report {
        self.title = Some(title.into());
        self
    }

    /// Reads the runs and builds the page. Runs that cannot be read are skipped and listed
    /// in [`Page::skipped`] (and on the page); the logs are read on all cores.
    ///
    /// # Errors
    /// [`Error::NoPaths`], [`Error::Read`] for a path that does not exist, [`Error::NoRuns`]
    /// when no run at all can be read.
    pub fn render(&self) -> Result<Page, Error> {
        let found = Found::search(&self.paths)?;
        let mut skipped = found.skipped;
        let mut sweep = None;
        for dir in &found.sweeps {
            match LocalSweep::read(dir) {
                Ok(s) if sweep.is_none() => sweep = Some(s),
                Ok(_) => skipped.push(Skipped::new(
                    dir.display(),
                    "a second local sweep: its runs are shown, its parameter charts are not (one sweep per report)",
                )),
                Err(why) => skipped.push(Skipped::new(
                    dir.join(wandb_agent::local_sweep::STATE_FILE).display(),
                    why,
                )),
            }
        }
        let mut logs = Vec::new();
        for (path, result) in found.logs.iter().zip(read_all(&found.logs)) {
            match result {
                Ok(log) => logs.push(log),
                Err(why) => skipped.push(Skipped::new(path.display(), why)),
            }
        }
        if logs.is_empty() {
            return Err(Error::NoRuns {
                paths: self
                    .paths
                    .iter()
                    .map(|p| p.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", "),
                skipped,
            });
        }
        let set = RunSet::new(logs, sweep, self.config.as_ref(), &self.metrics, skipped);
        let title = self.title.clone().unwrap_or_else(|| match &set.sweep {
            Some(s) => format!("Sweep {}", s.id),
            None if set.runs.len() == 1 => format!("Run {}", set.runs[0].log.name()),
            None => format!("{} runs", set.runs.len()),
        });
        Ok(Page {
            html: crate::page::render(&set, &title),
            runs: set.runs.len(),
            charts: set.charts,
            skipped: set.skipped,
        })
    }

    /// [`Report::render`], then writes the page to `file`.
    ///
    /// # Errors
    /// As [`Report::render`], and [`Error::Write`].
    pub fn write(&self, file: impl AsRef<Path>) -> Result<Page, Error> {
        let page = self.render()?;
        page.write(file)?;
        Ok(page)
    }
}

/// A rendered report.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Page {
    /// The HTML: one file, nothing loaded from elsewhere.
    pub html: String,
    /// Runs shown.
    pub runs: usize,
    /// The metrics charted, in order.
    pub charts: Vec<String>,
    /// What was left out or shown in part, and why.
    pub skipped: Vec<Skipped>,
}

impl Page {
    /// Writes the HTML to `file`.
    ///
    /// # Errors
    /// [`Error::Write`].
    pub fn write(&self, file: impl AsRef<Path>) -> Result<(), Error> {
        let file = file.as_ref();
        std::fs::write(file, &self.html).map_err(|source| Error::Write {
            path: file.to_path_buf(),
            source,
        })
    }
}

/// Reads every log, on as many threads as there are cores.
fn read_all(logs: &[PathBuf]) -> Vec<Result<RunLog, String>> {
    let workers = std::thread::available_parallelism()
        .map_or(1, std::num::NonZero::get)
        .min(logs.len())
        .max(1);
    let next = AtomicUsize::new(0);
    let mut results: Vec<Option<Result<RunLog, String>>> = vec![None; logs.len()];
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                scope.spawn(|| {
                    let mut mine = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(path) = logs.get(i) else { break };
                        mine.push((i, RunLog::read(path)));
                    }
                    mine
                })
            })
            .collect();
        for handle in handles {
            // A reader that panicked (a bug) loses its runs, which are listed as skipped.
            for (i, result) in handle.join().unwrap_or_default() {
                results[i] = Some(result);
            }
        }
    });
    results
        .into_iter()
        .map(|r| r.unwrap_or_else(|| Err("reading it failed (an internal error)".to_owned())))
        .collect()
}
