//! Located diagnostics: what is wrong, where (line, column, key path) and what to do.

use std::fmt;

use serde::Serialize;

/// A position in the source text: 1-based line and column, plus the character offset and
/// length of the offending text (for drawing a snippet).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Location {
    /// Line, starting at 1.
    pub line: usize,
    /// Column in characters, starting at 1.
    pub column: usize,
    /// Character offset from the start of the text.
    #[serde(skip)]
    pub offset: usize,
    /// Length in characters of the offending text (at least 1).
    #[serde(skip)]
    pub len: usize,
}

/// How bad a diagnostic is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The config will misbehave in a way the user probably did not intend.
    Warning,
    /// W&B rejects the config, or the sweep fails once it runs.
    Error,
}

/// One finding about a sweep config.
///
/// ```
/// let report = wandb_sweep::check("method: random\nparameters:\n  lr:\n    min: 0.5\n    max: 0.1\n");
/// let d = &report.errors()[0];
/// assert_eq!(d.path, "parameters.lr.min");
/// assert_eq!(d.location.map(|l| (l.line, l.column)), Some((4, 10)));
/// ```
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Diagnostic {
    /// Error or warning.
    pub severity: Severity,
    /// Dotted key path of the offending value, e.g. `parameters.lr.min` (empty for the root).
    pub path: String,
    /// Where the offending value is; `None` only for configs built in code.
    pub location: Option<Location>,
    /// What is wrong and what to do about it.
    pub message: String,
}

impl Diagnostic {
    pub(crate) fn error(path: &str, location: Option<Location>, message: String) -> Self {
        Diagnostic {
            severity: Severity::Error,
            path: path.to_owned(),
            location,
            message,
        }
    }

    pub(crate) fn warning(path: &str, location: Option<Location>, message: String) -> Self {
        Diagnostic {
            severity: Severity::Warning,
            path: path.to_owned(),
            location,
            message,
        }
    }

    /// Appends `key` to the path.
    pub(crate) fn with_key(mut self, key: &str) -> Self {
        self.path = join(&self.path, key);
        self
    }

    /// Puts the path under `parent`.
    pub(crate) fn under(mut self, parent: &str) -> Self {
        self.path = if self.path.is_empty() {
            parent.to_owned()
        } else {
            join(parent, &self.path)
        };
        self
    }

    /// True for errors.
    #[must_use]
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    /// Renders the diagnostic rustc-style with a snippet of `source`, naming `file`.
    ///
    /// ```
    /// let text = "method: random\nparameters:\n  lr:\n    min: 0.5\n    max: 0.1\n";
    /// let report = wandb_sweep::check(text);
    /// let shown = report.errors()[0].render("sweep.yaml", text);
    /// assert!(shown.contains("--> sweep.yaml:4:10"));
    /// assert!(shown.contains("    min: 0.5"));
    /// ```
    #[must_use]
    pub fn render(&self, file: &str, source: &str) -> String {
        let label = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        let mut out = format!("{label}: {}\n", self.headline());
        let Some(loc) = self.location else {
            return out;
        };
        let Some(line_text) = source.lines().nth(loc.line - 1) else {
            return out;
        };
        let gutter = loc.line.to_string().len();
        let pad = " ".repeat(gutter);
        let width = loc
            .len
            .min(line_text.chars().count().saturating_sub(loc.column - 1));
        out.push_str(&format!("{pad}--> {file}:{}:{}\n", loc.line, loc.column));
        out.push_str(&format!("{pad} |\n{} | {line_text}\n", loc.line));
        let marker = format!("{}{}", " ".repeat(loc.column - 1), "^".repeat(width.max(1)));
        out.push_str(&format!("{pad} | {marker}\n"));
        out
    }

    fn headline(&self) -> String {
        if self.path.is_empty() {
            self.message.clone()
        } else {
            format!("{}: {}", self.path, self.message)
        }
    }

    /// The one-line form `file:line:col: severity: path: message`.
    ///
    /// ```
    /// let report = wandb_sweep::check("method: Grid\nparameters: {a: {value: 1}}\n");
    /// assert_eq!(
    ///     report.errors()[0].one_line("s.yaml"),
    ///     "s.yaml:1:9: error: method: `Grid` is not a search method; did you mean `grid`? \
    ///      Use one of grid, random, bayes, custom"
    /// );
    /// ```
    #[must_use]
    pub fn one_line(&self, file: &str) -> String {
        let label = if self.is_error() { "error" } else { "warning" };
        match self.location {
            Some(l) => format!(
                "{file}:{}:{}: {label}: {}",
                l.line,
                l.column,
                self.headline()
            ),
            None => format!("{file}: {label}: {}", self.headline()),
        }
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.location {
            Some(l) => write!(f, "{}:{}: {}", l.line, l.column, self.headline()),
            None => f.write_str(&self.headline()),
        }
    }
}

/// Joins a key path and a key with a dot.
pub(crate) fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}
