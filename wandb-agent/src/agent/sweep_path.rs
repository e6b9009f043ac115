//! `[entity/][project/]sweep_id`, as `wandb agent` takes it.

use std::fmt;
use std::str::FromStr;

use crate::error::Error;

/// Where a sweep lives: `entity/project/sweep_id`, `project/sweep_id` or `sweep_id`.
///
/// ```
/// use wandb_agent::agent::SweepPath;
/// let p: SweepPath = "team/proj/sw33p1d".parse()?;
/// assert_eq!((p.entity.as_deref(), p.project.as_deref(), p.sweep_id.as_str()), (Some("team"), Some("proj"), "sw33p1d"));
/// assert_eq!(p.to_string(), "team/proj/sw33p1d");
/// let short: SweepPath = "sw33p1d".parse()?;
/// assert_eq!((short.entity, short.project), (None, None));
/// assert!("a/b/c/d".parse::<SweepPath>().is_err());
/// # Ok::<(), wandb_agent::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SweepPath {
    /// The entity (else the settings' entity, else the user's default).
    pub entity: Option<String>,
    /// The project (else the settings' project).
    pub project: Option<String>,
    /// The sweep id.
    pub sweep_id: String,
}

impl SweepPath {
    /// A path with only the sweep id.
    #[must_use]
    pub fn new(sweep_id: impl Into<String>) -> Self {
        SweepPath {
            entity: None,
            project: None,
            sweep_id: sweep_id.into(),
        }
    }

    /// Fills a missing entity and project (from the API settings, for instance).
    #[must_use]
    pub fn or(mut self, entity: Option<&str>, project: Option<&str>) -> Self {
        self.entity = self.entity.or_else(|| entity.map(str::to_owned));
        self.project = self.project.or_else(|| project.map(str::to_owned));
        self
    }
}

impl FromStr for SweepPath {
    type Err = Error;

    fn from_str(text: &str) -> Result<Self, Error> {
        let parts: Vec<&str> = text.trim().split('/').collect();
        let owned = |s: &str| Some(s.to_owned());
        let path = match parts.as_slice() {
            [e, p, s] => SweepPath {
                entity: owned(e),
                project: owned(p),
                sweep_id: (*s).to_owned(),
            },
            [p, s] => SweepPath {
                entity: None,
                project: owned(p),
                sweep_id: (*s).to_owned(),
            },
            [s] => SweepPath::new(*s),
            _ => return Err(bad_path(text)),
        };
        let parts_empty = [path.entity.as_deref(), path.project.as_deref()]
            .into_iter()
            .flatten()
            .any(str::is_empty);
        if path.sweep_id.is_empty() || parts_empty {
            return Err(bad_path(text));
        }
        Ok(path)
    }
}

fn bad_path(text: &str) -> Error {
    Error::Configuration(format!(
        "`{text}` is not a sweep path: write SWEEP_ID, PROJECT/SWEEP_ID or ENTITY/PROJECT/SWEEP_ID"
    ))
}

impl fmt::Display for SweepPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for part in [&self.entity, &self.project].into_iter().flatten() {
            write!(f, "{part}/")?;
        }
        f.write_str(&self.sweep_id)
    }
}
