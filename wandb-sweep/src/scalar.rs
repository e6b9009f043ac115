//! Resolution of plain YAML scalars the way W&B's cloud path sees them.
//!
//! `wandb sweep` loads the file with PyYAML (YAML 1.1), dumps it again and the server re-reads
//! it. The result is YAML 1.2 numbers (`1e-5` is a float) plus the YAML 1.1 extras PyYAML
//! resolves first (`yes`/`no`/`on`/`off` are booleans, `010` is octal 8, `1_000` is 1000).
//! Scalars where the two YAML versions disagree carry a [`Pitfall`], reported as a warning.

use crate::value::{Number, Value};

/// A scalar whose meaning depends on the YAML version that reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Pitfall {
    /// `yes`, `no`, `on`, `off`: booleans for W&B (YAML 1.1), strings for YAML 1.2 tools.
    Yaml11Bool,
    /// `1e-5`, `1.5e3`: a float on the cloud, a string for the local controller (PyYAML's
    /// float needs a dot and a signed exponent).
    ExponentWithoutDot,
    /// `010`: octal 8 for W&B (YAML 1.1), decimal 10 for YAML 1.2 tools.
    LeadingZero,
    /// `1_000`: 1000 for W&B (YAML 1.1), a string for YAML 1.2 tools.
    Underscore,
}

impl Pitfall {
    /// What to tell the user.
    pub(crate) fn message(self, text: &str) -> String {
        match self {
            Pitfall::Yaml11Bool => format!(
                "`{text}` is read as a boolean by W&B (YAML 1.1) but as a string by YAML 1.2 tools; \
                 write true/false, or quote it if you mean the string"
            ),
            Pitfall::ExponentWithoutDot => format!(
                "`{text}` is a number on W&B cloud but the string '{text}' for the local controller \
                 (PyYAML needs a dot and a signed exponent): write it as PyYAML reads a float, e.g. `{}`",
                pyyaml_float(text)
            ),
            Pitfall::LeadingZero => format!(
                "`{text}` is octal for W&B (YAML 1.1) but decimal for YAML 1.2 tools; \
                 drop the leading zero or quote it"
            ),
            Pitfall::Underscore => format!(
                "`{text}` is a number for W&B (YAML 1.1) but a string for YAML 1.2 tools; \
                 drop the underscores"
            ),
        }
    }
}

/// The same number as a float that YAML 1.1 (PyYAML) and YAML 1.2 both read: a digit before
/// the dot, a dot, a signed exponent (`3e6` → `3.0e+6`, `.5e3` → `0.5e+3`).
pub(crate) fn pyyaml_float(text: &str) -> String {
    let (sign, body) = match text.strip_prefix(['-', '+']) {
        Some(rest) => (&text[..1], rest),
        None => ("", text),
    };
    let (mantissa, exponent) = match body.find(['e', 'E']) {
        Some(i) => (&body[..i], Some((&body[i..=i], &body[i + 1..]))),
        None => (body, None),
    };
    let mut out = sign.to_owned();
    if mantissa.starts_with('.') {
        out.push('0');
    }
    out.push_str(mantissa);
    if !mantissa.contains('.') {
        out.push_str(".0");
    }
    if let Some((e, digits)) = exponent {
        out.push_str(e);
        if !digits.starts_with(['+', '-']) {
            out.push('+');
        }
        out.push_str(digits);
    }
    out
}

/// Resolves a plain (unquoted, untagged) scalar.
pub(crate) fn resolve_plain(text: &str) -> (Value, Option<Pitfall>) {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return (Value::Null, None),
        "true" | "True" | "TRUE" => return (Value::Bool(true), None),
        "false" | "False" | "FALSE" => return (Value::Bool(false), None),
        "yes" | "Yes" | "YES" | "on" | "On" | "ON" => {
            return (Value::Bool(true), Some(Pitfall::Yaml11Bool));
        }
        "no" | "No" | "NO" | "off" | "Off" | "OFF" => {
            return (Value::Bool(false), Some(Pitfall::Yaml11Bool));
        }
        _ => {}
    }
    if let Some(r) = resolve_int(text) {
        return r;
    }
    if let Some(r) = resolve_float(text) {
        return r;
    }
    (Value::String(text.to_owned()), None)
}

fn split_sign(text: &str) -> (bool, &str) {
    match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    }
}

fn resolve_int(text: &str) -> Option<(Value, Option<Pitfall>)> {
    let (neg, body) = split_sign(text);
    let (radix, digits, mut pitfall) = if let Some(h) = body.strip_prefix("0x") {
        (16, h, None)
    } else if let Some(b) = body.strip_prefix("0b") {
        (2, b, None)
    } else if body.len() > 1 && body.starts_with('0') {
        (8, &body[1..], Some(Pitfall::LeadingZero))
    } else {
        (10, body, None)
    };
    if digits.is_empty() || digits.starts_with('_') {
        return None;
    }
    if !digits.chars().all(|c| c == '_' || c.is_digit(radix)) {
        return None;
    }
    if digits.contains('_') {
        pitfall = Some(Pitfall::Underscore);
    }
    let clean: String = digits.chars().filter(|&c| c != '_').collect();
    // Through i128, so that i64::MIN (whose magnitude is no i64) reads back.
    let magnitude = i128::from_str_radix(&clean, radix).ok()?;
    let value = i64::try_from(if neg { -magnitude } else { magnitude }).ok()?;
    Some((Value::Number(Number::Int(value)), pitfall))
}

fn resolve_float(text: &str) -> Option<(Value, Option<Pitfall>)> {
    let (neg, body) = split_sign(text);
    let special = match body {
        ".inf" | ".Inf" | ".INF" => Some(f64::INFINITY),
        ".nan" | ".NaN" | ".NAN" if !text.starts_with(['-', '+']) => Some(f64::NAN),
        _ => None,
    };
    if let Some(x) = special {
        return Some((Value::from(if neg { -x } else { x }), None));
    }
    let (mantissa, exponent) = match body.find(['e', 'E']) {
        Some(i) => (&body[..i], Some(&body[i + 1..])),
        None => (body, None),
    };
    if !valid_mantissa(mantissa) || !exponent.is_none_or(valid_exponent) {
        return None;
    }
    let has_dot = mantissa.contains('.');
    if !has_dot && exponent.is_none() {
        return None;
    }
    let clean: String = text.chars().filter(|&c| c != '_').collect();
    let x: f64 = clean.parse().ok()?;
    // PyYAML's float needs a dot, a sign in the exponent, and no sign before a leading dot.
    let pyyaml_float = has_dot
        && exponent.is_none_or(|e| e.starts_with(['+', '-']))
        && !(mantissa.starts_with('.') && text.starts_with(['+', '-']));
    let pitfall = if !pyyaml_float {
        Some(Pitfall::ExponentWithoutDot)
    } else if mantissa.contains('_') {
        Some(Pitfall::Underscore)
    } else {
        None
    };
    Some((Value::from(x), pitfall))
}

fn valid_mantissa(m: &str) -> bool {
    let digits = m.chars().filter(char::is_ascii_digit).count();
    let dots = m.chars().filter(|&c| c == '.').count();
    digits > 0
        && dots <= 1
        && !m.starts_with('_')
        && m.chars()
            .all(|c| c.is_ascii_digit() || c == '.' || c == '_')
}

fn valid_exponent(e: &str) -> bool {
    let (_, digits) = split_sign(e);
    !digits.is_empty() && digits.chars().all(|c| c.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(text: &str) -> Value {
        resolve_plain(text).0
    }

    #[test]
    fn numbers_follow_the_cloud_view() {
        assert_eq!(v("1e-5"), Value::from(1e-5));
        assert_eq!(v("3e6"), Value::from(3e6));
        assert_eq!(v("1.0e-3"), Value::from(1e-3));
        assert_eq!(v("5."), Value::from(5.0));
        assert_eq!(v(".5"), Value::from(0.5));
        assert_eq!(v("-3"), Value::from(-3));
        assert_eq!(v("010"), Value::from(8));
        assert_eq!(v("1_000"), Value::from(1000));
        assert_eq!(v("0x1F"), Value::from(31));
        assert!(matches!(v(".nan"), Value::Number(Number::Float(x)) if x.is_nan()));
        assert_eq!(v("-.inf"), Value::from(f64::NEG_INFINITY));
    }

    #[test]
    fn yaml11_booleans_are_booleans_with_a_pitfall() {
        assert_eq!(
            resolve_plain("yes"),
            (Value::Bool(true), Some(Pitfall::Yaml11Bool))
        );
        assert_eq!(
            resolve_plain("off"),
            (Value::Bool(false), Some(Pitfall::Yaml11Bool))
        );
        assert_eq!(resolve_plain("true"), (Value::Bool(true), None));
    }

    #[test]
    fn pitfalls_are_flagged() {
        assert_eq!(resolve_plain("1e-5").1, Some(Pitfall::ExponentWithoutDot));
        assert_eq!(resolve_plain("1.0e-5").1, None);
        assert_eq!(resolve_plain("010").1, Some(Pitfall::LeadingZero));
        assert!(
            Pitfall::ExponentWithoutDot
                .message("1e-5")
                .contains("1.0e-5")
        );
    }

    #[test]
    fn strings_stay_strings() {
        for s in ["adam", "1e", "e5", "1.2.3", "0o17", "-", "1-2", "_1", "."] {
            assert_eq!(v(s), Value::from(s), "{s}");
        }
    }
}
