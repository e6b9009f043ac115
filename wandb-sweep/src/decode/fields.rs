//! Typed reads of single nodes, each reporting a located diagnostic when the type is wrong.

use std::collections::HashMap;

use crate::diagnostic::{Diagnostic, Location, join};
use crate::document::{Entry, Node, NodeKind};
use crate::spelling;
use crate::value::{Number, Value};

/// Where each key path of a loaded config was written.
#[derive(Debug, Clone, Default)]
pub(crate) struct SourceMap {
    values: HashMap<String, Location>,
}

impl SourceMap {
    /// True for the empty map of a config built in code.
    pub(crate) fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// The location of the value at `path`, else of the nearest recorded parent.
    pub(crate) fn value(&self, path: &str) -> Option<Location> {
        let mut p = path;
        loop {
            if let Some(l) = self.values.get(p) {
                return Some(*l);
            }
            p = &p[..p.rfind(['.', '['])?];
        }
    }
}

/// Reads nodes into typed values, collecting diagnostics and locations.
#[derive(Debug, Default)]
pub(crate) struct Reader {
    pub(crate) diagnostics: Vec<Diagnostic>,
    pub(crate) map: SourceMap,
}

impl Reader {
    pub(crate) fn error(&mut self, path: &str, loc: Location, message: String) {
        self.diagnostics
            .push(Diagnostic::error(path, Some(loc), message));
    }

    pub(crate) fn warning(&mut self, path: &str, loc: Location, message: String) {
        self.diagnostics
            .push(Diagnostic::warning(path, Some(loc), message));
    }

    /// Records the locations of an entry's key and value under `path`.
    pub(crate) fn visit(&mut self, path: &str, entry: &Entry) {
        self.map.values.insert(path.to_owned(), entry.value.loc);
    }

    /// Records the location of a node under `path`.
    pub(crate) fn visit_node(&mut self, path: &str, node: &Node) {
        self.map.values.insert(path.to_owned(), node.loc);
    }

    pub(crate) fn unknown_key(&mut self, path: &str, entry: &Entry, known: &[&str], what: &str) {
        let hint = spelling::hint(&entry.key, known);
        let msg = format!(
            "unknown key `{}` in {what}{hint}; allowed keys: {}",
            entry.key,
            known.join(", ")
        );
        self.error(&join(path, &entry.key), entry.key_loc, msg);
    }

    pub(crate) fn mapping<'n>(
        &mut self,
        path: &str,
        node: &'n Node,
        what: &str,
    ) -> Option<&'n [Entry]> {
        if let Some(e) = node.entries() {
            return Some(e);
        }
        let found = describe(node);
        self.error(
            path,
            node.loc,
            format!("{what} must be a mapping (`key: value` lines), found {found}"),
        );
        None
    }

    pub(crate) fn list<'n>(&mut self, path: &str, node: &'n Node) -> Option<&'n [Node]> {
        if let NodeKind::List(items) = &node.kind {
            return Some(items);
        }
        let found = describe(node);
        self.error(
            path,
            node.loc,
            format!("must be a list such as `[a, b]`, found {found}"),
        );
        None
    }

    pub(crate) fn string(&mut self, path: &str, node: &Node) -> Option<String> {
        if let NodeKind::Scalar(Value::String(s), _) = &node.kind {
            return Some(s.clone());
        }
        let found = describe(node);
        self.error(
            path,
            node.loc,
            format!("must be a string, found {found}; quote it"),
        );
        None
    }

    pub(crate) fn number(&mut self, path: &str, node: &Node) -> Option<Number> {
        if let NodeKind::Scalar(Value::Number(n), _) = &node.kind {
            return Some(*n);
        }
        let found = describe(node);
        let fix = match &node.kind {
            NodeKind::Scalar(Value::String(s), _) if s.trim().parse::<f64>().is_ok() => {
                "; remove the quotes"
            }
            _ => "",
        };
        self.error(
            path,
            node.loc,
            format!("must be a number, found {found}{fix}"),
        );
        None
    }

    pub(crate) fn integer(&mut self, path: &str, node: &Node) -> Option<i64> {
        match &node.kind {
            NodeKind::Scalar(Value::Number(Number::Int(i)), _) => Some(*i),
            NodeKind::Scalar(Value::Number(Number::Float(x)), _) => {
                self.error(
                    path,
                    node.loc,
                    format!(
                        "must be an integer, found the float {x}; write it without a decimal point"
                    ),
                );
                None
            }
            _ => {
                let found = describe(node);
                self.error(path, node.loc, format!("must be an integer, found {found}"));
                None
            }
        }
    }

    pub(crate) fn boolean(&mut self, path: &str, node: &Node) -> Option<bool> {
        if let NodeKind::Scalar(Value::Bool(b), _) = &node.kind {
            return Some(*b);
        }
        let found = describe(node);
        self.error(
            path,
            node.loc,
            format!("must be true or false, found {found}"),
        );
        None
    }

    /// Reads one of a fixed set of names (case-sensitive, as W&B is).
    pub(crate) fn choice<T: Copy>(
        &mut self,
        path: &str,
        node: &Node,
        what: &str,
        options: &[(&str, T)],
    ) -> Option<T> {
        let names: Vec<&str> = options.iter().map(|(n, _)| *n).collect();
        if let NodeKind::Scalar(Value::String(s), _) = &node.kind {
            if let Some((_, v)) = options.iter().find(|(n, _)| n == s) {
                return Some(*v);
            }
            let list = names.join(", ");
            let msg = match spelling::closest(s, &names) {
                Some(c) => format!("`{s}` is not {what}; did you mean `{c}`? Use one of {list}"),
                None => format!("`{s}` is not {what}; use one of {list}"),
            };
            self.error(path, node.loc, msg);
            return None;
        }
        let found = describe(node);
        self.error(
            path,
            node.loc,
            format!(
                "must be {what} (one of {}), found {found}",
                names.join(", ")
            ),
        );
        None
    }
}

/// A short description of a node for messages: `a string ("abc")`, `a list`.
pub(crate) fn describe(node: &Node) -> String {
    match &node.kind {
        NodeKind::Scalar(Value::String(s), _) => format!("the string '{s}'"),
        NodeKind::Scalar(Value::Null, _) => "nothing (null)".to_owned(),
        NodeKind::Scalar(v, _) => format!("{} ({v})", v.kind_name()),
        NodeKind::List(_) => "a list".to_owned(),
        NodeKind::Map(_) => "a mapping".to_owned(),
    }
}
