//! libpg_query's tree as a generic value, built straight from its serde
//! form: the same view `serde_json::to_value` gives (every field and every
//! oneof variant, keyed by name, in declaration order), without a hash map
//! and an owned `String` per key. Field and variant names are `'static`
//! in serde, so an object is a short vector of borrowed keys.
//!
//! The re-check walks this generically; [`Tree`]'s `Display` prints the
//! JSON text `serde_json` would, so nothing the walk reports differs.

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

impl Tree {
    /// Build the tree of any serializable value.
    pub(crate) fn of<T: Serialize + ?Sized>(value: &T) -> Result<Tree, TreeError> {
        value.serialize(Builder)
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

/// Why a value has no tree (a map key that is not a string or number).
#[derive(Debug)]
pub(crate) struct TreeError(String);

impl fmt::Display for TreeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for TreeError {}

impl ser::Error for TreeError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        TreeError(msg.to_string())
    }
}

/// The serializer that builds a [`Tree`], following `serde_json`'s value
/// serializer case by case.
struct Builder;

fn number(n: impl Into<Number>) -> Tree {
    Tree::Number(n.into())
}

fn variant(name: &'static str, value: Tree) -> Tree {
    Tree::Object(vec![(Cow::Borrowed(name), value)])
}

impl ser::Serializer for Builder {
    type Ok = Tree;
    type Error = TreeError;
    type SerializeSeq = Seq;
    type SerializeTuple = Seq;
    type SerializeTupleStruct = Seq;
    type SerializeTupleVariant = Seq;
    type SerializeMap = Map;
    type SerializeStruct = Fields;
    type SerializeStructVariant = Fields;

    fn serialize_bool(self, v: bool) -> Result<Tree, TreeError> {
        Ok(Tree::Bool(v))
    }
    fn serialize_i8(self, v: i8) -> Result<Tree, TreeError> {
        Ok(number(v))
    }
    fn serialize_i16(self, v: i16) -> Result<Tree, TreeError> {
        Ok(number(v))
    }
    fn serialize_i32(self, v: i32) -> Result<Tree, TreeError> {
        Ok(number(v))
    }
    fn serialize_i64(self, v: i64) -> Result<Tree, TreeError> {
        Ok(number(v))
    }
    fn serialize_u8(self, v: u8) -> Result<Tree, TreeError> {
        Ok(number(v))
    }
    fn serialize_u16(self, v: u16) -> Result<Tree, TreeError> {
        Ok(number(v))
    }
    fn serialize_u32(self, v: u32) -> Result<Tree, TreeError> {
        Ok(number(v))
    }
    fn serialize_u64(self, v: u64) -> Result<Tree, TreeError> {
        Ok(number(v))
    }
    fn serialize_f32(self, v: f32) -> Result<Tree, TreeError> {
        self.serialize_f64(f64::from(v))
    }
    fn serialize_f64(self, v: f64) -> Result<Tree, TreeError> {
        Ok(Number::from_f64(v).map_or(Tree::Null, Tree::Number))
    }
    fn serialize_char(self, v: char) -> Result<Tree, TreeError> {
        Ok(Tree::Str(v.to_string()))
    }
    fn serialize_str(self, v: &str) -> Result<Tree, TreeError> {
        Ok(Tree::Str(v.to_owned()))
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<Tree, TreeError> {
        Ok(Tree::List(v.iter().map(|b| number(*b)).collect()))
    }
    fn serialize_none(self) -> Result<Tree, TreeError> {
        Ok(Tree::Null)
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<Tree, TreeError> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<Tree, TreeError> {
        Ok(Tree::Null)
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<Tree, TreeError> {
        Ok(Tree::Null)
    }
    fn serialize_unit_variant(
        self,
        _: &'static str,
        _: u32,
        name: &'static str,
    ) -> Result<Tree, TreeError> {
        Ok(Tree::Str(name.to_owned()))
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        value: &T,
    ) -> Result<Tree, TreeError> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        name: &'static str,
        value: &T,
    ) -> Result<Tree, TreeError> {
        Ok(variant(name, value.serialize(Builder)?))
    }
    fn serialize_seq(self, len: Option<usize>) -> Result<Seq, TreeError> {
        Ok(Seq {
            variant: None,
            items: Vec::with_capacity(len.unwrap_or(0)),
        })
    }
    fn serialize_tuple(self, len: usize) -> Result<Seq, TreeError> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_struct(self, _: &'static str, len: usize) -> Result<Seq, TreeError> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        name: &'static str,
        len: usize,
    ) -> Result<Seq, TreeError> {
        Ok(Seq {
            variant: Some(name),
            items: Vec::with_capacity(len),
        })
    }
    fn serialize_map(self, len: Option<usize>) -> Result<Map, TreeError> {
        Ok(Map {
            entries: Vec::with_capacity(len.unwrap_or(0)),
            key: None,
        })
    }
    fn serialize_struct(self, _: &'static str, len: usize) -> Result<Fields, TreeError> {
        Ok(Fields {
            variant: None,
            entries: Vec::with_capacity(len),
        })
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        name: &'static str,
        len: usize,
    ) -> Result<Fields, TreeError> {
        Ok(Fields {
            variant: Some(name),
            entries: Vec::with_capacity(len),
        })
    }
}

/// A sequence, tuple or tuple variant being built.
struct Seq {
    variant: Option<&'static str>,
    items: Vec<Tree>,
}

impl Seq {
    fn push<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), TreeError> {
        self.items.push(value.serialize(Builder)?);
        Ok(())
    }

    fn finish(self) -> Tree {
        let list = Tree::List(self.items);
        match self.variant {
            Some(name) => variant(name, list),
            None => list,
        }
    }
}

impl ser::SerializeSeq for Seq {
    type Ok = Tree;
    type Error = TreeError;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), TreeError> {
        self.push(value)
    }
    fn end(self) -> Result<Tree, TreeError> {
        Ok(self.finish())
    }
}

impl ser::SerializeTuple for Seq {
    type Ok = Tree;
    type Error = TreeError;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), TreeError> {
        self.push(value)
    }
    fn end(self) -> Result<Tree, TreeError> {
        Ok(self.finish())
    }
}

impl ser::SerializeTupleStruct for Seq {
    type Ok = Tree;
    type Error = TreeError;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), TreeError> {
        self.push(value)
    }
    fn end(self) -> Result<Tree, TreeError> {
        Ok(self.finish())
    }
}

impl ser::SerializeTupleVariant for Seq {
    type Ok = Tree;
    type Error = TreeError;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), TreeError> {
        self.push(value)
    }
    fn end(self) -> Result<Tree, TreeError> {
        Ok(self.finish())
    }
}

/// A map being built; keys are strings, as in JSON (numbers become their
/// text).
struct Map {
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

impl ser::SerializeMap for Map {
    type Ok = Tree;
    type Error = TreeError;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), TreeError> {
        let key = match key.serialize(Builder)? {
            Tree::Str(s) => s,
            Tree::Number(n) => n.to_string(),
            Tree::Bool(b) => b.to_string(),
            _ => return Err(TreeError("a map key that is not a string".into())),
        };
        self.key = Some(key);
        Ok(())
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), TreeError> {
        let Some(key) = self.key.take() else {
            return Err(TreeError("a map value without a key".into()));
        };
        insert(
            &mut self.entries,
            Cow::Owned(key),
            value.serialize(Builder)?,
        );
        Ok(())
    }
    fn end(self) -> Result<Tree, TreeError> {
        Ok(Tree::Object(self.entries))
    }
}

/// A struct or struct variant being built.
struct Fields {
    variant: Option<&'static str>,
    entries: Vec<(Cow<'static, str>, Tree)>,
}

impl Fields {
    fn field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), TreeError> {
        // A derived struct's field names are distinct.
        self.entries
            .push((Cow::Borrowed(key), value.serialize(Builder)?));
        Ok(())
    }

    fn finish(self) -> Tree {
        let object = Tree::Object(self.entries);
        match self.variant {
            Some(name) => variant(name, object),
            None => object,
        }
    }
}

impl ser::SerializeStruct for Fields {
    type Ok = Tree;
    type Error = TreeError;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), TreeError> {
        self.field(key, value)
    }
    fn end(self) -> Result<Tree, TreeError> {
        Ok(self.finish())
    }
}

impl ser::SerializeStructVariant for Fields {
    type Ok = Tree;
    type Error = TreeError;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), TreeError> {
        self.field(key, value)
    }
    fn end(self) -> Result<Tree, TreeError> {
        Ok(self.finish())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
