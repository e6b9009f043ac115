//! What a report left out, and why: unreadable runs, torn logs, metrics some runs lack.

use std::fmt;

/// Something the report could not show (or showed only in part), and why. The report lists
/// these in its own "Skipped" section too.
///
/// ```
/// use wandb_log::{OfflineRun, RunInfo};
/// let dir = std::env::temp_dir().join(format!("report-skipped-doc-{}", std::process::id()));
/// let info = RunInfo { run_id: "good0001".into(), ..RunInfo::default() };
/// let mut run = OfflineRun::create(&dir, &info, 1_700_000_000)?;
/// run.history(0, &serde_json::from_str(r#"{"loss": 0.5}"#)?, 0.1, 1.7e9)?;
/// run.exit(0, 1)?;
/// let torn = dir.join("wandb/offline-run-20260101_000000-empty001");
/// std::fs::create_dir_all(&torn)?;
/// std::fs::write(torn.join("run-empty001.wandb"), b"")?; // killed before its first byte
///
/// let page = wandb_report::Report::new([&dir]).render()?;
/// assert_eq!(page.runs, 1);
/// assert_eq!(page.skipped.len(), 1);
/// assert!(page.skipped[0].why.contains("empty"), "{}", page.skipped[0]);
/// # std::fs::remove_dir_all(&dir).ok();
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Skipped {
    /// The run, file or metric left out.
    pub what: String,
    /// Why, in words.
    pub why: String,
}

impl Skipped {
    pub(crate) fn new(what: impl fmt::Display, why: impl Into<String>) -> Self {
        Skipped {
            what: what.to_string(),
            why: why.into(),
        }
    }
}

impl fmt::Display for Skipped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.what, self.why)
    }
}
