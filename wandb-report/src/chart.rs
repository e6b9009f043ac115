//! Line charts: one metric, each run a line over `_step` (or the metric's step metric); a
//! log value axis when the values span decades; NaN and infinite values as gaps.

use std::fmt::Write;

use crate::axis::{Axis, short};
use crate::series::{Series, downsample};
use crate::svg::{PathData, escape};

/// The chart's size in SVG user units (drawn at about half that in pixels).
const W: f64 = 1200.0;
const H: f64 = 620.0;
/// Margins: left (tick labels and the value axis name), right, top, bottom.
const LEFT: f64 = 130.0;
const RIGHT: f64 = 30.0;
const TOP: f64 = 20.0;
const BOTTOM: f64 = 96.0;
/// Buckets per line when drawing: about one per pixel of the plot.
const DRAW_BUCKETS: usize = 520;

/// A run's line.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Curve<'a> {
    /// The run's index (its colour).
    pub(crate) run: usize,
    /// The run's name.
    pub(crate) name: &'a str,
    /// Its values.
    pub(crate) series: &'a Series,
}

/// Appends a `<figure>` with the chart of `metric`.
pub(crate) fn line_chart(metric: &str, curves: &[Curve<'_>], out: &mut String) {
    let mut x_labels: Vec<&str> = curves.iter().map(|c| c.series.x_label.as_str()).collect();
    x_labels.sort_unstable();
    x_labels.dedup();
    let x_label = x_labels.join(" / ");
    let gaps: usize = curves.iter().map(|c| c.series.non_finite).sum();
    let (x, y) = axes(curves);
    out.push_str("<figure class=\"chart\"><figcaption><b>");
    escape(metric, out);
    let _ = write!(
        out,
        "</b> · {} · x: ",
        crate::page::count(curves.len(), "run")
    );
    escape(&x_label, out);
    if y.is_some_and(|y| y.log) {
        out.push_str(" · log scale");
    }
    if gaps > 0 {
        let _ = write!(out, " · {gaps} NaN/inf values shown as gaps");
    }
    out.push_str("</figcaption>");
    let _ = write!(
        out,
        "<svg class=\"lc\" viewBox=\"0 0 {W} {H}\" role=\"img\" aria-label=\""
    );
    escape(metric, out);
    out.push_str("\">");
    match (x, y) {
        (Some(x), Some(y)) => {
            frame(&x, &y, &x_label, metric, out);
            // The first runs (a sweep's best) are drawn last, on top.
            for curve in curves.iter().rev() {
                line(curve, &x, &y, out);
            }
        }
        _ => {
            let _ = write!(
                out,
                "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">no finite values</text>",
                W / 2.0,
                H / 2.0
            );
        }
    }
    out.push_str("</svg></figure>\n");
}

/// The x and value axes over every run's finite points.
fn axes(curves: &[Curve<'_>]) -> (Option<Axis>, Option<Axis>) {
    let span = |pick: fn(&Series) -> Option<(f64, f64)>| {
        curves
            .iter()
            .filter_map(|c| pick(c.series))
            .reduce(|a, b| (a.0.min(b.0), a.1.max(b.1)))
    };
    let x = span(|s| s.x_range).map(|(lo, hi)| Axis::fit(lo, hi, None, false));
    let min_positive = curves
        .iter()
        .filter_map(|c| c.series.y_min_positive)
        .reduce(f64::min);
    let y = span(|s| s.y_range).map(|(lo, hi)| Axis::fit(lo, hi, min_positive, true));
    (x, y)
}

fn px(x: &Axis, v: f64) -> f64 {
    LEFT + x.fraction(v) * (W - LEFT - RIGHT)
}

fn py(y: &Axis, v: f64) -> f64 {
    TOP + (1.0 - y.fraction(v)) * (H - TOP - BOTTOM)
}

/// Grid lines, axes, tick labels and axis names.
fn frame(x: &Axis, y: &Axis, x_label: &str, metric: &str, out: &mut String) {
    let (bottom, right) = (H - BOTTOM, W - RIGHT);
    let x_ticks = x.ticks();
    let y_ticks = y.ticks();
    out.push_str("<path class=\"gl\" d=\"");
    for (v, _) in &y_ticks {
        let _ = write!(out, "M{LEFT} {:.0}H{right}", py(y, *v));
    }
    for (v, _) in &x_ticks {
        let _ = write!(out, "M{:.0} {TOP}V{bottom}", px(x, *v));
    }
    let _ = write!(
        out,
        "\"/><path class=\"ax\" d=\"M{LEFT} {TOP}V{bottom}H{right}\"/><g text-anchor=\"end\">"
    );
    for (v, label) in &y_ticks {
        let _ = write!(
            out,
            "<text x=\"{}\" y=\"{:.0}\">{label}</text>",
            LEFT - 12.0,
            py(y, *v) + 8.0
        );
    }
    out.push_str("</g><g text-anchor=\"middle\">");
    for (v, label) in &x_ticks {
        let _ = write!(
            out,
            "<text x=\"{:.0}\" y=\"{}\">{label}</text>",
            px(x, *v),
            bottom + 34.0
        );
    }
    let _ = write!(
        out,
        "<text class=\"at\" x=\"{:.0}\" y=\"{}\">",
        LEFT + (right - LEFT) / 2.0,
        H - 14.0
    );
    escape(x_label, out);
    let _ = write!(
        out,
        "</text><text class=\"at\" transform=\"translate(28 {:.0}) rotate(-90)\">",
        TOP + (bottom - TOP) / 2.0
    );
    escape(metric, out);
    out.push_str("</text></g>");
}

/// One run's line, down-sampled to the plot's width.
fn line(curve: &Curve<'_>, x: &Axis, y: &Axis, out: &mut String) {
    let points = downsample(&curve.series.points, x.lo, x.hi, DRAW_BUCKETS);
    let mut d = PathData::default();
    for [vx, vy] in points {
        let fy = y.fraction(vy);
        if fy.is_finite() {
            d.line_to(px(x, vx), TOP + (1.0 - fy) * (H - TOP - BOTTOM));
        } else {
            d.lift();
        }
    }
    let d = d.finish();
    if d.is_empty() {
        return;
    }
    let run = curve.run;
    let _ = write!(
        out,
        "<path class=\"run c{}\" data-r=\"{run}\" d=\"{d}\"><title>",
        run % crate::page::STYLES
    );
    escape(curve.name, out);
    if let Some(last) = curve.series.last {
        let _ = write!(out, ": last {}", short(last));
    }
    out.push_str("</title></path>");
}
