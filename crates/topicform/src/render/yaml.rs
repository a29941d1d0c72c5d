//! A small YAML emitter for exported specs. Output is block style, keys in
//! the order given, strings quoted only when plain YAML would misread them.
//! (The loader cannot serialise, and a full YAML library for this one
//! writer would be a second YAML dependency.)

use serde_json::Value;

/// Serialises any serde value as block YAML.
pub fn to_yaml<T: serde::Serialize>(value: &T) -> String {
    let v = serde_json::to_value(value).expect("exported values serialise");
    let mut out = String::new();
    emit(&v, 0, &mut out);
    out
}

fn emit(v: &Value, indent: usize, out: &mut String) {
    let pad = "  ".repeat(indent);
    match v {
        Value::Object(map) => {
            for (k, child) in map {
                match child {
                    Value::Object(m) if !m.is_empty() => {
                        out.push_str(&format!("{pad}{}:\n", scalar_key(k)));
                        emit(child, indent + 1, out);
                    }
                    Value::Array(a) if !a.is_empty() => {
                        out.push_str(&format!("{pad}{}:\n", scalar_key(k)));
                        emit(child, indent + 1, out);
                    }
                    _ => out.push_str(&format!("{pad}{}: {}\n", scalar_key(k), inline(child))),
                }
            }
        }
        Value::Array(items) => {
            for item in items {
                match item {
                    Value::Object(m) if !m.is_empty() => {
                        // `- key: value` with the rest of the mapping aligned under it.
                        let mut item_text = String::new();
                        emit(item, indent + 1, &mut item_text);
                        out.push_str(&pad);
                        out.push_str("- ");
                        out.push_str(&item_text[pad.len() + 2..]);
                    }
                    Value::Object(_) | Value::Array(_) => {
                        out.push_str(&format!("{pad}-\n"));
                        emit(item, indent + 1, out);
                    }
                    _ => out.push_str(&format!("{pad}- {}\n", inline(item))),
                }
            }
        }
        other => out.push_str(&format!("{pad}{}\n", inline(other))),
    }
}

fn inline(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => scalar(s),
        Value::Object(_) => "{}".into(),
        Value::Array(_) => "[]".into(),
    }
}

fn scalar_key(s: &str) -> String {
    scalar(s)
}

/// A string as a YAML scalar: plain when safe, JSON-quoted otherwise.
fn scalar(s: &str) -> String {
    let looks_special = s.is_empty()
        || s.parse::<f64>().is_ok()
        || matches!(s.to_ascii_lowercase().as_str(), "true" | "false" | "yes" | "no" | "on" | "off" | "null" | "~")
        || s.starts_with(|c: char| "-?:,[]{}#&*!|>'\"%@`$ ".contains(c))
        || s.ends_with(' ')
        || s.contains(": ")
        || s.contains(" #")
        || s.contains('\n');
    if looks_special {
        serde_json::to_string(s).expect("strings serialise")
    } else {
        s.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emits_block_yaml_with_safe_quoting() {
        let v = serde_json::json!({
            "version": 1,
            "topics": { "a.b": { "partitions": 3, "config": { "retention.ms": "7d", "x": "true" } } },
            "list": ["localhost:9092", "-dash", {"name": "A", "valueFrom": {"k": 1}}],
            "empty": {}
        });
        assert_eq!(
            to_yaml(&v),
            "version: 1\ntopics:\n  a.b:\n    partitions: 3\n    config:\n      retention.ms: 7d\n      x: \"true\"\nlist:\n  - localhost:9092\n  - \"-dash\"\n  - name: A\n    valueFrom:\n      k: 1\nempty: {}\n"
        );
    }
}
