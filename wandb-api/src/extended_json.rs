//! W&B's "extended JSON": JSON plus the bare tokens `NaN`, `Infinity` and `-Infinity`
//! (as Python's `json` writes them), for history rows and summaries.

use std::fmt::Write;

use serde_json::Value as Json;
use wandb_sweep::{Number, Value};

use crate::error::{Error, excerpt};

/// Writes a value as extended JSON: non-finite floats as bare `NaN`/`Infinity`/`-Infinity`.
///
/// ```
/// use wandb_sweep::Value;
/// let v: Value = serde_json::from_str(r#"{"loss": 0.5, "step": 3}"#).unwrap();
/// let mut row = v.clone();
/// if let Value::Map(m) = &mut row { m.insert("bad".into(), Value::from(f64::NAN)); }
/// assert_eq!(wandb_api::to_extended_json(&row), r#"{"loss":0.5,"step":3,"bad":NaN}"#);
/// ```
#[must_use]
pub fn to_extended_json(value: &Value) -> String {
    let mut out = String::new();
    write_extended_json(value, &mut out);
    out
}

/// Appends a value as extended JSON to `out` (no allocation for scalars).
///
/// ```
/// let mut line = String::from("{\"loss\":");
/// wandb_api::write_extended_json(&wandb_sweep::Value::from(f64::INFINITY), &mut line);
/// line.push('}');
/// assert_eq!(line, r#"{"loss":Infinity}"#);
/// ```
pub fn write_extended_json(value: &Value, out: &mut String) {
    let write = write_extended_json;
    match value {
        Value::Number(Number::Float(x)) if x.is_nan() => out.push_str("NaN"),
        Value::Number(Number::Float(x)) if x.is_infinite() => {
            out.push_str(if *x > 0.0 { "Infinity" } else { "-Infinity" });
        }
        Value::List(items) => {
            out.push('[');
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write(v, out);
            }
            out.push(']');
        }
        Value::Map(m) => {
            out.push('{');
            for (i, (k, v)) in m.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_json_string(k, out);
                out.push(':');
                write(v, out);
            }
            out.push('}');
        }
        Value::Number(Number::Int(i)) => out.push_str(itoa::Buffer::new().format(*i)),
        // The shortest round-trip digits, always with a `.` or an exponent, so a float stays
        // a float (`3.0`, `1e-7`), as serde_json writes them.
        Value::Number(Number::Float(x)) => out.push_str(zmij::Buffer::new().format_finite(*x)),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Null => out.push_str("null"),
        Value::String(s) => write_json_string(s, out),
    }
}

/// Appends `text` as a JSON string literal (quoted and escaped) to `out`.
///
/// ```
/// let mut out = String::new();
/// wandb_api::write_json_string("a \"b\"\n\u{1}", &mut out);
/// assert_eq!(out, r#""a \"b\"\n\u0001""#);
/// ```
pub fn write_json_string(text: &str, out: &mut String) {
    out.push('"');
    let mut start = 0;
    for (i, b) in text.bytes().enumerate() {
        let escape = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0..=0x1f => "",
            _ => continue,
        };
        out.push_str(&text[start..i]);
        if escape.is_empty() {
            let _ = write!(out, "\\u{b:04x}");
        } else {
            out.push_str(escape);
        }
        start = i + 1;
    }
    out.push_str(&text[start..]);
    out.push('"');
}

/// Reads extended JSON leniently: bare `NaN`, `Infinity`, `-Infinity` (outside strings)
/// become non-finite floats.
///
/// ```
/// let v = wandb_api::parse_extended_json(r#"{"a": NaN, "b": -Infinity, "s": "NaN"}"#).unwrap();
/// assert_eq!(v.to_string(), "{a: nan, b: -inf, s: NaN}");
/// ```
///
/// # Errors
/// The JSON error, when the text is not extended JSON.
pub fn parse_extended_json(text: &str) -> Result<Value, serde_json::Error> {
    // Placeholders no real string of a history row holds.
    const NAN: &str = "\u{1F}wandb-extended-json:NaN";
    const INF: &str = "\u{1F}wandb-extended-json:Infinity";
    const NINF: &str = "\u{1F}wandb-extended-json:-Infinity";
    let mut plain = String::with_capacity(text.len());
    let mut in_string = false;
    let mut escaped = false;
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        if in_string {
            in_string = c != '"' || escaped;
            escaped = c == '\\' && !escaped;
        } else if c == '"' {
            in_string = true;
        } else {
            let token = [("NaN", NAN), ("-Infinity", NINF), ("Infinity", INF)]
                .into_iter()
                .find(|(t, _)| rest.starts_with(t));
            if let Some((t, sentinel)) = token {
                plain.push_str(&serde_json::Value::String(sentinel.to_owned()).to_string());
                rest = &rest[t.len()..];
                continue;
            }
        }
        plain.push(c);
        rest = &rest[c.len_utf8()..];
    }
    let value: Value = serde_json::from_str(&plain)?;
    Ok(restore(value, [NAN, INF, NINF]))
}

/// A run's JSON text field (config, summary) as a value: extended JSON (`NaN`, `Infinity`
/// kept); `None` when absent or empty.
///
/// # Errors
/// [`Error::InvalidResponse`] naming the run and the field, when the text is not JSON.
pub(crate) fn run_value(
    text: Option<&str>,
    run: &str,
    field: &str,
) -> Result<Option<Value>, Error> {
    let Some(text) = text.filter(|t| !t.trim().is_empty()) else {
        return Ok(None);
    };
    parse_extended_json(text).map(Some).map_err(|e| {
        Error::InvalidResponse(format!(
            "run {run}: its {field} is not JSON ({e}): {}",
            excerpt(text)
        ))
    })
}

/// A run's JSON text field as plain JSON: exact when it is JSON, else read as extended JSON
/// (non-finite numbers become `"nan"`, `"inf"`, `"-inf"`); `null` when absent or empty.
///
/// # Errors
/// [`Error::InvalidResponse`] naming the run and the field, when the text is not JSON.
pub(crate) fn run_json(text: Option<&str>, run: &str, field: &str) -> Result<Json, Error> {
    if let Some(plain) = text.and_then(|t| serde_json::from_str::<Json>(t).ok()) {
        return Ok(plain);
    }
    Ok(run_value(text, run, field)?.map_or(Json::Null, |v| v.to_json()))
}

/// A JSON value (from a GraphQL `JSON` scalar) as a value.
///
/// # Errors
/// [`Error::InvalidResponse`] naming the run and the field.
pub(crate) fn value_of(json: Json, run: &str, field: &str) -> Result<Value, Error> {
    serde_json::from_value(json)
        .map_err(|e| Error::InvalidResponse(format!("run {run}: its {field} cannot be read ({e})")))
}

fn restore(v: Value, sentinels: [&str; 3]) -> Value {
    match v {
        Value::String(s) if s == sentinels[0] => Value::from(f64::NAN),
        Value::String(s) if s == sentinels[1] => Value::from(f64::INFINITY),
        Value::String(s) if s == sentinels[2] => Value::from(f64::NEG_INFINITY),
        Value::List(items) => {
            Value::List(items.into_iter().map(|x| restore(x, sentinels)).collect())
        }
        Value::Map(m) => Value::Map(
            m.into_iter()
                .map(|(k, x)| (k, restore(x, sentinels)))
                .collect(),
        ),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_with_non_finite_values_and_tricky_strings() {
        let text = r#"{"_step":0,"nan":NaN,"inf":Infinity,"ninf":-Infinity,"s":"a \"NaN\" b","l":[1,NaN]}"#;
        let v = parse_extended_json(text).unwrap();
        assert_eq!(to_extended_json(&v), text);
    }
}
