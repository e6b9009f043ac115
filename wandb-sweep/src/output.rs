//! Writing a config back as YAML or JSON that `wandb sweep` accepts, and filling defaults.

use indexmap::IndexMap;
use serde::{Serialize, Serializer};

use crate::config::{Controller, EarlyTerminate, Hyperband, Metric, Scheduler, SweepConfig};
use crate::emitter;
use crate::error::Error;
use crate::value::{Number, Value};

impl Value {
    /// The value as block-style YAML that PyYAML and every YAML 1.2 reader read back as the
    /// same value (the agent writes a run's `config-<run>.yaml` with it).
    ///
    /// ```
    /// use wandb_sweep::Value;
    /// let v: Value = serde_json::from_str(r#"{"lr": {"value": 0.01}, "tag": {"value": "yes"}}"#).unwrap();
    /// assert_eq!(v.to_yaml(), "lr:\n  value: 0.01\ntag:\n  value: \"yes\"\n");
    /// ```
    #[must_use]
    pub fn to_yaml(&self) -> String {
        emitter::to_yaml(self)
    }
}

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
        Ok(emitter::to_yaml(&self.to_value()))
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
        serde_json::to_string_pretty(&self.to_value().to_json())
            .map_err(|e| Error::Serialize(e.to_string()))
    }

    /// The config as a plain value tree, keys in the conventional order.
    #[must_use]
    pub fn to_value(&self) -> Value {
        let mut m = Fields::default();
        m.text("program", self.program.as_ref());
        m.put("method", Some(name_of(&self.method)));
        for (k, v) in [
            ("name", &self.name),
            ("description", &self.description),
            ("entity", &self.entity),
            ("project", &self.project),
        ] {
            m.text(k, v.as_ref());
        }
        m.put("metric", self.metric.as_ref().map(Metric::to_value));
        m.put(
            "metrics",
            self.metrics
                .as_ref()
                .map(|ms| Value::List(ms.iter().map(Metric::to_value).collect())),
        );
        m.put(
            "early_terminate",
            self.early_terminate
                .as_ref()
                .map(|EarlyTerminate::Hyperband(h)| h.to_value()),
        );
        m.put(
            "run_cap",
            self.run_cap
                .and_then(|c| i64::try_from(c).ok())
                .map(Value::from),
        );
        if !self.parameters.is_empty() {
            let params = self
                .parameters
                .iter()
                .map(|(k, p)| (k.clone(), p.to_value()))
                .collect();
            m.put("parameters", Some(Value::Map(params)));
        }
        m.put("command", self.command.clone().map(Value::List));
        m.put(
            "controller",
            self.controller.as_ref().map(Controller::to_value),
        );
        m.text("apiVersion", self.api_version.as_ref());
        m.put("kind", self.kind.as_ref().map(name_of));
        m.text("job", self.job.as_ref());
        m.text("image_uri", self.image_uri.as_ref());
        m.put(
            "scheduler",
            self.scheduler.as_ref().map(Scheduler::to_value),
        );
        Value::Map(m.0)
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

impl Serialize for SweepConfig {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.to_value().serialize(s)
    }
}

/// An ordered mapping under construction; `None` values are left out.
#[derive(Default)]
struct Fields(IndexMap<String, Value>);

impl Fields {
    fn put(&mut self, key: &str, value: Option<Value>) {
        if let Some(v) = value {
            self.0.insert(key.to_owned(), v);
        }
    }

    fn text(&mut self, key: &str, value: Option<&String>) {
        self.put(key, value.map(|s| Value::String(s.clone())));
    }

    fn num(&mut self, key: &str, value: Option<Number>) {
        self.put(key, value.map(Value::Number));
    }
}

/// The YAML name of a unit enum (its serde name).
fn name_of<T: Serialize>(t: &T) -> Value {
    let name = serde_json::to_value(t)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned));
    Value::String(name.unwrap_or_default())
}

impl Metric {
    fn to_value(&self) -> Value {
        let mut m = Fields::default();
        m.text("name", Some(&self.name));
        m.put("goal", self.goal.as_ref().map(name_of));
        m.num("target", self.target);
        m.put("impute", self.impute.as_ref().map(name_of));
        m.put(
            "impute_while_running",
            self.impute_while_running.as_ref().map(name_of),
        );
        Value::Map(m.0)
    }
}

impl Hyperband {
    fn to_value(&self) -> Value {
        let mut m = Fields::default();
        m.put("type", Some(Value::from("hyperband")));
        m.num("min_iter", self.min_iter.map(Number::Int));
        m.num("max_iter", self.max_iter.map(Number::Int));
        m.num("s", self.s.map(Number::Int));
        m.num("eta", self.eta);
        m.put("strict", self.strict.map(Value::Bool));
        Value::Map(m.0)
    }
}

impl Controller {
    fn to_value(&self) -> Value {
        let mut m = Fields::default();
        m.put("type", Some(name_of(&self.kind)));
        for (k, v) in &self.extra {
            m.put(k, Some(v.clone()));
        }
        Value::Map(m.0)
    }
}

impl Scheduler {
    fn to_value(&self) -> Value {
        let mut m = Fields::default();
        m.put("engine", Some(name_of(&self.engine)));
        m.text("source", self.source.as_ref());
        m.text("optimizer", self.optimizer.as_ref());
        m.text("search_space", self.search_space.as_ref());
        Value::Map(m.0)
    }
}
