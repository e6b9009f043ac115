//! Hyperband bands, thresholds, stop decisions and explanation lines against W&B's engine
//! 0.3.0 (cases c04, c05 and our own h01–h03, generated with the oracle).

use std::fs;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::Value as Json;
use wandb_sweep::{EarlyTerminate, Number, Run, SweepConfig, Value};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn oracle_files() -> Vec<Json> {
    let mut out: Vec<Json> = fs::read_dir(fixtures().join("oracle"))
        .expect("fixtures")
        .map(|e| {
            serde_json::from_str(&fs::read_to_string(e.expect("entry").path()).expect("read"))
                .expect("json")
        })
        .collect();
    out.sort_by_key(|o| o["file"].as_str().unwrap_or_default().to_owned());
    out
}

/// Runs as Python's `json.dump` writes them: bare `NaN`, `Infinity` and `-Infinity` outside
/// strings become non-finite floats (wandb-api's extended-JSON reader does this for the CLI;
/// this crate cannot depend on it).
fn python_runs(text: &str) -> Vec<Run> {
    const TOKENS: [(&str, &str); 3] = [
        ("NaN", "\u{1F}nan"),
        ("-Infinity", "\u{1F}-inf"),
        ("Infinity", "\u{1F}inf"),
    ];
    let (mut plain, mut in_string, mut escaped, mut rest) = (String::new(), false, false, text);
    while let Some(c) = rest.chars().next() {
        if in_string {
            in_string = c != '"' || escaped;
            escaped = c == '\\' && !escaped;
        } else if c == '"' {
            in_string = true;
        } else if let Some((t, s)) = TOKENS.iter().find(|(t, _)| rest.starts_with(t)) {
            plain.push_str(&serde_json::to_string(s).expect("string"));
            rest = &rest[t.len()..];
            continue;
        }
        plain.push(c);
        rest = &rest[c.len_utf8()..];
    }
    fn restore(v: Value) -> Value {
        match v {
            Value::String(s) if s.starts_with('\u{1F}') => {
                Value::from(s[1..].parse::<f64>().expect("sentinel"))
            }
            Value::List(items) => Value::List(items.into_iter().map(restore).collect()),
            Value::Map(m) => Value::Map(m.into_iter().map(|(k, v)| (k, restore(v))).collect()),
            other => other,
        }
    }
    let value = restore(serde_json::from_str(&plain).expect("runs json"));
    Vec::<Run>::deserialize(value).expect("runs")
}

fn threshold_json(t: Option<Number>) -> Json {
    match t {
        None => Json::from("inf"),
        Some(Number::Int(i)) => Json::from(i),
        Some(Number::Float(x)) => Json::from(x),
    }
}

#[test]
fn stop_decisions_and_lines_match_the_engine() {
    let mut compared = Vec::new();
    for o in oracle_files() {
        let hb_json = &o["hyperband"];
        let Some(stop) = hb_json["stop"].as_array() else {
            continue;
        };
        let file = o["file"].as_str().expect("file");
        let text = fs::read_to_string(fixtures().join(file)).expect("yaml");
        let cfg = SweepConfig::from_yaml(&text).expect("valid");
        let Some(EarlyTerminate::Hyperband(hb)) = &cfg.early_terminate else {
            panic!("{file}: no hyperband")
        };
        let runs_file = fixtures().join(file).with_file_name(format!(
            "{}_runs.json",
            &file.rsplit('/').next().expect("name")[..3]
        ));
        let runs = python_runs(&fs::read_to_string(runs_file).expect("runs"));
        let d = hb.decide(cfg.metric.as_ref().expect("metric"), &runs);
        let theirs: Vec<&str> = stop.iter().map(|s| s.as_str().expect("name")).collect();
        assert_eq!(d.stop, theirs, "{file}");
        assert_eq!(
            d.bands.len() as u64,
            hb_json["n_bands"].as_u64().expect("n"),
            "{file}"
        );
        let first10: Vec<Json> = d.bands.iter().take(10).map(|&b| Json::from(b)).collect();
        assert_eq!(Json::from(first10), hb_json["bands_first10"], "{file}");
        let thresholds: Vec<Json> = d
            .thresholds
            .iter()
            .take(10)
            .map(|&t| threshold_json(t))
            .collect();
        assert_eq!(
            Json::from(thresholds),
            hb_json["thresholds_first10"],
            "{file}"
        );
        let lines: Vec<&str> = hb_json["lines"]
            .as_array()
            .expect("lines")
            .iter()
            .map(|l| l.as_str().expect("line"))
            .collect();
        // Past u64 the engine's bands are Python big integers; compare its Bands line only
        // when every band fits.
        let skip = usize::from(d.bands.last() == Some(&u64::MAX));
        assert_eq!(d.lines[skip..], lines[skip..], "{file}");
        compared.push(file.to_owned());
    }
    assert_eq!(
        compared,
        [
            "cases/c04_bayes_hyperband_min_iter.yaml",
            "cases/c05_hyperband_max_iter.yaml",
            "hyperband/h01_non_strict.yaml",
            "hyperband/h02_maximize.yaml",
            "hyperband/h03_min_iter_float_eta.yaml",
            "hyperband/h04_nan_histories.yaml",
            "hyperband/h05_nan_maximize.yaml",
        ]
    );
}

#[test]
fn bands_match_the_engine_on_every_file_with_hyperband() {
    let mut compared = 0;
    for o in oracle_files() {
        let Some(first10) = o["hyperband"]["bands_first10"].as_array() else {
            continue;
        };
        let file = o["file"].as_str().expect("file");
        let text = fs::read_to_string(fixtures().join(file)).expect("yaml");
        let Some(cfg) = wandb_sweep::check(&text).config().cloned() else {
            continue;
        };
        let Some(EarlyTerminate::Hyperband(hb)) = &cfg.early_terminate else {
            continue;
        };
        let ours: Vec<Json> = hb.bands().iter().take(10).map(|&b| Json::from(b)).collect();
        assert_eq!(&ours, first10, "{file}");
        compared += 1;
    }
    assert!(compared >= 8, "only {compared} files with hyperband");
}
