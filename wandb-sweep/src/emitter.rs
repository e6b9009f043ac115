//! A small YAML emitter whose output every YAML 1.1 and 1.2 reader (PyYAML, the W&B server,
//! this crate) reads back as the same values: strings are written bare only when no reader
//! could take them for anything else, floats always carry a dot (and an exponent only with
//! its sign).

use crate::scalar::{pyyaml_float, resolve_plain};
use crate::value::{Number, Value};

/// YAML limits implicit keys to 1024 characters; longer keys are written as `? key`.
const MAX_IMPLICIT_KEY: usize = 1000;

/// The YAML text of a value (a mapping or list at the top gives block style).
pub(crate) fn to_yaml(value: &Value) -> String {
    let mut out = String::new();
    for line in block(value) {
        out.push_str(&line);
        out.push('\n');
    }
    out
}

/// Block-style lines of a value, indented relative to the value's position.
fn block(value: &Value) -> Vec<String> {
    match value {
        Value::Map(m) if !m.is_empty() => {
            let mut lines = Vec::new();
            for (k, v) in m {
                let key = string(k);
                if key.chars().count() > MAX_IMPLICIT_KEY {
                    lines.push(format!("? {key}"));
                    nest(&mut lines, ":", v, "  ");
                } else {
                    nest(&mut lines, &format!("{key}:"), v, "  ");
                }
            }
            lines
        }
        Value::List(items) if !items.is_empty() && !items.iter().all(is_scalar) => {
            let mut lines = Vec::new();
            for v in items {
                nest(&mut lines, "-", v, "  ");
            }
            lines
        }
        other => vec![flow(other)],
    }
}

/// Writes `head` followed by `v`: on the same line when short, else as an indented block.
fn nest(lines: &mut Vec<String>, head: &str, v: &Value, indent: &str) {
    let inner = block(v);
    let inline = match v {
        Value::Map(m) => m.is_empty(),
        Value::List(items) => items.iter().all(is_scalar),
        _ => true,
    };
    if inline {
        lines.push(format!("{head} {}", inner[0]));
    } else if head == "-" {
        for (i, l) in inner.into_iter().enumerate() {
            lines.push(if i == 0 {
                format!("- {l}")
            } else {
                format!("{indent}{l}")
            });
        }
    } else {
        lines.push(head.to_owned());
        lines.extend(inner.into_iter().map(|l| format!("{indent}{l}")));
    }
}

fn is_scalar(v: &Value) -> bool {
    !matches!(v, Value::List(_) | Value::Map(_))
}

/// Flow style: `[a, 1]`, `{k: v}`, scalars.
fn flow(value: &Value) -> String {
    match value {
        Value::Null => "null".to_owned(),
        Value::Bool(b) => b.to_string(),
        Value::Number(Number::Int(i)) => i.to_string(),
        Value::Number(Number::Float(x)) => float(*x),
        Value::String(s) => string(s),
        Value::List(items) => {
            let parts: Vec<String> = items.iter().map(flow).collect();
            format!("[{}]", parts.join(", "))
        }
        Value::Map(m) => {
            let parts: Vec<String> = m
                .iter()
                .map(|(k, v)| format!("{}: {}", string(k), flow(v)))
                .collect();
            format!("{{{}}}", parts.join(", "))
        }
    }
}

/// A float that reads back bit-identical and as a float under YAML 1.1 and 1.2.
fn float(x: f64) -> String {
    if x.is_nan() {
        return ".nan".to_owned();
    }
    if x.is_infinite() {
        return if x > 0.0 { ".inf" } else { "-.inf" }.to_owned();
    }
    // The shortest text that reads back bit-identical, in the form PyYAML's YAML 1.1 float
    // pattern needs (a dot and a signed exponent: `1.0e+16`, never `1e16`).
    pyyaml_float(&format!("{x:?}"))
}

/// A string, bare when unambiguous, else double-quoted with escapes.
fn string(s: &str) -> String {
    if is_plain_safe(s) {
        return s.to_owned();
    }
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c if needs_escape(c) => out.push_str(&format!("\\U{:08X}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn needs_escape(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{FEFF}' | '\u{2028}' | '\u{2029}' | '\u{FFFE}' | '\u{FFFF}'
        )
}

fn is_plain_safe(s: &str) -> bool {
    let mut chars = s.chars();
    let first_ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
    first_ok
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-' | '/'))
        && matches!(resolve_plain(s), (Value::String(_), None))
        && !matches!(s, "y" | "Y" | "n" | "N")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::document::parse;

    fn round_trip(v: &Value) -> Value {
        let text = to_yaml(v);
        parse(&text).root.expect("parses").to_value()
    }

    #[test]
    fn ambiguous_strings_are_quoted() {
        for s in [
            "yes", "on", "1e-5", "010", "null", "", " x", "x ", "a: b", "- x", "#", "${args}",
            "\u{FEFF}",
        ] {
            let v = Value::from(s);
            assert_eq!(round_trip(&v), v, "{s:?} -> {}", to_yaml(&v));
        }
        assert_eq!(to_yaml(&Value::from("adam")), "adam\n");
    }

    #[test]
    fn floats_keep_a_dot_and_every_bit() {
        assert_eq!(float(1.0), "1.0");
        assert_eq!(float(1e300), "1.0e+300");
        assert_eq!(float(2.5e17), "2.5e+17");
        assert_eq!(float(1e-7), "1.0e-7");
        for x in [0.1, 1.0 / 3.0, 1e-300, -2.5e17, f64::INFINITY] {
            assert_eq!(round_trip(&Value::from(x)), Value::from(x));
        }
    }

    #[test]
    fn keys_longer_than_yaml_allows_implicitly_are_explicit() {
        let long = "k".repeat(1500);
        let mut inner = indexmap::IndexMap::new();
        inner.insert(long, Value::from(1));
        let v = Value::Map(
            [
                ("m".to_owned(), Value::Map(inner.clone())),
                ("l".to_owned(), Value::List(vec![Value::Map(inner)])),
            ]
            .into_iter()
            .collect(),
        );
        assert_eq!(round_trip(&v), v, "{}", to_yaml(&v));
    }

    #[test]
    fn nested_blocks_round_trip() {
        let v: Value = serde_json::from_str(
            r#"{"a": {"b": [1, {"c": [2, 3], "d": {}}, []], "e": "multi\nline"}, "f": [[1], {"g": null}]}"#,
        )
        .unwrap();
        assert_eq!(round_trip(&v), v, "{}", to_yaml(&v));
    }
}
