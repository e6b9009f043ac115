//! Writes an offline run that the official `wandb sync` uploads: config, N history rows
//! (NaN and infinities included), a summary, exit code 0.
//!
//! `cargo run -p wandb-log --example offline_run -- ROOT RUN_ID ROWS`
//! (then `wandb sync ROOT/wandb/offline-run-*`; see `scripts/sync-openwandb.sh`).
#![expect(clippy::print_stdout, reason = "an example program prints its result")]

use wandb_log::{OfflineRun, RunInfo, unix_now};
use wandb_sweep::Value;

fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let root = args.first().cloned().unwrap_or_else(|| ".".into());
    let run_id = args.get(1).cloned().unwrap_or_else(|| "rsoffln1".into());
    let rows: i64 = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(100);
    let config: Value =
        serde_json::from_str(r#"{"lr": 0.001, "opt": {"name": "adam"}, "layers": [64, 32]}"#)
            .unwrap_or_default();
    let info = RunInfo {
        run_id,
        project: Some("offline-e2e".into()),
        tags: vec!["rust".into()],
        config,
        ..RunInfo::default()
    };
    let t0 = unix_now();
    let mut run = OfflineRun::create(std::path::Path::new(&root), &info, t0 as i64)?;
    let mut last = Value::Null;
    for step in 0..rows {
        let loss = if step == 3 {
            f64::NAN
        } else {
            1.0 / (step as f64 + 1.0)
        };
        let mut row = indexmap::IndexMap::new();
        row.insert("loss".to_owned(), Value::from(loss));
        row.insert("acc".to_owned(), Value::from(step as f64 / rows as f64));
        row.insert(
            "big".to_owned(),
            Value::from(if step == 5 { f64::INFINITY } else { 1.0 }),
        );
        let row = Value::Map(row);
        run.history(step, &row, step as f64 * 0.01, t0 + step as f64 * 0.01)?;
        last = row;
    }
    run.summary(&last)?;
    run.exit(0, 1)?;
    println!("{}", run.dir().display());
    Ok(())
}
