//! Parameter importance as W&B's panel shows its "correlation" column: the Pearson
//! correlation of each parameter with the metric over the trials that have both. Text and
//! boolean parameters are one-hot encoded, one indicator per value (`optimizer=adam`).

use std::fmt::Write;

use wandb_sweep::Value;

use crate::axis::value_text;
use crate::svg::escape;

/// Categorical parameters with more values than this are not encoded.
const MAX_CATEGORIES: usize = 12;

/// A parameter's (or a parameter value's) correlation with the metric.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Correlation {
    /// `lr`, or `optimizer=adam` for a value of a categorical parameter.
    pub(crate) name: String,
    /// Pearson's r, from -1 to 1.
    pub(crate) r: f64,
    /// Trials used.
    pub(crate) n: usize,
}

/// The correlations of each parameter with `metric`, strongest first. `params` holds each
/// parameter's name and its value in each trial (`None` when missing), aligned with `metric`.
pub(crate) fn correlations(
    params: &[(&str, Vec<Option<&Value>>)],
    metric: &[f64],
) -> Vec<Correlation> {
    let mut out = Vec::new();
    for (name, values) in params {
        let numbers: Vec<Option<f64>> = values
            .iter()
            .map(|v| v.and_then(Value::as_number).map(|n| n.as_f64()))
            .collect();
        let is_numeric = values
            .iter()
            .flatten()
            .all(|v| matches!(v, Value::Number(_)));
        if is_numeric {
            out.extend(pearson(&numbers, metric).map(|(r, n)| Correlation {
                name: (*name).to_owned(),
                r,
                n,
            }));
            continue;
        }
        let mut categories: Vec<String> = values.iter().flatten().map(|v| value_text(v)).collect();
        categories.sort();
        categories.dedup();
        if categories.len() > MAX_CATEGORIES {
            continue;
        }
        for category in categories {
            let indicator: Vec<Option<f64>> = values
                .iter()
                .map(|v| v.map(|v| f64::from(u8::from(value_text(v) == category))))
                .collect();
            out.extend(pearson(&indicator, metric).map(|(r, n)| Correlation {
                name: format!("{name}={category}"),
                r,
                n,
            }));
        }
    }
    out.sort_by(|a, b| b.r.abs().total_cmp(&a.r.abs()));
    out
}

/// Pearson's r over the pairs where both are finite; `None` with fewer than 3 pairs or no
/// variation.
fn pearson(x: &[Option<f64>], y: &[f64]) -> Option<(f64, usize)> {
    let pairs: Vec<(f64, f64)> = x
        .iter()
        .zip(y)
        .filter_map(|(a, &b)| a.filter(|a| a.is_finite() && b.is_finite()).map(|a| (a, b)))
        .collect();
    let n = pairs.len();
    if n < 3 {
        return None;
    }
    let mean = |f: fn(&(f64, f64)) -> f64| pairs.iter().map(f).sum::<f64>() / n as f64;
    let (mx, my) = (mean(|p| p.0), mean(|p| p.1));
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for (a, b) in &pairs {
        sxy += (a - mx) * (b - my);
        sxx += (a - mx) * (a - mx);
        syy += (b - my) * (b - my);
    }
    if sxx <= 0.0 || syy <= 0.0 {
        return None;
    }
    Some(((sxy / (sxx * syy).sqrt()).clamp(-1.0, 1.0), n))
}

/// Appends the importance table.
pub(crate) fn table(list: &[Correlation], metric: &str, maximize: bool, out: &mut String) {
    if list.is_empty() {
        return;
    }
    out.push_str("<div class=\"imp\"><h3>Parameter importance: correlation with ");
    escape(metric, out);
    out.push_str("</h3><table><thead><tr><th>parameter</th><th>correlation</th><th class=\"n\">r</th><th class=\"n\">trials</th></tr></thead><tbody>");
    for c in list {
        let side = if c.r >= 0.0 { "pos" } else { "neg" };
        let width = (c.r.abs() * 50.0).min(50.0);
        let left = if c.r >= 0.0 { 50.0 } else { 50.0 - width };
        out.push_str("<tr><td>");
        escape(&c.name, out);
        let _ = write!(
            out,
            "</td><td><span class=\"bar\"><i class=\"{side}\" style=\"left:{left:.1}%;width:{width:.1}%\"></i></span></td><td class=\"n\">{:+.2}</td><td class=\"n\">{}</td></tr>",
            c.r, c.n
        );
    }
    let better = if maximize { "higher" } else { "lower" };
    out.push_str(
        "</tbody></table><p class=\"note\">Pearson correlation over the trials with a value of ",
    );
    escape(metric, out);
    let _ = write!(
        out,
        ". Positive: larger parameter values go with larger {}; you want {better} values{}. W&B's panel also shows an importance from a random forest; this report does not compute it.</p></div>",
        crate::svg::escaped(metric),
        if maximize {
            ""
        } else {
            ", so negative correlations point to better runs"
        }
    );
    out.push('\n');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn correlations_are_signed_and_sorted() {
        let lr: Vec<Value> = [1.0, 2.0, 3.0, 4.0].into_iter().map(Value::from).collect();
        let noise: Vec<Value> = [1.0, -1.0, 1.0, -1.0]
            .into_iter()
            .map(Value::from)
            .collect();
        let opt: Vec<Value> = ["a", "b", "a", "b"].into_iter().map(Value::from).collect();
        let metric = [10.0, 8.0, 6.0, 4.0];
        let params = [
            ("noise", noise.iter().map(Some).collect()),
            ("lr", lr.iter().map(Some).collect()),
            ("opt", opt.iter().map(Some).collect()),
        ];
        let list = correlations(&params, &metric);
        assert_eq!(list[0].name, "lr");
        assert!((list[0].r + 1.0).abs() < 1e-12);
        assert_eq!(list[0].n, 4);
        let names: Vec<&str> = list.iter().map(|c| c.name.as_str()).collect();
        assert!(names.contains(&"opt=a") && names.contains(&"opt=b"));
    }

    #[test]
    fn too_few_or_constant_values_give_nothing() {
        assert_eq!(pearson(&[Some(1.0), Some(2.0)], &[1.0, 2.0]), None);
        assert_eq!(pearson(&[Some(1.0); 4], &[1.0, 2.0, 3.0, 4.0]), None);
        assert_eq!(
            pearson(
                &[Some(1.0), None, Some(2.0), Some(3.0)],
                &[1.0, 5.0, 2.0, f64::NAN]
            ),
            None
        );
    }
}
