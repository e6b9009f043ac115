//! `wandb-rs sweep check`: diagnostics, method and grid size of each file.

use std::path::PathBuf;

use serde::Serialize;
use wandb_sweep::{Diagnostic, Report};

use super::{Format, read};
use crate::{Outcome, output};

/// One file's result in `--format json` (a stable interface).
#[derive(Debug, Serialize)]
struct FileJson<'a> {
    file: &'a str,
    valid: bool,
    errors: Vec<ItemJson<'a>>,
    warnings: Vec<ItemJson<'a>>,
    method: Option<&'static str>,
    grid_size: Option<u128>,
}

#[derive(Debug, Serialize)]
struct ItemJson<'a> {
    path: &'a str,
    line: Option<usize>,
    column: Option<usize>,
    message: &'a str,
}

impl<'a> ItemJson<'a> {
    fn new(d: &'a Diagnostic) -> Self {
        ItemJson {
            path: &d.path,
            line: d.location.map(|l| l.line),
            column: d.location.map(|l| l.column),
            message: &d.message,
        }
    }
}

pub(super) fn run(files: &[PathBuf], format: Format) -> Outcome {
    let mut outcome = Outcome::Ok;
    for path in files {
        let Some(text) = read(path) else {
            outcome = Outcome::IoError;
            continue;
        };
        let name = path.display().to_string();
        let report = wandb_sweep::check(&text);
        let shown = match format {
            Format::Json => output::line(&json(&name, &report)),
            Format::Text => output::text(&human(&name, &text, &report)),
        };
        if !shown {
            return outcome;
        }
        if !report.is_valid() && outcome == Outcome::Ok {
            outcome = Outcome::Invalid;
        }
    }
    outcome
}

fn json(file: &str, report: &Report) -> String {
    let out = FileJson {
        file,
        valid: report.is_valid(),
        errors: report.errors().into_iter().map(ItemJson::new).collect(),
        warnings: report.warnings().into_iter().map(ItemJson::new).collect(),
        method: report.config().map(|c| c.method.as_str()),
        grid_size: report.grid_size(),
    };
    serde_json::to_string(&out).unwrap_or_default()
}

fn human(file: &str, text: &str, report: &Report) -> String {
    let mut out = String::new();
    for d in report.diagnostics() {
        out.push_str(&d.render(file, text));
        out.push('\n');
    }
    let (e, w) = (report.errors().len(), report.warnings().len());
    let method = report.config().map_or("unknown", |c| c.method.as_str());
    let verdict = if e == 0 {
        "valid".to_owned()
    } else {
        format!("invalid ({e} error{})", plural(e))
    };
    out.push_str(&format!(
        "{file}: {verdict}, {w} warning{}, method {method}",
        plural(w)
    ));
    if let Some(grid) = report.grid() {
        out.push_str(&format!("\n  grid: {grid}"));
    }
    out.push('\n');
    out
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}
