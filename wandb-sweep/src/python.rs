//! Values formatted as Python formats them: `str()`, `repr()` and `json.dumps()`. The official
//! agent builds command lines with these, so runs see exactly the same text.

use std::fmt::Write;

use crate::value::{Number, Value};

/// Python's `str(v)`: strings as they are, everything else as `repr`.
///
/// ```
/// use wandb_sweep::{python_str, Value};
/// let v: Value = serde_json::from_str(r#"{"name": "adam", "beta": 0.9, "ok": true, "x": null}"#).unwrap();
/// assert_eq!(python_str(&v), "{'name': 'adam', 'beta': 0.9, 'ok': True, 'x': None}");
/// assert_eq!(python_str(&Value::from(1e-5)), "1e-05");
/// ```
#[must_use]
pub fn python_str(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => repr(other),
    }
}

/// Python's `repr(v)`.
pub(crate) fn repr(v: &Value) -> String {
    match v {
        Value::Null => "None".to_owned(),
        Value::Bool(true) => "True".to_owned(),
        Value::Bool(false) => "False".to_owned(),
        Value::Number(Number::Int(i)) => i.to_string(),
        Value::Number(Number::Float(x)) => float_repr(*x),
        Value::String(s) => string_repr(s),
        Value::List(items) => {
            let parts: Vec<String> = items.iter().map(repr).collect();
            format!("[{}]", parts.join(", "))
        }
        Value::Map(m) => {
            let parts: Vec<String> = m
                .iter()
                .map(|(k, v)| format!("{}: {}", string_repr(k), repr(v)))
                .collect();
            format!("{{{}}}", parts.join(", "))
        }
    }
}

/// Python's `repr(float)`: shortest round-trip digits, scientific below 1e-4 and from 1e16.
pub(crate) fn float_repr(x: f64) -> String {
    if x.is_nan() {
        return "nan".to_owned();
    }
    if x.is_infinite() {
        return if x > 0.0 { "inf" } else { "-inf" }.to_owned();
    }
    if x == 0.0 {
        return if x.is_sign_negative() { "-0.0" } else { "0.0" }.to_owned();
    }
    let sci = format!("{x:e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if (-4..16).contains(&exp) {
        let fixed = format!("{x}");
        if fixed.contains('.') {
            fixed
        } else {
            format!("{fixed}.0")
        }
    } else {
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{mantissa}e{sign}{:02}", exp.abs())
    }
}

/// Python's `repr(str)`: single quotes unless the text has `'` and no `"`.
fn string_repr(s: &str) -> String {
    let quote = if s.contains('\'') && !s.contains('"') {
        '"'
    } else {
        '\''
    };
    let mut out = String::with_capacity(s.len() + 2);
    out.push(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}

/// Python's `json.dumps(v)` with its defaults: `", "` and `": "` separators, ASCII only,
/// `NaN`/`Infinity` for non-finite floats.
///
/// ```
/// use wandb_sweep::{python_json, Value};
/// let v: Value = serde_json::from_str(r#"{"lr": 0.01, "tag": "é", "on": true}"#).unwrap();
/// assert_eq!(python_json(&v), r#"{"lr": 0.01, "tag": "\u00e9", "on": true}"#);
/// ```
#[must_use]
pub fn python_json(v: &Value) -> String {
    match v {
        Value::Null => "null".to_owned(),
        Value::Bool(b) => b.to_string(),
        Value::Number(Number::Int(i)) => i.to_string(),
        Value::Number(Number::Float(x)) if x.is_nan() => "NaN".to_owned(),
        Value::Number(Number::Float(x)) if x.is_infinite() => {
            if *x > 0.0 { "Infinity" } else { "-Infinity" }.to_owned()
        }
        Value::Number(Number::Float(x)) => float_repr(*x),
        Value::String(s) => json_string(s),
        Value::List(items) => {
            let parts: Vec<String> = items.iter().map(python_json).collect();
            format!("[{}]", parts.join(", "))
        }
        Value::Map(m) => {
            let parts: Vec<String> = m
                .iter()
                .map(|(k, v)| format!("{}: {}", json_string(k), python_json(v)))
                .collect();
            format!("{{{}}}", parts.join(", "))
        }
    }
}

fn json_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{08}' => out.push_str("\\b"),
            '\u{0c}' => out.push_str("\\f"),
            c if c.is_ascii() && (c as u32) >= 0x20 => out.push(c),
            c => {
                let mut buf = [0u16; 2];
                for unit in c.encode_utf16(&mut buf) {
                    let _ = write!(out, "\\u{unit:04x}");
                }
            }
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_print_like_python() {
        for (x, want) in [
            (0.01, "0.01"),
            (1e-5, "1e-05"),
            (0.0001, "0.0001"),
            (1e16, "1e+16"),
            (1.5e16, "1.5e+16"),
            (1e15, "1000000000000000.0"),
            (3.0, "3.0"),
            (-2.5e-7, "-2.5e-07"),
            (0.1 + 0.2, "0.30000000000000004"),
        ] {
            assert_eq!(float_repr(x), want);
        }
    }

    #[test]
    fn strings_quote_like_python() {
        assert_eq!(repr(&Value::from("a b")), "'a b'");
        assert_eq!(repr(&Value::from("it's")), "\"it's\"");
        assert_eq!(repr(&Value::from("a\nb")), "'a\\nb'");
    }

    #[test]
    fn json_escapes_non_ascii_with_surrogates() {
        assert_eq!(python_json(&Value::from("😀")), "\"\\ud83d\\ude00\"");
        assert_eq!(python_json(&Value::from(f64::NAN)), "NaN");
    }
}
