//! From the located document tree to a typed [`SweepConfig`], reporting every shape error.

mod fields;
mod parameter;
mod sections;

use indexmap::IndexMap;

use fields::Reader;
pub(crate) use fields::SourceMap;

use crate::config::{Kind, Method, SweepConfig};
use crate::diagnostic::{Diagnostic, join};
use crate::document::{Node, NodeKind};

/// The top-level keys W&B knows.
pub(crate) const TOP_LEVEL_KEYS: &[&str] = &[
    "program",
    "method",
    "name",
    "description",
    "entity",
    "project",
    "metric",
    "metrics",
    "early_terminate",
    "run_cap",
    "parameters",
    "command",
    "controller",
    "apiVersion",
    "kind",
    "job",
    "image_uri",
    "scheduler",
];

/// The decoded config and what was found on the way. `method` is `None` when it could not be
/// read; the config then holds a placeholder method.
pub(crate) struct Decoded {
    pub(crate) config: Option<SweepConfig>,
    pub(crate) method: Option<Method>,
    pub(crate) diagnostics: Vec<Diagnostic>,
    pub(crate) map: SourceMap,
}

/// Decodes a document root.
pub(crate) fn decode(root: &Node) -> Decoded {
    let mut r = Reader::default();
    pitfalls(&mut r, root, "");
    let (config, method) = match root.entries() {
        Some(entries) => {
            let (cfg, method) = top_level(&mut r, root, entries);
            (Some(cfg), method)
        }
        None => {
            let msg = "a sweep config must be a mapping with keys such as `method` and \
                       `parameters`";
            r.error("", root.loc, msg.to_owned());
            (None, None)
        }
    };
    Decoded {
        config,
        method,
        diagnostics: r.diagnostics,
        map: r.map,
    }
}

fn top_level(
    r: &mut Reader,
    root: &Node,
    entries: &[crate::document::Entry],
) -> (SweepConfig, Option<Method>) {
    let mut cfg = SweepConfig::new(Method::Random, IndexMap::new());
    let mut method = None;
    let mut has_parameters = false;
    for e in entries {
        let path = e.key.as_str();
        r.visit(path, e);
        let v = &e.value;
        match path {
            "method" => method = r.choice(path, v, "a search method", METHODS),
            "parameters" => {
                has_parameters = true;
                cfg.parameters = parameter::group(r, path, v).unwrap_or_default();
            }
            "program" => cfg.program = r.string(path, v),
            "name" => cfg.name = r.string(path, v),
            "description" => cfg.description = r.string(path, v),
            "entity" => cfg.entity = r.string(path, v),
            "project" => cfg.project = r.string(path, v),
            "apiVersion" => cfg.api_version = r.string(path, v),
            "job" => cfg.job = r.string(path, v),
            "image_uri" => cfg.image_uri = r.string(path, v),
            "kind" => cfg.kind = r.choice(path, v, "a document kind", &[("sweep", Kind::Sweep)]),
            "run_cap" => cfg.run_cap = run_cap(r, path, v),
            "command" => {
                cfg.command = r
                    .list(path, v)
                    .map(|items| items.iter().map(Node::to_value).collect());
            }
            "metric" => cfg.metric = sections::metric(r, path, v),
            "metrics" => cfg.metrics = sections::metrics(r, path, v),
            "early_terminate" => cfg.early_terminate = sections::early_terminate(r, path, v),
            "controller" => cfg.controller = sections::controller(r, path, v),
            "scheduler" => cfg.scheduler = sections::scheduler(r, path, v),
            _ => r.unknown_key("", e, TOP_LEVEL_KEYS, "the sweep config"),
        }
    }
    let search_space = cfg
        .scheduler
        .as_ref()
        .is_some_and(|s| s.search_space.as_ref().is_some_and(|x| !x.is_empty()));
    if !has_parameters && !search_space {
        let msg = "missing required key `parameters`: add the hyperparameters to search, e.g. \
                   `parameters: {lr: {min: 0.0001, max: 0.1}}`";
        r.error("", root.loc, msg.to_owned());
    }
    if !entries.iter().any(|e| e.key == "method") {
        let msg = "missing required key `method`: add `method: grid`, `random` or `bayes`";
        r.error("", root.loc, msg.to_owned());
    }
    if let Some(m) = method {
        cfg.method = m;
    }
    (cfg, method)
}

const METHODS: &[(&str, Method)] = &[
    ("grid", Method::Grid),
    ("random", Method::Random),
    ("bayes", Method::Bayes),
    ("custom", Method::Custom),
];

fn run_cap(r: &mut Reader, path: &str, v: &Node) -> Option<u64> {
    let n = r.integer(path, v)?;
    match u64::try_from(n) {
        Ok(n) if n > 0 => Some(n),
        _ => {
            r.error(
                path,
                v.loc,
                format!("must be a positive integer, found {n}; remove it for no cap"),
            );
            None
        }
    }
}

/// Warns about every scalar whose meaning differs between YAML 1.1 and YAML 1.2.
fn pitfalls(r: &mut Reader, node: &Node, path: &str) {
    match &node.kind {
        NodeKind::Scalar(_, Some((pitfall, text))) => {
            r.warning(path, node.loc, pitfall.message(text));
        }
        NodeKind::Scalar(..) => {}
        NodeKind::List(items) => {
            for (i, item) in items.iter().enumerate() {
                pitfalls(r, item, &format!("{path}[{i}]"));
            }
        }
        NodeKind::Map(entries) => {
            for e in entries {
                pitfalls(r, &e.value, &join(path, &e.key));
            }
        }
    }
}
