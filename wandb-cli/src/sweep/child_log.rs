//! A child trial's run, read back from its `.wandb` log: the sweep metric's history for bayes
//! and hyperband, and the stop flag the controller raises.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use wandb_agent::local_sweep::TrialProbe;
use wandb_log::LogReader;
use wandb_log::proto::record::RecordType;

/// The probe of one child trial.
pub(super) struct ChildLog {
    /// `<WANDB_DIR>/wandb`, where the child's run directory appears.
    runs: PathBuf,
    run_id: String,
    metric: Option<String>,
    stop: AtomicBool,
    /// The child's run directory, once found.
    dir: Mutex<Option<PathBuf>>,
    /// The log's size when last read, and what it held: an unchanged log is not read again.
    cache: Mutex<(u64, Vec<(u64, f64)>)>,
}

impl ChildLog {
    pub(super) fn new(wandb_dir: &Path, run_id: &str, metric: Option<&str>) -> Self {
        ChildLog {
            runs: wandb_dir.join("wandb"),
            run_id: run_id.to_owned(),
            metric: metric.map(str::to_owned),
            stop: AtomicBool::new(false),
            dir: Mutex::new(None),
            cache: Mutex::new((0, Vec::new())),
        }
    }

    /// Whether the controller asked the trial to stop.
    pub(super) fn stop_requested(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }

    /// The child's run directory (`offline-run-<time>-<id>` or `run-<time>-<id>`), once it
    /// exists.
    pub(super) fn run_dir(&self) -> Option<PathBuf> {
        let mut dir = self
            .dir
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if dir.is_none() {
            let suffix = format!("-{}", self.run_id);
            *dir = std::fs::read_dir(&self.runs)
                .ok()?
                .filter_map(Result::ok)
                .map(|e| e.path())
                .find(|p| {
                    p.file_name()
                        .and_then(|n| n.to_str())
                        .is_some_and(|n| n.ends_with(&suffix) && n.contains("run-"))
                });
        }
        dir.clone()
    }

    /// The metric's `(step, value)` pairs in the log so far (finite numbers only); read again
    /// only when the log has grown.
    fn read_history(&self, metric: &str) -> Option<Vec<(u64, f64)>> {
        let path = self.run_dir()?.join(format!("run-{}.wandb", self.run_id));
        let file = File::open(path).ok()?;
        let size = file.metadata().ok()?.len();
        let mut cache = self
            .cache
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if cache.0 != size {
            *cache = (size, parse_history(file, metric)?);
        }
        Some(cache.1.clone())
    }
}

/// The metric's `(step, value)` pairs of a `.wandb` log.
fn parse_history(file: File, metric: &str) -> Option<Vec<(u64, f64)>> {
    let reader = LogReader::new(file).ok()?;
    let mut history = Vec::new();
    // A record still being written ends the read; the next poll sees it.
    for record in reader.map_while(Result::ok) {
        let Some(RecordType::History(row)) = record.record_type else {
            continue;
        };
        let step = row.step.map_or(history.len() as u64, |s| {
            u64::try_from(s.num).unwrap_or_default()
        });
        let value = row
            .item
            .iter()
            .find(|i| i.key == metric && i.nested_key.is_empty())
            .and_then(|i| serde_json::from_str::<f64>(&i.value_json).ok())
            .filter(|v| v.is_finite());
        if let Some(v) = value {
            history.push((step, v));
        }
    }
    Some(history)
}

impl TrialProbe for ChildLog {
    fn history(&self) -> Vec<(u64, f64)> {
        self.metric
            .as_deref()
            .and_then(|m| self.read_history(m))
            .unwrap_or_default()
    }

    fn request_stop(&self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}
