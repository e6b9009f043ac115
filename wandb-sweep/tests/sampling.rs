//! Percent-point functions and random samples against W&B's engine: every ppf table and every
//! seeded sample of the 100 conformance files (fixtures from `scripts/sweep_fixtures.py`).

use std::fs;
use std::path::{Path, PathBuf};

use serde_json::Value as Json;
use wandb_sweep::{Distribution, SweepConfig, Value, check, flatten};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// (file, config as we read it, oracle fixture) for every file whose method we can read.
fn files() -> Vec<(String, SweepConfig, Json)> {
    let mut out = Vec::new();
    for entry in fs::read_dir(fixtures().join("oracle")).expect("fixtures") {
        let path = entry.expect("entry").path();
        let oracle: Json =
            serde_json::from_str(&fs::read_to_string(&path).expect("read")).expect("json");
        let file = oracle["file"].as_str().expect("file").to_owned();
        let text = fs::read_to_string(fixtures().join(&file)).expect("yaml");
        if let Some(cfg) = check(&text).config() {
            out.push((file, cfg.clone(), oracle));
        }
    }
    out
}

/// Same value: identical for integers, strings and structures; floats within `rel`.
fn same(ours: &Value, theirs: &Json, rel: f64) -> bool {
    match (ours, theirs) {
        (Value::Number(wandb_sweep::Number::Float(x)), Json::String(s)) => match s.as_str() {
            "nan" => x.is_nan(),
            "inf" => *x == f64::INFINITY,
            "-inf" => *x == f64::NEG_INFINITY,
            _ => false,
        },
        (Value::Number(wandb_sweep::Number::Float(x)), Json::Number(n)) if n.is_f64() => {
            let y = n.as_f64().expect("f64");
            x == &y || (x - y).abs() <= rel * y.abs()
        }
        _ => ours.to_json() == *theirs,
    }
}

fn tolerance(d: Option<Distribution>) -> f64 {
    use Distribution as D;
    match d {
        Some(D::Normal | D::QNormal | D::LogNormal | D::QLogNormal | D::Beta | D::QBeta) => 1e-9,
        _ => 1e-14,
    }
}

#[test]
fn ppf_tables_match_the_engine() {
    let (mut compared, mut mismatches) = (0, Vec::new());
    for (file, cfg, oracle) in files() {
        let Some(table) = oracle["ppf_table"].as_object() else {
            continue;
        };
        for flat in flatten(&cfg.parameters) {
            let Some(rows) = table.get(&flat.name()) else {
                continue;
            };
            for row in rows.as_array().expect("rows") {
                let u = row[0].as_f64().expect("u");
                if row[1].as_str().is_some_and(|s| s.starts_with("error")) {
                    continue;
                }
                compared += 1;
                let ours = flat.parameter.ppf(u).expect("ppf");
                if !same(&ours, &row[1], tolerance(flat.parameter.distribution())) {
                    mismatches.push(format!(
                        "{file}: {} ppf({u}) = {ours:?}, engine {}",
                        flat.name(),
                        row[1]
                    ));
                }
            }
        }
    }
    assert!(
        mismatches.is_empty(),
        "{} of {compared}:\n{}",
        mismatches.len(),
        mismatches.join("\n")
    );
    assert!(compared > 3000, "only {compared} ppf values compared");
}

#[test]
fn seeded_samples_are_the_ppf_of_the_engine_draws() {
    let mut compared = 0;
    for (file, cfg, oracle) in files() {
        let (Some(samples), Some(draws)) = (
            oracle["random_samples"].as_array(),
            oracle["random_draws"].as_array(),
        ) else {
            continue;
        };
        let flat = flatten(&cfg.parameters);
        for (sample, draw) in samples.iter().zip(draws) {
            for d in draw.as_array().expect("draws") {
                let name = d["param"].as_str().expect("name");
                let Some(f) = flat.iter().find(|f| f.name() == name) else {
                    continue;
                };
                let theirs = f
                    .path
                    .iter()
                    .try_fold(sample, |v, k| v.get(k))
                    .expect("sampled value");
                let ours = f.parameter.ppf(d["u"].as_f64().expect("u")).expect("ppf");
                compared += 1;
                assert!(
                    same(&ours, theirs, tolerance(f.parameter.distribution())),
                    "{file}: {name}: ours {ours:?}, engine {theirs}"
                );
            }
        }
    }
    assert!(compared > 1000, "only {compared} sampled values compared");
}
