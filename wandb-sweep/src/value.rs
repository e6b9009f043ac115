//! Dynamically typed values as they appear in sweep configs (`values`, `value`, grid points).

use std::fmt;

use indexmap::IndexMap;
use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};

/// A number that remembers whether it was written as an integer or as a float.
///
/// The distinction matters to W&B: `q: 5` samples integers while `q: 5.0` samples floats,
/// and `int_uniform` bounds must be integers.
///
/// ```
/// use wandb_sweep::Number;
/// assert_eq!(Number::Int(3).as_f64(), 3.0);
/// assert!(Number::Float(3.0).is_float());
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Number {
    /// An integer literal such as `3`.
    Int(i64),
    /// A float literal such as `3.0`, `1e-5` or `.inf`.
    Float(f64),
}

impl Number {
    /// The value as `f64` (integers beyond 2^53 lose precision).
    #[must_use]
    pub fn as_f64(self) -> f64 {
        match self {
            Number::Int(i) => i as f64,
            Number::Float(f) => f,
        }
    }

    /// True when the number was written as a float.
    #[must_use]
    pub fn is_float(self) -> bool {
        matches!(self, Number::Float(_))
    }
}

impl fmt::Display for Number {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Number::Int(i) => write!(f, "{i}"),
            Number::Float(x) => write_float(f, *x),
        }
    }
}

/// Writes a float the way Python's `repr` does for the common cases (`1.0`, `0.001`, `inf`).
fn write_float(f: &mut fmt::Formatter<'_>, x: f64) -> fmt::Result {
    if x.is_nan() {
        f.write_str("nan")
    } else if x.is_infinite() {
        f.write_str(if x > 0.0 { "inf" } else { "-inf" })
    } else if x.fract() == 0.0 && x.abs() < 1e16 {
        write!(f, "{x:.1}")
    } else {
        write!(f, "{x}")
    }
}

impl From<i64> for Number {
    fn from(v: i64) -> Self {
        Number::Int(v)
    }
}

impl From<f64> for Number {
    fn from(v: f64) -> Self {
        Number::Float(v)
    }
}

impl Serialize for Number {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match *self {
            Number::Int(i) => s.serialize_i64(i),
            Number::Float(f) => s.serialize_f64(f),
        }
    }
}

/// Any value a sweep config can hold: the YAML/JSON data model, keeping map order.
///
/// ```
/// use wandb_sweep::Value;
/// let v = Value::from(vec![Value::from(1), Value::from("a")]);
/// assert_eq!(v.to_string(), "[1, a]");
/// ```
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Value {
    /// `null` / `~`.
    #[default]
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// An integer or a float.
    Number(Number),
    /// A string.
    String(String),
    /// A sequence.
    List(Vec<Value>),
    /// A mapping with string keys, in the order written.
    Map(IndexMap<String, Value>),
}

impl Value {
    /// The number inside, if this is a number (booleans are not numbers).
    #[must_use]
    pub fn as_number(&self) -> Option<Number> {
        match self {
            Value::Number(n) => Some(*n),
            _ => None,
        }
    }

    /// The string inside, if this is a string.
    #[must_use]
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// A short name of the value's type, for messages (`"a string"`, `"a list"`).
    #[must_use]
    pub fn kind_name(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "a boolean",
            Value::Number(Number::Int(_)) => "an integer",
            Value::Number(Number::Float(_)) => "a float",
            Value::String(_) => "a string",
            Value::List(_) => "a list",
            Value::Map(_) => "a mapping",
        }
    }

    /// Converts to a `serde_json::Value`; non-finite floats become the strings
    /// `"nan"`, `"inf"` and `"-inf"` (JSON has no such numbers).
    #[must_use]
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value as J;
        match self {
            Value::Null => J::Null,
            Value::Bool(b) => J::Bool(*b),
            Value::Number(Number::Int(i)) => J::from(*i),
            Value::Number(Number::Float(f)) => serde_json::Number::from_f64(*f)
                .map_or_else(|| J::String(Number::Float(*f).to_string()), J::Number),
            Value::String(s) => J::String(s.clone()),
            Value::List(items) => J::Array(items.iter().map(Value::to_json).collect()),
            Value::Map(m) => J::Object(m.iter().map(|(k, v)| (k.clone(), v.to_json())).collect()),
        }
    }
}

impl fmt::Display for Value {
    /// A compact, YAML-flow-like rendering used in messages.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Null => f.write_str("null"),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Number(n) => write!(f, "{n}"),
            Value::String(s) => f.write_str(s),
            Value::List(items) => {
                f.write_str("[")?;
                for (i, v) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{v}")?;
                }
                f.write_str("]")
            }
            Value::Map(m) => {
                f.write_str("{")?;
                for (i, (k, v)) in m.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{k}: {v}")?;
                }
                f.write_str("}")
            }
        }
    }
}

impl From<i64> for Value {
    fn from(v: i64) -> Self {
        Value::Number(Number::Int(v))
    }
}

impl From<i32> for Value {
    fn from(v: i32) -> Self {
        Value::Number(Number::Int(i64::from(v)))
    }
}

impl From<f64> for Value {
    fn from(v: f64) -> Self {
        Value::Number(Number::Float(v))
    }
}

impl From<f32> for Value {
    /// The float's shortest decimal form (so `0.1f32` stays `0.1`, not `0.10000000149…`).
    fn from(v: f32) -> Self {
        let widened = v.to_string().parse().unwrap_or(f64::from(v));
        Value::Number(Number::Float(widened))
    }
}

impl From<u32> for Value {
    fn from(v: u32) -> Self {
        Value::Number(Number::Int(i64::from(v)))
    }
}

impl From<u64> for Value {
    /// An integer; above `i64::MAX`, the nearest float.
    #[expect(clippy::cast_precision_loss, reason = "only beyond i64::MAX")]
    fn from(v: u64) -> Self {
        i64::try_from(v).map_or(Value::Number(Number::Float(v as f64)), Value::from)
    }
}

impl From<usize> for Value {
    /// An integer; above `i64::MAX`, the nearest float.
    fn from(v: usize) -> Self {
        Value::from(v as u64)
    }
}

impl From<bool> for Value {
    fn from(v: bool) -> Self {
        Value::Bool(v)
    }
}

impl From<&str> for Value {
    fn from(v: &str) -> Self {
        Value::String(v.to_owned())
    }
}

impl From<String> for Value {
    fn from(v: String) -> Self {
        Value::String(v)
    }
}

impl From<Number> for Value {
    fn from(v: Number) -> Self {
        Value::Number(v)
    }
}

impl<T: Into<Value>> From<Vec<T>> for Value {
    fn from(v: Vec<T>) -> Self {
        Value::List(v.into_iter().map(Into::into).collect())
    }
}

impl Serialize for Value {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Value::Null => s.serialize_unit(),
            Value::Bool(b) => s.serialize_bool(*b),
            Value::Number(n) => n.serialize(s),
            Value::String(v) => s.serialize_str(v),
            Value::List(items) => {
                let mut seq = s.serialize_seq(Some(items.len()))?;
                for v in items {
                    seq.serialize_element(v)?;
                }
                seq.end()
            }
            Value::Map(m) => {
                let mut map = s.serialize_map(Some(m.len()))?;
                for (k, v) in m {
                    map.serialize_entry(k, v)?;
                }
                map.end()
            }
        }
    }
}

impl<'de> Deserialize<'de> for Value {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ValueVisitor)
    }
}

struct ValueVisitor;

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any sweep config value")
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        Value::deserialize(d)
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    // Above i64::MAX an integer is kept as the nearest float (as `From<u64>` does), not
    // refused: a whole run or command must not be lost to one large number.
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(v) = seq.next_element()? {
            items.push(v);
        }
        Ok(Value::List(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Value, A::Error> {
        let mut m = IndexMap::new();
        while let Some((k, v)) = access.next_entry::<String, Value>()? {
            m.insert(k, v);
        }
        Ok(Value::Map(m))
    }
}

/// A [`Value`] is itself a serde data source, so typed data can be read from values that
/// plain JSON cannot hold, such as the non-finite floats of Python-written run histories.
///
/// ```
/// use serde::Deserialize;
/// use wandb_sweep::{Run, Value};
/// let mut row = indexmap::IndexMap::new();
/// row.insert("loss".to_owned(), Value::from(f64::NAN));
/// let run: Value = serde_json::from_str(r#"{"name": "r", "state": "running"}"#).unwrap();
/// let Value::Map(mut run) = run else { unreachable!() };
/// run.insert("history".into(), Value::List(vec![Value::Map(row)]));
/// let run = Run::deserialize(Value::Map(run)).unwrap();
/// assert!(run.history[0].to_string().contains("nan"));
/// ```
impl<'de> Deserializer<'de> for Value {
    type Error = de::value::Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        match self {
            Value::Null => visitor.visit_unit(),
            Value::Bool(b) => visitor.visit_bool(b),
            Value::Number(Number::Int(i)) => visitor.visit_i64(i),
            Value::Number(Number::Float(x)) => visitor.visit_f64(x),
            Value::String(s) => visitor.visit_string(s),
            Value::List(items) => {
                let mut seq = de::value::SeqDeserializer::new(items.into_iter());
                let out = visitor.visit_seq(&mut seq)?;
                seq.end()?;
                Ok(out)
            }
            Value::Map(m) => {
                let mut map = de::value::MapDeserializer::new(m.into_iter());
                let out = visitor.visit_map(&mut map)?;
                map.end()?;
                Ok(out)
            }
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        match self {
            Value::Null => visitor.visit_none(),
            other => visitor.visit_some(other),
        }
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        match self {
            Value::String(s) => visitor.visit_enum(de::IntoDeserializer::into_deserializer(s)),
            other => other
                .deserialize_any(visitor)
                .map_err(|_| de::Error::custom(format!("expected one of {variants:?} for {name}"))),
        }
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        unit unit_struct newtype_struct seq tuple tuple_struct map struct identifier
        ignored_any
    }
}

impl de::IntoDeserializer<'_, de::value::Error> for Value {
    type Deserializer = Value;

    fn into_deserializer(self) -> Value {
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_keeps_int_float_distinction_and_non_finite() {
        let v = Value::from(vec![
            Value::from(1),
            Value::from(1.0),
            Value::from(f64::INFINITY),
        ]);
        assert_eq!(v.to_json().to_string(), r#"[1,1.0,"inf"]"#);
    }

    #[test]
    fn display_uses_python_like_floats() {
        assert_eq!(Value::from(3.0).to_string(), "3.0");
        assert_eq!(Value::from(0.001).to_string(), "0.001");
    }

    #[test]
    fn deserializes_from_json() {
        let v: Value = serde_json::from_str(r#"{"a": [1, 2.5, true, null, "x"]}"#).unwrap();
        assert_eq!(v.to_string(), "{a: [1, 2.5, true, null, x]}");
    }

    #[test]
    fn runs_read_from_values_keep_non_finite_history() {
        use crate::search::{Run, RunState};
        let row = |x: f64| Value::Map([("loss".to_owned(), Value::from(x))].into_iter().collect());
        let mut run = IndexMap::new();
        run.insert("name".to_owned(), Value::from("r"));
        run.insert("state".to_owned(), Value::from("killed"));
        run.insert(
            "sampledHistory".to_owned(),
            Value::List(vec![row(f64::NAN), row(2.0), row(f64::NEG_INFINITY)]),
        );
        run.insert("summaryMetrics".to_owned(), Value::Null);
        let runs = Vec::<Run>::deserialize(Value::List(vec![Value::Map(run)])).unwrap();
        assert_eq!(runs[0].state, RunState::Killed);
        assert_eq!(runs[0].history.len(), 3);
        assert!(
            matches!(&runs[0].history[0], Value::Map(m) if matches!(m["loss"], Value::Number(Number::Float(x)) if x.is_nan()))
        );
        assert_eq!(runs[0].metric_history("loss"), [2.0]);
        let bad = Value::Map([("name".to_owned(), Value::from(1))].into_iter().collect());
        assert!(Run::deserialize(bad).is_err());
    }

    #[test]
    fn integers_above_i64_max_are_kept_as_floats() {
        let v: Value = serde_json::from_str("[9223372036854775807, 18446744073709551615]").unwrap();
        assert_eq!(
            v,
            Value::List(vec![
                Value::from(i64::MAX),
                Value::from(18_446_744_073_709_551_615_f64)
            ])
        );
    }
}
