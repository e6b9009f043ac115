//! Typed sweep parameters: one variant per W&B parameter kind.

use indexmap::IndexMap;
use serde::{Serialize, Serializer};

use crate::distribution::Distribution;
use crate::value::{Number, Value};

/// The parameters of a sweep (or of a nested group), in the order written.
pub type Parameters = IndexMap<String, Parameter>;

/// One hyperparameter of a sweep.
///
/// Optional fields are `None` when the YAML left them out; [`Parameter::filled`] supplies the
/// engine's defaults. Numbers keep their literal type: `q: 5` samples integers, `q: 5.0` floats.
///
/// ```
/// use wandb_sweep::{Number, Parameter, Value};
/// let p = Parameter::QUniform { min: Number::Int(0), max: Number::Int(10), q: None };
/// assert_eq!(p.filled().to_value().to_string(), "{distribution: q_uniform, min: 0, max: 10, q: 1.0}");
/// ```
#[derive(Debug, Clone, PartialEq)]
#[expect(
    missing_docs,
    reason = "field names are the YAML keys documented on each variant"
)]
pub enum Parameter {
    /// `value: x`: the same value in every run.
    Constant { value: Value },
    /// `values: [...]`: one of the values, uniformly.
    Categorical { values: Vec<Value> },
    /// `values` with `probabilities` (same length, summing to 1).
    CategoricalWProbabilities {
        values: Vec<Value>,
        probabilities: Vec<Number>,
    },
    /// Integers in `[min, max]`, max included.
    IntUniform { min: i64, max: i64 },
    /// Floats in `[min, max)`.
    Uniform { min: Number, max: Number },
    /// `uniform` rounded to a multiple of `q` (default 1.0).
    QUniform {
        min: Number,
        max: Number,
        q: Option<Number>,
    },
    /// Deprecated: `exp(uniform(min, max))`, bounds are natural-log exponents.
    LogUniform { min: Number, max: Number },
    /// Log-uniform between the limit values `min` > 0 and `max`.
    LogUniformValues { min: Number, max: Number },
    /// Deprecated: `q_log_uniform` with exponent bounds.
    QLogUniform {
        min: Number,
        max: Number,
        q: Option<Number>,
    },
    /// `log_uniform_values` rounded to a multiple of `q`.
    QLogUniformValues {
        min: Number,
        max: Number,
        q: Option<Number>,
    },
    /// Deprecated: `exp(-uniform(min, max))`.
    InvLogUniform { min: Number, max: Number },
    /// Inverse log-uniform between the limit values `min` > 0 and `max`.
    InvLogUniformValues { min: Number, max: Number },
    /// Normal(`mu` = 0.0, `sigma` = 1.0).
    Normal {
        mu: Option<Number>,
        sigma: Option<Number>,
    },
    /// `normal` rounded to a multiple of `q`.
    QNormal {
        mu: Option<Number>,
        sigma: Option<Number>,
        q: Option<Number>,
    },
    /// `exp(normal(mu, sigma))`.
    LogNormal {
        mu: Option<Number>,
        sigma: Option<Number>,
    },
    /// `log_normal` rounded to a multiple of `q`.
    QLogNormal {
        mu: Option<Number>,
        sigma: Option<Number>,
        q: Option<Number>,
    },
    /// Beta(`a` = 1, `b` = 1).
    Beta {
        a: Option<Number>,
        b: Option<Number>,
    },
    /// `beta` rounded to a multiple of `q`.
    QBeta {
        a: Option<Number>,
        b: Option<Number>,
        q: Option<Number>,
    },
    /// A nested group: `parameters: {...}`; runs see it as a nested mapping.
    Nested { parameters: Parameters },
}

const Q_DEFAULT: Number = Number::Float(1.0);

/// A leaf parameter in the engine's order, with its path through nested groups.
#[derive(Debug, Clone, PartialEq)]
pub struct FlatParameter<'a> {
    /// The names from the top level down, e.g. `["model", "width"]`.
    pub path: Vec<String>,
    /// The parameter (never a nested group).
    pub parameter: &'a Parameter,
}

impl FlatParameter<'_> {
    /// The dotted name, e.g. `model.width`.
    #[must_use]
    pub fn name(&self) -> String {
        self.path.join(".")
    }
}

/// The leaf parameters in W&B's engine order: names sorted at every level (by code point), a
/// nested group's children in the group's place.
///
/// ```
/// let cfg = wandb_sweep::SweepConfig::from_yaml(
///     "method: random\nparameters:\n  z: {value: 1}\n  m: {parameters: {b: {value: 2}, a: {value: 3}}}\n",
/// )?;
/// let names: Vec<String> = wandb_sweep::flatten(&cfg.parameters).iter().map(|f| f.name()).collect();
/// assert_eq!(names, ["m.a", "m.b", "z"]);
/// # Ok::<(), wandb_sweep::Error>(())
/// ```
#[must_use]
pub fn flatten(parameters: &Parameters) -> Vec<FlatParameter<'_>> {
    let mut out = Vec::new();
    flatten_into(parameters, &[], &mut out);
    out
}

fn flatten_into<'a>(
    parameters: &'a Parameters,
    prefix: &[String],
    out: &mut Vec<FlatParameter<'a>>,
) {
    let mut names: Vec<&String> = parameters.keys().collect();
    names.sort();
    for name in names {
        let mut path = prefix.to_vec();
        path.push(name.clone());
        match &parameters[name] {
            Parameter::Nested { parameters } => flatten_into(parameters, &path, out),
            parameter => out.push(FlatParameter { path, parameter }),
        }
    }
}

impl Parameter {
    /// The distribution, or `None` for a nested group.
    #[must_use]
    pub fn distribution(&self) -> Option<Distribution> {
        use Distribution as D;
        Some(match self {
            Parameter::Constant { .. } => D::Constant,
            Parameter::Categorical { .. } => D::Categorical,
            Parameter::CategoricalWProbabilities { .. } => D::CategoricalWProbabilities,
            Parameter::IntUniform { .. } => D::IntUniform,
            Parameter::Uniform { .. } => D::Uniform,
            Parameter::QUniform { .. } => D::QUniform,
            Parameter::LogUniform { .. } => D::LogUniform,
            Parameter::LogUniformValues { .. } => D::LogUniformValues,
            Parameter::QLogUniform { .. } => D::QLogUniform,
            Parameter::QLogUniformValues { .. } => D::QLogUniformValues,
            Parameter::InvLogUniform { .. } => D::InvLogUniform,
            Parameter::InvLogUniformValues { .. } => D::InvLogUniformValues,
            Parameter::Normal { .. } => D::Normal,
            Parameter::QNormal { .. } => D::QNormal,
            Parameter::LogNormal { .. } => D::LogNormal,
            Parameter::QLogNormal { .. } => D::QLogNormal,
            Parameter::Beta { .. } => D::Beta,
            Parameter::QBeta { .. } => D::QBeta,
            Parameter::Nested { .. } => return None,
        })
    }

    /// `(min, max)` for the bounded distributions.
    #[must_use]
    pub fn bounds(&self) -> Option<(Number, Number)> {
        match *self {
            Parameter::IntUniform { min, max } => Some((Number::Int(min), Number::Int(max))),
            Parameter::Uniform { min, max }
            | Parameter::QUniform { min, max, .. }
            | Parameter::LogUniform { min, max }
            | Parameter::LogUniformValues { min, max }
            | Parameter::QLogUniform { min, max, .. }
            | Parameter::QLogUniformValues { min, max, .. }
            | Parameter::InvLogUniform { min, max }
            | Parameter::InvLogUniformValues { min, max } => Some((min, max)),
            _ => None,
        }
    }

    /// The nested parameters of a group.
    #[must_use]
    pub fn nested(&self) -> Option<&Parameters> {
        match self {
            Parameter::Nested { parameters } => Some(parameters),
            _ => None,
        }
    }

    /// The parameter with the engine's defaults filled in (`q: 1.0`, `mu`, `sigma`, `a`,
    /// `b`), at every nesting level.
    #[must_use]
    pub fn filled(&self) -> Parameter {
        let q = |q: &Option<Number>| Some(q.unwrap_or(Q_DEFAULT));
        let or = |v: &Option<Number>, d: Number| Some(v.unwrap_or(d));
        let (f0, f1, i0, i1) = (
            Number::Float(0.0),
            Number::Float(1.0),
            Number::Int(0),
            Number::Int(1),
        );
        match self {
            Parameter::QUniform { min, max, q: qq } => Parameter::QUniform {
                min: *min,
                max: *max,
                q: q(qq),
            },
            Parameter::QLogUniform { min, max, q: qq } => Parameter::QLogUniform {
                min: *min,
                max: *max,
                q: q(qq),
            },
            Parameter::QLogUniformValues { min, max, q: qq } => Parameter::QLogUniformValues {
                min: *min,
                max: *max,
                q: q(qq),
            },
            Parameter::Normal { mu, sigma } => Parameter::Normal {
                mu: or(mu, f0),
                sigma: or(sigma, f1),
            },
            Parameter::LogNormal { mu, sigma } => Parameter::LogNormal {
                mu: or(mu, f0),
                sigma: or(sigma, f1),
            },
            Parameter::QNormal { mu, sigma, q: qq } => Parameter::QNormal {
                mu: or(mu, i0),
                sigma: or(sigma, i1),
                q: q(qq),
            },
            Parameter::QLogNormal { mu, sigma, q: qq } => Parameter::QLogNormal {
                mu: or(mu, i0),
                sigma: or(sigma, i1),
                q: q(qq),
            },
            Parameter::Beta { a, b } => Parameter::Beta {
                a: or(a, i1),
                b: or(b, i1),
            },
            Parameter::QBeta { a, b, q: qq } => Parameter::QBeta {
                a: or(a, i1),
                b: or(b, i1),
                q: q(qq),
            },
            Parameter::Nested { parameters } => Parameter::Nested {
                parameters: parameters
                    .iter()
                    .map(|(k, p)| (k.clone(), p.filled()))
                    .collect(),
            },
            other => other.clone(),
        }
    }

    /// The keys this parameter sets besides `distribution`, in YAML order.
    #[must_use]
    pub fn fields(&self) -> Vec<(&'static str, Value)> {
        let mut out: Vec<(&'static str, Value)> = Vec::new();
        let mut num = |k: &'static str, n: Option<Number>| {
            if let Some(n) = n {
                out.push((k, Value::Number(n)));
            }
        };
        match self {
            Parameter::Constant { .. }
            | Parameter::Categorical { .. }
            | Parameter::Nested { .. } => {}
            Parameter::CategoricalWProbabilities { .. } => {}
            Parameter::IntUniform { min, max } => {
                num("min", Some(Number::Int(*min)));
                num("max", Some(Number::Int(*max)));
            }
            Parameter::Normal { mu, sigma } | Parameter::LogNormal { mu, sigma } => {
                num("mu", *mu);
                num("sigma", *sigma);
            }
            Parameter::QNormal { mu, sigma, q } | Parameter::QLogNormal { mu, sigma, q } => {
                num("mu", *mu);
                num("sigma", *sigma);
                num("q", *q);
            }
            Parameter::Beta { a, b } => {
                num("a", *a);
                num("b", *b);
            }
            Parameter::QBeta { a, b, q } => {
                num("a", *a);
                num("b", *b);
                num("q", *q);
            }
            Parameter::QUniform { min, max, q }
            | Parameter::QLogUniform { min, max, q }
            | Parameter::QLogUniformValues { min, max, q } => {
                num("min", Some(*min));
                num("max", Some(*max));
                num("q", *q);
            }
            Parameter::Uniform { min, max }
            | Parameter::LogUniform { min, max }
            | Parameter::LogUniformValues { min, max }
            | Parameter::InvLogUniform { min, max }
            | Parameter::InvLogUniformValues { min, max } => {
                num("min", Some(*min));
                num("max", Some(*max));
            }
        }
        match self {
            Parameter::Constant { value } => out.push(("value", value.clone())),
            Parameter::Categorical { values } => out.push(("values", Value::List(values.clone()))),
            Parameter::CategoricalWProbabilities {
                values,
                probabilities,
            } => {
                out.push(("values", Value::List(values.clone())));
                let p = probabilities.iter().map(|&n| Value::Number(n)).collect();
                out.push(("probabilities", Value::List(p)));
            }
            _ => {}
        }
        out
    }

    /// The parameter as the YAML/JSON mapping W&B reads (`distribution` always written).
    #[must_use]
    pub fn to_value(&self) -> Value {
        let mut map = IndexMap::new();
        if let Parameter::Nested { parameters } = self {
            let inner = parameters
                .iter()
                .map(|(k, p)| (k.clone(), p.to_value()))
                .collect();
            map.insert("parameters".to_owned(), Value::Map(inner));
            return Value::Map(map);
        }
        if let Some(d) = self.distribution() {
            map.insert("distribution".to_owned(), Value::from(d.as_str()));
        }
        for (k, v) in self.fields() {
            map.insert(k.to_owned(), v);
        }
        Value::Map(map)
    }
}

impl Serialize for Parameter {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.to_value().serialize(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filled_uses_the_engine_literal_types() {
        let n = Parameter::Normal {
            mu: None,
            sigma: None,
        }
        .filled();
        assert_eq!(
            n.to_value().to_json().to_string(),
            r#"{"distribution":"normal","mu":0.0,"sigma":1.0}"#
        );
        let qn = Parameter::QNormal {
            mu: None,
            sigma: None,
            q: None,
        }
        .filled();
        assert_eq!(
            qn.to_value().to_json().to_string(),
            r#"{"distribution":"q_normal","mu":0,"sigma":1,"q":1.0}"#
        );
        let b = Parameter::Beta { a: None, b: None }.filled();
        assert_eq!(
            b.to_value().to_json().to_string(),
            r#"{"distribution":"beta","a":1,"b":1}"#
        );
    }

    #[test]
    fn nested_groups_serialize_without_distribution() {
        let mut inner = Parameters::new();
        inner.insert(
            "w".into(),
            Parameter::Categorical {
                values: vec![Value::from(1)],
            },
        );
        let p = Parameter::Nested { parameters: inner };
        assert_eq!(
            p.to_value().to_string(),
            "{parameters: {w: {distribution: categorical, values: [1]}}}"
        );
        assert_eq!(p.distribution(), None);
    }
}
