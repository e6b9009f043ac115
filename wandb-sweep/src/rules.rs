//! The semantic rules of a sweep config, checked on the typed model at every nesting level.
//!
//! Shape errors (unknown keys, wrong types) are found while decoding; these rules cover what the
//! engine checks afterwards and what it only trips over once the sweep runs.

use crate::config::{
    EarlyTerminate, Goal, Hyperband, Impute, Method, SchedulerEngine, SweepConfig,
};
use crate::decode::SourceMap;
use crate::diagnostic::Diagnostic;
use crate::distribution::Distribution;
use crate::error::Error;
use crate::grid::{Grid, GridKey};

use crate::parameter::{Parameter, Parameters};
use crate::value::{Number, Value};

/// Collects rule violations; locations come from the source map (none for configs built in code).
struct Rules<'a> {
    map: &'a SourceMap,
    out: Vec<Diagnostic>,
    grid: bool,
}

impl Rules<'_> {
    fn error(&mut self, path: &str, message: String) {
        let loc = self.map.value(path);
        self.out.push(Diagnostic::error(path, loc, message));
    }

    fn warning(&mut self, path: &str, message: String) {
        let loc = self.map.value(path);
        self.out.push(Diagnostic::warning(path, loc, message));
    }
}

/// Checks every rule; returns the diagnostics found. With `method` unknown (it could not be
/// read), the rules that depend on it are skipped.
pub(crate) fn check(
    config: &SweepConfig,
    method: Option<Method>,
    map: &SourceMap,
) -> Vec<Diagnostic> {
    let mut r = Rules {
        map,
        out: Vec::new(),
        grid: method == Some(Method::Grid),
    };
    parameters(&mut r, &config.parameters, "parameters");
    if method.is_some() {
        top_level(&mut r, config);
    }
    if let Some(EarlyTerminate::Hyperband(hb)) = &config.early_terminate {
        hyperband(&mut r, config, hb);
    }
    if r.grid {
        grid(&mut r, config);
    }
    r.out
}

fn parameters(r: &mut Rules<'_>, params: &Parameters, path: &str) {
    // Parsing already reported bad names and empty groups (at the key); a config built in
    // code has no source map and gets them here.
    let built = r.map.is_empty();
    if built && params.is_empty() && path != "parameters" {
        let msg = "must hold at least one parameter, e.g. `lr: {values: [0.1, 0.01]}`";
        r.error(path, msg.into());
    }
    for (name, p) in params {
        let p_path = format!("{path}.{name}");
        if built && !valid_name(name) {
            let msg = format!(
                "parameter name `{name}` is not allowed: names start with a letter or `_` and \
                 hold only letters, digits, `_`, `.` and `-`"
            );
            r.error(&p_path, msg);
        }
        match p {
            Parameter::Nested { parameters: inner } => {
                parameters(r, inner, &format!("{p_path}.parameters"));
            }
            _ => parameter(r, p, &p_path),
        }
    }
}

/// W&B's parameter name pattern `^[A-Za-z_][A-Za-z0-9_.-]*$`.
fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
}

/// Reports a non-finite number (NaN or infinite), which no W&B sampler can use; true if so.
fn not_finite(r: &mut Rules<'_>, path: &str, key: &str, n: Number) -> bool {
    if n.as_f64().is_finite() {
        return false;
    }
    r.error(
        &format!("{path}.{key}"),
        format!("{key} {n} must be a finite number"),
    );
    true
}

fn parameter(r: &mut Rules<'_>, p: &Parameter, path: &str) {
    let Some(dist) = p.distribution() else { return };
    values(r, p, path);
    bounds(r, p, dist, path);
    shape(r, p, path);
    if let Some(new) = dist.replacement() {
        deprecated(r, p, dist, new, path);
    }
    if r.grid && !dist.is_grid_enumerable() {
        let msg = if dist == Distribution::CategoricalWProbabilities {
            "grid search cannot use probabilities (the engine stops with an error): remove \
             `probabilities`, or use method random"
                .to_owned()
        } else {
            format!(
                "grid search cannot enumerate `{dist}` (the engine stops with an error once the \
                 sweep starts): list the points with `values: [...]`, use int_uniform or \
                 q_uniform, or switch to method random or bayes"
            )
        };
        r.error(path, msg);
    }
}

fn values(r: &mut Rules<'_>, p: &Parameter, path: &str) {
    let (values, probs) = match p {
        Parameter::Categorical { values } => (values, None),
        Parameter::CategoricalWProbabilities {
            values,
            probabilities,
        } => (values, Some(probabilities)),
        _ => return,
    };
    let v_path = format!("{path}.values");
    if values.is_empty() {
        r.error(
            &v_path,
            "needs at least one value, e.g. `values: [0.1, 0.01]`".into(),
        );
    }
    if r.grid && probs.is_none() {
        duplicate_values(r, values, &v_path);
    }
    if let Some(probs) = probs {
        probabilities(r, probs, values.len(), &format!("{path}.probabilities"));
    }
}

fn duplicate_values(r: &mut Rules<'_>, values: &[Value], path: &str) {
    let mut seen: Vec<(GridKey, usize)> = Vec::new();
    for (i, v) in values.iter().enumerate() {
        let key = GridKey::of(v);
        if let Some((_, first)) = seen.iter().find(|(k, _)| *k == key) {
            let msg = format!(
                "{v} is the same grid point as {} (values[{first}]); the grid runs it once. \
                 Remove the duplicate",
                values[*first]
            );
            r.warning(&format!("{path}[{i}]"), msg);
        } else {
            seen.push((key, i));
        }
    }
}

fn probabilities(r: &mut Rules<'_>, probs: &[Number], n_values: usize, path: &str) {
    if probs.len() != n_values {
        let msg = format!(
            "has {} entries but `values` has {n_values}: give one probability per value",
            probs.len()
        );
        r.error(path, msg);
    }
    for (i, p) in probs.iter().enumerate() {
        let x = p.as_f64();
        let msg = if x.is_nan() {
            "probability NaN is not a number; use a value >= 0".to_owned()
        } else if x.is_infinite() {
            format!("probability {p} must be a finite number >= 0")
        } else if x < 0.0 {
            format!("probability {p} is negative; use a value >= 0")
        } else {
            continue;
        };
        r.error(&format!("{path}[{i}]"), msg);
    }
    let sum: f64 = probs.iter().map(|p| p.as_f64()).sum();
    if (sum - 1.0).abs() > 1e-8 + 1e-5 {
        r.error(
            path,
            format!("probabilities sum to {sum}; they must sum to 1"),
        );
    }
}

fn bounds(r: &mut Rules<'_>, p: &Parameter, dist: Distribution, path: &str) {
    let Some((min, max)) = p.bounds() else { return };
    let bad_min = not_finite(r, path, "min", min);
    if not_finite(r, path, "max", max) || bad_min {
        return;
    }
    if !less(min.as_f64(), max.as_f64()) {
        let msg = format!("min {min} must be less than max {max}; swap or fix the bounds");
        r.error(&format!("{path}.min"), msg);
    }
    let log_values = matches!(
        dist,
        Distribution::LogUniformValues
            | Distribution::QLogUniformValues
            | Distribution::InvLogUniformValues
    );
    if log_values && !less(0.0, min.as_f64()) {
        let msg =
            format!("min {min} must be greater than 0 for `{dist}` (a log scale); use e.g. 1e-6");
        r.error(&format!("{path}.min"), msg);
    }
}

/// `q`, `mu`, `sigma`, `a` and `b`: finite, and in range.
fn shape(r: &mut Rules<'_>, p: &Parameter, path: &str) {
    let (q, mu, sigma, a, b) = match *p {
        Parameter::QUniform { q, .. }
        | Parameter::QLogUniform { q, .. }
        | Parameter::QLogUniformValues { q, .. } => (q, None, None, None, None),
        Parameter::Normal { mu, sigma } | Parameter::LogNormal { mu, sigma } => {
            (None, mu, sigma, None, None)
        }
        Parameter::QNormal { mu, sigma, q } | Parameter::QLogNormal { mu, sigma, q } => {
            (q, mu, sigma, None, None)
        }
        Parameter::Beta { a, b } => (None, None, None, a, b),
        Parameter::QBeta { a, b, q } => (q, None, None, a, b),
        _ => return,
    };
    let mut finite = |key: &str, v: Option<Number>| v.filter(|&n| !not_finite(r, path, key, n));
    let (q, sigma, a, b) = (
        finite("q", q),
        finite("sigma", sigma),
        finite("a", a),
        finite("b", b),
    );
    finite("mu", mu);
    if let Some(q) = q.filter(|q| !less(0.0, q.as_f64())) {
        r.error(
            &format!("{path}.q"),
            format!("q {q} must be greater than 0, e.g. `q: 1`"),
        );
    }
    for (key, v) in [("sigma", sigma), ("a", a), ("b", b)] {
        let Some(v) = v else { continue };
        let x = v.as_f64();
        let p = format!("{path}.{key}");
        if x < 0.0 {
            r.error(&p, format!("{key} {v} must be 0 or greater"));
        } else if x == 0.0 {
            r.warning(
                &p,
                format!(
                    "{key} 0 is accepted but the engine then samples NaN; use a positive {key}"
                ),
            );
        }
    }
}

fn deprecated(r: &mut Rules<'_>, p: &Parameter, dist: Distribution, new: Distribution, path: &str) {
    let Some((min, max)) = p.bounds() else { return };
    let (lo, hi) = if dist == Distribution::InvLogUniform {
        ((-max.as_f64()).exp(), (-min.as_f64()).exp())
    } else {
        (min.as_f64().exp(), max.as_f64().exp())
    };
    let msg = format!(
        "`{dist}` takes base-e exponents as min/max and W&B rejects it: use \
         `distribution: {new}` with the limit values min: {}, max: {}",
        short(lo),
        short(hi)
    );
    r.error(&format!("{path}.distribution"), msg);
}

fn top_level(r: &mut Rules<'_>, c: &SweepConfig) {
    if c.run_cap == Some(0) {
        let msg = "must be a positive integer, found 0; remove it for no cap";
        r.error("run_cap", msg.into());
    }
    let search_space = c
        .scheduler
        .as_ref()
        .and_then(|s| s.search_space.as_deref())
        .is_some_and(|s| !s.is_empty());
    if c.parameters.is_empty() && !search_space && r.map.is_empty() {
        r.error(
            "parameters",
            "no parameters: add the hyperparameters to search".into(),
        );
    }
    metrics(r, c);
    scheduler(r, c);
    if c.method == Method::Bayes {
        impute_zero(r, c);
        if c.metric.is_none() {
            let msg = "bayes search needs `metric` (name and goal) to optimise; add it or use method random";
            r.error("method", msg.into());
        }
        if !c.parameters.is_empty() && !has_searchable(&c.parameters) {
            let msg = "bayes search needs at least one parameter that varies; all are constants";
            r.error("parameters", msg.into());
        }
    }
}

/// `impute: latest|best` scores a run with no finite value as 0.0 (as the engine does), which
/// a minimised metric takes for a good result.
fn impute_zero(r: &mut Rules<'_>, c: &SweepConfig) {
    let Some(m) = &c.metric else { return };
    let Some(how @ (Impute::Latest | Impute::Best)) = m.impute else {
        return;
    };
    if m.goal == Some(Goal::Maximize) {
        return;
    }
    let how = if how == Impute::Latest {
        "latest"
    } else {
        "best"
    };
    let msg = format!(
        "with `impute: {how}`, a failed run that logged no finite `{}` counts as 0.0 (W&B's          engine does the same), a good score for a minimised metric: use `impute: worst` to          steer bayes away from such runs",
        m.name
    );
    r.warning("metric.impute", msg);
}

fn has_searchable(params: &Parameters) -> bool {
    params.values().any(|p| match p {
        Parameter::Nested { parameters } => has_searchable(parameters),
        Parameter::Constant { .. } => false,
        _ => true,
    })
}

fn metrics(r: &mut Rules<'_>, c: &SweepConfig) {
    let Some(ms) = &c.metrics else { return };
    if c.metric.is_some() {
        r.error(
            "metrics",
            "use either `metric` or `metrics`, not both".into(),
        );
    }
    if ms.len() < 2 {
        r.error(
            "metrics",
            "`metrics` needs at least two metrics; use `metric` for one".into(),
        );
    }
    if c.method != Method::Custom {
        r.error(
            "metrics",
            "`metrics` needs `method: custom` (an external scheduler)".into(),
        );
    }
}

fn scheduler(r: &mut Rules<'_>, c: &SweepConfig) {
    let Some(s) = &c.scheduler else { return };
    let method_ok = match s.engine {
        SchedulerEngine::Wandb => matches!(c.method, Method::Grid | Method::Random | Method::Bayes),
        SchedulerEngine::Optuna | SchedulerEngine::Ax => c.method == Method::Custom,
    };
    if !method_ok {
        let need = if s.engine == SchedulerEngine::Wandb {
            "grid, random or bayes"
        } else {
            "custom"
        };
        r.error(
            "scheduler.engine",
            format!("this scheduler engine needs `method: {need}`"),
        );
    }
    for (key, set) in [
        ("optimizer", s.optimizer.is_some()),
        ("search_space", s.search_space.is_some()),
    ] {
        if set && s.source.is_none() {
            r.error(
                &format!("scheduler.{key}"),
                format!("`{key}` needs `source` in the scheduler block"),
            );
        }
    }
    if c.controller
        .as_ref()
        .is_some_and(|x| x.kind == crate::config::ControllerType::Local)
    {
        r.error(
            "scheduler",
            "a scheduler cannot run with a local controller; remove one of them".into(),
        );
    }
    if c.early_terminate.is_some() {
        r.error(
            "scheduler",
            "a scheduler cannot be combined with `early_terminate`; remove one".into(),
        );
    }
}

fn hyperband(r: &mut Rules<'_>, c: &SweepConfig, hb: &Hyperband) {
    let p = "early_terminate";
    if c.metric.is_none() {
        r.error(
            p,
            "hyperband needs `metric` to compare runs; add `metric: {name: ..., goal: ...}`".into(),
        );
    }
    if let Some(eta) = hb.eta.filter(|e| !less(1.0, e.as_f64())) {
        r.error(
            &format!("{p}.eta"),
            format!("eta {eta} must be greater than 1, e.g. `eta: 3`"),
        );
    }
    if let Some(m) = hb.min_iter.filter(|&m| m < 1) {
        r.error(
            &format!("{p}.min_iter"),
            format!("min_iter {m} must be at least 1"),
        );
    }
    match (hb.min_iter, hb.max_iter, hb.s) {
        (_, Some(_), None) => {
            let msg = "max_iter needs `s` (the number of bands; the engine fails without it): add \
                       e.g. `s: 2`, or use `min_iter` alone";
            r.error(&format!("{p}.max_iter"), msg.into());
        }
        (Some(_), Some(_), Some(_)) => {
            let msg = "min_iter is ignored when max_iter and s are set; remove one of them";
            r.warning(&format!("{p}.min_iter"), msg.into());
        }
        (None, None, _) => {
            let msg = "hyperband needs `min_iter` (the first band), or `max_iter` with `s`";
            r.error(p, msg.into());
        }
        _ => {}
    }
    if hb.max_iter.zip(hb.s).is_some()
        && hb.bands().is_empty()
        && hb.eta.is_none_or(|e| e.as_f64() > 1.0)
    {
        let msg = "these settings give no bands (max_iter / eta must be at least 1, and s at \
                   least 1): raise max_iter or s";
        r.error(&format!("{p}.max_iter"), msg.into());
    }
}

fn grid(r: &mut Rules<'_>, c: &SweepConfig) {
    let grid = match Grid::new(c) {
        Ok(grid) => grid,
        Err(Error::Invalid { diagnostics }) => {
            // An axis the grid refuses, unless a rule already reported it.
            for d in diagnostics {
                if !r.out.iter().any(|x| x.is_error() && x.path == d.path) {
                    r.error(&d.path, d.message);
                }
            }
            return;
        }
        Err(_) => return,
    };
    let size = match grid.size() {
        Ok(n) => n,
        Err(e) => {
            r.error("parameters", e.to_string());
            return;
        }
    };
    let Some(cap) = c.run_cap else { return };
    if u128::from(cap) < size {
        let msg = format!("run_cap {cap} stops the sweep after {cap} of the {size} grid points");
        r.warning("run_cap", msg);
    } else if u128::from(cap) > size {
        let msg = format!(
            "run_cap {cap} is above the grid size {size}; the sweep ends after {size} runs"
        );
        r.warning("run_cap", msg);
    }
}

/// `a < b`, false when either is NaN.
fn less(a: f64, b: f64) -> bool {
    a < b
}

/// A float with about six significant digits, for messages.
fn short(x: f64) -> String {
    if x != 0.0 && !(1e-3..1e6).contains(&x.abs()) {
        return format!("{x:.4e}");
    }
    let s = format!("{x:.6}");
    s.trim_end_matches('0').trim_end_matches('.').to_owned()
}
