//! A located outline of a YAML document: where each key and value is. It lets diagnostics name
//! and point at the mapping a problem belongs to when the parser only knows a nearby position
//! (a missing key is reported at the last key read, not at the mapping that lacks it).

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::Spanned;

/// A 1-based line and column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pos {
    pub line: usize,
    pub column: usize,
}

impl<T> From<&Spanned<T>> for Pos {
    fn from(s: &Spanned<T>) -> Self {
        Pos { line: s.referenced.line() as usize, column: s.referenced.column() as usize }
    }
}

/// One step of a path into the document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seg {
    Key(String),
    Index(usize),
}

/// Renders a path as `users.create[0]`.
pub fn path_text(path: &[Seg]) -> String {
    let mut out = String::new();
    for s in path {
        match s {
            Seg::Key(k) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(k);
            }
            Seg::Index(i) => out.push_str(&format!("[{i}]")),
        }
    }
    out
}

#[derive(Debug)]
enum Node {
    Map(Vec<(Spanned<String>, Spanned<Node>)>),
    Seq(Vec<Spanned<Node>>),
    Scalar,
}

/// The outline of a whole document.
#[derive(Debug)]
pub struct Outline {
    root: Spanned<Node>,
}

/// Where a mapping is: the path to it and the position that best stands for it (its key, or
/// its first key when it is a sequence element or the document itself).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MapPlace {
    pub path: Vec<Seg>,
    pub at: Pos,
    /// Length of the text at `at` (the key's name).
    pub len: usize,
}

impl Outline {
    /// Reads the outline; `None` when the text is not YAML.
    pub fn parse(src: &str) -> Option<Outline> {
        serde_saphyr::from_str::<Spanned<Node>>(src).ok().map(|root| Outline { root })
    }

    /// The mapping holding a key that starts at `key`.
    pub fn map_with_key_at(&self, key: Pos) -> Option<MapPlace> {
        let root_place = first_key_place(&self.root, vec![]);
        find_map(&self.root, key, root_place, &mut vec![])
    }

    /// Position and length of the key at `path` (e.g. `users`, `get`).
    pub fn key(&self, path: &[&str]) -> Option<(Pos, usize)> {
        let segs: Vec<Seg> = path.iter().map(|k| Seg::Key((*k).to_owned())).collect();
        self.find(&segs)
    }

    /// Position and length of what `path` names: the last key, or the sequence element (its
    /// position, length 1) when the path ends with an index.
    pub fn find(&self, path: &[Seg]) -> Option<(Pos, usize)> {
        let mut node = &self.root;
        let mut found = None;
        for seg in path {
            match (seg, &node.value) {
                (Seg::Key(name), Node::Map(entries)) => {
                    let (k, v) = entries.iter().find(|(k, _)| k.value == *name)?;
                    found = Some((Pos::from(k), k.value.chars().count()));
                    node = v;
                }
                (Seg::Index(i), Node::Seq(items)) => {
                    let item = items.get(*i)?;
                    found = Some((Pos::from(item), 1));
                    node = item;
                }
                _ => return None,
            }
        }
        found
    }

    /// Parses a dotted path with indices, as settings errors name keys: `routes.main.tokens[0]`.
    pub fn parse_path(text: &str) -> Vec<Seg> {
        let mut out = vec![];
        for part in text.split('.') {
            let mut rest = part;
            if let Some(open) = rest.find('[') {
                out.push(Seg::Key(rest[..open].to_owned()));
                rest = &rest[open..];
                while let Some(inner) = rest.strip_prefix('[') {
                    let Some(close) = inner.find(']') else { break };
                    match inner[..close].parse() {
                        Ok(i) => out.push(Seg::Index(i)),
                        Err(_) => out.push(Seg::Key(inner[..close].to_owned())),
                    }
                    rest = &inner[close + 1..];
                }
            } else {
                out.push(Seg::Key(rest.to_owned()));
            }
        }
        out
    }
}

fn first_key_place(node: &Spanned<Node>, path: Vec<Seg>) -> Option<MapPlace> {
    match &node.value {
        Node::Map(entries) => {
            let (k, _) = entries.first()?;
            Some(MapPlace { path, at: Pos::from(k), len: k.value.chars().count() })
        }
        _ => None,
    }
}

/// Depth-first search for the mapping with a key at `key`; `place` stands for `node`.
fn find_map(node: &Spanned<Node>, key: Pos, place: Option<MapPlace>, path: &mut Vec<Seg>) -> Option<MapPlace> {
    match &node.value {
        Node::Map(entries) => {
            if entries.iter().any(|(k, _)| Pos::from(k) == key) {
                return place;
            }
            for (k, v) in entries {
                path.push(Seg::Key(k.value.clone()));
                let here = Some(MapPlace { path: path.clone(), at: Pos::from(k), len: k.value.chars().count() });
                let found = find_map(v, key, here, path);
                path.pop();
                if found.is_some() {
                    return found;
                }
            }
            None
        }
        Node::Seq(items) => {
            for (i, v) in items.iter().enumerate() {
                path.push(Seg::Index(i));
                let here = first_key_place(v, path.clone());
                let found = find_map(v, key, here, path);
                path.pop();
                if found.is_some() {
                    return found;
                }
            }
            None
        }
        Node::Scalar => None,
    }
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(NodeVisitor)
    }
}

struct NodeVisitor;

impl<'de> Visitor<'de> for NodeVisitor {
    type Value = Node;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any YAML value")
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Node, E> {
        Ok(Node::Scalar)
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Node, E> {
        Ok(Node::Scalar)
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Node, E> {
        Ok(Node::Scalar)
    }
    fn visit_i128<E: de::Error>(self, _: i128) -> Result<Node, E> {
        Ok(Node::Scalar)
    }
    fn visit_u128<E: de::Error>(self, _: u128) -> Result<Node, E> {
        Ok(Node::Scalar)
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Node, E> {
        Ok(Node::Scalar)
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<Node, E> {
        Ok(Node::Scalar)
    }
    fn visit_bytes<E: de::Error>(self, _: &[u8]) -> Result<Node, E> {
        Ok(Node::Scalar)
    }
    fn visit_unit<E: de::Error>(self) -> Result<Node, E> {
        Ok(Node::Scalar)
    }
    fn visit_none<E: de::Error>(self) -> Result<Node, E> {
        Ok(Node::Scalar)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Node, D::Error> {
        Node::deserialize(d)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Node, A::Error> {
        let mut items = vec![];
        while let Some(v) = seq.next_element::<Spanned<Node>>()? {
            items.push(v);
        }
        Ok(Node::Seq(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Node, A::Error> {
        let mut entries = vec![];
        while let Some(k) = map.next_key::<Spanned<KeyText>>()? {
            let v = map.next_value::<Spanned<Node>>()?;
            entries.push((Spanned::new(k.value.0, k.referenced, k.defined), v));
        }
        Ok(Node::Map(entries))
    }
}

/// A key's text, whatever its scalar type (`200:` is a key too).
struct KeyText(String);

impl<'de> Deserialize<'de> for KeyText {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = KeyText;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a scalar key")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<KeyText, E> {
                Ok(KeyText(v.to_owned()))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<KeyText, E> {
                Ok(KeyText(v.to_string()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<KeyText, E> {
                Ok(KeyText(v.to_string()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<KeyText, E> {
                Ok(KeyText(v.to_string()))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<KeyText, E> {
                Ok(KeyText(v.to_string()))
            }
            fn visit_unit<E: de::Error>(self) -> Result<KeyText, E> {
                Ok(KeyText(String::new()))
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str =
        "a: 1\nusers:\n  id: { read: x }\n  create:\n    - method: POST\n      url: /u\n    - { method: PUT }\n";

    #[test]
    fn finds_keys_and_the_mapping_holding_a_key() {
        let o = Outline::parse(DOC).unwrap();
        assert_eq!(o.key(&["users", "create"]), Some((Pos { line: 4, column: 3 }, 6)));
        assert_eq!(o.key(&["users", "nope"]), None);
        // `read` inside the flow mapping of `id`.
        let m = o.map_with_key_at(Pos { line: 3, column: 9 }).unwrap();
        assert_eq!(path_text(&m.path), "users.id");
        assert_eq!((m.at, m.len), (Pos { line: 3, column: 3 }, 2));
        // `url` of the first step: the step is named by its first key.
        let m = o.map_with_key_at(Pos { line: 6, column: 7 }).unwrap();
        assert_eq!(path_text(&m.path), "users.create[0]");
        assert_eq!(m.at, Pos { line: 5, column: 7 });
        let m = o.map_with_key_at(Pos { line: 7, column: 9 }).unwrap();
        assert_eq!(path_text(&m.path), "users.create[1]");
        // A path with indices, as settings errors write them.
        let path = Outline::parse_path("users.create[1].method");
        assert_eq!(path[2], Seg::Index(1));
        assert_eq!(o.find(&path), Some((Pos { line: 7, column: 9 }, 6)));
        assert_eq!(o.find(&Outline::parse_path("users.create[0]")), Some((Pos { line: 5, column: 7 }, 1)));
        // A top-level key belongs to the document.
        let m = o.map_with_key_at(Pos { line: 2, column: 1 }).unwrap();
        assert!(m.path.is_empty());
        assert_eq!(m.at, Pos { line: 1, column: 1 });
    }
}
