//! The run summary, kept by the writer: each key's last value by default, or the
//! aggregations its metric definition asks for.

use indexmap::IndexMap;
use wandb_sweep::{Number, Value};

use crate::keys::KeyId;
use crate::metric::{Aggregation, Goal, MetricDefinition};

/// What the summary keeps for one key.
#[derive(Debug, Default)]
struct Cell {
    last: Value,
    first: Option<Value>,
    min: Option<f64>,
    max: Option<f64>,
    sum: f64,
    count: u64,
}

impl Cell {
    fn observe(&mut self, value: Value) {
        if let Some(x) = value
            .as_number()
            .map(Number::as_f64)
            .filter(|x| !x.is_nan())
        {
            self.min = Some(self.min.map_or(x, |m| m.min(x)));
            self.max = Some(self.max.map_or(x, |m| m.max(x)));
            self.sum += x;
            self.count += 1;
        }
        if self.first.is_none() {
            self.first = Some(value.clone());
        }
        self.last = value;
    }

    /// The summary value under `def` (`None`: left out of the summary).
    fn value(&self, def: Option<&MetricDefinition>) -> Option<Value> {
        let Some(def) = def.filter(|d| !d.summary.is_empty()) else {
            return Some(self.last.clone());
        };
        if def.summary.contains(&Aggregation::None) {
            return None;
        }
        let mut out = IndexMap::new();
        for &a in &def.summary {
            let v = match a {
                Aggregation::Min => self.min.map(Value::from),
                Aggregation::Max => self.max.map(Value::from),
                #[expect(clippy::cast_precision_loss, reason = "a mean of counts")]
                Aggregation::Mean => {
                    (self.count > 0).then(|| Value::from(self.sum / self.count as f64))
                }
                Aggregation::Best => match def.goal {
                    Some(Goal::Maximize) => self.max.map(Value::from),
                    _ => self.min.map(Value::from),
                },
                Aggregation::First => self.first.clone(),
                Aggregation::Last => Some(self.last.clone()),
                Aggregation::None => None,
            };
            if let Some(v) = v {
                out.insert(a.name().to_owned(), v);
            }
        }
        Some(Value::Map(out))
    }
}

/// Every key's summary cell, by key id.
#[derive(Debug, Default)]
pub(crate) struct Summary {
    cells: Vec<Option<Cell>>,
}

impl Summary {
    /// Records a logged value of key `id`.
    pub(crate) fn observe(&mut self, id: KeyId, value: Value) {
        let i = id as usize;
        if self.cells.len() <= i {
            self.cells.resize_with(i + 1, || None);
        }
        self.cells[i]
            .get_or_insert_with(Cell::default)
            .observe(value);
    }

    /// The last value logged for key `id`.
    pub(crate) fn last(&self, id: KeyId) -> Option<&Value> {
        self.cells.get(id as usize)?.as_ref().map(|c| &c.last)
    }

    /// The summary object: every logged key (in id order) under its definition.
    pub(crate) fn values<'a>(
        &self,
        names: &'a [Box<str>],
        def_of: impl Fn(KeyId) -> Option<&'a MetricDefinition>,
    ) -> IndexMap<String, Value> {
        let mut out = IndexMap::new();
        for (id, cell) in (0..).zip(&self.cells) {
            let (Some(cell), Some(name)) = (cell, names.get(id as usize)) else {
                continue;
            };
            if let Some(v) = cell.value(def_of(id)) {
                out.insert(name.to_string(), v);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary_of(def: Option<&MetricDefinition>, values: &[f64]) -> Option<Value> {
        let mut s = Summary::default();
        for &v in values {
            s.observe(0, Value::from(v));
        }
        let names = [Box::from("m")];
        s.values(&names, |_| def).shift_remove("m")
    }

    #[test]
    fn aggregations_follow_the_definition() {
        let v = [3.0, 1.0, f64::NAN, 5.0];
        assert!(matches!(summary_of(None, &v), Some(Value::Number(Number::Float(x))) if x == 5.0));
        let all = MetricDefinition::new("m")
            .summary(Aggregation::Min)
            .summary(Aggregation::Max)
            .summary(Aggregation::Mean)
            .summary(Aggregation::First)
            .summary(Aggregation::Last)
            .summary(Aggregation::Best)
            .goal(Goal::Maximize);
        let got = summary_of(Some(&all), &v).expect("kept").to_json();
        assert_eq!(
            got,
            serde_json::json!({"min": 1.0, "max": 5.0, "mean": 3.0, "first": 3.0, "last": 5.0, "best": 5.0})
        );
        let none = MetricDefinition::new("m").summary(Aggregation::None);
        assert_eq!(summary_of(Some(&none), &v), None);
        let best = MetricDefinition::new("m")
            .summary(Aggregation::Best)
            .goal(Goal::Minimize);
        assert_eq!(
            summary_of(Some(&best), &v).expect("kept").to_json(),
            serde_json::json!({"best": 1.0})
        );
    }
}
