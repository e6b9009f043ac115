//! Offline reports of W&B runs: the runs' learning curves, a run table and, for a local
//! sweep, the metric against each parameter, parallel coordinates, parameter importance and
//! hyperband's stops, in **one HTML file that opens in any browser with no network**: no
//! script, style, font or image is loaded from anywhere. No W&B account is needed; the page
//! ends with the `wandb sync` command that uploads the runs when there is one.
//!
//! The report reads each run's `.wandb` transaction log (history, config, summary, metric
//! definitions, exit state), as written by wandb-rs or by the official Python client, so the
//! official client's offline runs work too. Runs whose logs are torn (a killed process),
//! empty or not `.wandb` logs at all are skipped or shown in part, and the report lists
//! what it skipped and why ([`Page::skipped`]); reading never panics.
//!
//! - [`Report::new`] takes local sweep directories (`sweep-state.json` and `wandb/`),
//!   `wandb/` directories, run directories or `.wandb` files; [`Report::metric`] picks the
//!   metrics to chart, [`Report::sweep_config`] adds hyperband's bands.
//! - [`Report::write`] writes the file and returns the [`Page`]: runs shown, metrics
//!   charted, what was skipped.
//!
//! Charts are SVG drawn here: one line chart per metric (each run a line, x = `_step` or the
//! metric's `define_metric` step metric, a log axis when the values span two decades or more,
//! NaN and infinite values as gaps); long histories are reduced to each pixel column's
//! minimum and maximum, so no spike is lost and 100 runs × 100,000 rows stay a small page.
//! Hovering a run anywhere highlights it in every chart and in the table; the table sorts by
//! any column.
//!
//! ```
//! use wandb_log::{OfflineRun, RunInfo};
//! let dir = std::env::temp_dir().join(format!("report-guide-{}", std::process::id()));
//! let info = RunInfo { run_id: "guide001".into(), ..RunInfo::default() };
//! let mut run = OfflineRun::create(&dir, &info, 1_700_000_000)?;
//! for step in 0..50 {
//!     let row = format!(r#"{{"loss": {}, "acc": {}}}"#, 2.0 / (step as f64 + 1.0), step as f64 / 50.0);
//!     run.history(step, &serde_json::from_str(&row)?, 0.1, 1.7e9)?;
//! }
//! run.exit(0, 5)?;
//!
//! let page = wandb_report::Report::new([&dir]).write(dir.join("report.html"))?;
//! assert_eq!(page.charts, ["loss", "acc"]);
//! assert!(page.skipped.is_empty());
//! # std::fs::remove_dir_all(&dir).ok();
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! A Rust program that ran a [`wandb_agent::LocalSweep`] writes the report of its sweep with
//! `Report::new([sweep.dir()]).sweep_config(sweep.config()).write(sweep.dir().join("report.html"))`.

mod axis;
mod chart;
mod error;
mod history_record;
mod importance;
mod page;
mod parallel_coordinates;
mod param_axis;
mod report;
mod run_dir;
mod run_log;
mod run_set;
mod run_state;
mod run_table;
mod scatter;
mod series;
mod skipped;
mod svg;
mod sweep;
mod sweep_section;
mod upload;

pub use error::Error;
pub use report::{Page, Report};
pub use skipped::Skipped;
