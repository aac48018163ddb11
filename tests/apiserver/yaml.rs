//! Minimal YAML -> JSON conversion for server-side apply bodies.
//!
//! The real API server accepts `application/apply-patch+yaml` bodies in YAML
//! or JSON (JSON is a subset of YAML). `kube` always sends JSON, so JSON is
//! tried first; YAML is read with `saphyr-parser`'s event stream. Scalars
//! resolve by the YAML 1.2 core schema. Simplified: anchors/aliases, tags and
//! multiple documents are rejected (the real server accepts the former two).

use saphyr_parser::{Event, Parser, ScalarStyle};
use serde_json::{Map, Number, Value};

/// Parse an apply body: JSON first, then a single YAML document.
pub fn parse(text: &str) -> Result<Value, String> {
    if let Ok(v) = serde_json::from_str::<Value>(text) {
        return Ok(v);
    }
    enum Frame {
        Seq(Vec<Value>),
        Map(Map<String, Value>, Option<String>),
    }
    let mut stack: Vec<Frame> = Vec::new();
    let mut root: Option<Value> = None;
    let mut docs = 0;
    for item in Parser::new_from_str(text) {
        let (event, _span) = item.map_err(|e| format!("yaml: {}", e.info()))?;
        let value = match event {
            Event::DocumentStart(..) => {
                docs += 1;
                if docs > 1 {
                    return Err("yaml: more than one document".into());
                }
                continue;
            }
            Event::Alias(..) => return Err("yaml: aliases are not supported".into()),
            Event::SequenceStart(..) => {
                if stack.len() > 100 {
                    return Err("yaml: nesting too deep".into());
                }
                stack.push(Frame::Seq(Vec::new()));
                continue;
            }
            Event::MappingStart(..) => {
                if stack.len() > 100 {
                    return Err("yaml: nesting too deep".into());
                }
                stack.push(Frame::Map(Map::new(), None));
                continue;
            }
            Event::SequenceEnd => match stack.pop() {
                Some(Frame::Seq(v)) => Value::Array(v),
                _ => return Err("yaml: unbalanced sequence".into()),
            },
            Event::MappingEnd => match stack.pop() {
                Some(Frame::Map(m, None)) => Value::Object(m),
                _ => return Err("yaml: unbalanced mapping".into()),
            },
            Event::Scalar(text, style, _, tag) => {
                if tag.is_some() {
                    return Err("yaml: tags are not supported".into());
                }
                scalar(&text, style)
            }
            _ => continue,
        };
        match stack.last_mut() {
            None => root = Some(value),
            Some(Frame::Seq(v)) => v.push(value),
            Some(Frame::Map(m, key)) => match key.take() {
                None => match value {
                    Value::String(s) => *key = Some(s),
                    Value::Null => *key = Some("null".into()),
                    Value::Bool(b) => *key = Some(b.to_string()),
                    Value::Number(n) => *key = Some(n.to_string()),
                    _ => return Err("yaml: complex mapping keys are not supported".into()),
                },
                Some(k) => {
                    if m.insert(k.clone(), value).is_some() {
                        return Err(format!("yaml: duplicate key {k:?}"));
                    }
                }
            },
        }
    }
    root.ok_or_else(|| "yaml: empty document".into())
}

/// YAML 1.2 core schema resolution of one scalar.
fn scalar(text: &str, style: ScalarStyle) -> Value {
    if style != ScalarStyle::Plain {
        return Value::String(text.to_string());
    }
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        "true" | "True" | "TRUE" => return Value::Bool(true),
        "false" | "False" | "FALSE" => return Value::Bool(false),
        _ => {}
    }
    if let Ok(i) = text.parse::<i64>() {
        return Value::Number(i.into());
    }
    let looks_numeric = text
        .chars()
        .all(|c| c.is_ascii_digit() || matches!(c, '.' | '-' | '+' | 'e' | 'E'))
        && text.chars().any(|c| c.is_ascii_digit());
    if looks_numeric {
        if let Some(n) = text.parse::<f64>().ok().and_then(Number::from_f64) {
            return Value::Number(n);
        }
    }
    Value::String(text.to_string())
}
