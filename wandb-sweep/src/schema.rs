//! JSON Schema of the sweep config, for editors (YAML language servers) and other tools.

use std::borrow::Cow;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};

use crate::config::SweepConfig;
use crate::distribution::Distribution;
use crate::parameter::Parameter;
use crate::value::{Number, Value};

/// The JSON Schema (draft 2020-12) of a sweep config.
///
/// ```
/// let schema = wandb_sweep::json_schema();
/// assert_eq!(schema["title"], "W&B sweep configuration");
/// assert!(schema["properties"]["parameters"].is_object());
/// ```
#[must_use]
pub fn json_schema() -> serde_json::Value {
    let mut schema = schemars::schema_for!(SweepConfig).to_value();
    strip_null(&mut schema);
    schema
}

/// Optional keys may be left out but not written as `null`: drops the `null` alternatives
/// schemars adds for `Option` fields.
fn strip_null(v: &mut serde_json::Value) {
    use serde_json::Value as J;
    match v {
        J::Object(m) => {
            if let Some(J::Array(types)) = m.get_mut("type") {
                types.retain(|t| t != "null");
                if types.len() == 1 {
                    let only = types.remove(0);
                    m.insert("type".into(), only);
                }
            }
            if let Some(J::Array(alts)) = m.get_mut("anyOf") {
                alts.retain(|a| a.get("type").is_none_or(|t| t != "null"));
                if alts.len() == 1 {
                    let only = alts.remove(0);
                    m.remove("anyOf");
                    if let J::Object(inner) = only {
                        m.extend(inner);
                    }
                }
            }
            m.values_mut().for_each(strip_null);
        }
        J::Array(items) => items.iter_mut().for_each(strip_null),
        _ => {}
    }
}

impl JsonSchema for Value {
    fn schema_name() -> Cow<'static, str> {
        "AnyValue".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({ "description": "Any YAML/JSON value." })
    }
}

impl JsonSchema for Number {
    fn schema_name() -> Cow<'static, str> {
        "Number".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({ "type": "number" })
    }
}

impl JsonSchema for Parameter {
    fn schema_name() -> Cow<'static, str> {
        "Parameter".into()
    }

    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        let mut variants: Vec<serde_json::Value> =
            Distribution::ALL.iter().map(|&d| variant(d)).collect();
        let nested = generator.subschema_for::<crate::parameter::Parameters>();
        variants.push(serde_json::json!({
            "description": "A nested group of parameters.",
            "type": "object",
            "properties": { "parameters": nested },
            "required": ["parameters"],
            "additionalProperties": false
        }));
        json_schema!({
            "description": "One hyperparameter: `value`, `values`, `min`/`max`, or a `distribution`.",
            "anyOf": variants
        })
    }
}

/// The schema of one distribution: its keys, which are required, and whether
/// `distribution` may be left out (W&B infers it).
fn variant(d: Distribution) -> serde_json::Value {
    let spec = d.keys();
    let mut props = serde_json::Map::new();
    props.insert(
        "distribution".into(),
        serde_json::json!({ "const": d.as_str() }),
    );
    for key in spec.required.iter().chain(spec.optional) {
        props.insert((*key).into(), key_schema(d, key));
    }
    let inferable = matches!(
        d,
        Distribution::Constant
            | Distribution::Categorical
            | Distribution::CategoricalWProbabilities
            | Distribution::IntUniform
            | Distribution::Uniform
    );
    let mut required: Vec<&str> = spec.required.to_vec();
    if !inferable {
        required.push("distribution");
    }
    serde_json::json!({
        "title": d.as_str(),
        "type": "object",
        "properties": props,
        "required": required,
        "additionalProperties": false
    })
}

fn key_schema(d: Distribution, key: &str) -> serde_json::Value {
    match key {
        "value" => serde_json::json!({}),
        "values" => serde_json::json!({ "type": "array", "minItems": 1 }),
        "probabilities" => {
            serde_json::json!({ "type": "array", "items": { "type": "number", "minimum": 0 } })
        }
        "min" | "max" if d == Distribution::IntUniform => serde_json::json!({ "type": "integer" }),
        "q" => serde_json::json!({ "type": "number", "exclusiveMinimum": 0 }),
        "sigma" | "a" | "b" => serde_json::json!({ "type": "number", "minimum": 0 }),
        _ => serde_json::json!({ "type": "number" }),
    }
}
