//! Metrics read from the output lines of programs that do not use W&B: one regex per metric,
//! its single capture group the value.

use regex::Regex;

use crate::error::Error;

/// Named regexes that turn output lines into metric rows.
///
/// ```
/// use wandb_agent::StdoutMetrics;
/// let m = StdoutMetrics::new([("loss", r"Loss: ([-+0-9.eE]+)"), ("epoch", r"Epoch\[(\d+)\]")])?;
/// assert_eq!(m.parse("Epoch[3] step 10 Loss: 0.5"), [("loss".to_owned(), 0.5), ("epoch".to_owned(), 3.0)]);
/// assert!(m.parse("nothing here").is_empty());
/// # Ok::<(), wandb_agent::Error>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct StdoutMetrics {
    patterns: Vec<(String, Regex)>,
}

impl StdoutMetrics {
    /// Compiles `(metric name, regex)` pairs; each regex needs exactly one capture group.
    ///
    /// # Errors
    /// [`Error::Configuration`] for an invalid regex or one without exactly one group.
    pub fn new<N: Into<String>, R: AsRef<str>>(
        patterns: impl IntoIterator<Item = (N, R)>,
    ) -> Result<Self, Error> {
        let patterns = patterns
            .into_iter()
            .map(|(name, re)| {
                let name = name.into();
                let regex = compile(&name, re.as_ref())?;
                Ok((name, regex))
            })
            .collect::<Result<_, Error>>()?;
        Ok(StdoutMetrics { patterns })
    }

    /// Parses `NAME=REGEX` specs (as the command line takes them).
    ///
    /// ```
    /// let m = wandb_agent::StdoutMetrics::from_specs(["acc=Acc: ([0-9.]+)"])?;
    /// assert_eq!(m.parse("Acc: 0.9"), [("acc".to_owned(), 0.9)]);
    /// assert!(wandb_agent::StdoutMetrics::from_specs(["no-equals-sign"]).is_err());
    /// # Ok::<(), wandb_agent::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::Configuration`] for a spec without `=`, or a bad regex.
    pub fn from_specs<S: AsRef<str>>(specs: impl IntoIterator<Item = S>) -> Result<Self, Error> {
        let pairs = specs
            .into_iter()
            .map(|spec| {
                let spec = spec.as_ref();
                spec.split_once('=')
                    .filter(|(name, _)| !name.trim().is_empty())
                    .map(|(n, r)| (n.trim().to_owned(), r.to_owned()))
                    .ok_or_else(|| {
                        Error::Configuration(format!(
                            "metric `{spec}`: write NAME=REGEX, e.g. 'loss=Loss: ([0-9.eE+-]+)'"
                        ))
                    })
            })
            .collect::<Result<Vec<_>, Error>>()?;
        StdoutMetrics::new(pairs)
    }

    /// Whether there are no patterns.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.patterns.is_empty()
    }

    /// The metrics found in one line, in pattern order (values that are not numbers are
    /// skipped).
    #[must_use]
    pub fn parse(&self, line: &str) -> Vec<(String, f64)> {
        self.patterns
            .iter()
            .filter_map(|(name, re)| {
                let text = re.captures(line)?.get(1)?.as_str();
                let value: f64 = text.trim().parse().ok()?;
                Some((name.clone(), value))
            })
            .collect()
    }
}

fn compile(name: &str, pattern: &str) -> Result<Regex, Error> {
    let regex = Regex::new(pattern)
        .map_err(|e| Error::Configuration(format!("metric `{name}`: invalid regex: {e}")))?;
    if regex.captures_len() != 2 {
        return Err(Error::Configuration(format!(
            "metric `{name}`: the regex `{pattern}` needs exactly one capture group around the value, e.g. `Loss: ([0-9.]+)`"
        )));
    }
    Ok(regex)
}
