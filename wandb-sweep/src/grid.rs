//! Grid search: the exact size of a space, its points in the engine's order, and random access.
//!
//! Order and identity follow W&B's sweeps engine 0.3.0: parameters are sorted by name at every
//! nesting level (a nested group's children take the group's place), the last parameter varies
//! fastest, duplicate values collapse to one point at the first occurrence carrying the last
//! duplicate (`true` is not `1`, `3` equals `3.0`, mapping key order is ignored),
//! `int_uniform` includes `max`, and `q_uniform` follows `numpy.arange(min, max, q)`.

use std::collections::HashMap;
use std::fmt;

use indexmap::IndexMap;

use crate::config::SweepConfig;
use crate::diagnostic::Diagnostic;
use crate::distribution::Distribution;
use crate::error::Error;
use crate::parameter::{Parameter, Parameters, flatten};
use crate::value::{Number, Value};

/// A grid over the discrete parameters of a sweep.
///
/// ```
/// use wandb_sweep::{Grid, SweepConfig};
/// let cfg = SweepConfig::from_yaml(
///     "method: grid\nparameters:\n  b: {values: [1, 2, 3]}\n  a: {min: 1, max: 2}\n",
/// )?;
/// let grid = Grid::new(&cfg)?;
/// assert_eq!(grid.size()?, 6);
/// assert_eq!(grid.to_string(), "a 2 × b 3 = 6 runs");
/// let first: Vec<String> = grid.points().take(3).map(|p| p.to_string()).collect();
/// assert_eq!(first, ["{a: 1, b: 1}", "{a: 1, b: 2}", "{a: 1, b: 3}"]);
/// assert_eq!(grid.point(5).unwrap().to_string(), "{a: 2, b: 3}");
/// # Ok::<(), wandb_sweep::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Grid {
    axes: Vec<Axis>,
    slots: Vec<Slot>,
}

/// One varying parameter of the grid and how many distinct values it contributes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Factor {
    /// The dotted parameter name (`model.width` for nested parameters).
    pub name: String,
    /// The number of distinct values.
    pub count: u128,
}

#[derive(Debug, Clone)]
struct Axis {
    name: String,
    values: AxisValues,
}

#[derive(Debug, Clone)]
enum AxisValues {
    List(Vec<Value>),
    IntRange { start: i64, len: u128 },
    IntStep { start: i64, step: i64, len: u128 },
    FloatStep { start: f64, delta: f64, len: u128 },
}

/// Where each parameter of the sorted, flattened list goes in a point.
#[derive(Debug, Clone)]
struct Slot {
    path: Vec<String>,
    source: Source,
}

#[derive(Debug, Clone)]
enum Source {
    Constant(Value),
    Axis(usize),
}

impl Grid {
    /// The grid of a config's parameters.
    ///
    /// # Errors
    /// [`Error::NotEnumerable`] when a parameter is not `categorical`, `constant`,
    /// `int_uniform` or `q_uniform`.
    pub fn new(config: &SweepConfig) -> Result<Grid, Error> {
        Grid::from_parameters(&config.parameters)
    }

    /// The grid of a set of parameters.
    ///
    /// # Errors
    /// [`Error::NotEnumerable`] when a parameter cannot be enumerated.
    pub fn from_parameters(parameters: &Parameters) -> Result<Grid, Error> {
        let mut grid = Grid {
            axes: Vec::new(),
            slots: Vec::new(),
        };
        for flat in flatten(parameters) {
            let source = match flat.parameter {
                Parameter::Constant { value } => Source::Constant(value.clone()),
                param => {
                    let values = axis_values(param, &flat.path)?;
                    grid.axes.push(Axis {
                        name: flat.name(),
                        values,
                    });
                    Source::Axis(grid.axes.len() - 1)
                }
            };
            grid.slots.push(Slot {
                path: flat.path,
                source,
            });
        }
        Ok(grid)
    }

    /// The number of distinct points (1 when every parameter is constant).
    ///
    /// # Errors
    /// [`Error::GridTooLarge`] when the product overflows `u128`.
    pub fn size(&self) -> Result<u128, Error> {
        self.axes
            .iter()
            .try_fold(1u128, |acc, a| acc.checked_mul(a.values.len()))
            .ok_or_else(|| Error::GridTooLarge {
                factors: self.factors_text(),
            })
    }

    /// The varying parameters in grid order with their counts.
    #[must_use]
    pub fn factors(&self) -> Vec<Factor> {
        self.axes
            .iter()
            .map(|a| Factor {
                name: a.name.clone(),
                count: a.values.len(),
            })
            .collect()
    }

    fn factors_text(&self) -> String {
        if self.axes.is_empty() {
            return "no varying parameters".to_owned();
        }
        let parts: Vec<String> = self
            .factors()
            .iter()
            .map(|f| format!("{} {}", f.name, f.count))
            .collect();
        parts.join(" × ")
    }

    /// The point at index `i` in grid order, as a mapping (nested groups as nested
    /// mappings); `None` past the end. Costs O(number of parameters).
    #[must_use]
    pub fn point(&self, i: u128) -> Option<Value> {
        let digits = self.digits(i)?;
        Some(self.build(|axis| self.axes[axis].values.get(digits[axis])))
    }

    /// The axis indices of point `i` (mixed radix, last axis fastest).
    fn digits(&self, mut i: u128) -> Option<Vec<u128>> {
        if i >= self.size().ok()? {
            return None;
        }
        let mut digits = vec![0; self.axes.len()];
        for (d, axis) in digits.iter_mut().zip(&self.axes).rev() {
            let n = axis.values.len();
            *d = i % n;
            i /= n;
        }
        Some(digits)
    }

    fn build(&self, mut value_of: impl FnMut(usize) -> Value) -> Value {
        let mut root = IndexMap::new();
        for slot in &self.slots {
            let value = match &slot.source {
                Source::Constant(v) => v.clone(),
                Source::Axis(a) => value_of(*a),
            };
            insert_path(&mut root, &slot.path, value);
        }
        Value::Map(root)
    }

    /// The grid index of a run's parameters (a nested mapping as in [`Grid::point`]), if
    /// they are a point of this grid. Values compare as the engine compares them.
    #[must_use]
    pub fn index_of(&self, params: &Value) -> Option<u128> {
        let mut index = 0u128;
        for slot in &self.slots {
            let Source::Axis(a) = slot.source else {
                continue;
            };
            let value = lookup(params, &slot.path)?;
            let axis = &self.axes[a].values;
            index = index * axis.len() + axis.position(value)?;
        }
        Some(index)
    }

    /// All points in order, as mappings. For the fastest scan use [`Grid::cursor`].
    #[must_use]
    pub fn points(&self) -> Points<'_> {
        Points {
            cursor: self.cursor(),
        }
    }

    /// A cursor over the points that reuses one buffer of axis values.
    ///
    /// ```
    /// use wandb_sweep::{Grid, SweepConfig};
    /// let cfg = SweepConfig::from_yaml("method: grid\nparameters:\n  a: {values: [x, y]}\n  b: {min: 1, max: 3}\n")?;
    /// let grid = Grid::new(&cfg)?;
    /// let mut cursor = grid.cursor();
    /// let mut n = 0;
    /// while let Some(values) = cursor.next_values() {
    ///     assert_eq!(values.len(), 2);
    ///     n += 1;
    /// }
    /// assert_eq!(n, 6);
    /// # Ok::<(), wandb_sweep::Error>(())
    /// ```
    #[must_use]
    pub fn cursor(&self) -> Cursor<'_> {
        let empty = self.size().map_or(true, |n| n == 0);
        Cursor {
            grid: self,
            digits: vec![0; self.axes.len()],
            values: self
                .axes
                .iter()
                .map(|a| if empty { Value::Null } else { a.values.get(0) })
                .collect(),
            state: if empty { State::Done } else { State::Pending },
        }
    }
}

impl fmt::Display for Grid {
    /// `lr 7 × optimizer 2 = 14 runs`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.size() {
            Ok(n) => write!(
                f,
                "{} = {n} run{}",
                self.factors_text(),
                if n == 1 { "" } else { "s" }
            ),
            Err(_) => write!(f, "{} = more than 2^128 runs", self.factors_text()),
        }
    }
}

/// The value at `path` inside nested mappings.
pub(crate) fn lookup<'v>(value: &'v Value, path: &[String]) -> Option<&'v Value> {
    path.iter().try_fold(value, |v, key| match v {
        Value::Map(m) => m.get(key),
        _ => None,
    })
}

pub(crate) fn insert_path(map: &mut IndexMap<String, Value>, path: &[String], value: Value) {
    let Some((last, parents)) = path.split_last() else {
        return;
    };
    let mut cur = map;
    for p in parents {
        let entry = cur
            .entry(p.clone())
            .or_insert_with(|| Value::Map(IndexMap::new()));
        if !matches!(entry, Value::Map(_)) {
            *entry = Value::Map(IndexMap::new());
        }
        let Value::Map(m) = entry else { return };
        cur = m;
    }
    cur.insert(last.clone(), value);
}

/// Iterator over grid points as mappings.
#[derive(Debug)]
pub struct Points<'g> {
    cursor: Cursor<'g>,
}

impl Iterator for Points<'_> {
    type Item = Value;

    fn next(&mut self) -> Option<Value> {
        self.cursor.next_values()?;
        let values = &self.cursor.values;
        Some(self.cursor.grid.build(|a| values[a].clone()))
    }

    /// Jumps in O(number of parameters).
    fn nth(&mut self, n: usize) -> Option<Value> {
        self.cursor.skip_points(n as u128);
        self.next()
    }
}

/// A reusable-buffer walk over the grid (see [`Grid::cursor`]).
#[derive(Debug)]
pub struct Cursor<'g> {
    grid: &'g Grid,
    digits: Vec<u128>,
    values: Vec<Value>,
    state: State,
}

/// Where a cursor stands relative to `digits`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// `digits` is the next point to return.
    Pending,
    /// `digits` is the point returned last.
    At,
    /// No points left.
    Done,
}

impl Cursor<'_> {
    /// The next point's values, one per varying parameter in [`Grid::factors`] order.
    pub fn next_values(&mut self) -> Option<&[Value]> {
        match self.state {
            State::Done => return None,
            State::Pending => self.state = State::At,
            State::At => {
                if !self.advance() {
                    self.state = State::Done;
                    return None;
                }
            }
        }
        Some(&self.values)
    }

    /// Moves the odometer one step (last axis fastest); false when it wraps around.
    fn advance(&mut self) -> bool {
        for axis in (0..self.digits.len()).rev() {
            let values = &self.grid.axes[axis].values;
            self.digits[axis] += 1;
            if self.digits[axis] < values.len() {
                self.values[axis] = values.get(self.digits[axis]);
                return true;
            }
            self.digits[axis] = 0;
            self.values[axis] = values.get(0);
        }
        false
    }

    /// Skips `n` points in O(number of parameters).
    pub fn skip_points(&mut self, n: u128) {
        let next = match self.state {
            State::Done => return,
            State::Pending => self.index(),
            State::At => self.index().saturating_add(1),
        };
        let Some(digits) = self.grid.digits(next.saturating_add(n)) else {
            self.state = State::Done;
            return;
        };
        self.values = digits
            .iter()
            .zip(&self.grid.axes)
            .map(|(&d, a)| a.values.get(d))
            .collect();
        self.digits = digits;
        self.state = State::Pending;
    }

    fn index(&self) -> u128 {
        self.digits
            .iter()
            .zip(&self.grid.axes)
            .fold(0, |acc, (&d, a)| acc * a.values.len() + d)
    }
}

impl AxisValues {
    /// Where `value` is on this axis (engine identity), if anywhere.
    fn position(&self, value: &Value) -> Option<u128> {
        let key = GridKey::of(value);
        let candidate = match (self, &key) {
            (AxisValues::List(v), _) => {
                return v
                    .iter()
                    .position(|x| GridKey::of(x) == key)
                    .map(|i| i as u128);
            }
            (AxisValues::IntRange { start, .. }, GridKey::Int(i)) => {
                u128::try_from(i128::from(*i) - i128::from(*start)).ok()?
            }
            (AxisValues::IntStep { start, step, .. }, GridKey::Int(i)) => {
                let offset = i128::from(*i) - i128::from(*start);
                u128::try_from(offset.checked_div(i128::from(*step))?).ok()?
            }
            (AxisValues::FloatStep { start, delta, .. }, _) => {
                let x = value.as_number()?.as_f64();
                let i = ((x - start) / delta).round();
                if i.is_nan() || i < 0.0 {
                    return None;
                }
                i as u128
            }
            _ => return None,
        };
        (candidate < self.len() && GridKey::of(&self.get(candidate)) == key).then_some(candidate)
    }

    fn len(&self) -> u128 {
        match self {
            AxisValues::List(v) => v.len() as u128,
            AxisValues::IntRange { len, .. }
            | AxisValues::IntStep { len, .. }
            | AxisValues::FloatStep { len, .. } => *len,
        }
    }

    fn get(&self, i: u128) -> Value {
        match self {
            AxisValues::List(v) => v[i as usize].clone(),
            AxisValues::IntRange { start, .. } => {
                Value::from((i128::from(*start) + i as i128) as i64)
            }
            AxisValues::IntStep { start, step, .. } => {
                Value::from((i128::from(*start) + i as i128 * i128::from(*step)) as i64)
            }
            AxisValues::FloatStep { start, delta, .. } => Value::from(start + i as f64 * delta),
        }
    }
}

fn axis_values(param: &Parameter, path: &[String]) -> Result<AxisValues, Error> {
    match *param {
        Parameter::Categorical { ref values } => Ok(AxisValues::List(dedupe(values))),
        Parameter::IntUniform { min, max } => Ok(AxisValues::IntRange {
            start: min,
            len: u128::try_from(i128::from(max) - i128::from(min) + 1).unwrap_or(0),
        }),
        Parameter::QUniform { min, max, q } => {
            arange(min, max, q.unwrap_or(Number::Float(1.0)), path)
        }
        _ => Err(Error::NotEnumerable {
            parameter: path.join("."),
            distribution: param.distribution().unwrap_or(Distribution::Constant),
        }),
    }
}

/// `numpy.arange(min, max, q)`: `ceil((max - min) / q)` points `min + i * ((min + q) - min)`.
/// Non-finite bounds and a `q` that is not a positive number are errors (numpy would raise or
/// give no points; a grid without points would end the sweep silently).
fn arange(min: Number, max: Number, q: Number, path: &[String]) -> Result<AxisValues, Error> {
    let (lo, hi, step) = (min.as_f64(), max.as_f64(), q.as_f64());
    let problem = if !lo.is_finite() {
        Some(("min", format!("min {min} must be a finite number")))
    } else if !hi.is_finite() {
        Some(("max", format!("max {max} must be a finite number")))
    } else if !(step > 0.0 && step.is_finite()) {
        Some(("q", format!("q {q} must be a finite number greater than 0")))
    } else if (lo + step) - lo == 0.0 && hi > lo {
        let msg = format!(
            "q {q} is below the precision of min {min}: every grid point would be {min}; use a \
             larger q"
        );
        Some(("q", msg))
    } else {
        None
    };
    if let Some((key, message)) = problem {
        let at = format!("parameters.{}.{key}", path.join(".parameters."));
        return Err(Error::Invalid {
            diagnostics: vec![Diagnostic::error(&at, None, message)],
        });
    }
    let raw = ((hi - lo) / step).ceil();
    let len = if raw.is_finite() && raw > 0.0 {
        raw as u128
    } else {
        0
    };
    Ok(match (min, q) {
        (Number::Int(start), Number::Int(step)) if matches!(max, Number::Int(_)) => {
            AxisValues::IntStep { start, step, len }
        }
        _ => AxisValues::FloatStep {
            start: lo,
            delta: (lo + step) - lo,
            len,
        },
    })
}

/// Drops duplicate values the way the engine does: the first position, the last value.
fn dedupe(values: &[Value]) -> Vec<Value> {
    let mut out: Vec<Value> = Vec::with_capacity(values.len());
    let mut seen: HashMap<GridKey, usize> = HashMap::new();
    for v in values {
        match seen.get(&GridKey::of(v)) {
            Some(&i) => out[i] = v.clone(),
            None => {
                seen.insert(GridKey::of(v), out.len());
                out.push(v.clone());
            }
        }
    }
    out
}

/// The identity of a value in the engine's grid (`yaml.dump` with sorted keys; a top-level
/// float with an integral value counts as an integer).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum GridKey {
    Null,
    Bool(bool),
    Int(i64),
    Float(u64),
    Str(String),
    List(Vec<GridKey>),
    Map(Vec<(String, GridKey)>),
}

impl GridKey {
    /// The key of a top-level value.
    pub(crate) fn of(v: &Value) -> GridKey {
        match v {
            Value::Number(Number::Float(x)) if x.fract() == 0.0 && x.abs() < 9.2e18 => {
                GridKey::Int(*x as i64)
            }
            other => GridKey::inner(other),
        }
    }

    fn inner(v: &Value) -> GridKey {
        match v {
            Value::Null => GridKey::Null,
            Value::Bool(b) => GridKey::Bool(*b),
            Value::Number(Number::Int(i)) => GridKey::Int(*i),
            Value::Number(Number::Float(x)) if x.is_nan() => GridKey::Float(f64::NAN.to_bits()),
            Value::Number(Number::Float(x)) => GridKey::Float(x.to_bits()),
            Value::String(s) => GridKey::Str(s.clone()),
            Value::List(items) => GridKey::List(items.iter().map(GridKey::inner).collect()),
            Value::Map(m) => {
                let mut entries: Vec<(String, GridKey)> = m
                    .iter()
                    .map(|(k, v)| (k.clone(), GridKey::inner(v)))
                    .collect();
                entries.sort_by(|a, b| a.0.cmp(&b.0));
                GridKey::Map(entries)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grid(yaml: &str) -> Grid {
        Grid::new(&SweepConfig::from_yaml(yaml).unwrap()).unwrap()
    }

    #[test]
    fn dedupe_keeps_first_position_and_last_value() {
        let g = grid("method: grid\nparameters:\n  s: {values: [3, 1, 3.0, true]}\n");
        let pts: Vec<String> = g.points().map(|p| p.to_json().to_string()).collect();
        assert_eq!(pts, [r#"{"s":3.0}"#, r#"{"s":1}"#, r#"{"s":true}"#]);
    }

    #[test]
    fn dict_values_ignore_key_order() {
        let g = grid(
            "method: grid\nparameters:\n  d: {values: [{a: 1, b: 2}, {b: 2, a: 1}, {a: 1}]}\n",
        );
        assert_eq!(g.size().unwrap(), 2);
    }

    #[test]
    fn q_uniform_follows_numpy_arange() {
        let g = grid(
            "method: grid\nparameters:\n  q: {distribution: q_uniform, min: 1, max: 1.3, q: 0.1}\n",
        );
        let pts: Vec<String> = g.points().map(|p| p.to_json().to_string()).collect();
        assert_eq!(
            pts,
            [
                r#"{"q":1.0}"#,
                r#"{"q":1.1}"#,
                r#"{"q":1.2000000000000002}"#,
                r#"{"q":1.3000000000000003}"#
            ]
        );
        let ints = grid(
            "method: grid\nparameters:\n  q: {distribution: q_uniform, min: 0, max: 5, q: 2}\n",
        );
        let pts: Vec<String> = ints.points().map(|p| p.to_json().to_string()).collect();
        assert_eq!(pts, [r#"{"q":0}"#, r#"{"q":2}"#, r#"{"q":4}"#]);
    }

    #[test]
    fn nested_groups_sort_in_place_and_nest_in_points() {
        let g = grid(
            "method: grid\nparameters:\n  z: {values: [1, 2]}\n  m:\n    parameters:\n      w: {values: [a, b]}\n      c: {value: k}\n  a: {value: 0}\n",
        );
        let names: Vec<String> = g.factors().into_iter().map(|f| f.name).collect();
        assert_eq!(names, ["m.w", "z"]);
        assert_eq!(
            g.point(1).unwrap().to_string(),
            "{a: 0, m: {c: k, w: a}, z: 2}"
        );
    }

    #[test]
    fn nth_matches_iteration_and_ends() {
        let g = grid(
            "method: grid\nparameters:\n  a: {values: [1, 2, 3]}\n  b: {min: -1, max: 1}\n  c: {values: [x, y]}\n",
        );
        let all: Vec<Value> = g.points().collect();
        assert_eq!(all.len(), 18);
        for (i, p) in all.iter().enumerate() {
            assert_eq!(g.point(i as u128).as_ref(), Some(p));
        }
        assert_eq!(g.point(18), None);
    }

    #[test]
    fn overflow_is_an_error_not_a_wrap() {
        let mut yaml = String::from("method: random\nparameters:\n");
        for i in 0..5 {
            yaml.push_str(&format!("  p{i}: {{min: 0, max: 9000000000000000000}}\n"));
        }
        let g = grid(&yaml);
        assert!(matches!(g.size(), Err(Error::GridTooLarge { .. })));
        assert!(g.to_string().ends_with("more than 2^128 runs"));
    }

    #[test]
    fn only_constants_is_one_run() {
        let g = grid("method: grid\nparameters:\n  a: {value: 1}\n");
        assert_eq!(g.size().unwrap(), 1);
        assert_eq!(g.points().count(), 1);
    }
}
