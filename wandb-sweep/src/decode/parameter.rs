//! Parameters: one flat record of the keys written, then classified into a [`Parameter`].

use super::fields::{Reader, describe};
use crate::diagnostic::join;
use crate::distribution::Distribution;
use crate::document::{Entry, Node, NodeKind};
use crate::parameter::{Parameter, Parameters};
use crate::spelling;
use crate::value::{Number, Value};

const PARAM_KEYS: &[&str] = &[
    "distribution",
    "values",
    "probabilities",
    "value",
    "min",
    "max",
    "q",
    "mu",
    "sigma",
    "a",
    "b",
    "parameters",
];

/// Decodes a `parameters:` mapping (top level or nested group).
pub(super) fn group(r: &mut Reader, path: &str, node: &Node) -> Option<Parameters> {
    let entries = r.mapping(path, node, "`parameters`")?;
    if entries.is_empty() {
        let msg = "must hold at least one parameter, e.g. `lr: {values: [0.1, 0.01]}`";
        r.error(path, node.loc, msg.into());
    }
    let mut out = Parameters::new();
    for e in entries {
        let p = join(path, &e.key);
        r.visit(&p, e);
        check_name(r, &p, e);
        if let Some(param) = parameter(r, &p, e) {
            out.insert(e.key.clone(), param);
        }
    }
    Some(out)
}

fn check_name(r: &mut Reader, path: &str, e: &Entry) {
    let mut chars = e.key.chars();
    let first_ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
    let rest_ok = chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
    if first_ok && rest_ok {
        return;
    }
    let msg = format!(
        "parameter name `{}` is not allowed: names start with a letter or `_` and hold only \
         letters, digits, `_`, `.` and `-`; rename it, e.g. `{}`",
        e.key,
        sanitize(&e.key)
    );
    r.error(path, e.key_loc, msg);
}

fn sanitize(name: &str) -> String {
    let body: String = name
        .trim_start_matches(|c: char| !c.is_ascii_alphabetic() && c != '_')
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect();
    if body.is_empty() {
        format!("p_{}", name.len())
    } else {
        body
    }
}

/// The keys of one parameter as written.
#[derive(Default)]
struct Raw<'n> {
    entries: Vec<&'n Entry>,
}

impl<'n> Raw<'n> {
    fn get(&self, key: &str) -> Option<&'n Entry> {
        self.entries.iter().copied().find(|e| e.key == key)
    }
    fn has(&self, key: &str) -> bool {
        self.get(key).is_some()
    }
}

fn parameter(r: &mut Reader, path: &str, e: &Entry) -> Option<Parameter> {
    let NodeKind::Map(entries) = &e.value.kind else {
        let found = describe(&e.value);
        let msg = format!(
            "a parameter must be a mapping, found {found}; write `{}: {{value: ...}}` for a \
             constant or `{{values: [...]}}` for choices",
            e.key
        );
        r.error(path, e.value.loc, msg);
        return None;
    };
    let mut raw = Raw::default();
    for entry in entries {
        r.visit(&join(path, &entry.key), entry);
        if PARAM_KEYS.contains(&entry.key.as_str()) {
            raw.entries.push(entry);
        } else {
            r.unknown_key(path, entry, PARAM_KEYS, "a parameter");
        }
    }
    if raw.entries.len() < entries.len() {
        return None;
    }
    if let Some(nested) = raw.get("parameters") {
        return nested_group(r, path, &raw, nested);
    }
    let dist = distribution(r, path, e, &raw)?;
    check_keys(r, path, e, &raw, dist)?;
    build(r, path, &raw, dist)
}

fn nested_group(r: &mut Reader, path: &str, raw: &Raw<'_>, nested: &Entry) -> Option<Parameter> {
    if let Some(other) = raw.entries.iter().find(|x| x.key != "parameters") {
        let msg = format!(
            "a nested group holds only `parameters`; move `{}` into a parameter inside it",
            other.key
        );
        r.error(&join(path, &other.key), other.key_loc, msg);
        return None;
    }
    let parameters = group(r, &join(path, "parameters"), &nested.value)?;
    Some(Parameter::Nested { parameters })
}

/// The explicit distribution, or the one W&B's client infers from the keys.
fn distribution(r: &mut Reader, path: &str, e: &Entry, raw: &Raw<'_>) -> Option<Distribution> {
    if let Some(d) = raw.get("distribution") {
        let p = join(path, "distribution");
        let name = r.string(&p, &d.value)?;
        return match name.parse() {
            Ok(dist) => Some(dist),
            Err(_) => {
                let names: Vec<&str> = Distribution::ALL.iter().map(|d| d.as_str()).collect();
                let hint = spelling::hint(&name, &names);
                let msg = format!(
                    "unknown distribution `{name}`{hint}; use one of {}",
                    names.join(", ")
                );
                r.error(&p, d.value.loc, msg);
                None
            }
        };
    }
    infer(r, path, e, raw)
}

fn infer(r: &mut Reader, path: &str, e: &Entry, raw: &Raw<'_>) -> Option<Distribution> {
    if raw.has("values") {
        return Some(if raw.has("probabilities") {
            Distribution::CategoricalWProbabilities
        } else {
            Distribution::Categorical
        });
    }
    if raw.has("value") {
        return Some(Distribution::Constant);
    }
    if let (Some(min), Some(max)) = (raw.get("min"), raw.get("max")) {
        return infer_bounds(r, path, min, max);
    }
    let extra: Vec<&str> = raw.entries.iter().map(|x| x.key.as_str()).collect();
    let msg = if extra.is_empty() {
        "parameter has nothing to search: give `values: [...]`, `value: x`, `min` and `max`, or \
         a `distribution`"
            .to_owned()
    } else {
        format!(
            "cannot tell the distribution from `{}` alone: add `distribution:` (e.g. \
             q_uniform, normal, beta) or give both `min` and `max`",
            extra.join("`, `")
        )
    };
    r.error(path, e.value.loc, msg);
    None
}

fn infer_bounds(r: &mut Reader, path: &str, min: &Entry, max: &Entry) -> Option<Distribution> {
    let num = |n: &Node| match &n.kind {
        NodeKind::Scalar(Value::Number(x), _) => Some(*x),
        _ => None,
    };
    match (num(&min.value), num(&max.value)) {
        (Some(Number::Int(_)), Some(Number::Int(_))) => Some(Distribution::IntUniform),
        (Some(Number::Float(_)), Some(Number::Float(_))) => Some(Distribution::Uniform),
        (Some(_), Some(_)) => {
            let msg = "bounds mix an integer and a float, which the W&B client rejects as \
                       ambiguous: write both as floats (e.g. `0.0`) for `uniform`, or both as \
                       integers for `int_uniform`, or set `distribution:`";
            r.error(path, min.key_loc, msg.into());
            None
        }
        _ => {
            let bad = if num(&min.value).is_none() { min } else { max };
            let p = join(path, &bad.key);
            r.number(&p, &bad.value);
            None
        }
    }
}

/// Every key present must belong to the distribution; every required key must be present.
fn check_keys(r: &mut Reader, path: &str, e: &Entry, raw: &Raw<'_>, d: Distribution) -> Option<()> {
    let spec = d.keys();
    let mut ok = true;
    for x in &raw.entries {
        let k = x.key.as_str();
        if k == "distribution" || spec.required.contains(&k) || spec.optional.contains(&k) {
            continue;
        }
        let allowed: Vec<&str> = spec.required.iter().chain(spec.optional).copied().collect();
        let msg = format!(
            "`{k}` does not belong to distribution `{d}` (it takes {}); remove it{}",
            if allowed.is_empty() {
                "no other keys".to_owned()
            } else {
                format!("`{}`", allowed.join("`, `"))
            },
            other_distribution_hint(k, d)
        );
        r.error(&join(path, k), x.key_loc, msg);
        ok = false;
    }
    for k in spec.required {
        if !raw.has(k) {
            r.error(
                path,
                e.value.loc,
                format!("distribution `{d}` needs `{k}`; add it"),
            );
            ok = false;
        }
    }
    ok.then_some(())
}

fn other_distribution_hint(key: &str, d: Distribution) -> String {
    match (key, d) {
        ("q", Distribution::Uniform) => " or use `distribution: q_uniform`".into(),
        ("probabilities", Distribution::Categorical) => {
            " or use `distribution: categorical_w_probabilities`".into()
        }
        ("value", Distribution::Categorical) | ("values", Distribution::Constant) => {
            "; use either `value` (a constant) or `values` (choices)".into()
        }
        _ => String::new(),
    }
}

/// Reads the typed fields of a classified parameter.
fn build(r: &mut Reader, path: &str, raw: &Raw<'_>, d: Distribution) -> Option<Parameter> {
    let mut failed = false;
    let mut num = |r: &mut Reader, key: &str| -> Option<Number> {
        let e = raw.get(key)?;
        let n = r.number(&join(path, key), &e.value);
        failed |= n.is_none();
        n
    };
    let (min, max) = if d == Distribution::IntUniform {
        (None, None)
    } else {
        (num(r, "min"), num(r, "max"))
    };
    let q = num(r, "q");
    let (mu, sigma, a, b) = (num(r, "mu"), num(r, "sigma"), num(r, "a"), num(r, "b"));
    use Distribution as D;
    let p = match d {
        D::Constant => Parameter::Constant {
            value: raw.get("value")?.value.to_value(),
        },
        D::Categorical => Parameter::Categorical {
            values: values(r, path, raw)?,
        },
        D::CategoricalWProbabilities => Parameter::CategoricalWProbabilities {
            values: values(r, path, raw)?,
            probabilities: probabilities(r, path, raw)?,
        },
        D::IntUniform => int_uniform(r, path, raw)?,
        D::Uniform => Parameter::Uniform {
            min: min?,
            max: max?,
        },
        D::QUniform => Parameter::QUniform {
            min: min?,
            max: max?,
            q,
        },
        D::LogUniform => Parameter::LogUniform {
            min: min?,
            max: max?,
        },
        D::LogUniformValues => Parameter::LogUniformValues {
            min: min?,
            max: max?,
        },
        D::QLogUniform => Parameter::QLogUniform {
            min: min?,
            max: max?,
            q,
        },
        D::QLogUniformValues => Parameter::QLogUniformValues {
            min: min?,
            max: max?,
            q,
        },
        D::InvLogUniform => Parameter::InvLogUniform {
            min: min?,
            max: max?,
        },
        D::InvLogUniformValues => Parameter::InvLogUniformValues {
            min: min?,
            max: max?,
        },
        D::Normal => Parameter::Normal { mu, sigma },
        D::QNormal => Parameter::QNormal { mu, sigma, q },
        D::LogNormal => Parameter::LogNormal { mu, sigma },
        D::QLogNormal => Parameter::QLogNormal { mu, sigma, q },
        D::Beta => Parameter::Beta { a, b },
        D::QBeta => Parameter::QBeta { a, b, q },
    };
    (!failed).then_some(p)
}

fn values(r: &mut Reader, path: &str, raw: &Raw<'_>) -> Option<Vec<Value>> {
    let e = raw.get("values")?;
    let items = r.list(&join(path, "values"), &e.value)?;
    for (i, item) in items.iter().enumerate() {
        r.visit_node(&format!("{path}.values[{i}]"), item);
    }
    Some(items.iter().map(Node::to_value).collect())
}

fn probabilities(r: &mut Reader, path: &str, raw: &Raw<'_>) -> Option<Vec<Number>> {
    let e = raw.get("probabilities")?;
    let p = join(path, "probabilities");
    let items = r.list(&p, &e.value)?;
    let mut out = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let ip = format!("{p}[{i}]");
        r.visit_node(&ip, item);
        out.push(r.number(&ip, item));
    }
    out.into_iter().collect()
}

fn int_uniform(r: &mut Reader, path: &str, raw: &Raw<'_>) -> Option<Parameter> {
    let min = r.integer(&join(path, "min"), &raw.get("min")?.value);
    let max = r.integer(&join(path, "max"), &raw.get("max")?.value);
    Some(Parameter::IntUniform {
        min: min?,
        max: max?,
    })
}
