//! Offline run directories that the official `wandb sync` uploads:
//! `wandb/offline-run-YYYYMMDD_HHMMSS-<run_id>/run-<run_id>.wandb` plus `files/`.

use std::fs::{self, File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use prost::Message;
use wandb_api::{to_extended_json, write_extended_json};
use wandb_sweep::Value;

use crate::history_record::RowEncoder;
use crate::log_file::LogFile;
use crate::proto::files_item::{FileType, PolicyType};
use crate::proto::output_raw_record::OutputType;
use crate::proto::record::RecordType;
use crate::proto::{
    ConfigItem, ConfigRecord, FilesItem, FilesRecord, GitRepoRecord, MetricRecord, OutputRawRecord,
    Record, RunExitRecord, RunRecord, SummaryItem, SummaryRecord, Timestamp,
};
use crate::transaction_log::LogWriter;

/// What the first record of a run says about it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RunInfo {
    /// The run id (8 characters of `[a-z0-9]` by convention).
    pub run_id: String,
    /// The entity, if known.
    pub entity: Option<String>,
    /// The project, if known.
    pub project: Option<String>,
    /// The display name.
    pub display_name: Option<String>,
    /// The group.
    pub group: Option<String>,
    /// The job type.
    pub job_type: Option<String>,
    /// Notes.
    pub notes: Option<String>,
    /// Tags.
    pub tags: Vec<String>,
    /// The sweep the run belongs to.
    pub sweep_id: Option<String>,
    /// The config (a mapping of plain values).
    pub config: Value,
    /// The machine's host name.
    pub host: Option<String>,
    /// The git remote URL (credentials removed) and commit of the code.
    pub git: Option<GitRepoRecord>,
}

/// An offline run being written: a `.wandb` log in its own directory.
///
/// ```
/// use wandb_log::{OfflineRun, RunInfo};
/// use wandb_sweep::Value;
/// let root = std::env::temp_dir().join(format!("wandb-log-doc-{}", std::process::id()));
/// let info = RunInfo { run_id: "docrun01".into(), project: Some("demo".into()), config: Value::Map(Default::default()), ..RunInfo::default() };
/// let mut run = OfflineRun::create(&root, &info, 1_700_000_000)?;
/// run.history(0, &serde_json::from_str(r#"{"loss": 0.5}"#).unwrap(), 0.1, 1_700_000_000.1)?;
/// run.exit(0, 1)?;
/// assert!(run.dir().file_name().unwrap().to_str().unwrap().starts_with("offline-run-20231114_"));
/// # std::fs::remove_dir_all(&root).ok();
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug)]
pub struct OfflineRun {
    dir: PathBuf,
    log_path: PathBuf,
    log: LogWriter<LogFile<File>>,
}

impl OfflineRun {
    /// Creates `root/wandb/offline-run-<UTC start time>-<run_id>/` (a `-n` suffix when it
    /// exists), its `files/` folder, the `.wandb` log (never overwriting one), and writes
    /// the run record.
    ///
    /// # Errors
    /// I/O errors.
    pub fn create(root: &Path, info: &RunInfo, start_unix_secs: i64) -> io::Result<Self> {
        Self::create_with_prefix(root, info, start_unix_secs, "offline-run")
    }

    /// As [`OfflineRun::create`], for an online run: `run-<time>-<id>/` (the `.wandb` log of
    /// an online run, which `wandb sync --include-online` can re-upload).
    ///
    /// # Errors
    /// I/O errors.
    pub fn create_online(root: &Path, info: &RunInfo, start_unix_secs: i64) -> io::Result<Self> {
        Self::create_with_prefix(root, info, start_unix_secs, "run")
    }

    fn create_with_prefix(
        root: &Path,
        info: &RunInfo,
        start_unix_secs: i64,
        prefix: &str,
    ) -> io::Result<Self> {
        let base = root.join("wandb");
        let name = format!("{prefix}-{}-{}", stamp(start_unix_secs), info.run_id);
        let mut dir = base.join(&name);
        let mut n = 1;
        while dir.exists() {
            dir = base.join(format!("{name}-{n}"));
            n += 1;
        }
        fs::create_dir_all(dir.join("files"))?;
        let log_path = dir.join(format!("run-{}.wandb", info.run_id));
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&log_path)?;
        let mut run = OfflineRun {
            dir,
            log_path,
            log: LogWriter::new(LogFile::new(file, 0))?,
        };
        run.record(RecordType::Run(run_record(info, start_unix_secs)))?;
        // A process killed right away still leaves a valid log with its run record.
        run.log.flush()?;
        Ok(run)
    }

    /// The run's directory.
    #[must_use]
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The run's `.wandb` log file.
    #[must_use]
    pub fn log_path(&self) -> &Path {
        &self.log_path
    }

    /// Appends an encoded record (the writer encodes history rows itself). A record is
    /// refused (with the disk's error) only while too much is waiting for a failing disk;
    /// otherwise a failed write is tried again, and reported, at the next flush.
    pub(crate) fn write_payload(&mut self, record: &[u8]) -> io::Result<()> {
        self.log.inner_mut().check_room()?;
        self.log.write_payload(record)?;
        // A failure here is kept pending and reported by the next flush.
        let _retried_at_flush = self.log.inner_mut().write_if_due();
        Ok(())
    }

    /// A metric definition (`define_metric`); `wandb sync` puts it into config `_wandb.m`.
    ///
    /// # Errors
    /// I/O errors.
    pub fn metric(&mut self, metric: MetricRecord) -> io::Result<()> {
        self.record(RecordType::Metric(metric))
    }

    /// A `files` record for a media file the run wrote (`path` under its `files/`), with
    /// the policy the official client gives media files (`now`: uploaded right away).
    pub(crate) fn media_file(&mut self, path: String) -> io::Result<()> {
        self.files(vec![FilesItem {
            path,
            policy: PolicyType::Now.into(),
            r#type: FileType::Other.into(),
        }])
    }

    /// Writes a record of `record_type`.
    pub(crate) fn record(&mut self, record_type: RecordType) -> io::Result<()> {
        let record = Record {
            record_type: Some(record_type),
            ..Record::default()
        };
        self.write_payload(&record.encode_to_vec())
    }

    /// One history row at `step`, with `_step`, `_runtime` and `_timestamp` added.
    /// (See [`history_row`] for the same row as one file-stream line.)
    ///
    /// # Errors
    /// I/O errors.
    pub fn history(
        &mut self,
        step: i64,
        row: &Value,
        runtime: f64,
        timestamp: f64,
    ) -> io::Result<()> {
        let mut bytes = Vec::new();
        row_encoder(step, row, runtime, timestamp).encode(step, &mut bytes);
        self.write_payload(&bytes)
    }

    /// Summary updates (each key's new value).
    ///
    /// # Errors
    /// I/O errors.
    pub fn summary(&mut self, values: &Value) -> io::Result<()> {
        let Value::Map(m) = values else { return Ok(()) };
        let update = m
            .iter()
            .map(|(k, v)| SummaryItem {
                key: k.clone(),
                nested_key: Vec::new(),
                value_json: to_extended_json(v),
            })
            .collect();
        self.record(RecordType::Summary(SummaryRecord {
            update,
            remove: Vec::new(),
        }))
    }

    /// The end of the run: `_wandb.runtime` in the summary, then the exit record.
    ///
    /// # Errors
    /// I/O errors.
    pub fn exit(&mut self, exit_code: i32, runtime_secs: i32) -> io::Result<()> {
        let runtime = SummaryItem {
            key: String::new(),
            nested_key: vec!["_wandb".into(), "runtime".into()],
            value_json: runtime_secs.to_string(),
        };
        self.record(RecordType::Summary(SummaryRecord {
            update: vec![runtime],
            remove: Vec::new(),
        }))?;
        self.record(RecordType::Exit(RunExitRecord {
            exit_code,
            runtime: runtime_secs,
            not_complete: false,
        }))?;
        self.log.flush()
    }

    /// One line of console output (`output.log`): `stderr` or stdout, at `unix` (Unix
    /// seconds); a newline is added.
    ///
    /// # Errors
    /// I/O errors.
    pub fn output(&mut self, stderr: bool, text: &str, unix: f64) -> io::Result<()> {
        let output_type = if stderr {
            OutputType::Stderr
        } else {
            OutputType::Stdout
        };
        self.record(RecordType::OutputRaw(OutputRawRecord {
            output_type: output_type.into(),
            timestamp: Some(timestamp(unix)),
            line: format!("{text}\n"),
        }))
    }

    /// A `files` record: files in the run's `files/` (paths relative to it) that `wandb sync`
    /// uploads, each with its policy.
    ///
    /// ```
    /// use wandb_log::proto::{FilesItem, files_item::PolicyType};
    /// use wandb_log::{OfflineRun, RunInfo};
    /// let root = std::env::temp_dir().join(format!("wandb-log-files-doc-{}", std::process::id()));
    /// let info = RunInfo { run_id: "files001".into(), ..RunInfo::default() };
    /// let mut run = OfflineRun::create(&root, &info, 1_700_000_000)?;
    /// std::fs::write(run.dir().join("files/notes.txt"), "hello")?;
    /// run.files(vec![FilesItem { path: "notes.txt".into(), policy: PolicyType::Now.into(), r#type: 0 }])?;
    /// run.exit(0, 1)?;
    /// # std::fs::remove_dir_all(&root).ok();
    /// # Ok::<(), std::io::Error>(())
    /// ```
    ///
    /// # Errors
    /// I/O errors.
    pub fn files(&mut self, files: Vec<FilesItem>) -> io::Result<()> {
        self.record(RecordType::Files(FilesRecord { files }))
    }

    /// Flushes buffered records to the file.
    ///
    /// # Errors
    /// I/O errors.
    pub fn flush(&mut self) -> io::Result<()> {
        self.log.flush()
    }
}

/// A row's items with `_step`, `_runtime` and `_timestamp` first (a value the row gives for
/// one of them wins): the one encoding of a history row, for the `.wandb` record and the
/// file-stream line alike.
fn row_encoder(step: i64, row: &Value, runtime: f64, timestamp: f64) -> RowEncoder {
    const FIRST: [&str; 3] = ["_step", "_runtime", "_timestamp"];
    let empty = indexmap::IndexMap::new();
    let values = match row {
        Value::Map(m) => m,
        _ => &empty,
    };
    let mut items = RowEncoder::default();
    for (key, default) in
        FIRST
            .into_iter()
            .zip([Value::from(step), runtime.into(), timestamp.into()])
    {
        let value = values.get(key).unwrap_or(&default);
        items.push(key, |o| write_extended_json(value, o));
    }
    for (k, v) in values.iter().filter(|(k, _)| !FIRST.contains(&k.as_str())) {
        items.push(k, |o| write_extended_json(v, o));
    }
    items
}

pub(crate) fn run_record(info: &RunInfo, start: i64) -> RunRecord {
    let update = match &info.config {
        Value::Map(m) => m
            .iter()
            .map(|(k, v)| ConfigItem {
                key: k.clone(),
                nested_key: Vec::new(),
                value_json: to_extended_json(v),
            })
            .collect(),
        _ => Vec::new(),
    };
    let text = |o: &Option<String>| o.clone().unwrap_or_default();
    RunRecord {
        run_id: info.run_id.clone(),
        entity: text(&info.entity),
        project: text(&info.project),
        config: Some(ConfigRecord {
            update,
            remove: Vec::new(),
        }),
        run_group: text(&info.group),
        job_type: text(&info.job_type),
        display_name: text(&info.display_name),
        notes: text(&info.notes),
        tags: info.tags.clone(),
        sweep_id: text(&info.sweep_id),
        start_time: Some(Timestamp {
            seconds: start,
            nanos: 0,
        }),
        host: text(&info.host),
        git: info.git.clone(),
        ..RunRecord::default()
    }
}

/// A Unix time as a protobuf timestamp.
pub(crate) fn timestamp(unix: f64) -> Timestamp {
    let unix = if unix.is_finite() { unix.max(0.0) } else { 0.0 };
    #[expect(
        clippy::cast_possible_truncation,
        reason = "a non-negative finite time; nanoseconds fit i32"
    )]
    let (seconds, nanos) = (unix.floor() as i64, ((unix - unix.floor()) * 1e9) as i32);
    Timestamp {
        seconds,
        nanos: nanos.clamp(0, 999_999_999),
    }
}

/// A protobuf timestamp as Unix seconds (the reverse of [`timestamp`]).
pub(crate) fn unix_seconds(t: &Timestamp) -> f64 {
    #[expect(clippy::cast_precision_loss, reason = "Unix seconds as a float")]
    let seconds = t.seconds as f64;
    seconds + f64::from(t.nanos) / 1e9
}

/// A console line as the file stream sends it: `[ERROR ]YYYY-MM-DDTHH:MM:SS.ffffff <text>`
/// (UTC, microseconds; the `ERROR ` prefix marks stderr).
///
/// ```
/// assert_eq!(wandb_log::console_line(true, "boom", 1_700_000_000.25), "ERROR 2023-11-14T22:13:20.250000 boom");
/// assert_eq!(wandb_log::console_line(false, "hi", 0.0), "1970-01-01T00:00:00.000000 hi");
/// ```
#[must_use]
pub fn console_line(stderr: bool, text: &str, unix: f64) -> String {
    let Timestamp { seconds, nanos } = timestamp(unix);
    let (y, m, d) = civil_from_days(seconds.div_euclid(86_400));
    let secs = seconds.rem_euclid(86_400);
    format!(
        "{}{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:06} {text}",
        if stderr { "ERROR " } else { "" },
        secs / 3600,
        secs / 60 % 60,
        secs % 60,
        nanos / 1000
    )
}

/// `YYYYMMDD_HHMMSS` of a Unix time (UTC).
fn stamp(unix: i64) -> String {
    let days = unix.div_euclid(86_400);
    let secs = unix.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}{m:02}{d:02}_{:02}{:02}{:02}",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

/// The proleptic Gregorian date of a day count since 1970-01-01.
pub(crate) fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// Seconds since the Unix epoch, now.
#[must_use]
pub fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// A history row with `_step`, `_runtime` and `_timestamp` first, as one extended-JSON line
/// (the file stream's `wandb-history.jsonl` format).
#[must_use]
pub fn history_row(step: i64, row: &Value, runtime: f64, timestamp: f64) -> String {
    let mut line = String::new();
    row_encoder(step, row, runtime, timestamp).line(&mut line);
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamps_are_utc_calendar_times() {
        assert_eq!(stamp(0), "19700101_000000");
        assert_eq!(stamp(1_700_000_000), "20231114_221320");
        assert_eq!(stamp(951_782_400), "20000229_000000");
    }

    /// The record `history` writes and the line `history_row` gives hold the same items in
    /// the same order, with the row's own `_runtime` winning over the default.
    #[test]
    fn the_history_record_and_the_line_agree() {
        use crate::proto::HistoryRecord;
        let root = std::env::temp_dir().join(format!("wandb-log-row-{}", std::process::id()));
        let info = RunInfo {
            run_id: "row12345".into(),
            ..RunInfo::default()
        };
        let row = wandb_sweep::parse_value("{loss: 0.5, _runtime: 9, acc: .nan}").unwrap();
        let mut run = OfflineRun::create(&root, &info, 0).unwrap();
        run.history(3, &row, 1.5, 2.0).unwrap();
        run.flush().unwrap();
        let file = File::open(run.dir().join("run-row12345.wandb")).unwrap();
        let history: Vec<HistoryRecord> = crate::LogReader::new(file)
            .unwrap()
            .filter_map(|r| match r.unwrap().record_type {
                Some(RecordType::History(h)) => Some(h),
                _ => None,
            })
            .collect();
        fs::remove_dir_all(&root).ok();
        let items: Vec<(&str, &str)> = history[0]
            .item
            .iter()
            .map(|i| (i.key.as_str(), i.value_json.as_str()))
            .collect();
        let expected = [
            ("_step", "3"),
            ("_runtime", "9"),
            ("_timestamp", "2.0"),
            ("loss", "0.5"),
            ("acc", "NaN"),
        ];
        assert_eq!(items, expected);
        assert_eq!(history[0].step.as_ref().map(|s| s.num), Some(3));
        assert_eq!(
            history_row(3, &row, 1.5, 2.0),
            r#"{"_step":3,"_runtime":9,"_timestamp":2.0,"loss":0.5,"acc":NaN}"#
        );
    }
}
