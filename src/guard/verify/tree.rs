//! libpg_query's tree, walked straight from the JSON text it prints
//! ([`pg_grammar::parse_json`]): every object entry (a node keyed by its
//! type, or a field keyed by its name), in the order printed, without
//! building the tree first.
//!
//! An [`Inspector`] is shown every entry under a key it asks for
//! ([`Inspector::reads`]) once everything inside it has been shown. The
//! entry's value comes as a [`Tree`] holding, in full, the fields the
//! inspector said it reads for that key; everything else is walked and
//! dropped. So the walk stays generic (a node kind the inspector does not
//! name is still searched for the kinds it does) while it allocates only
//! for the few fields that are checked, and names and texts are borrowed
//! from the JSON wherever they hold no escape.
//!
//! The document's own frame (`version`, `stmts`, and each statement's
//! `stmt`, `stmt_location` and `stmt_len`) is read by [`statements`],
//! which returns the node type of every statement; any other entry there
//! is walked like the rest.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::Number;

/// One value of the tree, borrowing from the JSON text `'t`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Tree<'t> {
    /// JSON `null`.
    Null,
    /// A boolean field.
    Bool(bool),
    /// A number.
    Number(Number),
    /// A string (enums are their names).
    Str(Cow<'t, str>),
    /// A list.
    List(Vec<Tree<'t>>),
    /// A node or struct: its entries, in order.
    Object(Vec<(Cow<'t, str>, Tree<'t>)>),
}

/// What a walk shows every entry to.
pub(crate) trait Inspector {
    /// Why the walk stops.
    type Error;

    /// Whether [`Inspector::inspect`] is shown entries under `key`
    /// (`None`: not shown, though still walked for the entries inside),
    /// and the fields of such an entry's object it reads: the walk keeps
    /// them, and everything inside them, for it.
    fn reads(&self, key: &str) -> Option<&'static [&'static str]>;

    /// One entry under a key [`Inspector::reads`] asks for, after every
    /// entry inside it. `value` holds the fields `reads` names for `key`;
    /// of a value under a key it names none for, only the shape is kept
    /// (an object or list without entries, an empty string), and numbers,
    /// booleans and nulls.
    fn inspect(&mut self, key: &str, value: &Tree<'_>) -> Result<(), Self::Error>;
}

/// Why a walk stopped.
#[derive(Debug)]
pub(crate) enum Stop<E> {
    /// The inspector refused an entry.
    Refused(E),
    /// The tree nests deeper than the walk follows.
    TooDeep,
    /// The text is not the JSON document libpg_query prints.
    Malformed(String),
}

/// Walk the document `json`, showing every entry inside its statements to
/// `inspector` and following at most `max_depth` levels (each entry and
/// each list item is one level); return each statement's node type
/// (`SelectStmt`, …), in order. A statement printed with no node, or with
/// more than one, counts each of them.
pub(crate) fn statements<I: Inspector>(
    json: &str,
    inspector: &mut I,
    max_depth: usize,
) -> Result<Vec<String>, Stop<I::Error>> {
    let mut state = State {
        inspector,
        refused: None,
        too_deep: false,
        max_depth,
    };
    let mut kinds = Vec::new();
    let walked = read_whole(
        json,
        Frame {
            state: &mut state,
            kinds: &mut kinds,
            level: Level::Document,
        },
    );
    match (walked, state.refused, state.too_deep) {
        (_, Some(refusal), _) => Err(Stop::Refused(refusal)),
        (_, None, true) => Err(Stop::TooDeep),
        (Err(e), None, false) => Err(Stop::Malformed(e.to_string())),
        (Ok(()), None, false) => Ok(kinds),
    }
}

/// Read all of `json` with `seed`: one value and nothing after it.
fn read_whole<'de, S: DeserializeSeed<'de>>(
    json: &'de str,
    seed: S,
) -> serde_json::Result<S::Value> {
    let mut reader = serde_json::Deserializer::from_str(json);
    // The walk bounds the depth itself (`max_depth`); serde_json's own
    // bound of 128 would refuse ordinary queries of a few dozen levels.
    reader.disable_recursion_limit();
    let value = seed.deserialize(&mut reader)?;
    reader.end()?;
    Ok(value)
}

impl<'t> Tree<'t> {
    /// The whole tree of a JSON text.
    #[cfg(test)]
    pub(crate) fn of(json: &'t str) -> Result<Tree<'t>, Stop<std::convert::Infallible>> {
        /// Reads nothing and refuses nothing.
        struct Nothing;
        impl Inspector for Nothing {
            type Error = std::convert::Infallible;
            fn reads(&self, _: &str) -> Option<&'static [&'static str]> {
                None
            }
            fn inspect(&mut self, _: &str, _: &Tree<'_>) -> Result<(), Self::Error> {
                Ok(())
            }
        }
        let mut state = State {
            inspector: &mut Nothing,
            refused: None,
            too_deep: false,
            max_depth: usize::MAX,
        };
        let walker = Walker {
            state: &mut state,
            mode: Mode::Keep,
            depth: 0,
        };
        read_whole(json, walker).map_err(|e| Stop::Malformed(e.to_string()))
    }

    /// The entry `key` of an object.
    pub(crate) fn get(&self, key: &str) -> Option<&Tree<'t>> {
        match self {
            Tree::Object(entries) => entries.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    pub(crate) fn as_str(&self) -> Option<&str> {
        match self {
            Tree::Str(s) => Some(s),
            _ => None,
        }
    }

    pub(crate) fn as_bool(&self) -> Option<bool> {
        match self {
            Tree::Bool(b) => Some(*b),
            _ => None,
        }
    }

    pub(crate) fn as_list(&self) -> Option<&[Tree<'t>]> {
        match self {
            Tree::List(items) => Some(items),
            _ => None,
        }
    }

    pub(crate) fn is_object(&self) -> bool {
        matches!(self, Tree::Object(_))
    }

    pub(crate) fn is_null(&self) -> bool {
        matches!(self, Tree::Null)
    }
}

/// Compact JSON, as `serde_json`'s `Value` prints.
impl fmt::Display for Tree<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let quoted = |f: &mut fmt::Formatter<'_>, s: &str| match serde_json::to_string(s) {
            Ok(text) => f.write_str(&text),
            Err(_) => Err(fmt::Error),
        };
        match self {
            Tree::Null => f.write_str("null"),
            Tree::Bool(b) => write!(f, "{b}"),
            Tree::Number(n) => write!(f, "{n}"),
            Tree::Str(s) => quoted(f, s),
            Tree::List(items) => {
                f.write_str("[")?;
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(",")?;
                    }
                    write!(f, "{item}")?;
                }
                f.write_str("]")
            }
            Tree::Object(entries) => {
                f.write_str("{")?;
                for (i, (key, value)) in entries.iter().enumerate() {
                    if i > 0 {
                        f.write_str(",")?;
                    }
                    quoted(f, key)?;
                    write!(f, ":{value}")?;
                }
                f.write_str("}")
            }
        }
    }
}

/// How much of a value the walk keeps.
#[derive(Debug, Clone, Copy)]
enum Mode {
    /// Its shape only: it is walked for the entries inside, then dropped.
    Skip,
    /// Of an object, these entries; any other value in full.
    Fields(&'static [&'static str]),
    /// All of it.
    Keep,
}

impl Mode {
    /// The mode of the value of the entry `key` in a value of this mode,
    /// when the inspector reads `fields` of it.
    fn entry(self, key: &str, fields: Option<&'static [&'static str]>) -> Mode {
        match (self, fields) {
            (Mode::Keep, _) => Mode::Keep,
            (Mode::Fields(kept), _) if kept.contains(&key) => Mode::Keep,
            (_, None | Some([])) => Mode::Skip,
            (_, Some(fields)) => Mode::Fields(fields),
        }
    }

    /// The mode of a list item in a list of this mode.
    fn item(self) -> Mode {
        match self {
            Mode::Skip => Mode::Skip,
            _ => Mode::Keep,
        }
    }

    /// Whether a value of this mode keeps its entry `key`.
    fn keeps_entry(self, key: &str) -> bool {
        match self {
            Mode::Skip => false,
            Mode::Fields(fields) => fields.contains(&key),
            Mode::Keep => true,
        }
    }

    /// Whether a value of this mode keeps its contents.
    fn keeps(self) -> bool {
        !matches!(self, Mode::Skip)
    }
}

/// What every level of one walk shares. serde's errors carry no value, so
/// why a walk stopped waits here.
struct State<'i, I: Inspector> {
    inspector: &'i mut I,
    /// The inspector's refusal, once it refused.
    refused: Option<I::Error>,
    /// Whether the walk went deeper than `max_depth`.
    too_deep: bool,
    max_depth: usize,
}

impl<I: Inspector> State<'_, I> {
    /// Walk the value of the entry `key`, in a value of `mode` at `depth`,
    /// from `map`; then show the entry, if the inspector asks for it.
    fn entry<'de, A: MapAccess<'de>>(
        &mut self,
        mode: Mode,
        depth: usize,
        key: &str,
        map: &mut A,
    ) -> Result<Tree<'de>, A::Error> {
        let reads = self.inspector.reads(key);
        let tree = map.next_value_seed(Walker {
            state: self,
            mode: mode.entry(key, reads),
            depth: depth.saturating_add(1),
        })?;
        if reads.is_some() {
            self.inspector.inspect(key, &tree).map_err(|refusal| {
                self.refused = Some(refusal);
                de::Error::custom("refused")
            })?;
        }
        Ok(tree)
    }
}

/// Walks one value of `mode` at `depth`.
struct Walker<'s, 'i, I: Inspector> {
    state: &'s mut State<'i, I>,
    mode: Mode,
    depth: usize,
}

impl<'de, I: Inspector> DeserializeSeed<'de> for Walker<'_, '_, I> {
    type Value = Tree<'de>;

    fn deserialize<D: de::Deserializer<'de>>(self, reader: D) -> Result<Tree<'de>, D::Error> {
        if self.depth > self.state.max_depth {
            self.state.too_deep = true;
            return Err(de::Error::custom("the tree nests too deep"));
        }
        reader.deserialize_any(self)
    }
}

impl<'de, I: Inspector> Visitor<'de> for Walker<'_, '_, I> {
    type Value = Tree<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Tree<'de>, E> {
        Ok(Tree::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Tree<'de>, E> {
        Ok(Tree::Number(v.into()))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Tree<'de>, E> {
        Ok(Tree::Number(v.into()))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Tree<'de>, E> {
        Ok(Number::from_f64(v).map_or(Tree::Null, Tree::Number))
    }
    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Tree<'de>, E> {
        Ok(Tree::Str(Cow::Borrowed(if self.mode.keeps() {
            v
        } else {
            ""
        })))
    }
    fn visit_str<E>(self, v: &str) -> Result<Tree<'de>, E> {
        Ok(Tree::Str(if self.mode.keeps() {
            Cow::Owned(v.to_owned())
        } else {
            Cow::Borrowed("")
        }))
    }
    fn visit_unit<E>(self) -> Result<Tree<'de>, E> {
        Ok(Tree::Null)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Tree<'de>, A::Error> {
        let Walker { state, mode, depth } = self;
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(Walker {
            state: &mut *state,
            mode: mode.item(),
            depth: depth.saturating_add(1),
        })? {
            if mode.keeps() {
                items.push(item);
            }
        }
        Ok(Tree::List(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Tree<'de>, A::Error> {
        let Walker { state, mode, depth } = self;
        let mut entries = Vec::new();
        while let Some(key) = map.next_key_seed(Key)? {
            let tree = state.entry(mode, depth, &key, &mut map)?;
            if mode.keeps_entry(&key) {
                insert(&mut entries, key, tree);
            }
        }
        Ok(Tree::Object(entries))
    }
}

/// A later entry with the same key replaces the earlier one, as in
/// `serde_json`'s `Value`.
fn insert<'t>(entries: &mut Vec<(Cow<'t, str>, Tree<'t>)>, key: Cow<'t, str>, value: Tree<'t>) {
    match entries.iter_mut().find(|(k, _)| *k == key) {
        Some(entry) => entry.1 = value,
        None => entries.push((key, value)),
    }
}

/// An object's key, borrowed from the text unless it holds escapes.
struct Key;

impl<'de> DeserializeSeed<'de> for Key {
    type Value = Cow<'de, str>;

    fn deserialize<D: de::Deserializer<'de>>(self, reader: D) -> Result<Self::Value, D::Error> {
        reader.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for Key {
    type Value = Cow<'de, str>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a key")
    }
    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Cow::Borrowed(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v.to_owned()))
    }
}

/// A level of the document's frame, above the statements' nodes.
#[derive(Debug, Clone, Copy)]
enum Level {
    /// `{"version": …, "stmts": […]}`.
    Document,
    /// The `stmts` list.
    Statements,
    /// `{"stmt": {…}, "stmt_location": …, "stmt_len": …}`.
    Statement,
    /// `{"SelectStmt": {…}}`: the key is the statement's node type.
    Node,
}

impl Level {
    /// The depth of a value at this level, as the walk counts it.
    fn depth(self) -> usize {
        match self {
            Level::Document => 0,
            Level::Statements => 1,
            Level::Statement => 2,
            Level::Node => 3,
        }
    }
}

/// Reads the frame at `level`, collecting statement node types into
/// `kinds` and walking everything else.
struct Frame<'s, 'i, 'k, I: Inspector> {
    state: &'s mut State<'i, I>,
    kinds: &'k mut Vec<String>,
    level: Level,
}

impl<'de, I: Inspector> DeserializeSeed<'de> for Frame<'_, '_, '_, I> {
    type Value = ();

    fn deserialize<D: de::Deserializer<'de>>(self, reader: D) -> Result<(), D::Error> {
        match self.level {
            Level::Statements => reader.deserialize_seq(self),
            _ => reader.deserialize_map(self),
        }
    }
}

impl<'de, I: Inspector> Visitor<'de> for Frame<'_, '_, '_, I> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self.level {
            Level::Document => "libpg_query's parse result",
            Level::Statements => "a list of statements",
            Level::Statement => "a statement",
            Level::Node => "a statement's node",
        })
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let Frame { state, kinds, .. } = self;
        while let Some(()) = seq.next_element_seed(Frame {
            state: &mut *state,
            kinds: &mut *kinds,
            level: Level::Statement,
        })? {}
        Ok(())
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let Frame {
            state,
            kinds,
            level,
        } = self;
        while let Some(key) = map.next_key_seed(Key)? {
            let inner = match (level, key.as_ref()) {
                (Level::Document, "stmts") => Some(Level::Statements),
                (Level::Statement, "stmt") => Some(Level::Node),
                _ => None,
            };
            match inner {
                Some(inner) => map.next_value_seed(Frame {
                    state: &mut *state,
                    kinds: &mut *kinds,
                    level: inner,
                })?,
                None => {
                    if matches!(level, Level::Node) {
                        kinds.push(key.to_string());
                    }
                    state.entry(Mode::Skip, level.depth(), &key, &mut map)?;
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
pub(super) mod tests;
