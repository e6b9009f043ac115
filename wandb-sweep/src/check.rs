//! Checking sweep config text: parse, decode, apply every rule, report located diagnostics.

use crate::config::SweepConfig;
use crate::decode::{SourceMap, decode};
use crate::diagnostic::{Diagnostic, Severity};
use crate::document::parse;
use crate::error::Error;
use crate::grid::Grid;
use crate::rules;

/// The outcome of checking one sweep config.
///
/// ```
/// let report = wandb_sweep::check("method: grid\nparameters:\n  lr: {values: [0.1, 0.01]}\n");
/// assert!(report.is_valid());
/// assert_eq!(report.grid_size(), Some(2));
/// ```
#[derive(Debug, Clone)]
pub struct Report {
    config: Option<SweepConfig>,
    diagnostics: Vec<Diagnostic>,
}

/// Checks YAML or JSON text: every error and warning, each with its line, column and key path.
///
/// Never panics, whatever the input.
///
/// ```
/// let report = wandb_sweep::check("method: random\nparameters:\n  lr: {min: 0.1, max: 0.01}\n");
/// assert!(!report.is_valid());
/// let e = &report.errors()[0];
/// assert_eq!(e.to_string(), "3:13: parameters.lr.min: min 0.1 must be less than max 0.01; swap or fix the bounds");
/// ```
#[must_use]
pub fn check(text: &str) -> Report {
    let parsed = parse(text);
    let mut diagnostics = parsed.diagnostics;
    let Some(root) = parsed.root else {
        if diagnostics.is_empty() {
            let msg = "the file is empty: a sweep config needs at least `method` and `parameters`";
            diagnostics.push(Diagnostic::error(
                "",
                Some(first_location()),
                msg.to_owned(),
            ));
        }
        return Report {
            config: None,
            diagnostics,
        };
    };
    let decoded = decode(&root);
    diagnostics.extend(decoded.diagnostics);
    if let Some(cfg) = &decoded.config {
        diagnostics.extend(rules::check(cfg, decoded.method, &decoded.map));
    }
    let config = decoded.config.filter(|_| decoded.method.is_some());
    Report::new(config, diagnostics)
}

fn first_location() -> crate::diagnostic::Location {
    crate::diagnostic::Location {
        line: 1,
        column: 1,
        offset: 0,
        len: 1,
    }
}

/// Parses YAML or JSON text into a plain [`Value`] (W&B's scalar resolution, no sweep
/// rules), e.g. the agent's `config-<run>.yaml`.
///
/// ```
/// let v = wandb_sweep::parse_value("wandb_version: 1\nlr:\n  value: 0.01\n").unwrap();
/// assert_eq!(v.to_string(), "{wandb_version: 1, lr: {value: 0.01}}");
/// ```
///
/// # Errors
/// The first syntax problem, located, as text.
pub fn parse_value(text: &str) -> Result<crate::value::Value, String> {
    let parsed = parse(text);
    if let Some(d) = parsed.diagnostics.iter().find(|d| d.is_error()) {
        return Err(d.to_string());
    }
    Ok(parsed
        .root
        .map_or(crate::value::Value::Null, |r| r.to_value()))
}

impl Report {
    fn new(config: Option<SweepConfig>, mut diagnostics: Vec<Diagnostic>) -> Self {
        diagnostics.sort_by_key(|d| d.location.map(|l| (l.line, l.column)));
        diagnostics.dedup();
        Report {
            config,
            diagnostics,
        }
    }

    /// True when there are no errors (warnings allowed).
    #[must_use]
    pub fn is_valid(&self) -> bool {
        !self.diagnostics.iter().any(Diagnostic::is_error)
    }

    /// Every diagnostic, in source order.
    #[must_use]
    pub fn diagnostics(&self) -> &[Diagnostic] {
        &self.diagnostics
    }

    /// The errors, in source order.
    #[must_use]
    pub fn errors(&self) -> Vec<&Diagnostic> {
        self.of(Severity::Error)
    }

    /// The warnings, in source order.
    #[must_use]
    pub fn warnings(&self) -> Vec<&Diagnostic> {
        self.of(Severity::Warning)
    }

    fn of(&self, severity: Severity) -> Vec<&Diagnostic> {
        self.diagnostics
            .iter()
            .filter(|d| d.severity == severity)
            .collect()
    }

    /// The decoded config. When the report has errors it may be missing (no readable
    /// `method`) or lack the parts that failed.
    #[must_use]
    pub fn config(&self) -> Option<&SweepConfig> {
        self.config.as_ref()
    }

    /// The grid over the parameters, when the config is valid and every parameter is
    /// discrete (whatever the method).
    #[must_use]
    pub fn grid(&self) -> Option<Grid> {
        if !self.is_valid() {
            return None;
        }
        Grid::new(self.config.as_ref()?).ok()
    }

    /// The number of distinct grid points, when [`Report::grid`] exists and the count fits.
    #[must_use]
    pub fn grid_size(&self) -> Option<u128> {
        self.grid()?.size().ok()
    }

    /// The config when valid, else [`Error::Invalid`] with every diagnostic.
    ///
    /// # Errors
    /// [`Error::Invalid`] when the report has errors.
    pub fn into_result(self) -> Result<SweepConfig, Error> {
        match self.config {
            Some(cfg) if !self.diagnostics.iter().any(Diagnostic::is_error) => Ok(cfg),
            _ => Err(Error::Invalid {
                diagnostics: self.diagnostics,
            }),
        }
    }
}

impl SweepConfig {
    /// Parses and checks YAML text.
    ///
    /// ```
    /// let err = wandb_sweep::SweepConfig::from_yaml("method: grid\n").unwrap_err();
    /// assert!(err.to_string().contains("missing required key `parameters`"));
    /// ```
    ///
    /// # Errors
    /// [`Error::Invalid`] with located diagnostics when the config has errors.
    pub fn from_yaml(text: &str) -> Result<SweepConfig, Error> {
        check(text).into_result()
    }

    /// Parses and checks JSON text (JSON is read as YAML 1.2, so locations work the same).
    ///
    /// ```
    /// let cfg = wandb_sweep::SweepConfig::from_json(r#"{"method": "grid", "parameters": {"a": {"values": [1, 2]}}}"#)?;
    /// assert_eq!(cfg.parameters.len(), 1);
    /// # Ok::<(), wandb_sweep::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::Invalid`] with located diagnostics when the config has errors.
    pub fn from_json(text: &str) -> Result<SweepConfig, Error> {
        check(text).into_result()
    }

    /// Applies every rule to a config built in code. Diagnostics have no location.
    #[must_use]
    pub fn validate(&self) -> Vec<Diagnostic> {
        rules::check(self, Some(self.method), &SourceMap::default())
    }
}
