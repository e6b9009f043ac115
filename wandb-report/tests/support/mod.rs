//! Runs and sweeps written for the tests, and a look into the HTML they give.

#![allow(dead_code, reason = "each test file uses part of the helpers")]

use std::path::{Path, PathBuf};

use wandb_log::{OfflineRun, RunInfo};
use wandb_sweep::Value;

/// A directory removed when dropped.
pub(crate) struct TempDir(pub(crate) PathBuf);

impl TempDir {
    pub(crate) fn new(name: &str) -> Self {
        let p = std::env::temp_dir().join(format!("wandb-report-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).expect("mkdir");
        TempDir(p)
    }

    pub(crate) fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A value from YAML flow text (`{lr: 0.1, loss: .nan}`).
pub(crate) fn value(text: &str) -> Value {
    wandb_sweep::parse_value(text).expect("valid flow YAML")
}

/// Writes an offline run under `root/wandb/` with `rows` (YAML flow mappings), ending with
/// `exit` (or no exit record); returns its directory.
pub(crate) fn offline_run(
    root: &Path,
    id: &str,
    start: i64,
    config: &str,
    rows: &[String],
    exit: Option<i32>,
) -> PathBuf {
    let info = RunInfo {
        run_id: id.into(),
        config: value(config),
        ..RunInfo::default()
    };
    let mut run = OfflineRun::create(root, &info, start).expect("create run");
    for (step, row) in rows.iter().enumerate() {
        let step = i64::try_from(step).expect("few rows");
        run.history(step, &value(row), step as f64, 1.7e9)
            .expect("row");
    }
    match exit {
        Some(code) => run.exit(code, 3).expect("exit"),
        None => run.flush().expect("flush"),
    }
    run.dir().to_path_buf()
}

/// `n` rows of a decaying `loss` and a rising `acc`, run `k`.
pub(crate) fn training_rows(n: usize, k: usize) -> Vec<String> {
    (0..n)
        .map(|i| {
            let t = i as f64 + 1.0;
            let jitter = ((i * 7 + k * 13) % 11) as f64 / 100.0;
            format!(
                "{{loss: {}, acc: {}, lr: {}}}",
                1.0 / t + jitter + k as f64 * 0.01,
                1.0 - 1.0 / t,
                0.1 / t
            )
        })
        .collect()
}

/// The part of `html` from `<section id="{id}"` to its end (empty when absent).
pub(crate) fn section<'a>(html: &'a str, id: &str) -> &'a str {
    let start = format!("<section id=\"{id}\"");
    let Some(at) = html.find(&start) else {
        return "";
    };
    let rest = &html[at..];
    let end = rest
        .find("</section>")
        .map_or(rest.len(), |e| e + "</section>".len());
    &rest[..end]
}

/// The rows of the run table.
pub(crate) fn table_rows(html: &str) -> Vec<&str> {
    section(html, "runs")
        .split("<tr data-r=")
        .skip(1)
        .map(|row| row.split("</tr>").next().unwrap_or(""))
        .collect()
}
