//! The `wandb-rs sweep` command line contract: output formats and exit codes.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn fixture(name: &str) -> PathBuf {
    repo().join("wandb-sweep/tests/fixtures").join(name)
}

fn wandb_rs(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_wandb-rs"))
        .args(args)
        .current_dir(repo())
        .output()
        .expect("wandb-rs runs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).expect("utf-8 output")
}

fn json_lines(o: &Output) -> Vec<Value> {
    stdout(o)
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect()
}

#[test]
fn check_valid_files_exits_0_and_prints_the_grid_factors() {
    let o = wandb_rs(&[
        "sweep",
        "check",
        "examples/sweeps/grid.yaml",
        "examples/sweeps/nested.yaml",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    let text = stdout(&o);
    assert!(
        text.contains("augment 2 × batch_size 5 × dropout 5 × lr 7 × optimizer 2 = 700 runs"),
        "{text}"
    );
    assert!(
        text.contains("model.block.kind 2 × model.width 2 × seed 3 = 12 runs"),
        "{text}"
    );
}

#[test]
fn check_invalid_file_exits_1_with_located_snippets() {
    let file = fixture("cases/c07_invalid_many.yaml");
    let o = wandb_rs(&["sweep", "check", file.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    let text = stdout(&o);
    assert!(
        text.contains("error: metric.goal: `max` is not a goal; did you mean `maximize`?"),
        "{text}"
    );
    assert!(text.contains("c07_invalid_many.yaml:6:9"), "{text}");
    assert!(text.contains("6 |   goal: max"), "{text}");
}

#[test]
fn check_json_has_the_stable_fields() {
    let good = fixture("cases/c01_grid_700.yaml");
    let bad = fixture("cases/c19_bad_top_level.yaml");
    let random = fixture("cases/c12_command_controller.yaml");
    let o = wandb_rs(&[
        "sweep",
        "check",
        "--format",
        "json",
        good.to_str().unwrap(),
        bad.to_str().unwrap(),
        random.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1));
    let lines = json_lines(&o);
    assert_eq!(lines.len(), 3);
    let keys: Vec<&str> = lines[0]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        ["file", "valid", "errors", "warnings", "method", "grid_size"]
    );
    assert_eq!(lines[0]["valid"], true);
    assert_eq!(lines[0]["method"], "grid");
    assert_eq!(lines[0]["grid_size"], 700);
    assert_eq!(lines[1]["valid"], false);
    let e = &lines[1]["errors"][0];
    for field in ["path", "line", "column", "message"] {
        assert!(!e[field].is_null(), "{field} missing in {e}");
    }
    assert!(lines[1]["errors"].as_array().unwrap().len() >= 7);
    // Random search over discrete values still reports the grid size.
    assert_eq!(lines[2]["method"], "random");
    assert_eq!(
        lines[2]["grid_size"],
        Value::Null,
        "log_uniform_values is continuous"
    );
}

#[test]
fn unreadable_file_and_usage_errors_exit_2() {
    let o = wandb_rs(&[
        "sweep",
        "check",
        "examples/sweeps/grid.yaml",
        "no/such/file.yaml",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("cannot read no/such/file.yaml"));
    assert_eq!(wandb_rs(&["sweep", "check"]).status.code(), Some(2));
    assert_eq!(wandb_rs(&["sweep", "frobnicate"]).status.code(), Some(2));
}

#[test]
fn grid_prints_points_in_engine_order_with_nesting() {
    let file = fixture("cases/c06_nested_grid.yaml");
    let o = wandb_rs(&[
        "sweep",
        "grid",
        "--limit",
        "3",
        "--format",
        "json",
        file.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0));
    let oracle: Value = serde_json::from_str(
        &std::fs::read_to_string(fixture("oracle/cases-c06_nested_grid.json")).unwrap(),
    )
    .unwrap();
    let expected: Vec<Value> = oracle["grid_first"].as_array().unwrap()[..3].to_vec();
    assert_eq!(json_lines(&o), expected);
}

#[test]
fn grid_of_a_continuous_space_is_an_error() {
    let file = fixture("cases/c02_random_all_v2_dists.yaml");
    let o = wandb_rs(&["sweep", "grid", file.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("grid search cannot enumerate"));
}

#[test]
fn schema_is_json() {
    let o = wandb_rs(&["sweep", "schema"]);
    assert_eq!(o.status.code(), Some(0));
    let schema: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(schema["title"], "W&B sweep configuration");
}

/// Floats within `rel`, everything else identical.
fn close(a: &Value, b: &Value, rel: f64) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) if x.is_f64() && y.is_f64() => {
            let (x, y) = (x.as_f64().expect("f64"), y.as_f64().expect("f64"));
            x == y || (x - y).abs() <= rel * y.abs()
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| close(a, b, rel))
        }
        _ => a == b,
    }
}

#[test]
fn ppf_equals_the_engine_table_for_every_valid_file() {
    let mut compared = 0;
    for entry in std::fs::read_dir(fixture("oracle")).unwrap() {
        let oracle: Value =
            serde_json::from_str(&std::fs::read_to_string(entry.unwrap().path()).unwrap()).unwrap();
        let Some(table) = oracle["ppf_table"].as_object().filter(|t| !t.is_empty()) else {
            continue;
        };
        let file = fixture(oracle["file"].as_str().unwrap());
        let o = wandb_rs(&[
            "sweep",
            "ppf",
            "--u",
            "0,1e-9,0.001,0.1,0.25,0.5,0.75,0.9,0.999,0.999999999,1",
            "--format",
            "json",
            file.to_str().unwrap(),
        ]);
        if o.status.code() != Some(0) {
            continue; // a config we reject; its table is compared in wandb-sweep's own tests
        }
        let ours: Value = serde_json::from_str(&stdout(&o)).unwrap();
        for (name, rows) in table {
            assert!(
                close(&ours[name], rows, 1e-9),
                "{}: {name}: ours {}, engine {rows}",
                file.display(),
                ours[name]
            );
        }
        assert_eq!(
            ours.as_object().unwrap().len(),
            table.len(),
            "{}",
            file.display()
        );
        compared += 1;
    }
    assert!(compared >= 60, "only {compared} files compared");
}

#[test]
fn hyperband_json_stops_what_the_engine_stops() {
    let cases = [
        (
            "cases/c04_bayes_hyperband_min_iter.yaml",
            "cases/c04_runs.json",
            "oracle/cases-c04_bayes_hyperband_min_iter.json",
        ),
        (
            "cases/c05_hyperband_max_iter.yaml",
            "cases/c05_runs.json",
            "oracle/cases-c05_hyperband_max_iter.json",
        ),
        (
            "hyperband/h01_non_strict.yaml",
            "hyperband/h01_runs.json",
            "oracle/hyperband-h01_non_strict.json",
        ),
        (
            "hyperband/h02_maximize.yaml",
            "hyperband/h02_runs.json",
            "oracle/hyperband-h02_maximize.json",
        ),
        (
            "hyperband/h03_min_iter_float_eta.yaml",
            "hyperband/h03_runs.json",
            "oracle/hyperband-h03_min_iter_float_eta.json",
        ),
        // Runs files as Python's json.dump writes them: bare NaN and Infinity tokens.
        (
            "hyperband/h04_nan_histories.yaml",
            "hyperband/h04_runs.json",
            "oracle/hyperband-h04_nan_histories.json",
        ),
        (
            "hyperband/h05_nan_maximize.yaml",
            "hyperband/h05_runs.json",
            "oracle/hyperband-h05_nan_maximize.json",
        ),
    ];
    for (sweep, runs, oracle) in cases {
        let o = wandb_rs(&[
            "sweep",
            "hyperband",
            "--format",
            "json",
            "--runs",
            fixture(runs).to_str().unwrap(),
            fixture(sweep).to_str().unwrap(),
        ]);
        assert_eq!(o.status.code(), Some(0), "{sweep}");
        let ours: Value = serde_json::from_str(&stdout(&o)).unwrap();
        let engine: Value =
            serde_json::from_str(&std::fs::read_to_string(fixture(oracle)).unwrap()).unwrap();
        assert_eq!(ours["stop"], engine["hyperband"]["stop"], "{sweep}");
        assert_eq!(
            ours["bands"].as_array().unwrap()[..engine["hyperband"]["bands_first10"]
                .as_array()
                .unwrap()
                .len()],
            engine["hyperband"]["bands_first10"].as_array().unwrap()[..],
            "{sweep}"
        );
        assert_eq!(
            ours["bands"].as_array().unwrap().len() as u64,
            engine["hyperband"]["n_bands"].as_u64().unwrap(),
            "{sweep}"
        );
    }
    let text = wandb_rs(&[
        "sweep",
        "hyperband",
        fixture("cases/c05_hyperband_max_iter.yaml")
            .to_str()
            .unwrap(),
    ]);
    assert!(
        stdout(&text).contains("Runs are compared after 1, 3, 9 logged values"),
        "{}",
        stdout(&text)
    );
}

#[test]
fn command_keeps_each_argument_separate() {
    let file = fixture("cases/c12_command_controller.yaml");
    let o = wandb_rs(&[
        "sweep",
        "command",
        "--format",
        "json",
        "--params",
        r#"{"lr": 0.001, "use_amp": false}"#,
        file.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0));
    let argv: Vec<String> = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(
        argv,
        [
            "/usr/bin/env",
            "python",
            "train.py",
            "--config",
            "base.yaml",
            "--lr=0.001"
        ]
    );
}

#[test]
fn suggest_walks_the_grid_and_reports_the_end() {
    let dir = std::env::temp_dir().join(format!("wandb-rs-suggest-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let sweep = dir.join("sweep.yaml");
    std::fs::write(&sweep, "method: grid\nparameters:\n  a: {values: [1, 2]}\n").unwrap();
    let runs = dir.join("runs.json");
    std::fs::write(
        &runs,
        r#"[{"name": "r1", "state": "finished", "config": {"a": {"value": 1}}}]"#,
    )
    .unwrap();
    let o = wandb_rs(&[
        "sweep",
        "suggest",
        "--runs",
        runs.to_str().unwrap(),
        sweep.to_str().unwrap(),
    ]);
    assert_eq!(stdout(&o).trim(), r#"{"params":{"a":2}}"#);
    std::fs::write(&runs, r#"[{"name": "r1", "state": "finished", "config": {"a": {"value": 1}}}, {"name": "r2", "state": "crashed", "config": {"a": {"value": 2}}}]"#).unwrap();
    let o = wandb_rs(&[
        "sweep",
        "suggest",
        "--runs",
        runs.to_str().unwrap(),
        sweep.to_str().unwrap(),
    ]);
    assert_eq!(
        stdout(&o).trim(),
        r#"{"done":"all 2 grid points have run"}"#
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn suggest_reads_runs_with_nan_and_infinity_tokens() {
    let dir = std::env::temp_dir().join(format!("wandb-rs-suggest-nan-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let sweep = dir.join("sweep.yaml");
    std::fs::write(
        &sweep,
        "method: grid\nparameters:\n  a: {values: [1, 2, 3]}\n",
    )
    .unwrap();
    let runs = dir.join("runs.json");
    std::fs::write(
        &runs,
        r#"[{"name": "r1", "state": "finished", "config": {"a": {"value": 1}},
             "sampledHistory": [{"loss": NaN}, {"loss": Infinity}], "summaryMetrics": {"loss": -Infinity}},
            {"name": "r2", "state": "running", "config": {"a": {"value": 2}}, "history": [{"s": "NaN"}]}]"#,
    )
    .unwrap();
    let o = wandb_rs(&[
        "sweep",
        "suggest",
        "--runs",
        runs.to_str().unwrap(),
        sweep.to_str().unwrap(),
    ]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(stdout(&o).trim(), r#"{"params":{"a":3}}"#);
    // Still refused: text that is not JSON even with Python's extra tokens.
    std::fs::write(&runs, "[{\"name\": nan}]").unwrap();
    let o = wandb_rs(&[
        "sweep",
        "suggest",
        "--runs",
        runs.to_str().unwrap(),
        sweep.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("not a JSON list of runs"));
    std::fs::remove_dir_all(&dir).unwrap();
}
