//! The small top-level sections: `metric`, `metrics`, `early_terminate`, `controller`,
//! `scheduler`.

use indexmap::IndexMap;

use super::fields::Reader;
use crate::config::{
    Controller, ControllerType, EarlyTerminate, Goal, Hyperband, Impute, ImputeWhileRunning,
    Metric, Scheduler, SchedulerEngine,
};
use crate::diagnostic::join;
use crate::document::{Node, NodeKind};
use crate::value::Value;

const METRIC_KEYS: &[&str] = &["name", "goal", "target", "impute", "impute_while_running"];

pub(super) fn metric(r: &mut Reader, path: &str, node: &Node) -> Option<Metric> {
    let entries = r.mapping(path, node, "`metric`")?;
    let mut name = None;
    let mut m = Metric {
        name: String::new(),
        goal: None,
        target: None,
        impute: None,
        impute_while_running: None,
    };
    for e in entries {
        let p = join(path, &e.key);
        r.visit(&p, e);
        let v = &e.value;
        match e.key.as_str() {
            "name" => name = r.string(&p, v),
            "goal" => m.goal = r.choice(&p, v, "a goal", GOALS),
            "target" => m.target = r.number(&p, v),
            "impute" => m.impute = r.choice(&p, v, "an impute strategy", IMPUTES),
            "impute_while_running" => m.impute_while_running = impute_while_running(r, &p, v),
            _ => r.unknown_key(
                path,
                e,
                METRIC_KEYS,
                "`metric` (the sweeps engine crashes on it)",
            ),
        }
    }
    if !entries.iter().any(|e| e.key == "name") {
        r.error(
            path,
            node.loc,
            "missing required key `name`: the name of the logged metric to optimise".into(),
        );
    }
    m.name = name?;
    Some(m)
}

const GOALS: &[(&str, Goal)] = &[("minimize", Goal::Minimize), ("maximize", Goal::Maximize)];
const IMPUTES: &[(&str, Impute)] = &[
    ("latest", Impute::Latest),
    ("best", Impute::Best),
    ("worst", Impute::Worst),
];

fn impute_while_running(r: &mut Reader, path: &str, v: &Node) -> Option<ImputeWhileRunning> {
    if let NodeKind::Scalar(Value::Bool(false), _) = v.kind {
        let msg = "must be the string \"false\", not the boolean false: write `impute_while_running: \"false\"`";
        r.error(path, v.loc, msg.into());
        return None;
    }
    let options = &[
        ("false", ImputeWhileRunning::False),
        ("latest", ImputeWhileRunning::Latest),
        ("best", ImputeWhileRunning::Best),
        ("worst", ImputeWhileRunning::Worst),
    ];
    r.choice(path, v, "an impute strategy", options)
}

pub(super) fn metrics(r: &mut Reader, path: &str, node: &Node) -> Option<Vec<Metric>> {
    let items = r.list(path, node)?;
    let out: Vec<Metric> = items
        .iter()
        .enumerate()
        .filter_map(|(i, item)| {
            let p = format!("{path}[{i}]");
            r.visit_node(&p, item);
            metric(r, &p, item)
        })
        .collect();
    (out.len() == items.len()).then_some(out)
}

const HYPERBAND_KEYS: &[&str] = &["type", "min_iter", "max_iter", "s", "eta", "strict"];

pub(super) fn early_terminate(r: &mut Reader, path: &str, node: &Node) -> Option<EarlyTerminate> {
    let entries = r.mapping(path, node, "`early_terminate`")?;
    let mut hb = Hyperband {
        min_iter: None,
        max_iter: None,
        s: None,
        eta: None,
        strict: None,
    };
    let mut ok = true;
    for e in entries {
        let p = join(path, &e.key);
        r.visit(&p, e);
        let v = &e.value;
        match e.key.as_str() {
            "type" => {
                ok &= r
                    .choice(&p, v, "an early-termination type", &[("hyperband", ())])
                    .is_some();
            }
            "min_iter" => hb.min_iter = r.integer(&p, v),
            "max_iter" => hb.max_iter = r.integer(&p, v),
            "s" => hb.s = r.integer(&p, v),
            "eta" => hb.eta = r.number(&p, v),
            "strict" => hb.strict = r.boolean(&p, v),
            _ => r.unknown_key(path, e, HYPERBAND_KEYS, "`early_terminate`"),
        }
    }
    if !entries.iter().any(|e| e.key == "type") {
        r.error(
            path,
            node.loc,
            "missing required key `type`: add `type: hyperband`".into(),
        );
        ok = false;
    }
    ok.then_some(EarlyTerminate::Hyperband(hb))
}

pub(super) fn controller(r: &mut Reader, path: &str, node: &Node) -> Option<Controller> {
    let entries = r.mapping(path, node, "`controller`")?;
    let mut kind = None;
    let mut extra = IndexMap::new();
    for e in entries {
        let p = join(path, &e.key);
        r.visit(&p, e);
        if e.key == "type" {
            let options = &[
                ("local", ControllerType::Local),
                ("cloud", ControllerType::Cloud),
            ];
            kind = r.choice(&p, &e.value, "a controller type", options);
        } else {
            extra.insert(e.key.clone(), e.value.to_value());
        }
    }
    if !entries.iter().any(|e| e.key == "type") {
        r.error(
            path,
            node.loc,
            "missing required key `type`: add `type: local` or `type: cloud`".into(),
        );
    }
    Some(Controller { kind: kind?, extra })
}

const SCHEDULER_KEYS: &[&str] = &["engine", "source", "optimizer", "search_space"];

pub(super) fn scheduler(r: &mut Reader, path: &str, node: &Node) -> Option<Scheduler> {
    let entries = r.mapping(path, node, "`scheduler`")?;
    let mut engine = None;
    let mut s = Scheduler {
        engine: SchedulerEngine::Wandb,
        source: None,
        optimizer: None,
        search_space: None,
    };
    for e in entries {
        let p = join(path, &e.key);
        r.visit(&p, e);
        let v = &e.value;
        match e.key.as_str() {
            "engine" => {
                let options = &[
                    ("optuna", SchedulerEngine::Optuna),
                    ("ax", SchedulerEngine::Ax),
                    ("wandb", SchedulerEngine::Wandb),
                ];
                engine = r.choice(&p, v, "a scheduler engine", options);
            }
            "source" => s.source = r.string(&p, v),
            "optimizer" => s.optimizer = r.string(&p, v),
            "search_space" => s.search_space = r.string(&p, v),
            _ => r.unknown_key(path, e, SCHEDULER_KEYS, "`scheduler`"),
        }
    }
    if !entries.iter().any(|e| e.key == "engine") {
        let msg = "missing required key `engine`: add `engine: wandb`, `optuna` or `ax` \
                   (W&B Launch scheduler blocks are not sweep config)";
        r.error(path, node.loc, msg.into());
    }
    s.engine = engine?;
    Some(s)
}
