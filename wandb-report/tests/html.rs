//! The report's HTML: self-contained, one chart per metric, one table row per run, sweep
//! sections with hyperband's stops, gaps and log axes, and its size.

mod support;

use std::path::Path;

use support::{TempDir, offline_run, section, table_rows, training_rows};
use wandb_report::Report;
use wandb_sweep::SweepConfig;

/// A local sweep of 6 trials written by hand: the state file as `wandb-agent` writes it,
/// and each trial's offline run (trials 4 and 5 stopped early after 3 and 10 values, trial 2
/// failed before logging anything).
fn hand_made_sweep(root: &Path) {
    let mut trials = Vec::new();
    for k in 0..6usize {
        let (status, epochs) = match k {
            4 => ("stopped", 3),
            5 => ("stopped", 10),
            2 => ("failed", 0),
            _ => ("finished", 12),
        };
        let lr = 0.001 * 10f64.powi(i32::try_from(k % 4).expect("test data"));
        let optimizer = if k % 2 == 0 { "adam" } else { "sgd" };
        let rows: Vec<String> = training_rows(epochs, k)
            .into_iter()
            .map(|r| r.replace("loss:", "val_loss:"))
            .collect();
        let id = format!("trial{k:03}");
        let exit = if status == "failed" { 1 } else { 0 };
        let dir = offline_run(
            root,
            &id,
            1_700_000_000 + i64::try_from(k).expect("test data"),
            &format!(
                "{{lr: {lr}, optimizer: {optimizer}, epochs: 12, home: 'https://example.com/x'}}"
            ),
            &rows,
            Some(exit),
        );
        let history: Vec<String> = rows
            .iter()
            .enumerate()
            .map(|(i, _)| format!("[{i}, {}]", 1.0 / (i as f64 + 1.0)))
            .collect();
        let metric = if status == "failed" {
            "null".to_owned()
        } else {
            format!("{}", 0.1 + k as f64 * 0.01)
        };
        trials.push(format!(
            r#"{{"number": {k}, "run_id": "{id}", "params": {{"lr": {lr}, "optimizer": "{optimizer}", "epochs": 12}},
               "status": "{status}", "metric": {metric}, "history": [{}],
               "run_dir": "wandb/{}", "error": {}, "attempts": 1}}"#,
            history.join(", "),
            dir.file_name().expect("test data").to_string_lossy(),
            if status == "failed" { r#""diverged""# } else { "null" }
        ));
    }
    let state = format!(
        r#"{{"version": 1, "sweep_id": "handmade", "seed": 1,
           "search": {{"method": "random", "metric": {{"name": "val_loss", "maximize": false}}, "parameters": {{}}}},
           "trials": [{}]}}"#,
        trials.join(",\n")
    );
    std::fs::write(root.join("sweep-state.json"), state).expect("test data");
}

fn hyperband_config() -> SweepConfig {
    SweepConfig::from_yaml(
        "method: random\nmetric: {name: val_loss, goal: minimize}\nearly_terminate: {type: hyperband, max_iter: 27, s: 2, eta: 3}\nparameters:\n  lr: {min: 0.001, max: 1.0}\n",
    )
    .expect("a valid config")
}

#[test]
fn the_page_loads_nothing_from_anywhere() {
    let tmp = TempDir::new("external");
    hand_made_sweep(tmp.path());
    let html = Report::new([tmp.path()]).render().unwrap().html;
    for banned in [
        "<link",
        "<img",
        "<iframe",
        "<object",
        "<embed",
        "@import",
        "url(",
        " src=",
        "xlink:href",
        "<base",
        "@font-face",
    ] {
        assert!(!html.contains(banned), "the page contains {banned}");
    }
    // Links stay inside the page; a URL in a config value is text, never an address.
    for (i, _) in html.match_indices("href=") {
        assert!(html[i..].starts_with("href=\"#"), "{}", &html[i..i + 40]);
    }
    assert!(!html.contains("=\"http") && !html.contains("='http"));
    assert!(html.contains("<code>home = https://example.com/x</code>"));
    assert!(html.contains("<script>") && !html.contains("<script src"));
}

#[test]
fn user_text_cannot_break_out_of_the_page() {
    let tmp = TempDir::new("escape");
    offline_run(
        tmp.path(),
        "esc00001",
        1_700_000_000,
        "{note: '<script>alert(1)</script>'}",
        &["{'a<b': 1}".to_owned(), "{'a<b': 2}".to_owned()],
        Some(0),
    );
    let html = Report::new([tmp.path()]).render().unwrap().html;
    assert!(!html.contains("<script>alert"));
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(html.contains("<b>a&lt;b</b>"));
}

#[test]
fn one_chart_per_metric() {
    let tmp = TempDir::new("charts");
    for k in 0..3 {
        let mut rows = training_rows(8, k);
        if k == 2 {
            rows = rows
                .iter()
                .map(|r| r.replace(", acc:", ", other:"))
                .collect();
        }
        offline_run(
            tmp.path(),
            &format!("run{k:05}"),
            1_700_000_000 + k as i64,
            "{}",
            &rows,
            Some(0),
        );
    }
    let page = Report::new([tmp.path()]).render().unwrap();
    assert_eq!(page.charts, ["loss", "acc", "lr", "other"]);
    let curves = section(&page.html, "curves");
    assert_eq!(curves.matches("<figure class=\"chart\">").count(), 4);
    for metric in &page.charts {
        assert!(curves.contains(&format!("<figcaption><b>{metric}</b>")));
    }
    // The run without `acc` is named in the skipped list.
    let skipped = section(&page.html, "skipped");
    assert!(skipped.contains("metric acc</b>: not logged by 1 of 3 runs (run00002)"));

    let named = Report::new([tmp.path()])
        .metric("acc")
        .metric("missing")
        .render()
        .unwrap();
    assert_eq!(named.charts, ["acc"]);
    assert_eq!(
        section(&named.html, "curves")
            .matches("<figure class=\"chart\">")
            .count(),
        1
    );
    assert!(
        named
            .skipped
            .iter()
            .any(|s| s.what == "metric missing" && s.why == "no run logged it")
    );
}

#[test]
fn the_run_table_has_one_row_per_run() {
    let tmp = TempDir::new("table");
    hand_made_sweep(tmp.path());
    let page = Report::new([tmp.path()]).render().unwrap();
    assert_eq!(page.runs, 6);
    let rows = table_rows(&page.html);
    assert_eq!(rows.len(), 6);
    for k in 0..6 {
        assert_eq!(
            rows.iter()
                .filter(|r| r.contains(&format!("trial{k:03}")))
                .count(),
            1
        );
    }
    // Best first (val_loss 0.10 is trial 0); the failed trial, without a value, last.
    assert!(rows[0].contains("trial000") && rows[5].contains("trial002"));
    assert!(rows[5].contains("failed (exit 1)") && rows[5].contains("title=\"diverged\""));
    // Columns: the sweep metric and the config values that differ; the constant ones above.
    let table = section(&page.html, "runs");
    assert!(table.contains("<th class=\"n m\">val_loss</th>"));
    assert!(
        table.contains("<th class=\"n\">lr</th>")
            && table.contains("<th class=\"n\">optimizer</th>")
    );
    assert!(table.contains("Same in every run: <code>epochs = 12</code>"));
}

#[test]
fn stopped_early_trials_are_marked_with_their_band() {
    let tmp = TempDir::new("hyperband");
    hand_made_sweep(tmp.path());
    let page = Report::new([tmp.path()])
        .sweep_config(&hyperband_config())
        .render()
        .unwrap();
    let rows = table_rows(&page.html);
    let stopped: Vec<&&str> = rows
        .iter()
        .filter(|r| r.contains("stopped early"))
        .collect();
    assert_eq!(stopped.len(), 2);
    let row = |id: &str| rows.iter().find(|r| r.contains(id)).unwrap();
    assert!(row("trial004").contains("stopped early (band 3)"));
    assert!(row("trial005").contains("stopped early (band 9)"));
    let hyperband = section(&page.html, "hyperband");
    assert!(hyperband.contains("Bands: <b>3, 9</b>"));
    assert!(hyperband.contains("2 of 6 trials were stopped early"));
    assert!(hyperband.contains("<td>band 3</td>") && hyperband.contains("trial004 (3)"));
    assert!(hyperband.contains("<td>band 9</td>") && hyperband.contains("trial005 (10)"));
    // Without the config the stops are still marked, the bands unknown.
    let plain = Report::new([tmp.path()]).render().unwrap();
    assert_eq!(
        table_rows(&plain.html)
            .iter()
            .filter(|r| r.contains(">stopped early</span>"))
            .count(),
        2
    );
    assert!(section(&plain.html, "hyperband").contains("The bands are not known"));
}

#[test]
fn a_sweep_gets_parameter_charts_and_importance() {
    let tmp = TempDir::new("params");
    hand_made_sweep(tmp.path());
    let html = Report::new([tmp.path()]).render().unwrap().html;
    let params = section(&html, "parameters");
    // One scatter per parameter that varies (lr, optimizer; epochs is fixed).
    assert_eq!(params.matches("<svg class=\"sc\"").count(), 2);
    assert!(params.contains("<b>val_loss</b> by <b>lr</b>") && params.contains("· log x"));
    assert!(params.contains("fixed: epochs"));
    // Five trials have a metric: five dots per scatter, five lines across the axes.
    assert_eq!(params.matches("<circle").count(), 10);
    assert_eq!(params.matches("<path class=\"pc\"").count(), 5);
    assert!(params.contains("Parameter importance: correlation with val_loss"));
    assert!(params.contains("<td>optimizer=adam</td>") && params.contains("<td>lr</td>"));
    // The upload commands name the sweep's runs.
    let upload = section(&html, "upload");
    assert!(upload.contains("wandb sync ") && upload.contains("wandb/offline-run-*"));
    assert!(upload.contains("wandb-rs sync "));
}

#[test]
fn nan_and_infinity_leave_gaps() {
    let tmp = TempDir::new("gaps");
    let rows: Vec<String> = ["1.0", "0.8", ".nan", ".inf", "0.5", "0.4"]
        .iter()
        .map(|v| format!("{{loss: {v}}}"))
        .collect();
    offline_run(tmp.path(), "gaps0001", 1_700_000_000, "{}", &rows, Some(0));
    let html = Report::new([tmp.path()]).render().unwrap().html;
    let curves = section(&html, "curves");
    assert!(curves.contains("2 NaN/inf values shown as gaps"));
    let path = curves
        .split("<path class=\"run c0\" data-r=")
        .nth(1)
        .unwrap();
    let d = path
        .split("d=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap();
    assert_eq!(d.matches('M').count(), 2, "{d}");
}

#[test]
fn values_spanning_decades_get_a_log_axis() {
    let tmp = TempDir::new("log");
    let rows: Vec<String> = (0..20)
        .map(|i| {
            format!(
                "{{loss: {}, acc: {}}}",
                10f64.powi(-i / 4),
                0.5 + f64::from(i) / 50.0
            )
        })
        .collect();
    offline_run(tmp.path(), "logs0001", 1_700_000_000, "{}", &rows, Some(0));
    let html = Report::new([tmp.path()]).render().unwrap().html;
    let charts: Vec<&str> = section(&html, "curves").split("<figure").skip(1).collect();
    assert!(charts[0].contains("<b>loss</b>") && charts[0].contains("log scale"));
    assert!(charts[0].contains(">0.0001</text>") && charts[0].contains(">1</text>"));
    assert!(charts[1].contains("<b>acc</b>") && !charts[1].contains("log scale"));
}

#[test]
fn thirty_runs_of_thirty_epochs_stay_under_a_megabyte() {
    let tmp = TempDir::new("size");
    for k in 0..30 {
        offline_run(
            tmp.path(),
            &format!("size{k:04}"),
            1_700_000_000 + k as i64,
            &format!(
                "{{lr: {}, hidden: {}}}",
                0.01 * (k + 1) as f64,
                4 << (k % 3)
            ),
            &training_rows(30, k),
            Some(0),
        );
    }
    let page = Report::new([tmp.path()]).render().unwrap();
    assert_eq!((page.runs, page.charts.len()), (30, 3));
    assert!(page.html.len() < 1_000_000, "{} bytes", page.html.len());
}

#[test]
fn long_histories_are_drawn_small_with_their_extremes() {
    let tmp = TempDir::new("long");
    let info = wandb_log::RunInfo {
        run_id: "long0001".into(),
        ..wandb_log::RunInfo::default()
    };
    let mut run = wandb_log::OfflineRun::create(tmp.path(), &info, 1_700_000_000).unwrap();
    for i in 0..100_000 {
        let v = if i == 61_234 {
            5000.0
        } else {
            1.0 + f64::from(i % 97) / 100.0
        };
        let row = wandb_sweep::Value::Map([("loss".to_owned(), v.into())].into_iter().collect());
        run.history(i64::from(i), &row, 0.0, 1.7e9).unwrap();
    }
    run.exit(0, 1).unwrap();
    let page = Report::new([tmp.path()]).render().unwrap();
    let curves = section(&page.html, "curves");
    // The spike sets the axis (log: 1 to 10,000) although it is one row in 100,000.
    assert!(
        curves.contains("log scale") && curves.contains(">10000</text>"),
        "{curves}"
    );
    assert!(page.html.len() < 100_000, "{} bytes", page.html.len());
    assert!(table_rows(&page.html)[0].contains(">100000</td>"));
}

#[test]
fn a_local_sweep_run_by_wandb_agent_reads_back() {
    let tmp = TempDir::new("agent");
    let config = SweepConfig::from_yaml(
        "method: grid\nmetric: {name: loss, goal: minimize}\nparameters:\n  lr: {values: [0.1, 0.01, 0.001]}\n  width: {values: [4, 8]}\n",
    )
    .unwrap();
    #[derive(serde::Deserialize)]
    struct Params {
        lr: f64,
        width: u32,
    }
    let sweep = wandb_agent::LocalSweep::new(config, tmp.path());
    sweep
        .run(|run: wandb_log::Run| {
            let p: Params = run.config()?;
            for epoch in 0..5 {
                let loss = (p.lr - 0.01).abs() + 1.0 / f64::from(epoch + p.width);
                run.log([("loss", loss)])?;
            }
            Ok::<(), wandb_log::Error>(())
        })
        .unwrap();
    let page = Report::new([sweep.dir()])
        .sweep_config(sweep.config())
        .render()
        .unwrap();
    assert_eq!(page.runs, 6);
    assert_eq!(table_rows(&page.html).len(), 6);
    assert!(table_rows(&page.html)[0].contains(">0.01</td>"));
    let params = section(&page.html, "parameters");
    assert_eq!(params.matches("<svg class=\"sc\"").count(), 2);
    assert!(page.skipped.is_empty(), "{:?}", page.skipped);
}
