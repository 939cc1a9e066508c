//! JSON or YAML text read into a `serde_json::Value` within fixed bounds.
//!
//! YAML aliases let a few kilobytes stand for billions of nodes (three levels of ten aliases
//! of a thousand-item list), and both formats nest as deep as the text allows. The reader
//! counts every node and every string byte it builds — aliases included, since the YAML
//! deserializer replays an alias's events — and stops at the first limit it crosses, so memory
//! and time stay proportional to the limits whatever the text.

use std::cell::Cell;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, EnumAccess, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

/// The most nodes (scalars, lists, mappings, keys) one document may expand to.
pub const MAX_NODES: usize = 250_000;
/// The most string bytes one document may expand to.
pub const MAX_STRING_BYTES: usize = 8 * 1024 * 1024;
/// The deepest nesting of lists and mappings.
pub const MAX_DEPTH: usize = 64;

/// Why a text could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReadError {
    /// The text is not JSON or YAML: the message of the format it looks like, with its place.
    Syntax {
        line: usize,
        column: usize,
        message: String,
    },
    /// The text expands beyond a limit (aliases, size or nesting).
    TooLarge(String),
}

/// What the reader has spent so far.
struct Budget {
    nodes: Cell<usize>,
    string_bytes: Cell<usize>,
}

impl Budget {
    fn new() -> Self {
        Self {
            nodes: Cell::new(0),
            string_bytes: Cell::new(0),
        }
    }

    fn node<E: de::Error>(&self) -> Result<(), E> {
        let nodes = self.nodes.get() + 1;
        self.nodes.set(nodes);
        if nodes > MAX_NODES {
            return Err(E::custom(LIMIT_NODES));
        }
        Ok(())
    }

    fn string<E: de::Error>(&self, text: &str) -> Result<Value, E> {
        self.node()?;
        let bytes = self.string_bytes.get() + text.len();
        self.string_bytes.set(bytes);
        if bytes > MAX_STRING_BYTES {
            return Err(E::custom(LIMIT_BYTES));
        }
        Ok(Value::String(text.to_string()))
    }
}

// The messages a limit error carries through the deserializer, recognised afterwards.
const LIMIT_NODES: &str = "portico-limit: nodes";
const LIMIT_BYTES: &str = "portico-limit: bytes";
const LIMIT_DEPTH: &str = "portico-limit: depth";

/// Reads JSON (when it parses as JSON) or else YAML, within the limits.
pub fn read_json_or_yaml(text: &str) -> Result<Value, ReadError> {
    let json_error = {
        let budget = Budget::new();
        let mut deserializer = serde_json::Deserializer::from_str(text);
        match (Node {
            budget: &budget,
            depth: 0,
        })
        .deserialize(&mut deserializer)
        .and_then(|value| deserializer.end().map(|()| value))
        {
            Ok(value) => return Ok(value),
            Err(e) => e,
        }
    };
    if let Some(limit) = limit_of(&json_error.to_string()) {
        return Err(limit);
    }
    let budget = Budget::new();
    let yaml_error = match (Node {
        budget: &budget,
        depth: 0,
    })
    .deserialize(serde_norway::Deserializer::from_str(text))
    {
        Ok(value) => return Ok(value),
        Err(e) => e,
    };
    if let Some(limit) = limit_of(&yaml_error.to_string()) {
        return Err(limit);
    }
    // Report the error of the format the text looks like.
    if text.trim_start().starts_with(['{', '[']) {
        Err(ReadError::Syntax {
            line: json_error.line(),
            column: json_error.column(),
            message: json_error.to_string(),
        })
    } else {
        let location = yaml_error.location();
        Err(ReadError::Syntax {
            line: location.as_ref().map_or(0, |l| l.line()),
            column: location.as_ref().map_or(0, |l| l.column()),
            message: yaml_error.to_string(),
        })
    }
}

fn limit_of(message: &str) -> Option<ReadError> {
    let too_large = |what: String| Some(ReadError::TooLarge(what));
    if message.contains(LIMIT_NODES) {
        too_large(format!(
            "it expands to more than {MAX_NODES} values (YAML aliases count once per use)"
        ))
    } else if message.contains(LIMIT_BYTES) {
        too_large(format!(
            "its text values expand to more than {} MiB (YAML aliases count once per use)",
            MAX_STRING_BYTES / (1024 * 1024)
        ))
    } else if message.contains(LIMIT_DEPTH) || message.contains("recursion limit exceeded") {
        too_large(format!("it nests deeper than {MAX_DEPTH} levels"))
    } else if message.contains("repetition limit exceeded") {
        too_large("it repeats its YAML aliases too often".to_string())
    } else {
        None
    }
}

/// One node to read, at a depth.
#[derive(Clone, Copy)]
struct Node<'b> {
    budget: &'b Budget,
    depth: usize,
}

impl Node<'_> {
    fn child<E: de::Error>(self) -> Result<Self, E> {
        if self.depth + 1 > MAX_DEPTH {
            return Err(E::custom(LIMIT_DEPTH));
        }
        Ok(Self {
            depth: self.depth + 1,
            ..self
        })
    }
}

impl<'de> DeserializeSeed<'de> for Node<'_> {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Node<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON or YAML value")
    }

    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        self.budget.node()?;
        Ok(Value::Null)
    }

    fn visit_none<E: de::Error>(self) -> Result<Value, E> {
        self.visit_unit()
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        self.deserialize(deserializer)
    }

    fn visit_newtype_struct<D: Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> Result<Value, D::Error> {
        self.deserialize(deserializer)
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Value, E> {
        self.budget.node()?;
        Ok(Value::Bool(v))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Value, E> {
        self.budget.node()?;
        Ok(Value::from(v))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Value, E> {
        self.budget.node()?;
        Ok(Value::from(v))
    }

    fn visit_i128<E: de::Error>(self, v: i128) -> Result<Value, E> {
        self.visit_f64(v as f64)
    }

    fn visit_u128<E: de::Error>(self, v: u128) -> Result<Value, E> {
        self.visit_f64(v as f64)
    }

    /// Non-finite numbers (YAML's `.inf`, `.nan`) have no JSON form: they become null.
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        self.budget.node()?;
        Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Value, E> {
        self.budget.string(v)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        self.budget.node()?;
        let child = self.child()?;
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(child)? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    /// YAML keys may be numbers (`200:` under responses) or other values: they become text.
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        self.budget.node()?;
        let child = self.child()?;
        let mut object = Map::new();
        while let Some(key) = map.next_key_seed(child)? {
            let key = match key {
                Value::String(s) => s,
                other => other.to_string(),
            };
            let value = map.next_value_seed(child)?;
            object.insert(key, value);
        }
        Ok(Value::Object(object))
    }

    /// A YAML tag (`!Ref value`) is dropped; its value is kept.
    fn visit_enum<A: EnumAccess<'de>>(self, data: A) -> Result<Value, A::Error> {
        use serde::de::VariantAccess;
        let (_tag, variant): (de::IgnoredAny, _) = data.variant()?;
        variant.newtype_variant_seed(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Three levels of aliases: `levels` lists of `width` references each.
    fn alias_bomb(width: usize, levels: usize) -> String {
        let items = vec!["x"; width].join(", ");
        let mut text = format!("a0: &a0 [{items}]\n");
        for level in 1..=levels {
            let refs = vec![format!("*a{}", level - 1); width].join(", ");
            text.push_str(&format!("a{level}: &a{level} [{refs}]\n"));
        }
        text
    }

    #[test]
    fn an_alias_bomb_stops_at_the_node_limit() {
        let bomb = alias_bomb(100, 3);
        assert!(bomb.len() < 40_000, "{}", bomb.len());
        match read_json_or_yaml(&bomb) {
            Err(ReadError::TooLarge(why)) => assert!(why.contains("values"), "{why}"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_repeated_long_string_stops_at_the_byte_limit() {
        let long = "y".repeat(60_000);
        let text = format!("s: &s {long}\nl: [{}]\n", vec!["*s"; 200].join(", "));
        match read_json_or_yaml(&text) {
            Err(ReadError::TooLarge(why)) => assert!(why.contains("MiB"), "{why}"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn deep_nesting_is_refused_in_both_formats() {
        let json = format!("{}{}", "[".repeat(100), "]".repeat(100));
        let yaml = format!("{}{}", "[".repeat(100), "]".repeat(100)).replace("[]", "[1]");
        for text in [json, yaml, "a:\n".to_string() + &nested_yaml(100)] {
            match read_json_or_yaml(&text) {
                Err(ReadError::TooLarge(why)) => assert!(why.contains("nests"), "{why}"),
                other => panic!("{other:?}"),
            }
        }
    }

    fn nested_yaml(depth: usize) -> String {
        (1..depth)
            .map(|d| format!("{}k:\n", "  ".repeat(d)))
            .collect::<String>()
            + &format!("{}k: 1\n", "  ".repeat(depth))
    }

    #[test]
    fn ordinary_documents_read_as_before() {
        let value = read_json_or_yaml("a: &x {b: 1}\nc: *x\n200: !tag ok\nf: .inf\n").unwrap();
        assert_eq!(
            value,
            serde_json::json!({"a": {"b": 1}, "c": {"b": 1}, "200": "ok", "f": null})
        );
        let value = read_json_or_yaml(r#"{"a": [1, "two", null, true]}"#).unwrap();
        assert_eq!(value, serde_json::json!({"a": [1, "two", null, true]}));
        assert!(matches!(
            read_json_or_yaml("{\"a\": "),
            Err(ReadError::Syntax { line: 1, .. })
        ));
    }
}
