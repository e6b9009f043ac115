//! Scatter charts of a sweep: the metric against one parameter, one dot per trial (numeric
//! parameters on a linear or log axis, others as categories).

use std::fmt::Write;

use wandb_sweep::Value;

use crate::axis::{Axis, short, value_text};
use crate::param_axis::ParamAxis;
use crate::svg::escape;

const W: f64 = 800.0;
const H: f64 = 560.0;
const LEFT: f64 = 130.0;
const RIGHT: f64 = 30.0;
const TOP: f64 = 24.0;
const BOTTOM: f64 = 96.0;
/// Space kept between the dots and the plot's left and right edges.
const INSET: f64 = 18.0;

/// A trial's dot.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Dot<'a> {
    /// The run's index.
    pub(crate) run: usize,
    /// The run's name.
    pub(crate) name: &'a str,
    /// The parameter's value.
    pub(crate) x: &'a Value,
    /// The metric's value (finite).
    pub(crate) y: f64,
    /// Stopped early by hyperband.
    pub(crate) stopped: bool,
    /// The best trial.
    pub(crate) best: bool,
}

/// Appends a `<figure>` with `metric` against `param`.
pub(crate) fn scatter(param: &str, metric: &str, dots: &[Dot<'_>], out: &mut String) {
    let xs: Vec<&Value> = dots.iter().map(|d| d.x).collect();
    let Some(x) = ParamAxis::fit(&xs) else { return };
    let Some(y) = Axis::of_values(dots.iter().map(|d| d.y), true) else {
        return;
    };
    out.push_str("<figure class=\"chart\"><figcaption><b>");
    escape(metric, out);
    out.push_str("</b> by <b>");
    escape(param, out);
    let _ = write!(out, "</b> · {}", crate::page::count(dots.len(), "trial"));
    if x.is_log() {
        out.push_str(" · log x");
    }
    if y.log {
        out.push_str(" · log y");
    }
    let _ = write!(
        out,
        "</figcaption><svg class=\"sc\" viewBox=\"0 0 {W} {H}\" role=\"img\" aria-label=\""
    );
    escape(metric, out);
    out.push_str(" by ");
    escape(param, out);
    out.push_str("\">");
    frame(&x, &y, param, metric, out);
    for dot in dots {
        let (cx, cy) = (
            px(x.position(dot.x)),
            TOP + (1.0 - y.fraction(dot.y)) * (H - TOP - BOTTOM),
        );
        if !(cx.is_finite() && cy.is_finite()) {
            continue;
        }
        let kind = if dot.stopped { "ps" } else { "pf" };
        let best = if dot.best { " best" } else { "" };
        let _ = write!(
            out,
            "<circle class=\"pt {kind}{best}\" data-r=\"{}\" cx=\"{cx:.0}\" cy=\"{cy:.0}\" r=\"{}\"><title>",
            dot.run,
            if dot.best { 13 } else { 9 }
        );
        escape(dot.name, out);
        out.push_str(": ");
        escape(param, out);
        out.push('=');
        escape(&value_text(dot.x), out);
        out.push_str(", ");
        escape(metric, out);
        let _ = write!(out, " {}", short(dot.y));
        if dot.stopped {
            out.push_str(" (stopped early)");
        }
        out.push_str("</title></circle>");
    }
    out.push_str("</svg></figure>\n");
}

fn px(fraction: f64) -> f64 {
    LEFT + INSET + fraction * (W - LEFT - RIGHT - 2.0 * INSET)
}

fn frame(x: &ParamAxis, y: &Axis, param: &str, metric: &str, out: &mut String) {
    let bottom = H - BOTTOM;
    let y_ticks = y.ticks();
    let py = |v: f64| TOP + (1.0 - y.fraction(v)) * (H - TOP - BOTTOM);
    out.push_str("<path class=\"gl\" d=\"");
    for (v, _) in &y_ticks {
        let _ = write!(out, "M{LEFT} {:.0}H{}", py(*v), W - RIGHT);
    }
    let _ = write!(
        out,
        "\"/><path class=\"ax\" d=\"M{LEFT} {TOP}V{bottom}H{}\"/><g text-anchor=\"end\">",
        W - RIGHT
    );
    for (v, label) in &y_ticks {
        let _ = write!(
            out,
            "<text x=\"{}\" y=\"{:.0}\">{label}</text>",
            LEFT - 12.0,
            py(*v) + 9.0
        );
    }
    out.push_str("</g><g text-anchor=\"middle\">");
    for (fraction, label) in x.ticks(6) {
        let _ = write!(
            out,
            "<text x=\"{:.0}\" y=\"{}\">",
            px(fraction),
            bottom + 36.0
        );
        escape(&label, out);
        out.push_str("</text>");
    }
    let _ = write!(
        out,
        "<text class=\"at\" x=\"{:.0}\" y=\"{}\">",
        LEFT + (W - RIGHT - LEFT) / 2.0,
        H - 12.0
    );
    escape(param, out);
    let _ = write!(
        out,
        "</text><text class=\"at\" transform=\"translate(30 {:.0}) rotate(-90)\">",
        TOP + (bottom - TOP) / 2.0
    );
    escape(metric, out);
    out.push_str("</text></g>");
}
