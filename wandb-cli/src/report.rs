//! `wandb-rs report PATH... [-o FILE] [--metric NAME]... [--config SWEEP.yaml]`: one HTML
//! file with the runs' learning curves, a run table and, for a local sweep, the parameter
//! charts; it opens offline in any browser (`wandb_report::Report`).

use std::path::PathBuf;

use crate::{Outcome, output};

/// The options of `report`.
#[derive(Debug, clap::Args)]
pub(crate) struct ReportArgs {
    /// Local sweep directories (with sweep-state.json), wandb/ directories, run directories
    /// (offline-run-…) or .wandb files.
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// The HTML file to write.
    #[arg(short, long, default_value = "report.html")]
    output: PathBuf,
    /// Chart this metric (repeat for more, in order); default: every numeric metric, the
    /// sweep metric first.
    #[arg(long = "metric", value_name = "NAME")]
    metrics: Vec<String>,
    /// The sweep's config file: with hyperband, shows at which band each stopped trial was
    /// stopped.
    #[arg(long, value_name = "SWEEP_YAML")]
    config: Option<PathBuf>,
    /// The page title (default: the sweep, or the number of runs).
    #[arg(long)]
    title: Option<String>,
}

/// Writes the report; prints what was skipped (stderr) and `open FILE` last.
pub(crate) fn run(args: &ReportArgs) -> Outcome {
    let mut report = wandb_report::Report::new(&args.paths);
    for metric in &args.metrics {
        report = report.metric(metric);
    }
    if let Some(file) = &args.config {
        match crate::sweep::load(file) {
            Ok(config) => report = report.sweep_config(&config),
            Err(outcome) => return outcome,
        }
    }
    if let Some(title) = &args.title {
        report = report.title(title);
    }
    let page = match report.write(&args.output) {
        Ok(page) => page,
        Err(e) => {
            output::error(&format!("error: {e}"));
            return Outcome::IoError;
        }
    };
    for s in &page.skipped {
        output::error(&format!("skipped: {s}"));
    }
    let plural = |n: usize, noun: &str| format!("{n} {noun}{}", if n == 1 { "" } else { "s" });
    output::line(&format!(
        "wrote {}: {}, {}, {} KB",
        args.output.display(),
        plural(page.runs, "run"),
        plural(page.charts.len(), "chart"),
        page.html.len().div_ceil(1024)
    ));
    output::line(&format!("open {}", args.output.display()));
    Outcome::Ok
}
