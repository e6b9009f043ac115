//! The run table: one row per run with its colour, name, state, runtime, rows logged, the
//! metric summaries and the config values that differ between runs (sortable by column).

use std::fmt::Write;

use indexmap::IndexMap;
use wandb_sweep::Value;

use crate::axis::{short, value_text};
use crate::page::swatch;
use crate::run_set::{ReportRun, RunSet, summary_number};
use crate::svg::escape;

/// Config columns shown at most; the others are named under the table.
const MAX_CONFIG_COLUMNS: usize = 16;
/// Metric summary columns when the report is not of a sweep and no metric was named.
const SUMMARY_COLUMNS: usize = 3;

/// Appends the table.
pub(crate) fn run_table(set: &RunSet, out: &mut String) {
    let summaries = summary_columns(set);
    let (varying, constant) = config_columns(&set.runs);
    if !constant.is_empty() {
        out.push_str("<p class=\"note\">Same in every run: ");
        for (i, (key, value)) in constant.iter().enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            out.push_str("<code>");
            escape(key, out);
            out.push_str(" = ");
            escape(&value_text(value), out);
            out.push_str("</code>");
        }
        out.push_str("</p>");
    }
    let shown = &varying[..varying.len().min(MAX_CONFIG_COLUMNS)];
    out.push_str("<div class=\"scroll\"><table class=\"runs sort\"><thead><tr><th>run</th><th>state</th><th class=\"n\">runtime</th><th class=\"n\">rows</th>");
    for name in &summaries {
        out.push_str("<th class=\"n m\">");
        escape(name, out);
        out.push_str("</th>");
    }
    for key in shown {
        out.push_str("<th class=\"n\">");
        // A config key named like a metric column is told apart.
        if summaries.contains(&key.as_str()) {
            out.push_str("config.");
        }
        escape(key, out);
        out.push_str("</th>");
    }
    out.push_str("</tr></thead><tbody>");
    for (i, run) in set.runs.iter().enumerate() {
        row(i, run, set, &summaries, shown, out);
    }
    out.push_str("</tbody></table></div>");
    if varying.len() > shown.len() {
        out.push_str("<p class=\"note\">More config keys that differ between runs (not shown): ");
        escape(&varying[shown.len()..].join(", "), out);
        out.push_str("</p>");
    }
    out.push('\n');
}

fn row(
    i: usize,
    run: &ReportRun,
    set: &RunSet,
    summaries: &[&str],
    config: &[String],
    out: &mut String,
) {
    let log = &run.log;
    let _ = write!(out, "<tr data-r=\"{i}\"><td>");
    swatch(i, out);
    escape(log.name(), out);
    if let Some(t) = run
        .trial
        .as_ref()
        .filter(|t| !log.name().ends_with(&format!("-{}", t.number)))
    {
        let _ = write!(out, " <small>#{}</small>", t.number);
    }
    let _ = write!(out, "</td><td><span class=\"st {}\"", run.state.class());
    if let crate::run_state::RunState::Failed {
        reason: Some(why), ..
    } = &run.state
    {
        out.push_str(" title=\"");
        escape(why, out);
        out.push('"');
    }
    out.push('>');
    escape(&run.state.label(), out);
    out.push_str("</span></td>");
    match log.runtime {
        Some(s) => {
            let _ = write!(out, "<td class=\"n\" data-v=\"{s}\">{}</td>", duration(s));
        }
        None => out.push_str("<td class=\"n\" data-v=\"\"></td>"),
    }
    let _ = write!(out, "<td class=\"n\">{}</td>", log.rows);
    for name in summaries {
        let value = if set.metric.as_deref() == Some(*name) {
            run.metric
        } else {
            log.summary
                .get(*name)
                .and_then(|v| summary_number(v, false))
                .or_else(|| log.series.get(*name)?.last)
        };
        cell(value.map(Value::from).as_ref(), out);
    }
    for key in config {
        cell(log.config.get(key), out);
    }
    out.push_str("</tr>");
}

fn cell(value: Option<&Value>, out: &mut String) {
    match value {
        Some(v) => {
            let sort = v
                .as_number()
                .map_or_else(|| value_text(v), |n| n.as_f64().to_string());
            out.push_str("<td class=\"n\" data-v=\"");
            escape(&sort, out);
            out.push_str("\">");
            escape(&value_text(v), out);
            out.push_str("</td>");
        }
        None => out.push_str("<td class=\"n\" data-v=\"\"></td>"),
    }
}

/// The metric columns: the sweep metric (or the metrics named), else the first charts.
fn summary_columns(set: &RunSet) -> Vec<&str> {
    match &set.metric {
        Some(m) if set.sweep.is_some() => vec![m.as_str()],
        Some(_) => set.charts.iter().map(String::as_str).collect(),
        None => set
            .charts
            .iter()
            .take(SUMMARY_COLUMNS)
            .map(String::as_str)
            .collect(),
    }
}

/// Config keys whose value differs between runs (or that some runs lack), and the keys with
/// one value in every run.
fn config_columns(runs: &[ReportRun]) -> (Vec<String>, Vec<(String, Value)>) {
    let mut values: IndexMap<&str, Vec<Option<&Value>>> = IndexMap::new();
    for run in runs {
        for key in run.log.config.keys() {
            values.entry(key.as_str()).or_default();
        }
    }
    for (key, list) in &mut values {
        list.extend(runs.iter().map(|r| r.log.config.get(*key)));
    }
    let mut varying = Vec::new();
    let mut constant = Vec::new();
    for (key, list) in values {
        let first = list.first().copied().flatten();
        let same = list
            .iter()
            .all(|v| v.map(value_text) == first.map(value_text));
        match (same, first) {
            (true, Some(v)) if runs.len() > 1 => constant.push((key.to_owned(), v.clone())),
            _ => varying.push(key.to_owned()),
        }
    }
    (varying, constant)
}

/// `4.2 s`, `3 min 05 s`, `2 h 03 min`.
fn duration(seconds: f64) -> String {
    if !seconds.is_finite() || seconds < 0.0 {
        return String::new();
    }
    if seconds < 60.0 {
        return format!("{} s", short((seconds * 10.0).round() / 10.0));
    }
    let s = seconds.round() as u64;
    if s < 3600 {
        format!("{} min {:02} s", s / 60, s % 60)
    } else {
        format!("{} h {:02} min", s / 3600, s % 3600 / 60)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_naturally() {
        assert_eq!(duration(4.24), "4.2 s");
        assert_eq!(duration(185.0), "3 min 05 s");
        assert_eq!(duration(7380.0), "2 h 03 min");
        assert_eq!(duration(f64::NAN), "");
    }
}
