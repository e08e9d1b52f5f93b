//! libpg_query's tree, walked straight from its serde form: every field and
//! every oneof variant, keyed by name, in declaration order (the view
//! `serde_json::to_value` gives), without building the tree first.
//!
//! An [`Inspector`] is shown every keyed entry (a field, a oneof variant, a
//! map entry) once everything inside it has been shown. The entry's value
//! comes as a [`Tree`] holding, in full, the fields the inspector said it
//! reads for that key ([`Inspector::reads`]); everything else is walked and
//! dropped. So the walk stays generic (a node kind the inspector does not
//! name is still searched for the kinds it does) while it allocates only
//! for the few fields that are checked: building the whole tree first cost
//! more than PostgreSQL's parse itself.
//!
//! [`Tree`]'s `Display` prints the JSON text `serde_json` would, so what a
//! check reports about a kept value is what it reported about the JSON.

use std::borrow::Cow;
use std::fmt;

use serde::ser::{self, Serialize};
use serde_json::Number;

/// One value of the tree.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Tree {
    /// `None`, `()` and non-finite floats, as in JSON.
    Null,
    /// A boolean field.
    Bool(bool),
    /// An integer or finite float (enums are their numbers).
    Number(Number),
    /// A string field (or a unit variant's name).
    Str(String),
    /// A repeated field, tuple or byte string.
    List(Vec<Tree>),
    /// A message (fields by name) or a oneof (one entry: the variant).
    Object(Vec<(Cow<'static, str>, Tree)>),
}

/// What a walk shows every entry to.
pub(crate) trait Inspector {
    /// Why the walk stops.
    type Error;

    /// The fields of the message under `key` that [`Inspector::inspect`]
    /// reads; the walk keeps them, and everything inside them, for it.
    fn reads(&self, key: &str) -> &'static [&'static str];

    /// One entry, after every entry inside it. `value` holds the fields
    /// [`Inspector::reads`] names for `key`; of a value under a key it
    /// names none for, only the shape is kept (a message or list without
    /// entries, an empty string), and numbers, booleans and nulls.
    fn inspect(&mut self, key: &str, value: &Tree) -> Result<(), Self::Error>;
}

/// Why a walk stopped.
#[derive(Debug)]
pub(crate) enum Stop<E> {
    /// The inspector refused an entry.
    Refused(E),
    /// The tree nests deeper than the walk follows.
    TooDeep,
    /// The value has no tree (a map key that is not a string or number).
    Malformed(String),
}

/// Show every entry of `value` to `inspector`, following at most
/// `max_depth` levels (each entry and each list item is one level).
pub(crate) fn walk<T, I>(
    value: &T,
    inspector: &mut I,
    max_depth: usize,
) -> Result<(), Stop<I::Error>>
where
    T: Serialize + ?Sized,
    I: Inspector,
{
    build(value, Mode::Skip, inspector, max_depth).map(drop)
}

impl Tree {
    /// The whole tree of any serializable value.
    #[cfg(test)]
    pub(crate) fn of<T: Serialize + ?Sized>(
        value: &T,
    ) -> Result<Tree, Stop<std::convert::Infallible>> {
        /// Reads nothing and refuses nothing.
        struct Nothing;
        impl Inspector for Nothing {
            type Error = std::convert::Infallible;
            fn reads(&self, _: &str) -> &'static [&'static str] {
                &[]
            }
            fn inspect(&mut self, _: &str, _: &Tree) -> Result<(), Self::Error> {
                Ok(())
            }
        }
        build(value, Mode::Keep, &mut Nothing, usize::MAX)
    }

    /// The entry `key` of an object.
    pub(crate) fn get(&self, key: &str) -> Option<&Tree> {
        match self {
            Tree::Object(entries) => entries.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// Follow a path of object keys.
    pub(crate) fn path(&self, keys: &[&str]) -> Option<&Tree> {
        keys.iter().try_fold(self, |tree, key| tree.get(key))
    }

    pub(crate) fn as_str(&self) -> Option<&str> {
        match self {
            Tree::Str(s) => Some(s),
            _ => None,
        }
    }

    pub(crate) fn as_i64(&self) -> Option<i64> {
        match self {
            Tree::Number(n) => n.as_i64(),
            _ => None,
        }
    }

    pub(crate) fn as_bool(&self) -> Option<bool> {
        match self {
            Tree::Bool(b) => Some(*b),
            _ => None,
        }
    }

    pub(crate) fn as_list(&self) -> Option<&[Tree]> {
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
impl fmt::Display for Tree {
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
    /// Of a message, these fields; any other value in full.
    Fields(&'static [&'static str]),
    /// All of it.
    Keep,
}

impl Mode {
    /// The mode of the value of the entry `key` in a value of this mode.
    fn entry(self, key: &str, inspector: &impl Inspector) -> Mode {
        match self {
            Mode::Keep => Mode::Keep,
            Mode::Fields(fields) if fields.contains(&key) => Mode::Keep,
            _ => match inspector.reads(key) {
                [] => Mode::Skip,
                fields => Mode::Fields(fields),
            },
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

fn build<T, I>(
    value: &T,
    mode: Mode,
    inspector: &mut I,
    max_depth: usize,
) -> Result<Tree, Stop<I::Error>>
where
    T: Serialize + ?Sized,
    I: Inspector,
{
    let mut state = State {
        inspector,
        refused: None,
        max_depth,
    };
    let built = value.serialize(Walker {
        state: &mut state,
        mode,
        depth: 0,
    });
    match (built, state.refused) {
        (_, Some(refusal)) => Err(Stop::Refused(refusal)),
        (Ok(tree), None) => Ok(tree),
        (Err(WalkError::TooDeep), None) => Err(Stop::TooDeep),
        (Err(WalkError::Custom(message)), None) => Err(Stop::Malformed(message)),
        (Err(WalkError::Refused), None) => {
            Err(Stop::Malformed("a refusal without a reason".into()))
        }
    }
}

/// The serde error of a walk; a refusal's reason waits in [`State`].
#[derive(Debug)]
enum WalkError {
    Refused,
    TooDeep,
    Custom(String),
}

impl fmt::Display for WalkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WalkError::Refused => f.write_str("refused"),
            WalkError::TooDeep => f.write_str("too deep"),
            WalkError::Custom(message) => f.write_str(message),
        }
    }
}

impl std::error::Error for WalkError {}

impl ser::Error for WalkError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        WalkError::Custom(msg.to_string())
    }
}

/// What every level of one walk shares.
struct State<'i, I: Inspector> {
    inspector: &'i mut I,
    /// The inspector's refusal, once it refused.
    refused: Option<I::Error>,
    max_depth: usize,
}

impl<I: Inspector> State<'_, I> {
    /// Walk the value of the entry `key` of a value of `mode` at `depth`,
    /// then show the entry.
    fn entry<T: Serialize + ?Sized>(
        &mut self,
        mode: Mode,
        depth: usize,
        key: &str,
        value: &T,
    ) -> Result<Tree, WalkError> {
        let depth = self.deeper(depth)?;
        let mode = mode.entry(key, &*self.inspector);
        let tree = value.serialize(Walker {
            state: self,
            mode,
            depth,
        })?;
        self.inspect(key, &tree)?;
        Ok(tree)
    }

    /// Walk a list item of a list of `mode` at `depth`.
    fn item<T: Serialize + ?Sized>(
        &mut self,
        mode: Mode,
        depth: usize,
        value: &T,
    ) -> Result<Tree, WalkError> {
        let depth = self.deeper(depth)?;
        value.serialize(Walker {
            state: self,
            mode: mode.item(),
            depth,
        })
    }

    fn inspect(&mut self, key: &str, tree: &Tree) -> Result<(), WalkError> {
        self.inspector.inspect(key, tree).map_err(|refusal| {
            self.refused = Some(refusal);
            WalkError::Refused
        })
    }

    fn deeper(&self, depth: usize) -> Result<usize, WalkError> {
        match depth.checked_add(1) {
            Some(deeper) if deeper <= self.max_depth => Ok(deeper),
            _ => Err(WalkError::TooDeep),
        }
    }
}

/// The serializer: walks one value of `mode` at `depth`.
struct Walker<'s, 'i, I: Inspector> {
    state: &'s mut State<'i, I>,
    mode: Mode,
    depth: usize,
}

fn number(n: impl Into<Number>) -> Tree {
    Tree::Number(n.into())
}

fn variant(name: &'static str, value: Tree) -> Tree {
    Tree::Object(vec![(Cow::Borrowed(name), value)])
}

impl<'s, 'i, I: Inspector> Walker<'s, 'i, I> {
    fn text(&self, text: impl FnOnce() -> String) -> Tree {
        Tree::Str(if self.mode.keeps() {
            text()
        } else {
            String::new()
        })
    }

    /// Where the contents of a compound value go: for a tuple or struct
    /// variant, one level deeper, under the variant's name as the key.
    #[allow(clippy::type_complexity)]
    fn contents(
        self,
        variant: Option<&'static str>,
    ) -> Result<(&'s mut State<'i, I>, Mode, usize, Option<Outer>), WalkError> {
        let Walker { state, mode, depth } = self;
        Ok(match variant {
            Some(name) => {
                let inner = mode.entry(name, &*state.inspector);
                let deeper = state.deeper(depth)?;
                (state, inner, deeper, Some(Outer { name, mode }))
            }
            None => (state, mode, depth, None),
        })
    }

    /// A variant entry (`name` holding `value`): walked and shown like any
    /// entry, kept as a one-entry object when this value is kept.
    fn variant_of(self, name: &'static str, value: Tree) -> Tree {
        if self.mode.keeps() {
            variant(name, value)
        } else {
            Tree::Object(Vec::new())
        }
    }
}

impl<'s, 'i, I: Inspector> ser::Serializer for Walker<'s, 'i, I> {
    type Ok = Tree;
    type Error = WalkError;
    type SerializeSeq = Seq<'s, 'i, I>;
    type SerializeTuple = Seq<'s, 'i, I>;
    type SerializeTupleStruct = Seq<'s, 'i, I>;
    type SerializeTupleVariant = Seq<'s, 'i, I>;
    type SerializeMap = Map<'s, 'i, I>;
    type SerializeStruct = Fields<'s, 'i, I>;
    type SerializeStructVariant = Fields<'s, 'i, I>;

    fn serialize_bool(self, v: bool) -> Result<Tree, WalkError> {
        Ok(Tree::Bool(v))
    }
    fn serialize_i8(self, v: i8) -> Result<Tree, WalkError> {
        Ok(number(v))
    }
    fn serialize_i16(self, v: i16) -> Result<Tree, WalkError> {
        Ok(number(v))
    }
    fn serialize_i32(self, v: i32) -> Result<Tree, WalkError> {
        Ok(number(v))
    }
    fn serialize_i64(self, v: i64) -> Result<Tree, WalkError> {
        Ok(number(v))
    }
    fn serialize_u8(self, v: u8) -> Result<Tree, WalkError> {
        Ok(number(v))
    }
    fn serialize_u16(self, v: u16) -> Result<Tree, WalkError> {
        Ok(number(v))
    }
    fn serialize_u32(self, v: u32) -> Result<Tree, WalkError> {
        Ok(number(v))
    }
    fn serialize_u64(self, v: u64) -> Result<Tree, WalkError> {
        Ok(number(v))
    }
    fn serialize_f32(self, v: f32) -> Result<Tree, WalkError> {
        self.serialize_f64(f64::from(v))
    }
    fn serialize_f64(self, v: f64) -> Result<Tree, WalkError> {
        Ok(Number::from_f64(v).map_or(Tree::Null, Tree::Number))
    }
    fn serialize_char(self, v: char) -> Result<Tree, WalkError> {
        Ok(self.text(|| v.to_string()))
    }
    fn serialize_str(self, v: &str) -> Result<Tree, WalkError> {
        Ok(self.text(|| v.to_owned()))
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<Tree, WalkError> {
        let items = if self.mode.keeps() {
            v.iter().map(|b| number(*b)).collect()
        } else {
            Vec::new()
        };
        Ok(Tree::List(items))
    }
    fn serialize_none(self) -> Result<Tree, WalkError> {
        Ok(Tree::Null)
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<Tree, WalkError> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<Tree, WalkError> {
        Ok(Tree::Null)
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<Tree, WalkError> {
        Ok(Tree::Null)
    }
    fn serialize_unit_variant(
        self,
        _: &'static str,
        _: u32,
        name: &'static str,
    ) -> Result<Tree, WalkError> {
        Ok(self.text(|| name.to_owned()))
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        value: &T,
    ) -> Result<Tree, WalkError> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        name: &'static str,
        value: &T,
    ) -> Result<Tree, WalkError> {
        let tree = self.state.entry(self.mode, self.depth, name, value)?;
        Ok(self.variant_of(name, tree))
    }
    fn serialize_seq(self, len: Option<usize>) -> Result<Seq<'s, 'i, I>, WalkError> {
        Seq::new(self, len.unwrap_or(0), None)
    }
    fn serialize_tuple(self, len: usize) -> Result<Seq<'s, 'i, I>, WalkError> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_struct(
        self,
        _: &'static str,
        len: usize,
    ) -> Result<Seq<'s, 'i, I>, WalkError> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        name: &'static str,
        len: usize,
    ) -> Result<Seq<'s, 'i, I>, WalkError> {
        Seq::new(self, len, Some(name))
    }
    fn serialize_map(self, len: Option<usize>) -> Result<Map<'s, 'i, I>, WalkError> {
        let capacity = if self.mode.keeps() {
            len.unwrap_or(0)
        } else {
            0
        };
        Ok(Map {
            state: self.state,
            mode: self.mode,
            depth: self.depth,
            entries: Vec::with_capacity(capacity),
            key: None,
        })
    }
    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Fields<'s, 'i, I>, WalkError> {
        Fields::new(self, None)
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        name: &'static str,
        _: usize,
    ) -> Result<Fields<'s, 'i, I>, WalkError> {
        Fields::new(self, Some(name))
    }
}

/// A tuple or struct variant: its name, and the mode of the value it is
/// (its contents are one level deeper, under its name).
struct Outer {
    name: &'static str,
    mode: Mode,
}

/// A sequence, tuple or tuple variant being walked.
struct Seq<'s, 'i, I: Inspector> {
    state: &'s mut State<'i, I>,
    mode: Mode,
    depth: usize,
    items: Vec<Tree>,
    outer: Option<Outer>,
}

impl<'s, 'i, I: Inspector> Seq<'s, 'i, I> {
    fn new(
        walker: Walker<'s, 'i, I>,
        len: usize,
        variant: Option<&'static str>,
    ) -> Result<Self, WalkError> {
        let (state, mode, depth, outer) = walker.contents(variant)?;
        let capacity = if mode.keeps() { len } else { 0 };
        Ok(Seq {
            state,
            mode,
            depth,
            items: Vec::with_capacity(capacity),
            outer,
        })
    }

    fn push<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), WalkError> {
        let tree = self.state.item(self.mode, self.depth, value)?;
        if self.mode.keeps() {
            self.items.push(tree);
        }
        Ok(())
    }

    fn finish(self) -> Result<Tree, WalkError> {
        let list = Tree::List(self.items);
        finish_variant(self.state, self.outer, list)
    }
}

/// The value of a tuple or struct variant, once its contents are walked:
/// the variant entry is shown, then kept as its outer value's mode says.
fn finish_variant<I: Inspector>(
    state: &mut State<'_, I>,
    outer: Option<Outer>,
    inner: Tree,
) -> Result<Tree, WalkError> {
    let Some(Outer { name, mode }) = outer else {
        return Ok(inner);
    };
    state.inspect(name, &inner)?;
    Ok(if mode.keeps() {
        variant(name, inner)
    } else {
        Tree::Object(Vec::new())
    })
}

impl<I: Inspector> ser::SerializeSeq for Seq<'_, '_, I> {
    type Ok = Tree;
    type Error = WalkError;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), WalkError> {
        self.push(value)
    }
    fn end(self) -> Result<Tree, WalkError> {
        self.finish()
    }
}

impl<I: Inspector> ser::SerializeTuple for Seq<'_, '_, I> {
    type Ok = Tree;
    type Error = WalkError;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), WalkError> {
        self.push(value)
    }
    fn end(self) -> Result<Tree, WalkError> {
        self.finish()
    }
}

impl<I: Inspector> ser::SerializeTupleStruct for Seq<'_, '_, I> {
    type Ok = Tree;
    type Error = WalkError;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), WalkError> {
        self.push(value)
    }
    fn end(self) -> Result<Tree, WalkError> {
        self.finish()
    }
}

impl<I: Inspector> ser::SerializeTupleVariant for Seq<'_, '_, I> {
    type Ok = Tree;
    type Error = WalkError;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), WalkError> {
        self.push(value)
    }
    fn end(self) -> Result<Tree, WalkError> {
        self.finish()
    }
}

/// A map being walked; keys are strings, as in JSON (numbers become their
/// text).
struct Map<'s, 'i, I: Inspector> {
    state: &'s mut State<'i, I>,
    mode: Mode,
    depth: usize,
    entries: Vec<(Cow<'static, str>, Tree)>,
    key: Option<String>,
}

/// A later entry with the same key replaces the earlier one, as in a JSON
/// object.
fn insert(entries: &mut Vec<(Cow<'static, str>, Tree)>, key: Cow<'static, str>, value: Tree) {
    match entries.iter_mut().find(|(k, _)| *k == key) {
        Some(entry) => entry.1 = value,
        None => entries.push((key, value)),
    }
}

impl<I: Inspector> ser::SerializeMap for Map<'_, '_, I> {
    type Ok = Tree;
    type Error = WalkError;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), WalkError> {
        let key = key.serialize(Walker {
            state: &mut *self.state,
            mode: Mode::Keep,
            depth: self.depth,
        })?;
        let key = match key {
            Tree::Str(s) => s,
            Tree::Number(n) => n.to_string(),
            Tree::Bool(b) => b.to_string(),
            _ => return Err(WalkError::Custom("a map key that is not a string".into())),
        };
        self.key = Some(key);
        Ok(())
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), WalkError> {
        let Some(key) = self.key.take() else {
            return Err(WalkError::Custom("a map value without a key".into()));
        };
        let tree = self.state.entry(self.mode, self.depth, &key, value)?;
        if self.mode.keeps_entry(&key) {
            insert(&mut self.entries, Cow::Owned(key), tree);
        }
        Ok(())
    }
    fn end(self) -> Result<Tree, WalkError> {
        Ok(Tree::Object(self.entries))
    }
}

/// A struct or struct variant being walked.
struct Fields<'s, 'i, I: Inspector> {
    state: &'s mut State<'i, I>,
    mode: Mode,
    depth: usize,
    entries: Vec<(Cow<'static, str>, Tree)>,
    outer: Option<Outer>,
}

impl<'s, 'i, I: Inspector> Fields<'s, 'i, I> {
    fn new(walker: Walker<'s, 'i, I>, variant: Option<&'static str>) -> Result<Self, WalkError> {
        let (state, mode, depth, outer) = walker.contents(variant)?;
        Ok(Fields {
            state,
            mode,
            depth,
            entries: Vec::new(),
            outer,
        })
    }

    fn field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), WalkError> {
        let tree = self.state.entry(self.mode, self.depth, key, value)?;
        // A derived struct's field names are distinct.
        if self.mode.keeps_entry(key) {
            self.entries.push((Cow::Borrowed(key), tree));
        }
        Ok(())
    }

    fn finish(self) -> Result<Tree, WalkError> {
        let object = Tree::Object(self.entries);
        finish_variant(self.state, self.outer, object)
    }
}

impl<I: Inspector> ser::SerializeStruct for Fields<'_, '_, I> {
    type Ok = Tree;
    type Error = WalkError;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), WalkError> {
        self.field(key, value)
    }
    fn end(self) -> Result<Tree, WalkError> {
        self.finish()
    }
}

impl<I: Inspector> ser::SerializeStructVariant for Fields<'_, '_, I> {
    type Ok = Tree;
    type Error = WalkError;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), WalkError> {
        self.field(key, value)
    }
    fn end(self) -> Result<Tree, WalkError> {
        self.finish()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
pub(super) mod tests;
