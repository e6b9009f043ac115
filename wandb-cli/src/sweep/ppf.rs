//! `wandb-rs sweep ppf`: each sampled parameter's value at given quantiles.

use std::path::Path;

use serde_json::{Map, Value as Json};
use wandb_sweep::{Distribution, flatten};

use super::{Format, load};
use crate::{Outcome, output};

pub(super) fn run(path: &Path, us: &[f64], format: Format) -> Outcome {
    let config = match load(path) {
        Ok(c) => c,
        Err(outcome) => return outcome,
    };
    let mut table = Map::new();
    for flat in flatten(&config.parameters) {
        if flat.parameter.distribution() == Some(Distribution::Constant) {
            continue;
        }
        let mut rows = Vec::new();
        for &u in us {
            match flat.parameter.ppf(u) {
                Ok(v) => rows.push(Json::from(vec![Json::from(u), v.to_json()])),
                Err(e) => {
                    output::error(&format!("error: {e}"));
                    return Outcome::IoError;
                }
            }
        }
        table.insert(flat.name(), Json::from(rows));
    }
    let text = match format {
        Format::Json => Json::Object(table).to_string(),
        Format::Text => table
            .iter()
            .map(|(name, rows)| format!("{name}: {rows}"))
            .collect::<Vec<_>>()
            .join("\n"),
    };
    output::line(&text);
    Outcome::Ok
}
