//! The sections only a local sweep has: the metric against each parameter, parallel
//! coordinates, parameter importance, and which trials hyperband stopped at which band.

use std::collections::BTreeMap;
use std::fmt::Write;

use indexmap::IndexMap;
use wandb_sweep::Value;

use crate::axis::value_text;
use crate::importance::{correlations, table};
use crate::page::swatch;
use crate::parallel_coordinates::{Trace, parallel_coordinates};
use crate::run_log::flatten;
use crate::run_set::RunSet;
use crate::run_state::RunState;
use crate::scatter::{Dot, scatter};
use crate::svg::{escape, escaped};

/// A trial's parameters, nested groups as dotted names.
fn flat_params(params: &Value) -> IndexMap<String, Value> {
    let mut out = IndexMap::new();
    if let Value::Map(m) = params {
        for (k, v) in m {
            flatten(k, v.clone(), &mut out);
        }
    }
    out
}

/// Appends the parameters section: scatter charts, parallel coordinates, importance.
pub(crate) fn parameters(set: &RunSet, out: &mut String) {
    out.push_str("<section id=\"parameters\"><h2>Parameters</h2>");
    let Some(metric) = set.metric.as_deref() else {
        out.push_str("<p class=\"note\">The sweep has no metric, so there is nothing to set the parameters against.</p></section>\n");
        return;
    };
    let trials: Vec<(usize, IndexMap<String, Value>, Option<f64>)> = set
        .runs
        .iter()
        .enumerate()
        .filter_map(|(i, r)| Some((i, flat_params(&r.trial.as_ref()?.params), r.metric)))
        .collect();
    let mut names: Vec<&str> = Vec::new();
    for (_, params, _) in &trials {
        for k in params.keys() {
            if !names.contains(&k.as_str()) {
                names.push(k);
            }
        }
    }
    let varies = |name: &str| {
        let mut seen = trials.iter().map(|(_, p, _)| p.get(name).map(value_text));
        let first = seen.next().flatten();
        seen.any(|v| v != first)
    };
    let varying: Vec<&str> = names.iter().copied().filter(|n| varies(n)).collect();
    let scored: Vec<&(usize, IndexMap<String, Value>, Option<f64>)> = trials
        .iter()
        .filter(|(_, _, m)| m.is_some_and(f64::is_finite))
        .collect();
    let _ = write!(
        out,
        "<p class=\"note\">{} of {} trials have a value of <b>{}</b>",
        scored.len(),
        trials.len(),
        escaped(metric)
    );
    let constant: Vec<&str> = names.iter().copied().filter(|n| !varies(n)).collect();
    if !constant.is_empty() {
        let _ = write!(out, "; fixed: {}", escaped(&constant.join(", ")));
    }
    out.push_str(". Dots: <span class=\"key\" style=\"background:#1f77b4\"></span>finished<span class=\"key\" style=\"background:#ff7f0e\"></span>stopped early by hyperband; the ringed dot is the best trial.</p>");
    if scored.is_empty() || varying.is_empty() {
        out.push_str("</section>\n");
        return;
    }
    // Runs are in the report's order, the best first.
    let best = scored.iter().map(|(i, _, _)| *i).min();
    out.push_str("<div class=\"grid3\">\n");
    for name in &varying {
        let dots: Vec<Dot<'_>> = scored
            .iter()
            .filter_map(|(i, params, m)| {
                Some(Dot {
                    run: *i,
                    name: set.runs[*i].log.name(),
                    x: params.get(*name)?,
                    y: (*m)?,
                    stopped: set.runs[*i].state.stopped(),
                    best: Some(*i) == best,
                })
            })
            .collect();
        scatter(name, metric, &dots, out);
    }
    out.push_str("</div>\n");
    let complete: Vec<Trace<'_>> = scored
        .iter()
        .filter_map(|(i, params, m)| {
            Some(Trace {
                run: *i,
                name: set.runs[*i].log.name(),
                values: varying
                    .iter()
                    .map(|n| params.get(*n))
                    .collect::<Option<Vec<_>>>()?,
                metric: (*m)?,
            })
        })
        .collect();
    parallel_coordinates(&varying, metric, set.maximize, &complete, out);
    let columns: Vec<(&str, Vec<Option<&Value>>)> = varying
        .iter()
        .map(|n| (*n, scored.iter().map(|(_, p, _)| p.get(*n)).collect()))
        .collect();
    let values: Vec<f64> = scored
        .iter()
        .map(|(_, _, m)| m.unwrap_or(f64::NAN))
        .collect();
    table(&correlations(&columns, &values), metric, set.maximize, out);
    out.push_str("</section>\n");
}

/// Appends the hyperband section: the bands and the trials stopped at each.
pub(crate) fn hyperband(set: &RunSet, out: &mut String) {
    let stopped: Vec<(usize, usize, Option<u64>)> = set
        .runs
        .iter()
        .enumerate()
        .filter_map(|(i, r)| match r.state {
            RunState::Stopped { steps, band } => Some((i, steps, band)),
            _ => None,
        })
        .collect();
    if stopped.is_empty() && set.bands.is_none() {
        return;
    }
    out.push_str("<section id=\"hyperband\"><h2>Hyperband early stopping</h2>");
    match &set.bands {
        Some(bands) => {
            let list: Vec<String> = bands.bands.iter().map(u64::to_string).collect();
            let _ = write!(
                out,
                "<p class=\"note\">Bands: <b>{}</b> values of the metric. {}</p>",
                list.join(", "),
                escaped(&bands.describe)
            );
        }
        None => out.push_str("<p class=\"note\">The bands are not known: give the sweep config (<code>wandb-rs report --config sweep.yaml</code>, <code>Report::sweep_config</code>) to see at which band each trial was stopped.</p>"),
    }
    let _ = write!(
        out,
        "<p>{} of {} trials were stopped early.</p>",
        stopped.len(),
        set.runs.len()
    );
    if stopped.is_empty() {
        out.push_str("</section>\n");
        return;
    }
    let mut by_band: BTreeMap<Option<u64>, Vec<(usize, usize)>> = BTreeMap::new();
    for (i, steps, band) in stopped {
        by_band.entry(band).or_default().push((i, steps));
    }
    out.push_str("<table><thead><tr><th>band</th><th class=\"n\">trials</th><th>stopped there (values of the metric logged)</th></tr></thead><tbody>");
    for (band, list) in by_band {
        match band {
            Some(b) => {
                let _ = write!(out, "<tr><td>band {b}</td>");
            }
            None => out.push_str("<tr><td>unknown</td>"),
        }
        let _ = write!(
            out,
            "<td class=\"n\">{}</td><td style=\"white-space:normal\">",
            list.len()
        );
        for (i, steps) in list {
            let _ = write!(out, "<span class=\"chip\" data-r=\"{i}\">");
            swatch(i, out);
            escape(set.runs[i].log.name(), out);
            let _ = write!(out, " ({steps})</span> ");
        }
        out.push_str("</td></tr>");
    }
    out.push_str("</tbody></table></section>\n");
}
