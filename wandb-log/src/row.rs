//! What a row can be made of: [`IntoRow`] writes its values through a [`RowWriter`].

use indexmap::IndexMap;
use wandb_sweep::Value;

use crate::keys::{KeyId, Keys};
use crate::media::{Pending, RowValue};

/// A row being logged: values by key, written without allocating key strings.
#[derive(Debug)]
pub struct RowWriter<'a> {
    keys: &'a mut Keys,
    cells: &'a mut Vec<(KeyId, Value)>,
    /// File-backed values (images, tables), placed once the row's step is known.
    media: &'a mut Vec<Pending>,
}

impl<'a> RowWriter<'a> {
    pub(crate) fn new(
        keys: &'a mut Keys,
        cells: &'a mut Vec<(KeyId, Value)>,
        media: &'a mut Vec<Pending>,
    ) -> Self {
        RowWriter { keys, cells, media }
    }

    /// Adds `key: value` to the row (a later value for the same key wins): a plain value,
    /// a [`crate::Histogram`], an [`crate::Image`], a `Vec<Image>` or a [`crate::Table`]
    /// (see [`RowValue`]).
    ///
    /// ```
    /// use wandb_log::{Histogram, Image, IntoRow, Mode, Run, RowWriter};
    /// struct Step<'a> { loss: f64, weights: &'a [f32], sample: &'a Image }
    /// impl IntoRow for Step<'_> {
    ///     fn write_row(self, row: &mut RowWriter<'_>) {
    ///         row.push("loss", self.loss);
    ///         if let Ok(h) = Histogram::from_values(self.weights) {
    ///             row.push("weights", h);
    ///         }
    ///         row.push("sample", self.sample.clone());
    ///     }
    /// }
    /// let run = Run::builder().mode(Mode::Disabled).init()?;
    /// let sample = Image::from_gray(1, 1, &[9])?;
    /// run.log(Step { loss: 0.5, weights: &[0.1, 0.2], sample: &sample })?;
    /// # Ok::<(), wandb_log::Error>(())
    /// ```
    pub fn push(&mut self, key: &str, value: impl Into<RowValue>) {
        let id = self.keys.id(key);
        match value.into() {
            RowValue::Value(v) => self.cells.push((id, v)),
            media => {
                self.media.push(Pending {
                    cell: self.cells.len(),
                    value: media,
                });
                self.cells.push((id, Value::Null));
            }
        }
    }
}

/// Values a row can be made of: `[("loss", 0.5)]`, a slice or `Vec` of pairs (of plain
/// values or any [`RowValue`]: images, histograms, tables), an `IndexMap<String, Value>`, a
/// mapping [`Value`] or a JSON object.
///
/// ```
/// use wandb_log::{IntoRow, Mode, Run, RowWriter};
/// struct Metrics { loss: f64, acc: f64 }
/// impl IntoRow for &Metrics {
///     fn write_row(self, row: &mut RowWriter<'_>) {
///         row.push("loss", self.loss);
///         row.push("acc", self.acc);
///     }
/// }
/// let run = Run::builder().mode(Mode::Disabled).init()?;
/// run.log(&Metrics { loss: 0.5, acc: 0.9 })?;
/// # Ok::<(), wandb_log::Error>(())
/// ```
pub trait IntoRow {
    /// Writes the row's values.
    fn write_row(self, row: &mut RowWriter<'_>);
}

impl<K: AsRef<str>, V: Into<RowValue>, const N: usize> IntoRow for [(K, V); N] {
    fn write_row(self, row: &mut RowWriter<'_>) {
        for (k, v) in self {
            row.push(k.as_ref(), v);
        }
    }
}

impl<K: AsRef<str>, V: Into<RowValue>> IntoRow for Vec<(K, V)> {
    fn write_row(self, row: &mut RowWriter<'_>) {
        for (k, v) in self {
            row.push(k.as_ref(), v);
        }
    }
}

impl<K: AsRef<str>, V: Into<RowValue> + Clone> IntoRow for &[(K, V)] {
    fn write_row(self, row: &mut RowWriter<'_>) {
        for (k, v) in self {
            row.push(k.as_ref(), v.clone());
        }
    }
}

impl IntoRow for IndexMap<String, Value> {
    fn write_row(self, row: &mut RowWriter<'_>) {
        for (k, v) in self {
            row.push(&k, v);
        }
    }
}

impl IntoRow for Value {
    /// A mapping's entries; other values make an empty row.
    fn write_row(self, row: &mut RowWriter<'_>) {
        if let Value::Map(m) = self {
            m.write_row(row);
        }
    }
}

impl IntoRow for serde_json::Value {
    /// An object's entries; other values make an empty row.
    fn write_row(self, row: &mut RowWriter<'_>) {
        if let serde_json::Value::Object(m) = self {
            for (k, v) in m {
                row.push(&k, serde_json::from_value::<Value>(v).unwrap_or_default());
            }
        }
    }
}
