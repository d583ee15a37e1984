//! TinyDB's JSON document, as tuspy's `FileStorage` keeps it: read, edit in place, and write
//! back the way Python's `json.dumps` does.
//!
//! A TinyDB file is `{"<table>": {"<integer id>": {document}, ...}, ...}`; tuspy uses the
//! `_default` table with documents `{"key": "<fingerprint>", "url": "<upload URL>"}`. Everything
//! else in the file (other tables, other fields, documents of other shapes) is kept as read.

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::io;
use std::path::Path;

use serde::Serialize;
use serde_json::ser::Formatter;
use serde_json::{Map, Value};

use crate::StorageError;

/// The table tuspy keeps its documents in.
const DEFAULT_TABLE: &str = "_default";

/// A parsed TinyDB file: table name → (document id → document).
pub(crate) struct TinyDb {
    tables: BTreeMap<String, Map<String, Value>>,
}

/// Orders TinyDB document ids as TinyDB assigns them: by integer value, non-integers last.
fn id_order(a: &str, b: &str) -> Ordering {
    match (a.parse::<u64>(), b.parse::<u64>()) {
        (Ok(a), Ok(b)) => a.cmp(&b),
        (Ok(_), Err(_)) => Ordering::Less,
        (Err(_), Ok(_)) => Ordering::Greater,
        (Err(_), Err(_)) => a.cmp(b),
    }
}

impl TinyDb {
    /// Parses a TinyDB file; `None` (missing) or an empty file is an empty database, as in
    /// TinyDB. Anything else that is not an object of tables is refused.
    pub(crate) fn parse(path: &Path, bytes: Option<&[u8]>) -> Result<Self, StorageError> {
        let corrupt = |reason: String| StorageError::Corrupt {
            path: path.to_owned(),
            reason,
        };
        let bytes = match bytes {
            None | Some([]) => {
                return Ok(Self {
                    tables: BTreeMap::new(),
                })
            }
            Some(bytes) => bytes,
        };
        let tables = match serde_json::from_slice::<Value>(bytes) {
            Ok(Value::Object(tables)) => tables,
            Ok(_) => return Err(corrupt("the top level is not a JSON object".into())),
            Err(err) => return Err(corrupt(format!("not valid JSON: {err}"))),
        };
        if tables.contains_key("format") && tables.contains_key("uploads") {
            return Err(corrupt(
                "it is a tusky JSON store, not a tuspy one; open it with JsonFileStorage".into(),
            ));
        }
        let mut parsed = BTreeMap::new();
        for (name, table) in tables {
            let Value::Object(table) = table else {
                return Err(corrupt(format!(
                    "it is not a tuspy (TinyDB) store: {name:?} is not a table"
                )));
            };
            parsed.insert(name, table);
        }
        Ok(Self { tables: parsed })
    }

    /// tuspy's records, `(key, url)`, in document id order; documents of other shapes skipped.
    pub(crate) fn records(&self) -> Vec<(&str, &str)> {
        let Some(table) = self.tables.get(DEFAULT_TABLE) else {
            return Vec::new();
        };
        let mut docs: Vec<(&String, &Value)> = table.iter().collect();
        docs.sort_by(|a, b| id_order(a.0, b.0));
        docs.into_iter()
            .filter_map(|(_, doc)| match (doc.get("key"), doc.get("url")) {
                (Some(Value::String(key)), Some(Value::String(url))) => {
                    Some((key.as_str(), url.as_str()))
                }
                _ => None,
            })
            .collect()
    }

    /// The url tuspy's `get_item(key)` returns: that of the first document with this key.
    pub(crate) fn get(&self, key: &str) -> Option<&str> {
        self.records()
            .into_iter()
            .find(|(k, _)| *k == key)
            .map(|(_, url)| url)
    }

    /// Each key once, with the url `get` returns for it, sorted by key.
    pub(crate) fn list(&self) -> BTreeMap<String, String> {
        let mut list = BTreeMap::new();
        for (key, url) in self.records() {
            list.entry(key.to_owned()).or_insert_with(|| url.to_owned());
        }
        list
    }

    /// tuspy's `set_item`: sets `url` on every document with this key (other fields kept), or
    /// inserts `{"key", "url"}` under the next id (the largest integer id plus one). Returns
    /// whether anything changed.
    pub(crate) fn set(&mut self, key: &str, url: &str) -> bool {
        let table = self.default_table();
        let mut matched = false;
        let mut changed = false;
        for doc in table.values_mut() {
            let Value::Object(doc) = doc else { continue };
            if doc.get("key").and_then(Value::as_str) != Some(key) {
                continue;
            }
            matched = true;
            if doc.get("url").and_then(Value::as_str) != Some(url) {
                doc.insert("url".into(), url.into());
                changed = true;
            }
        }
        if !matched {
            let next_id = table
                .keys()
                .filter_map(|id| id.parse::<u64>().ok())
                .max()
                .map_or(1, |max| max + 1);
            let mut doc = Map::new();
            doc.insert("key".into(), key.into());
            doc.insert("url".into(), url.into());
            table.insert(next_id.to_string(), Value::Object(doc));
            changed = true;
        }
        changed
    }

    /// tuspy's `remove_item`: deletes every document with this key. Returns whether any was.
    pub(crate) fn remove(&mut self, key: &str) -> bool {
        let Some(table) = self.tables.get_mut(DEFAULT_TABLE) else {
            return false;
        };
        let before = table.len();
        table.retain(|_, doc| doc.get("key").and_then(Value::as_str) != Some(key));
        table.len() != before
    }

    fn default_table(&mut self) -> &mut Map<String, Value> {
        self.tables.entry(DEFAULT_TABLE.to_owned()).or_default()
    }

    /// The file as TinyDB writes it (`json.dumps(data)`): `_default` first, documents in id
    /// order, `", "` and `": "` separators, non-ASCII escaped, no trailing newline.
    pub(crate) fn to_bytes(&self) -> Result<Vec<u8>, StorageError> {
        let fail = |err: io::Error| StorageError::Backend(Box::new(err));
        let mut tables: Vec<(&String, &Map<String, Value>)> = self.tables.iter().collect();
        tables.sort_by_key(|(name, _)| name.as_str() != DEFAULT_TABLE);
        let mut out = Vec::new();
        out.push(b'{');
        for (i, (name, table)) in tables.into_iter().enumerate() {
            if i > 0 {
                out.extend_from_slice(b", ");
            }
            write_python(&mut out, name).map_err(fail)?;
            out.extend_from_slice(b": ");
            let mut docs: Vec<(&String, &Value)> = table.iter().collect();
            docs.sort_by(|a, b| id_order(a.0, b.0));
            out.push(b'{');
            for (j, (id, doc)) in docs.into_iter().enumerate() {
                if j > 0 {
                    out.extend_from_slice(b", ");
                }
                write_python(&mut out, id).map_err(fail)?;
                out.extend_from_slice(b": ");
                write_python(&mut out, doc).map_err(fail)?;
            }
            out.push(b'}');
        }
        out.push(b'}');
        Ok(out)
    }
}

/// Serialises `value` as Python's `json.dumps` would (default arguments).
fn write_python(out: &mut Vec<u8>, value: &(impl Serialize + ?Sized)) -> io::Result<()> {
    let mut serializer = serde_json::Serializer::with_formatter(out, PythonFormatter);
    value.serialize(&mut serializer).map_err(io::Error::other)
}

/// `json.dumps` defaults: `", "` between items, `": "` after keys, `ensure_ascii=True` (every
/// character outside printable ASCII as a lowercase `\uXXXX` escape, UTF-16 surrogate pairs
/// above U+FFFF).
struct PythonFormatter;

impl Formatter for PythonFormatter {
    fn begin_array_value<W: ?Sized + io::Write>(
        &mut self,
        writer: &mut W,
        first: bool,
    ) -> io::Result<()> {
        if first {
            Ok(())
        } else {
            writer.write_all(b", ")
        }
    }

    fn begin_object_key<W: ?Sized + io::Write>(
        &mut self,
        writer: &mut W,
        first: bool,
    ) -> io::Result<()> {
        if first {
            Ok(())
        } else {
            writer.write_all(b", ")
        }
    }

    fn begin_object_value<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        writer.write_all(b": ")
    }

    fn write_string_fragment<W: ?Sized + io::Write>(
        &mut self,
        writer: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        for c in fragment.chars() {
            if (' '..='~').contains(&c) {
                writer.write_all(&[c as u8])?;
            } else {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    write!(writer, "\\u{unit:04x}")?;
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn python(value: &Value) -> String {
        let mut out = Vec::new();
        write_python(&mut out, value).unwrap();
        String::from_utf8(out).unwrap()
    }

    /// Expected strings are what CPython's `json.dumps` prints for the same value.
    #[test]
    fn formats_like_python_json_dumps() {
        assert_eq!(
            python(&serde_json::json!({"a": 1, "b": [1, 2]})),
            r#"{"a": 1, "b": [1, 2]}"#
        );
        assert_eq!(python(&serde_json::json!("é")), r#""\u00e9""#);
        assert_eq!(python(&serde_json::json!("🔑")), r#""\ud83d\udd11""#);
        assert_eq!(
            python(&serde_json::json!("a\"b\\c\nd\u{7f}")),
            r#""a\"b\\c\nd\u007f""#
        );
        assert_eq!(python(&serde_json::json!("\u{1}\t")), r#""\u0001\t""#);
        assert_eq!(python(&serde_json::json!({})), "{}");
        assert_eq!(python(&serde_json::json!([])), "[]");
        assert_eq!(python(&serde_json::json!(null)), "null");
    }

    #[test]
    fn ids_order_as_integers() {
        let mut ids = vec!["10", "2", "1", "x", "33"];
        ids.sort_by(|a, b| id_order(a, b));
        assert_eq!(ids, ["1", "2", "10", "33", "x"]);
    }
}
