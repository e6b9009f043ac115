//! The axis of a sweep parameter: numbers on a linear or log axis, anything else (text,
//! booleans, mixed values) as evenly spaced categories.

use wandb_sweep::Value;

use crate::axis::{Axis, value_text};

/// A parameter's axis.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum ParamAxis {
    /// Numbers.
    Numeric(Axis),
    /// Categories, in sorted order.
    Categories(Vec<String>),
}

impl ParamAxis {
    /// The axis for these values; `None` when there are none.
    pub(crate) fn fit(values: &[&Value]) -> Option<ParamAxis> {
        if values.is_empty() {
            return None;
        }
        let numbers: Option<Vec<f64>> = values
            .iter()
            .map(|v| v.as_number().map(|n| n.as_f64()).filter(|x| x.is_finite()))
            .collect();
        if let Some(numbers) = numbers {
            return Axis::of_values(numbers, false).map(ParamAxis::Numeric);
        }
        let mut categories: Vec<String> = values.iter().map(|v| value_text(v)).collect();
        categories.sort();
        categories.dedup();
        Some(ParamAxis::Categories(categories))
    }

    /// Whether it is a log axis.
    pub(crate) fn is_log(&self) -> bool {
        matches!(self, ParamAxis::Numeric(a) if a.log)
    }

    /// Where `value` is, from 0 to 1; NaN when the axis cannot show it.
    pub(crate) fn position(&self, value: &Value) -> f64 {
        match self {
            ParamAxis::Numeric(axis) => value
                .as_number()
                .map_or(f64::NAN, |n| axis.fraction(n.as_f64())),
            ParamAxis::Categories(list) => {
                let text = value_text(value);
                match list.binary_search(&text) {
                    Ok(i) if list.len() > 1 => i as f64 / (list.len() - 1) as f64,
                    Ok(_) => 0.5,
                    Err(_) => f64::NAN,
                }
            }
        }
    }

    /// Tick positions (0 to 1) and labels; at most about `max` category labels.
    pub(crate) fn ticks(&self, max: usize) -> Vec<(f64, String)> {
        match self {
            ParamAxis::Numeric(axis) => axis
                .ticks()
                .into_iter()
                .map(|(v, label)| (axis.fraction(v), label))
                .collect(),
            ParamAxis::Categories(list) => {
                let every = list.len().div_ceil(max.max(1)).max(1);
                list.iter()
                    .enumerate()
                    .filter(|(i, _)| i % every == 0)
                    .map(|(i, c)| {
                        let at = if list.len() > 1 {
                            i as f64 / (list.len() - 1) as f64
                        } else {
                            0.5
                        };
                        (at, c.clone())
                    })
                    .collect()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_categories() {
        let lr: Vec<Value> = [0.01, 0.1, 3.0].into_iter().map(Value::from).collect();
        let axis = ParamAxis::fit(&lr.iter().collect::<Vec<_>>()).unwrap();
        assert!(axis.is_log());
        assert!((axis.position(&Value::from(0.01))).abs() < 1e-12);
        let names: Vec<Value> = ["sgd", "adam", "sgd"]
            .into_iter()
            .map(Value::from)
            .collect();
        let axis = ParamAxis::fit(&names.iter().collect::<Vec<_>>()).unwrap();
        assert_eq!(
            axis,
            ParamAxis::Categories(vec!["adam".into(), "sgd".into()])
        );
        assert_eq!(axis.position(&Value::from("sgd")), 1.0);
        assert!(axis.position(&Value::from("rmsprop")).is_nan());
        assert_eq!(axis.ticks(6).len(), 2);
    }
}
