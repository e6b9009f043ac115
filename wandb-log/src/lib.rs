//! The wandb-rs run logger: a [`Run`] handle for online, offline and disabled runs that logs
//! from any thread without waiting on I/O, and the `.wandb` transaction log it writes first,
//! which the official `wandb sync` uploads (with a reader for it).
//!
//! - [`Run::builder`]: every field falls back to its `WANDB_*` variable; a program started by
//!   `wandb agent` attaches to its sweep run; [`Resume`] continues an existing online run.
//! - [`Run::log`] / [`Run::log_at`]: rows for one step merge, also when they arrive late,
//!   while the step is open in the [`StepWindow`] (rows leave it in step order); a
//!   [`StepPolicy`] decides about rows below the window (never silently dropped).
//! - [`Run::source`]: a [`Source`] handle per thread that logs (callbacks, evaluation), with
//!   a priority for same-key conflicts and its own step counter; [`Run::step_stats`] and
//!   [`FinishReport::step_stats`] count merges, late rows, refusals and step jumps.
//! - Rich values in rows: [`Image`], [`Histogram`], [`Table`] (see [`media`]), written
//!   as the official client writes them.
//! - [`Run::define_metric`] with a [`MetricDefinition`]: step metrics, globs, summaries.
//! - [`Run::finish`] returns a [`FinishReport`]; online uploads retry until `finish_timeout`.
//! - Console output (the UI's Logs tab): [`Run::console`], a [`ConsoleWriter`], the tracing
//!   layer [`Run::console_layer`], and on unix the capture of the process's own stdout and
//!   stderr ([`Console::Capture`], `WANDB_CONSOLE`).
//! - [`Run::save`] with a [`SavePolicy`]: files kept and uploaded with the run; online, the
//!   file of every `files` record of the log is uploaded (media, metadata, saved files).
//!
//! Sweep agents and local sweeps, which run trials with a `Run` each, are in `wandb-agent`.
//!
//! The format level, below the `Run`:
//!
//! ```
//! use wandb_log::{LogReader, OfflineRun, RunInfo, proto::record::RecordType};
//! use wandb_sweep::Value;
//! let root = std::env::temp_dir().join(format!("wandb-log-guide-{}", std::process::id()));
//! let info = RunInfo { run_id: "abc12345".into(), project: Some("demo".into()), config: serde_json::from_str(r#"{"lr": 0.01}"#).unwrap(), ..RunInfo::default() };
//! let mut run = OfflineRun::create(&root, &info, 1_700_000_000)?;
//! for step in 0..3 {
//!     run.history(step, &serde_json::from_str(&format!(r#"{{"loss": {}}}"#, 1.0 / (step as f64 + 1.0))).unwrap(), 0.5, 1.7e9)?;
//! }
//! run.exit(0, 2)?;
//! let log = run.dir().join("run-abc12345.wandb");
//! let records: Vec<_> = LogReader::new(std::fs::File::open(log)?)?.collect::<Result<_, _>>()?;
//! assert!(matches!(records[0].record_type, Some(RecordType::Run(_))));
//! assert!(matches!(records.last().unwrap().record_type, Some(RecordType::Exit(_))));
//! # std::fs::remove_dir_all(&root).ok();
//! # Ok::<(), std::io::Error>(())
//! ```

mod cgroup;
mod console;
mod console_capture;
mod console_layer;
mod error;
mod error_class;
mod file_upload;
mod git_info;
mod gpu;
mod history;
mod history_record;
mod keys;
mod log_file;
pub mod media;
mod metadata;
mod metric;
mod offline_run;
mod origin;
mod outbox;
mod panic_note;
pub mod proto;
mod rate_limiter;
mod resume;
mod row;
mod run;
mod run_builder;
mod save;
mod settings;
mod source;
mod step;
mod step_stats;
mod step_window;
mod summary;
mod sync;
mod sync_progress;
mod system_metrics;
mod transaction_log;
mod upload_source;
mod uploader;
pub mod wire;
mod writer;

pub use console::{ConsoleStream, ConsoleWriter};
pub use console_capture::Console;
pub use console_layer::ConsoleLayer;
pub use error::Error;
pub use media::{Histogram, Image, RowValue, Table};
pub use metric::{Aggregation, Goal, MetricDefinition};
pub use offline_run::{OfflineRun, RunInfo, console_line, history_row, unix_now};
pub use resume::Resume;
pub use row::{IntoRow, RowWriter};
pub use run::{DROP_UPLOAD_WAIT, FinishReport, Run};
pub use run_builder::RunBuilder;
pub use save::SavePolicy;
pub use settings::{Mode, new_run_id};
pub use source::Source;
pub use step::StepPolicy;
pub use step_stats::StepStats;
pub use step_window::StepWindow;
pub use sync::{SyncOptions, SyncReport, sync};
pub use sync_progress::{SyncProgress, SyncProgressFn};
pub use system_metrics::SystemSampler;
pub use transaction_log::{BLOCK_SIZE, FILE_HEADER, LogReader, LogWriter};
/// The plain values of rows, configs and table cells (from `wandb-sweep`).
pub use wandb_sweep::Value;
