//! Writing a config back as YAML or JSON that `wandb sweep` accepts, and filling defaults.

use crate::config::{EarlyTerminate, SweepConfig};
use crate::error::Error;
use crate::value::Number;

impl SweepConfig {
    /// The config as YAML. Every parameter gets an explicit `distribution`, so W&B needs no
    /// inference; strings that YAML would read as something else are quoted.
    ///
    /// ```
    /// use wandb_sweep::SweepConfig;
    /// let cfg = SweepConfig::from_yaml("method: grid\nparameters:\n  opt: {values: ['yes', '1e-5']}\n")?;
    /// let yaml = cfg.to_yaml()?;
    /// assert_eq!(SweepConfig::from_yaml(&yaml)?, cfg);
    /// # Ok::<(), wandb_sweep::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::Serialize`] if the YAML writer fails.
    pub fn to_yaml(&self) -> Result<String, Error> {
        serde_saphyr::to_string(self).map_err(|e| Error::Serialize(e.to_string()))
    }

    /// The config as pretty JSON (non-finite floats, which JSON lacks, become strings).
    ///
    /// ```
    /// use wandb_sweep::SweepConfig;
    /// let cfg = SweepConfig::from_yaml("method: random\nparameters:\n  lr: {min: 0.001, max: 0.1}\n")?;
    /// assert!(cfg.to_json()?.contains("\"distribution\": \"uniform\""));
    /// # Ok::<(), wandb_sweep::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::Serialize`] if the JSON writer fails.
    pub fn to_json(&self) -> Result<String, Error> {
        serde_json::to_string_pretty(self).map_err(|e| Error::Serialize(e.to_string()))
    }

    /// The config with the engine's defaults filled in: each parameter's `distribution`,
    /// `q`, `mu`, `sigma`, `a`, `b` (at every level), and hyperband's `eta: 3` and
    /// `strict: true`. `metric` is left as written, as the engine does.
    ///
    /// ```
    /// use wandb_sweep::SweepConfig;
    /// let cfg = SweepConfig::from_yaml("method: random\nparameters:\n  x: {distribution: normal}\n")?;
    /// assert_eq!(cfg.filled().parameters["x"].to_value().to_string(), "{distribution: normal, mu: 0.0, sigma: 1.0}");
    /// # Ok::<(), wandb_sweep::Error>(())
    /// ```
    #[must_use]
    pub fn filled(&self) -> SweepConfig {
        let mut out = self.clone();
        out.parameters = self
            .parameters
            .iter()
            .map(|(k, p)| (k.clone(), p.filled()))
            .collect();
        if let Some(EarlyTerminate::Hyperband(hb)) = &mut out.early_terminate {
            hb.eta.get_or_insert(Number::Int(3));
            hb.strict.get_or_insert(true);
        }
        out
    }
}
