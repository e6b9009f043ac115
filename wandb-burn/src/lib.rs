//! Burn meets W&B: [`WandbMetricLogger`] is a burn-train `MetricLogger` that logs burn's
//! training and validation metrics to a [`wandb_log::Run`] (online, or offline for
//! `wandb sync`). In a burn trainer (a sketch: the runnable version is the `burn_train`
//! example, and `WandbMetricLogger`'s own example runs as a doctest):
//!
//! ```text
//! let run = wandb_log::Run::builder().project("burn-demo").init()?;
//! let result = burn::train::SupervisedTraining::new(dir, train_loader, valid_loader)
//!     .metric_train_numeric(LossMetric::new())
//!     .metric_valid_numeric(LossMetric::new())
//!     .with_metric_logger(wandb_burn::WandbMetricLogger::new(run.clone()))
//!     .num_epochs(10)
//!     .launch(learner);
//! run.finish(0)?;
//! ```
//!
//! Keys: `train/loss` (each batch), `train/loss_epoch` (burn's value for the epoch),
//! `valid/…`, `test/…`, with `epoch` in every row as the x axis of each split's metrics.
//! A runnable trainer: `cargo run -p wandb-burn --example burn_train`.
//!
//! This crate needs Rust 1.95 (burn 0.22's MSRV); the other wandb-rs crates need 1.89.

mod key;
mod logger;
mod numeric_history;

pub use key::{metric_key, split_prefix};
pub use logger::{EPOCH_SUFFIX, WandbMetricLogger};
