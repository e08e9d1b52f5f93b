//! A positioned view of a YAML document: every key, value and list item with
//! its 1-based line and column.
//!
//! serde deserialization stops at the first error and forgets where things
//! were, so this tree serves two other purposes: the cross-checks use it to
//! point at the offending key or value, and [`isolate`] cuts one node out of
//! the text (blanking everything else, so lines and columns stay put) to let
//! the parser report errors in each part of a file separately.
//!
//! It is built from the parser's event stream and holds no typed data; it
//! does not resolve aliases (a document that uses them is parsed as a whole).

use serde_saphyr::granit_parser::{Event, Parser, Span};

/// A 1-based line and column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Pos {
    /// 1-based line.
    pub(crate) line: usize,
    /// 1-based column.
    pub(crate) column: usize,
}

/// One node of the document.
#[derive(Debug, Clone)]
pub(crate) struct Node {
    /// What the node is.
    pub(crate) kind: NodeKind,
    /// Where it starts.
    pub(crate) pos: Pos,
    /// Character index of the first character.
    start: usize,
    /// Character index one past the last character.
    end: usize,
}

/// The shape of a node.
#[derive(Debug, Clone)]
pub(crate) enum NodeKind {
    /// A scalar, after escape processing.
    Scalar(String),
    /// A sequence.
    Seq(Vec<Node>),
    /// A mapping, in document order.
    Map(Vec<(Node, Node)>),
    /// An alias (`*name`); not followed.
    Alias,
}

/// A parsed document.
#[derive(Debug, Clone)]
pub(crate) struct YamlTree {
    /// The root node; `None` for an empty document.
    pub(crate) root: Option<Node>,
    /// Whether the document uses aliases, which [`isolate`] cannot follow.
    pub(crate) has_aliases: bool,
}

/// A collection being built.
enum Frame {
    Seq(Node, Vec<Node>),
    Map(Node, Vec<(Node, Node)>, Option<Node>),
}

impl YamlTree {
    /// Parse `text`; `None` when it is not well-formed YAML (the typed parse
    /// reports that error with its position).
    pub(crate) fn parse(text: &str) -> Option<Self> {
        let mut stack: Vec<Frame> = Vec::new();
        let mut root = None;
        let mut has_aliases = false;
        for event in Parser::new_from_str(text) {
            let (event, span) = event.ok()?;
            let finished = match event {
                Event::Scalar(value, ..) => Some(leaf(NodeKind::Scalar(value.into_owned()), span)),
                Event::Alias(_) => {
                    has_aliases = true;
                    Some(leaf(NodeKind::Alias, span))
                }
                Event::SequenceStart(..) => {
                    stack.push(Frame::Seq(
                        leaf(NodeKind::Seq(Vec::new()), span),
                        Vec::new(),
                    ));
                    None
                }
                Event::MappingStart(..) => {
                    let node = leaf(NodeKind::Map(Vec::new()), span);
                    stack.push(Frame::Map(node, Vec::new(), None));
                    None
                }
                Event::SequenceEnd | Event::MappingEnd => Some(close(stack.pop()?, span)),
                Event::DocumentEnd => break,
                _ => None,
            };
            if let Some(node) = finished {
                match stack.last_mut() {
                    None => root = Some(node),
                    Some(Frame::Seq(_, items)) => items.push(node),
                    Some(Frame::Map(_, entries, pending)) => match pending.take() {
                        None => *pending = Some(node),
                        Some(key) => entries.push((key, node)),
                    },
                }
            }
        }
        Some(Self { root, has_aliases })
    }
}

fn leaf(kind: NodeKind, span: Span) -> Node {
    Node {
        kind,
        pos: Pos {
            line: span.start.line(),
            column: span.start.col() + 1,
        },
        start: span.start.index(),
        end: span.end.index(),
    }
}

fn close(frame: Frame, span: Span) -> Node {
    let (mut node, kind) = match frame {
        Frame::Seq(node, items) => (node, NodeKind::Seq(items)),
        Frame::Map(node, entries, _) => (node, NodeKind::Map(entries)),
    };
    node.kind = kind;
    node.end = span.end.index().max(node.end);
    node
}

impl Node {
    /// The scalar's text, if this is a scalar.
    pub(crate) fn as_str(&self) -> Option<&str> {
        match &self.kind {
            NodeKind::Scalar(s) => Some(s),
            _ => None,
        }
    }

    /// The entries of a mapping (empty for anything else).
    pub(crate) fn entries(&self) -> &[(Node, Node)] {
        match &self.kind {
            NodeKind::Map(entries) => entries,
            _ => &[],
        }
    }

    /// The items of a sequence (empty for anything else).
    pub(crate) fn items(&self) -> &[Node] {
        match &self.kind {
            NodeKind::Seq(items) => items,
            _ => &[],
        }
    }

    /// Whether this is a mapping.
    pub(crate) fn is_map(&self) -> bool {
        matches!(self.kind, NodeKind::Map(_))
    }

    /// The key and value nodes of `key` in a mapping.
    pub(crate) fn entry(&self, key: &str) -> Option<(&Node, &Node)> {
        self.entries()
            .iter()
            .find(|(k, _)| k.as_str() == Some(key))
            .map(|(k, v)| (k, v))
    }

    /// The value of `key` in a mapping.
    pub(crate) fn get(&self, key: &str) -> Option<&Node> {
        self.entry(key).map(|(_, v)| v)
    }

    /// The value at a path of mapping keys.
    pub(crate) fn at(&self, path: &[&str]) -> Option<&Node> {
        path.iter().try_fold(self, |node, key| node.get(key))
    }
}

/// A character range of the document.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Range {
    start: usize,
    end: usize,
}

impl Range {
    /// The range of one node.
    pub(crate) fn of(node: &Node) -> Self {
        Self {
            start: node.start,
            end: node.end,
        }
    }

    /// The range of one mapping entry, key through value.
    pub(crate) fn entry(key: &Node, value: &Node) -> Self {
        Self {
            start: key.start,
            end: value.end.max(key.end),
        }
    }
}

/// `text` with everything outside `keep` and inside any of `drop` replaced
/// by spaces (line breaks stay), so the kept part parses on its own and
/// reports the same lines and columns. A dropped range also swallows the
/// comma that separated it from the next flow entry.
pub(crate) fn isolate(text: &str, keep: Range, drop: &[Range]) -> String {
    let mut out = String::with_capacity(text.len());
    let mut swallow_comma = false;
    for (index, ch) in text.chars().enumerate() {
        let dropped = drop.iter().any(|r| (r.start..r.end).contains(&index));
        let kept = (keep.start..keep.end).contains(&index) && !dropped;
        if dropped {
            swallow_comma = true;
        }
        if ch == '\n' || ch == '\r' {
            out.push(ch);
        } else if kept && swallow_comma && ch == ',' {
            swallow_comma = false;
            out.push(' ');
        } else if kept {
            if !ch.is_whitespace() {
                swallow_comma = false;
            }
            out.push(ch);
        } else {
            out.push(' ');
        }
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
