//! `wandb-rs sweep grid`: the grid points in order.

use std::path::Path;

use wandb_sweep::Grid;

use super::{Format, read};
use crate::{Outcome, output};

pub(super) fn run(path: &Path, limit: Option<u128>, format: Format) -> Outcome {
    let Some(text) = read(path) else {
        return Outcome::IoError;
    };
    let file = path.display().to_string();
    let report = wandb_sweep::check(&text);
    for d in report.errors() {
        output::error(d.render(&file, &text).trim_end());
    }
    let Ok(config) = report.into_result() else {
        return Outcome::Invalid;
    };
    let grid = match Grid::new(&config) {
        Ok(g) => g,
        Err(e) => {
            output::error(&format!("error: {file}: {e}"));
            return Outcome::Invalid;
        }
    };
    let limit = limit.unwrap_or(u128::MAX);
    for (i, point) in grid.points().enumerate() {
        if i as u128 >= limit {
            break;
        }
        let line = match format {
            Format::Json => point.to_json().to_string(),
            Format::Text => point.to_string(),
        };
        if !output::line(&line) {
            break;
        }
    }
    Outcome::Ok
}
