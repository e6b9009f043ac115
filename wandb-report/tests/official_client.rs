//! The official Python client's offline runs (wandb 0.31.0, `tests/fixtures/official-0.31.0`):
//! records this crate does not write (telemetry, environment, …), `define_metric` with a step
//! metric and a `min` summary, a NaN, a run that raised (exit code 1).

mod support;

use support::{section, table_rows};
use wandb_report::Report;

const FIXTURE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/official-0.31.0"
);

#[test]
fn official_client_offline_runs_render() {
    let page = Report::new([FIXTURE]).render().unwrap();
    // Two runs (the `latest-run` link is not a third).
    assert_eq!(page.runs, 2);
    // `epoch` is val_loss's step metric: its x axis, not a chart.
    assert_eq!(page.charts, ["train_loss", "val_loss"]);
    let curves = section(&page.html, "curves");
    let charts: Vec<&str> = curves.split("<figure").skip(1).collect();
    assert!(charts[0].contains("x: _step") && charts[0].contains("1 NaN/inf values shown as gaps"));
    assert!(charts[1].contains("x: epoch") && charts[1].contains(">epoch</text>"));

    let rows = table_rows(&page.html);
    assert_eq!(rows.len(), 2);
    let row = |name: &str| rows.iter().find(|r| r.contains(name)).copied().unwrap();
    assert!(row("official-offline").contains(">finished<"));
    assert!(row("official-offline").contains(">12</td>"));
    assert!(row("official-failed").contains("failed (exit 1)"));
    // Config values (nested ones dotted) and the `min` summary of val_loss.
    let table = section(&page.html, "runs");
    for column in ["lr", "optimizer", "layers.hidden", "train_loss", "val_loss"] {
        assert!(table.contains(&format!(">{column}</th>")), "{column}");
    }
    assert!(
        row("official-offline").contains(">adam</td>")
            && row("official-offline").contains(">0.2</td>")
    );
    assert!(row("official-failed").contains(">sgd</td>"));

    // The failed run never logged val_loss: listed, not fatal.
    assert_eq!(page.skipped.len(), 1);
    assert!(
        page.skipped[0]
            .why
            .contains("not logged by 1 of 2 runs (official-failed)")
    );
    assert!(section(&page.html, "upload").contains("official-0.31.0/wandb/offline-run-*"));
}
