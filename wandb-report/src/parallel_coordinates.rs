//! A parallel coordinates chart of a sweep: one vertical axis per parameter and the metric
//! last; each trial a line through its values, coloured by the metric (darkest = best).

use std::fmt::Write;

use wandb_sweep::Value;

use crate::axis::{Axis, short, value_text};
use crate::param_axis::ParamAxis;
use crate::svg::escape;

const W: f64 = 1200.0;
const H: f64 = 460.0;
const LEFT: f64 = 110.0;
const RIGHT: f64 = 60.0;
const TOP: f64 = 50.0;
const BOTTOM: f64 = 24.0;

/// Colours from the worst trial to the best.
const RAMP: [[u8; 3]; 4] = [
    [0xfd, 0xd4, 0x9e],
    [0xfc, 0x8d, 0x59],
    [0xd7, 0x30, 0x1f],
    [0x67, 0x00, 0x0d],
];

/// A trial's line.
#[derive(Debug, Clone)]
pub(crate) struct Trace<'a> {
    /// The run's index.
    pub(crate) run: usize,
    /// The run's name.
    pub(crate) name: &'a str,
    /// Its value of each parameter.
    pub(crate) values: Vec<&'a Value>,
    /// Its metric (finite).
    pub(crate) metric: f64,
}

/// Appends a `<figure>` with the chart; nothing when there are no parameters or trials.
pub(crate) fn parallel_coordinates(
    params: &[&str],
    metric: &str,
    maximize: bool,
    traces: &[Trace<'_>],
    out: &mut String,
) {
    if params.is_empty() || traces.is_empty() {
        return;
    }
    let axes: Option<Vec<ParamAxis>> = (0..params.len())
        .map(|i| ParamAxis::fit(&traces.iter().map(|t| t.values[i]).collect::<Vec<_>>()))
        .collect();
    let Some(axes) = axes else { return };
    let Some(metric_axis) = Axis::of_values(traces.iter().map(|t| t.metric), false) else {
        return;
    };
    let step = (W - LEFT - RIGHT) / params.len() as f64;
    let ax = |i: usize| LEFT + i as f64 * step;
    let py = |fraction: f64| TOP + (1.0 - fraction) * (H - TOP - BOTTOM);

    let _ = write!(
        out,
        "<figure class=\"chart wide\"><figcaption><b>Parameters → {}</b> · {} trials · colour by rank, darkest = best</figcaption><svg class=\"pcp\" viewBox=\"0 0 {W} {H}\" role=\"img\" aria-label=\"parallel coordinates\">",
        crate::svg::escaped(metric),
        traces.len()
    );
    // Worst first, so the best is drawn on top; colours by rank, so that a few very bad
    // trials do not make all the others look alike.
    let mut order: Vec<usize> = (0..traces.len()).collect();
    let goodness = |v: f64| if maximize { v } else { -v };
    order.sort_by(|&a, &b| goodness(traces[a].metric).total_cmp(&goodness(traces[b].metric)));
    let last = order.len().saturating_sub(1).max(1) as f64;
    for (rank, &i) in order.iter().enumerate() {
        let trace = &traces[i];
        let mut d = String::new();
        for (k, axis) in axes.iter().enumerate() {
            let y = py(axis.position(trace.values[k]));
            if y.is_finite() {
                let _ = write!(
                    d,
                    "{}{:.0} {y:.0}",
                    if d.is_empty() { "M" } else { "L" },
                    ax(k)
                );
            }
        }
        let _ = write!(
            d,
            "L{:.0} {:.0}",
            ax(params.len()),
            py(metric_axis.fraction(trace.metric))
        );
        let _ = write!(
            out,
            "<path class=\"pc\" data-r=\"{}\" stroke=\"{}\" d=\"{d}\"><title>",
            trace.run,
            color(rank as f64 / last)
        );
        escape(trace.name, out);
        for (k, p) in params.iter().enumerate() {
            out.push_str(if k == 0 { ": " } else { ", " });
            escape(p, out);
            out.push('=');
            escape(&value_text(trace.values[k]), out);
        }
        out.push_str(" → ");
        escape(metric, out);
        let _ = write!(out, " {}</title></path>", short(trace.metric));
    }
    for (k, axis) in axes.iter().enumerate() {
        axis_line(ax(k), params[k], &axis.ticks(8), out);
    }
    let metric_ticks: Vec<(f64, String)> = metric_axis
        .ticks()
        .into_iter()
        .map(|(v, l)| (metric_axis.fraction(v), l))
        .collect();
    axis_line(ax(params.len()), metric, &metric_ticks, out);
    out.push_str("</svg></figure>\n");
}

/// A vertical axis at `x` with its name on top and tick labels on its left.
fn axis_line(x: f64, name: &str, ticks: &[(f64, String)], out: &mut String) {
    let py = |fraction: f64| TOP + (1.0 - fraction) * (H - TOP - BOTTOM);
    let _ = write!(
        out,
        "<path class=\"ax\" d=\"M{x:.0} {TOP}V{}\"/><text class=\"at\" x=\"{x:.0}\" y=\"{}\">",
        H - BOTTOM,
        TOP - 18.0
    );
    escape(name, out);
    out.push_str("</text><g text-anchor=\"end\">");
    for (fraction, label) in ticks {
        let y = py(*fraction);
        if !y.is_finite() {
            continue;
        }
        let _ = write!(
            out,
            "<text class=\"tk\" x=\"{:.0}\" y=\"{:.0}\">",
            x - 8.0,
            y + 7.0
        );
        escape(label, out);
        out.push_str("</text>");
    }
    out.push_str("</g>");
}

/// The colour of a trial whose goodness is `t` (0 worst, 1 best).
fn color(t: f64) -> String {
    let t = if t.is_finite() {
        t.clamp(0.0, 1.0)
    } else {
        0.0
    };
    let scaled = t * (RAMP.len() - 1) as f64;
    let i = (scaled.floor() as usize).min(RAMP.len() - 2);
    let f = scaled - i as f64;
    let mix = |a: u8, b: u8| (f64::from(a) + (f64::from(b) - f64::from(a)) * f).round() as u8;
    let [r, g, b] = [0, 1, 2].map(|c| mix(RAMP[i][c], RAMP[i + 1][c]));
    format!("#{r:02x}{g:02x}{b:02x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colours_run_from_pale_to_dark() {
        assert_eq!(color(0.0), "#fdd49e");
        assert_eq!(color(1.0), "#67000d");
        assert_eq!(color(f64::NAN), "#fdd49e");
    }
}
