//! [`Table`]: columns and rows of plain values, stored as a `.table.json` file.

use wandb_api::{write_extended_json, write_json_string};
use wandb_sweep::Value;

use crate::error::Error;

/// A table to log: named columns and rows of plain values (numbers, strings, booleans,
/// null, lists and maps; images in cells are not supported yet). Logged under a key, it
/// becomes the file `media/table/<key>_<step>_<sha256[:20]>.table.json` of the run (compact
/// JSON `{"columns": [...], "data": [[...], ...]}`, byte for byte as the official client
/// writes it for ASCII strings, integers and floats Python prints without an exponent;
/// other text is written as UTF-8, not `\u` escapes, and `1e-7` not `1e-07`) and the
/// history value `{"_type": "table-file", "sha256",
/// "size", "path", "ncols", "nrows", "log_mode": "IMMUTABLE"}`.
///
/// Unlike the official client 0.31.0, which also logs every table as a `run_table`
/// artifact (`run-<run id>-<key>`) and adds its `artifact_path` and
/// `_latest_artifact_path` to the value, no artifact is logged (wandb-rs does not write
/// artifact records yet), so the value has neither field. The table's run file at `path`
/// is written and uploaded as the official client's is; the UI's table panels read a
/// `table-file` value from that file (the form clients wrote before tables became
/// artifacts), which was not checked against the hosted UI here.
///
/// ```
/// use wandb_log::{Mode, Run, Table, Value};
/// let mut table = Table::new(["id", "label", "score"]);
/// // Rows of mixed types: values made with `Value::from` (rows of one type need nothing).
/// table.add_row([Value::from(0), "cat".into(), 0.9.into()])?;
/// table.add_row(vec![Value::from(1), "dog".into(), 0.2.into()])?;
/// assert!(table.add_row([1]).is_err(), "3 columns");
/// assert_eq!((table.ncols(), table.nrows()), (3, 2));
/// assert_eq!(
///     table.to_json(),
///     r#"{"columns":["id","label","score"],"data":[[0,"cat",0.9],[1,"dog",0.2]]}"#
/// );
/// let run = Run::builder().mode(Mode::Disabled).init()?;
/// run.log([("predictions", table)])?;
/// # Ok::<(), wandb_log::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    columns: Vec<String>,
    rows: Vec<Vec<Value>>,
}

impl Table {
    /// An empty table with these columns.
    ///
    /// ```
    /// let table = wandb_log::Table::new(["epoch", "loss"]);
    /// assert_eq!(table.columns(), ["epoch", "loss"]);
    /// ```
    #[must_use]
    pub fn new<S: Into<String>>(columns: impl IntoIterator<Item = S>) -> Self {
        Table {
            columns: columns.into_iter().map(Into::into).collect(),
            rows: Vec::new(),
        }
    }

    /// Adds a row: one value per column.
    ///
    /// ```
    /// let mut table = wandb_log::Table::new(["a", "b"]);
    /// table.add_row([1.5, 2.5])?;
    /// assert_eq!(table.nrows(), 1);
    /// # Ok::<(), wandb_log::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::Media`] when the row has not one value per column (the row is not added).
    pub fn add_row<V: Into<Value>>(
        &mut self,
        row: impl IntoIterator<Item = V>,
    ) -> Result<(), Error> {
        let row: Vec<Value> = row.into_iter().map(Into::into).collect();
        if row.len() != self.columns.len() {
            return Err(Error::Media(format!(
                "a table row of {} values for {} columns: give one value per column (null for none)",
                row.len(),
                self.columns.len()
            )));
        }
        self.rows.push(row);
        Ok(())
    }

    /// The table with a row added (see [`Table::add_row`]).
    ///
    /// ```
    /// let table = wandb_log::Table::new(["x"]).with_row([1])?.with_row([2])?;
    /// assert_eq!(table.nrows(), 2);
    /// # Ok::<(), wandb_log::Error>(())
    /// ```
    ///
    /// # Errors
    /// As [`Table::add_row`].
    pub fn with_row<V: Into<Value>>(
        mut self,
        row: impl IntoIterator<Item = V>,
    ) -> Result<Self, Error> {
        self.add_row(row)?;
        Ok(self)
    }

    /// The column names.
    ///
    /// ```
    /// assert_eq!(wandb_log::Table::new(["x"]).columns(), ["x"]);
    /// ```
    #[must_use]
    pub fn columns(&self) -> &[String] {
        &self.columns
    }

    /// The rows.
    ///
    /// ```
    /// let table = wandb_log::Table::new(["x"]).with_row([1])?;
    /// assert_eq!(table.rows()[0], [wandb_log::Value::from(1)]);
    /// # Ok::<(), wandb_log::Error>(())
    /// ```
    #[must_use]
    pub fn rows(&self) -> &[Vec<Value>] {
        &self.rows
    }

    /// The number of columns.
    ///
    /// ```
    /// assert_eq!(wandb_log::Table::new(["x", "y"]).ncols(), 2);
    /// ```
    #[must_use]
    pub fn ncols(&self) -> usize {
        self.columns.len()
    }

    /// The number of rows.
    ///
    /// ```
    /// assert_eq!(wandb_log::Table::new(["x"]).nrows(), 0);
    /// ```
    #[must_use]
    pub fn nrows(&self) -> usize {
        self.rows.len()
    }

    /// The table file's content: compact JSON `{"columns":[…],"data":[[…],…]}` (NaN and
    /// infinities as `NaN`, `Infinity`, `-Infinity`, as Python's `json` writes them).
    ///
    /// ```
    /// let table = wandb_log::Table::new(["x"]).with_row([f64::NAN])?;
    /// assert_eq!(table.to_json(), r#"{"columns":["x"],"data":[[NaN]]}"#);
    /// # Ok::<(), wandb_log::Error>(())
    /// ```
    #[must_use]
    pub fn to_json(&self) -> String {
        let mut out = String::from("{\"columns\":[");
        for (i, c) in self.columns.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            write_json_string(c, &mut out);
        }
        out.push_str("],\"data\":[");
        for (i, row) in self.rows.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push('[');
            for (j, v) in row.iter().enumerate() {
                if j > 0 {
                    out.push(',');
                }
                write_extended_json(v, &mut out);
            }
            out.push(']');
        }
        out.push_str("]}");
        out
    }
}
