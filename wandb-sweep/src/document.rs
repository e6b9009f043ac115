//! The located document tree: every node of the parsed YAML (or JSON) with its position.

use std::collections::HashMap;

use saphyr_parser::{Event, Parser, ScalarStyle, Span, Tag};

use crate::diagnostic::{Diagnostic, Location};
use crate::scalar::{Pitfall, resolve_plain};
use crate::value::{Number, Value};

/// One node of the document with its location.
#[derive(Debug, Clone)]
pub(crate) struct Node {
    pub(crate) kind: NodeKind,
    pub(crate) loc: Location,
}

/// The shape of a node.
#[derive(Debug, Clone)]
pub(crate) enum NodeKind {
    /// A resolved scalar, with the raw text when its meaning depends on the YAML version.
    Scalar(Value, Option<(Pitfall, String)>),
    List(Vec<Node>),
    Map(Vec<Entry>),
}

/// A mapping entry: the key text, where the key is, and the value.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    pub(crate) key: String,
    pub(crate) key_loc: Location,
    pub(crate) value: Node,
}

impl Node {
    /// The node as a plain value (locations dropped).
    pub(crate) fn to_value(&self) -> Value {
        match &self.kind {
            NodeKind::Scalar(v, _) => v.clone(),
            NodeKind::List(items) => Value::List(items.iter().map(Node::to_value).collect()),
            NodeKind::Map(entries) => Value::Map(
                entries
                    .iter()
                    .map(|e| (e.key.clone(), e.value.to_value()))
                    .collect(),
            ),
        }
    }

    /// The mapping entries, if this node is a mapping.
    pub(crate) fn entries(&self) -> Option<&[Entry]> {
        match &self.kind {
            NodeKind::Map(e) => Some(e),
            _ => None,
        }
    }
}

/// The result of parsing: the root (if the text held a document) and the problems found.
#[derive(Debug)]
pub(crate) struct Parsed {
    pub(crate) root: Option<Node>,
    pub(crate) diagnostics: Vec<Diagnostic>,
}

/// Parses YAML 1.2 (and therefore JSON) text into a located tree.
///
/// Duplicate keys are reported (naming both places); as in PyYAML the last value wins.
pub(crate) fn parse(text: &str) -> Parsed {
    let mut builder = Builder::new(text);
    let root = builder.run();
    Parsed {
        root,
        diagnostics: builder.diagnostics,
    }
}

/// Deeper documents are refused, so that no input can exhaust the stack.
const MAX_DEPTH: usize = 128;

enum Frame {
    List(Location, Vec<Node>, usize),
    Map(Location, Vec<Entry>, Option<(String, Location)>, usize),
}

struct Builder<'a> {
    parser: Parser<'a, saphyr_parser::StrInput<'a>>,
    lines: LineIndex,
    stack: Vec<Frame>,
    anchors: HashMap<usize, Node>,
    diagnostics: Vec<Diagnostic>,
    documents: usize,
}

impl<'a> Builder<'a> {
    fn new(text: &'a str) -> Self {
        Builder {
            parser: Parser::new_from_str(text),
            lines: LineIndex::new(text),
            stack: Vec::new(),
            anchors: HashMap::new(),
            diagnostics: Vec::new(),
            documents: 0,
        }
    }

    fn run(&mut self) -> Option<Node> {
        let mut root = None;
        while let Some(event) = self.parser.next_event() {
            let (event, span) = match event {
                Ok(e) => e,
                Err(err) => {
                    let m = err.marker();
                    let loc = self.lines.location(m.index(), 1);
                    self.diagnostics.push(Diagnostic::error(
                        "",
                        Some(loc),
                        format!("YAML syntax error: {}", err.info()),
                    ));
                    return None;
                }
            };
            if self.stack.len() > MAX_DEPTH {
                let loc = self.loc(span);
                let msg = format!(
                    "nesting deeper than {MAX_DEPTH} levels; a sweep config never needs this"
                );
                self.diagnostics.push(Diagnostic::error("", Some(loc), msg));
                return None;
            }
            if let Some(done) = self.event(event, span) {
                if root.is_none() {
                    root = Some(done);
                } else {
                    self.extra_document(&done);
                }
            }
        }
        root
    }

    fn extra_document(&mut self, node: &Node) {
        self.documents += 1;
        if self.documents == 1 {
            self.diagnostics.push(Diagnostic::error(
                "",
                Some(node.loc),
                "a sweep file holds one YAML document; remove the second `---` document".into(),
            ));
        }
    }

    fn loc(&self, span: Span) -> Location {
        let len = span.end.index().saturating_sub(span.start.index()).max(1);
        self.lines.location(span.start.index(), len)
    }

    /// Handles one event; returns a finished top-level node.
    fn event(&mut self, event: Event<'a>, span: Span) -> Option<Node> {
        let loc = self.loc(span);
        match event {
            Event::Scalar(text, style, anchor, tag) => {
                if self.expecting_key() {
                    // Keys keep their text: `on:` names a key "on", not a boolean.
                    let node = Node {
                        kind: NodeKind::Scalar(Value::String(text.into_owned()), None),
                        loc,
                    };
                    self.remember(anchor, &node);
                    return self.push(node);
                }
                let node = Node {
                    kind: scalar_kind(&text, style, tag.as_deref()),
                    loc,
                };
                self.remember(anchor, &node);
                self.push(node)
            }
            Event::Alias(id) => {
                let node = self.anchors.get(&id).cloned().unwrap_or(Node {
                    kind: NodeKind::Scalar(Value::Null, None),
                    loc,
                });
                self.push(node)
            }
            Event::SequenceStart(anchor, _) => {
                self.stack.push(Frame::List(loc, Vec::new(), anchor));
                None
            }
            Event::MappingStart(anchor, _) => {
                self.stack.push(Frame::Map(loc, Vec::new(), None, anchor));
                None
            }
            Event::SequenceEnd | Event::MappingEnd => self.close(),
            _ => None,
        }
    }

    /// The dotted key path of the innermost open mapping.
    fn path(&self) -> String {
        let mut path = String::new();
        let parents = self.stack.len().saturating_sub(1);
        for frame in &self.stack[..parents] {
            match frame {
                Frame::Map(_, _, Some((key, _)), _) => path = crate::diagnostic::join(&path, key),
                Frame::List(_, items, _) => path.push_str(&format!("[{}]", items.len())),
                Frame::Map(..) => {}
            }
        }
        path
    }

    fn expecting_key(&self) -> bool {
        matches!(self.stack.last(), Some(Frame::Map(_, _, None, _)))
    }

    fn remember(&mut self, anchor: usize, node: &Node) {
        if anchor > 0 {
            self.anchors.insert(anchor, node.clone());
        }
    }

    fn close(&mut self) -> Option<Node> {
        let (node, anchor) = match self.stack.pop()? {
            Frame::List(loc, items, anchor) => (
                Node {
                    kind: NodeKind::List(items),
                    loc,
                },
                anchor,
            ),
            Frame::Map(loc, entries, _, anchor) => (
                Node {
                    kind: NodeKind::Map(entries),
                    loc,
                },
                anchor,
            ),
        };
        self.remember(anchor, &node);
        self.push(node)
    }

    /// Adds a finished node to its parent; returns it when it is the document root.
    fn push(&mut self, node: Node) -> Option<Node> {
        let Some(frame) = self.stack.last_mut() else {
            return Some(node);
        };
        match frame {
            Frame::List(_, items, _) => items.push(node),
            Frame::Map(_, entries, pending, _) => match pending.take() {
                None => *pending = Some(key_text(&node)),
                Some((key, key_loc)) => {
                    let entry = Entry {
                        key,
                        key_loc,
                        value: node,
                    };
                    if let Some(d) = insert_entry(entries, entry) {
                        let path = self.path();
                        self.diagnostics.push(d.under(&path));
                    }
                }
            },
        }
        None
    }
}

/// The text of a mapping key (non-scalar keys are rendered as flow text).
fn key_text(node: &Node) -> (String, Location) {
    let text = match &node.kind {
        NodeKind::Scalar(Value::String(s), _) => s.clone(),
        NodeKind::Scalar(Value::Null, _) => "null".to_owned(),
        _ => node.to_value().to_string(),
    };
    (text, node.loc)
}

/// Inserts an entry, handling `<<` merge keys and duplicates (last value wins, first position).
fn insert_entry(entries: &mut Vec<Entry>, entry: Entry) -> Option<Diagnostic> {
    if entry.key == "<<" {
        merge(entries, &entry.value);
        return None;
    }
    let Some(prev) = entries.iter_mut().find(|e| e.key == entry.key) else {
        entries.push(entry);
        return None;
    };
    let message = format!(
        "duplicate key `{}`: first at line {}, column {}, again here; W&B keeps only the last \
         one, so remove one of them",
        entry.key, prev.key_loc.line, prev.key_loc.column
    );
    let d = Diagnostic::error("", Some(entry.key_loc), message).with_key(&entry.key);
    prev.value = entry.value;
    prev.key_loc = entry.key_loc;
    Some(d)
}

fn merge(entries: &mut Vec<Entry>, source: &Node) {
    let sources: Vec<&Node> = match &source.kind {
        NodeKind::List(items) => items.iter().collect(),
        _ => vec![source],
    };
    for src in sources {
        for e in src.entries().unwrap_or_default() {
            if !entries.iter().any(|x| x.key == e.key) {
                entries.push(e.clone());
            }
        }
    }
}

fn scalar_kind(text: &str, style: ScalarStyle, tag: Option<&Tag>) -> NodeKind {
    if let Some(tag) = tag.filter(|t| t.handle == "tag:yaml.org,2002:" || t.handle == "!!") {
        return NodeKind::Scalar(tagged(text, &tag.suffix), None);
    }
    if style != ScalarStyle::Plain {
        return NodeKind::Scalar(Value::String(text.to_owned()), None);
    }
    let (value, pitfall) = resolve_plain(text);
    NodeKind::Scalar(value, pitfall.map(|p| (p, text.to_owned())))
}

fn tagged(text: &str, suffix: &str) -> Value {
    let (plain, _) = resolve_plain(text);
    match (suffix, plain) {
        ("str", _) => Value::String(text.to_owned()),
        ("float", Value::Number(n)) => Value::Number(Number::Float(n.as_f64())),
        ("int" | "bool" | "null" | "float", v) => v,
        _ => Value::String(text.to_owned()),
    }
}

/// Maps character offsets to lines and columns (both 1-based).
#[derive(Debug)]
struct LineIndex {
    /// Character offset at which each line starts.
    starts: Vec<usize>,
}

impl LineIndex {
    fn new(text: &str) -> Self {
        let mut starts = vec![0];
        for (i, c) in text.chars().enumerate() {
            if c == '\n' {
                starts.push(i + 1);
            }
        }
        LineIndex { starts }
    }

    fn location(&self, offset: usize, len: usize) -> Location {
        let line = self.starts.partition_point(|&s| s <= offset).max(1);
        let column = offset - self.starts[line - 1] + 1;
        Location {
            line,
            column,
            offset,
            len,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn root(text: &str) -> Node {
        let parsed = parse(text);
        assert!(parsed.diagnostics.is_empty(), "{:?}", parsed.diagnostics);
        parsed.root.unwrap()
    }

    #[test]
    fn locations_are_one_based_lines_and_columns() {
        let node = root("method: grid\nparameters:\n  lr:\n    min: 0.5\n");
        let params = &node.entries().unwrap()[1];
        assert_eq!((params.key_loc.line, params.key_loc.column), (2, 1));
        let lr = &params.value.entries().unwrap()[0];
        let min = &lr.value.entries().unwrap()[0];
        assert_eq!((min.value.loc.line, min.value.loc.column), (4, 10));
        assert_eq!(min.value.loc.len, 3);
    }

    #[test]
    fn duplicate_keys_name_both_places_and_last_wins() {
        let parsed = parse("metric: {name: a}\nmethod: grid\nmetric: {name: b}\n");
        assert_eq!(parsed.diagnostics.len(), 1);
        let d = &parsed.diagnostics[0];
        assert!(d.message.contains("line 1, column 1"), "{}", d.message);
        assert_eq!(d.location.unwrap().line, 3);
        let v = parsed.root.unwrap().to_value();
        assert_eq!(v.to_string(), "{metric: {name: b}, method: grid}");
    }

    #[test]
    fn json_parses_with_locations() {
        let node = root("{\"method\": \"grid\", \"parameters\": {\"a\": {\"values\": [1, 2.5]}}}");
        assert_eq!(
            node.to_value().to_string(),
            "{method: grid, parameters: {a: {values: [1, 2.5]}}}"
        );
    }

    #[test]
    fn quoted_and_tagged_scalars_are_strings_when_asked() {
        let v = root("a: '1e-5'\nb: !!str 3\nc: !!float 3\nd: 1e-5\n").to_value();
        assert_eq!(
            v.to_json().to_string(),
            r#"{"a":"1e-5","b":"3","c":3.0,"d":0.00001}"#
        );
    }

    #[test]
    fn anchors_and_merge_keys_resolve() {
        let v = root("base: &b {x: 1}\nother:\n  <<: *b\n  y: 2\n").to_value();
        assert_eq!(v.to_string(), "{base: {x: 1}, other: {x: 1, y: 2}}");
    }

    #[test]
    fn absurd_nesting_is_refused_not_a_stack_overflow() {
        for depth in [200, 100_000] {
            let text = format!("a: {}{}", "[".repeat(depth), "]".repeat(depth));
            let parsed = parse(&text);
            assert!(parsed.root.is_none());
            let msg = &parsed.diagnostics[0].message;
            assert!(
                msg.contains("nesting deeper than 128 levels") || msg.contains("recursion limit"),
                "{msg}"
            );
        }
    }

    #[test]
    fn syntax_errors_are_located() {
        let parsed = parse("a: [1, 2\nb: 3\n");
        assert!(parsed.root.is_none());
        let loc = parsed.diagnostics[0].location.unwrap();
        assert!(loc.line >= 1 && loc.column >= 1);
    }
}
