//! YAML text -> JSON value plus a span for every node.
//!
//! We drive `saphyr-parser`'s event stream ourselves (with an explicit stack, so
//! deep nesting cannot overflow ours) instead of deserializing straight into
//! types, because we want *every* problem in one run: the JSON value is checked
//! against the catalog JSON Schema, and each schema error's `instance_path` is
//! mapped back to the exact YAML node through the [`SpanIndex`].
//!
//! Scalars resolve by the YAML 1.2 core schema (`yes`/`on` stay strings).
//! Duplicate keys, multiple documents, unknown tags and complex keys are errors.
//! Anchors, aliases and `<<` merge keys work, with a node budget against
//! "billion laughs" expansion.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::ops::Range;
use std::sync::Arc;

use saphyr_parser::{Event, Parser, ScalarStyle, Span, Tag};
use serde_json::{Map, Number, Value};

use crate::diag::{Problem, SourceFile};

/// Deepest nesting accepted. A catalog needs about 6.
pub const MAX_DEPTH: usize = 64;
/// Most nodes a document may expand to (aliases included).
pub const MAX_NODES: usize = 2_000_000;

/// Where a node sits in the source.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NodeSpan {
    /// The key naming this node in its parent mapping, if any.
    pub key: Option<Range<usize>>,
    /// The node itself.
    pub value: Range<usize>,
}

/// JSON pointer -> source span, for every node of the document.
///
/// An environment's view of the catalog (`model::environment`) shares the
/// index and adds *redirects*: a pointer to a node the environment replaces
/// (`/services/api/replicas`) resolves to the override that replaced it
/// (`/environments/prod/services/api/replicas`), so every check and lint rule
/// points at the line that set the value in effect.
#[derive(Debug, Clone, Default)]
pub struct SpanIndex {
    map: Arc<HashMap<String, NodeSpan>>,
    redirects: Arc<BTreeMap<String, String>>,
}

impl SpanIndex {
    /// The same index, with `pointer prefix -> replacement prefix` redirects.
    #[must_use]
    pub fn with_redirects(&self, redirects: BTreeMap<String, String>) -> SpanIndex {
        SpanIndex {
            map: Arc::clone(&self.map),
            redirects: Arc::new(redirects),
        }
    }

    /// The pointer after redirects: the longest redirected ancestor (or the
    /// pointer itself) is replaced by its target.
    pub fn resolve<'a>(&self, pointer: &'a str) -> Cow<'a, str> {
        if self.redirects.is_empty() {
            return Cow::Borrowed(pointer);
        }
        let mut p = pointer;
        loop {
            if let Some(to) = self.redirects.get(p) {
                return Cow::Owned(format!("{to}{}", &pointer[p.len()..]));
            }
            match p.rfind('/') {
                Some(i) => p = &p[..i],
                None => return Cow::Borrowed(pointer),
            }
        }
    }

    /// The spans recorded for exactly this pointer.
    pub fn get(&self, pointer: &str) -> Option<&NodeSpan> {
        self.map.get(self.resolve(pointer).as_ref())
    }

    /// The spans of the pointer, or of its nearest recorded ancestor (nodes
    /// inside an alias expansion point at the alias).
    pub fn nearest(&self, pointer: &str) -> NodeSpan {
        let resolved = self.resolve(pointer);
        let mut p = resolved.as_ref();
        loop {
            if let Some(s) = self.map.get(p) {
                return s.clone();
            }
            match p.rfind('/') {
                Some(i) => p = &p[..i],
                None => return NodeSpan::default(),
            }
        }
    }

    /// The value span of a pointer (nearest ancestor if unknown).
    pub fn value(&self, pointer: &str) -> Range<usize> {
        self.nearest(pointer).value
    }

    /// The key span of a pointer if it has one, else its value span. Best for
    /// labelling "this entry" without underlining a whole block.
    pub fn key_or_value(&self, pointer: &str) -> Range<usize> {
        let n = self.nearest(pointer);
        n.key.unwrap_or(n.value)
    }
}

/// Append a JSON-pointer segment, escaping `~` and `/`.
pub fn push_pointer(base: &str, segment: &str) -> String {
    let mut s = String::with_capacity(base.len() + segment.len() + 1);
    s.push_str(base);
    s.push('/');
    for c in segment.chars() {
        match c {
            '~' => s.push_str("~0"),
            '/' => s.push_str("~1"),
            c => s.push(c),
        }
    }
    s
}

/// A parsed document.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// The document as JSON.
    pub value: Value,
    /// Problems that did not stop loading (duplicate keys, bad tags, bad
    /// merges): the first value wins and loading goes on.
    pub problems: Vec<Problem>,
    /// Spans of every node.
    pub spans: SpanIndex,
}

/// Converts the parser's character indices to byte offsets.
struct Offsets {
    /// Byte offset of each char; empty when the text is ASCII (identity).
    table: Vec<usize>,
    len: usize,
}

impl Offsets {
    fn new(text: &str) -> Self {
        if text.is_ascii() {
            return Offsets {
                table: Vec::new(),
                len: text.len(),
            };
        }
        let mut table: Vec<usize> = text.char_indices().map(|(i, _)| i).collect();
        table.push(text.len());
        Offsets {
            table,
            len: text.len(),
        }
    }
    fn byte(&self, char_index: usize) -> usize {
        if self.table.is_empty() {
            char_index.min(self.len)
        } else {
            self.table.get(char_index).copied().unwrap_or(self.len)
        }
    }
    fn range(&self, span: &Span) -> Range<usize> {
        let a = self.byte(span.start.index());
        let b = self.byte(span.end.index()).max(a);
        a..b
    }
}

enum Frame {
    Map {
        obj: Map<String, Value>,
        pointer: String,
        start: Range<usize>,
        anchor: usize,
        /// The key waiting for its value: text, span.
        pending: Option<(String, Range<usize>)>,
        /// Key spans seen so far (for duplicate detection).
        keys: HashMap<String, Range<usize>>,
        /// `<<` merge sources, in order, with their spans.
        merges: Vec<(Value, Range<usize>)>,
        /// Whether the pending key is a `<<` merge key.
        merging: bool,
    },
    Seq {
        arr: Vec<Value>,
        pointer: String,
        start: Range<usize>,
        anchor: usize,
    },
}

struct Builder<'a> {
    src: &'a SourceFile,
    offsets: Offsets,
    stack: Vec<Frame>,
    spans: SpanIndex,
    anchors: HashMap<usize, (Value, usize)>,
    nodes: usize,
    root: Option<Value>,
    problems: Vec<Problem>,
}

/// Parse YAML text. On any syntax-level problem, returns all found (a syntax
/// error stops the parser, so at most one of those).
pub fn load(src: &SourceFile) -> Result<Loaded, Vec<Problem>> {
    let text = src.text();
    let mut b = Builder {
        src,
        offsets: Offsets::new(text),
        stack: Vec::new(),
        spans: SpanIndex::default(),
        anchors: HashMap::new(),
        nodes: 0,
        root: None,
        problems: Vec::new(),
    };
    let mut documents = 0usize;
    for item in Parser::new_from_str(text) {
        let (event, span) = match item {
            Ok(x) => x,
            Err(e) => {
                let m = e.marker();
                let at = b.offsets.byte(m.index());
                if e.info().contains("recursion limit") {
                    b.problems.push(
                        Problem::new(src, "catalog::too-deep", at..at, "the catalog nests too deeply for the YAML parser")
                            .label("nesting limit reached here")
                            .help("a catalog needs only a few levels; check for runaway brackets or indentation"),
                    );
                    return Err(b.problems);
                }
                b.problems.push(
                    Problem::new(src, "catalog::yaml-syntax", at..at, syntax_message(e.info()))
                        .label("the YAML parser stopped here")
                        .help("fix the YAML syntax; indentation must use spaces, and a `key: value` needs a space after the colon"),
                );
                return Err(b.problems);
            }
        };
        let range = b.offsets.range(&span);
        match event {
            Event::StreamStart | Event::StreamEnd | Event::Nothing | Event::DocumentEnd => {}
            Event::DocumentStart(_) => {
                documents += 1;
                if documents > 1 {
                    b.problems.push(
                        Problem::new(src, "catalog::multiple-documents", range, "the catalog holds more than one YAML document")
                            .label("a second document starts here")
                            .help("a catalog is one YAML document: remove the `---` separator and merge the documents"),
                    );
                    return Err(b.problems);
                }
            }
            Event::Scalar(text, style, anchor, tag) => {
                if b.in_key_position() {
                    if let Some(t) = tag
                        .as_deref()
                        .filter(|t| !(is_core_handle(t) && t.suffix == "str"))
                    {
                        b.problems.push(
                            Problem::new(
                                src,
                                "catalog::yaml-tag",
                                range.clone(),
                                format!("unsupported YAML tag `{}{}` on a key", t.handle, t.suffix),
                            )
                            .help("remove the tag; keys are plain text"),
                        );
                    }
                }
                if b.take_key(&text, style, range.clone()) {
                    continue;
                }
                let value = match resolve_scalar(&text, style, tag.as_deref()) {
                    Ok(v) => v,
                    Err(msg) => {
                        b.problems.push(
                            Problem::new(src, "catalog::yaml-tag", range.clone(), msg)
                                .help("remove the tag; gen reads plain YAML 1.2 values (use quotes for strings)"),
                        );
                        Value::Null
                    }
                };
                if !b.add_value(value, range, anchor, 1) {
                    return Err(b.problems);
                }
            }
            Event::Alias(id) => {
                let Some(size) = b.anchors.get(&id).map(|(_, n)| *n) else {
                    b.problems.push(Problem::new(
                        src,
                        "catalog::yaml-alias",
                        range,
                        "alias to an unknown anchor",
                    ));
                    return Err(b.problems);
                };
                if b.nodes.saturating_add(size) > MAX_NODES {
                    b.add_value(Value::Null, range, 0, size);
                    return Err(b.problems);
                }
                let value = b
                    .anchors
                    .get(&id)
                    .map(|(v, _)| v.clone())
                    .unwrap_or_default();
                if b.in_key_position() {
                    b.problems.push(
                        Problem::new(
                            src,
                            "catalog::yaml-complex-key",
                            range,
                            "an alias cannot be used as a mapping key",
                        )
                        .help("write the key as plain text"),
                    );
                    return Err(b.problems);
                }
                if !b.add_value(value, range, 0, size) {
                    return Err(b.problems);
                }
            }
            Event::MappingStart(..) | Event::SequenceStart(..) if b.in_key_position() => {
                b.problems.push(
                    Problem::new(
                        src,
                        "catalog::yaml-complex-key",
                        range,
                        "a mapping key must be a plain value, not a mapping or list",
                    )
                    .help("use a simple name as the key"),
                );
                return Err(b.problems);
            }
            Event::MappingStart(anchor, tag) => {
                if let Some(msg) = collection_tag_error(tag.as_deref(), "map") {
                    b.problems.push(
                        Problem::new(src, "catalog::yaml-tag", range.clone(), msg)
                            .help("remove the tag"),
                    );
                }
                if !b.open(range.clone()) {
                    return Err(b.problems);
                }
                let pointer = b.child_pointer();
                b.stack.push(Frame::Map {
                    obj: Map::new(),
                    pointer,
                    start: range,
                    anchor,
                    pending: None,
                    keys: HashMap::new(),
                    merges: Vec::new(),
                    merging: false,
                });
            }
            Event::SequenceStart(anchor, tag) => {
                if let Some(msg) = collection_tag_error(tag.as_deref(), "seq") {
                    b.problems.push(
                        Problem::new(src, "catalog::yaml-tag", range.clone(), msg)
                            .help("remove the tag"),
                    );
                }
                if !b.open(range.clone()) {
                    return Err(b.problems);
                }
                let pointer = b.child_pointer();
                b.stack.push(Frame::Seq {
                    arr: Vec::new(),
                    pointer,
                    start: range,
                    anchor,
                });
            }
            Event::MappingEnd | Event::SequenceEnd => {
                let Some(frame) = b.stack.pop() else { continue };
                let (value, start, anchor) = match frame {
                    Frame::Map {
                        mut obj,
                        start,
                        anchor,
                        merges,
                        pointer,
                        ..
                    } => {
                        for (merged, mspan) in merges {
                            if let Value::Object(m) = merged {
                                for (k, v) in m {
                                    if !obj.contains_key(&k) {
                                        let p = push_pointer(&pointer, &k);
                                        Arc::make_mut(&mut b.spans.map).entry(p).or_insert(
                                            NodeSpan {
                                                key: Some(mspan.clone()),
                                                value: mspan.clone(),
                                            },
                                        );
                                        obj.insert(k, v);
                                    }
                                }
                            }
                        }
                        (Value::Object(obj), start, anchor)
                    }
                    Frame::Seq {
                        arr, start, anchor, ..
                    } => (Value::Array(arr), start, anchor),
                };
                let whole = start.start..range.end.max(start.end);
                if !b.add_value(value, whole, anchor, 0) {
                    return Err(b.problems);
                }
            }
        }
    }
    let value = b.root.take().unwrap_or(Value::Null);
    Ok(Loaded {
        value,
        spans: b.spans,
        problems: b.problems,
    })
}

fn syntax_message(info: &str) -> String {
    let info = info.trim();
    if info.is_empty() {
        "invalid YAML".to_owned()
    } else {
        format!("invalid YAML: {info}")
    }
}

impl Builder<'_> {
    fn in_key_position(&self) -> bool {
        matches!(
            self.stack.last(),
            Some(Frame::Map {
                pending: None,
                merging: false,
                ..
            })
        )
    }

    /// If the top frame is a mapping waiting for a key, consume the scalar as
    /// that key and return true.
    fn take_key(&mut self, text: &str, style: ScalarStyle, range: Range<usize>) -> bool {
        let src = self.src;
        let Some(Frame::Map {
            pending,
            keys,
            merging,
            ..
        }) = self.stack.last_mut()
        else {
            return false;
        };
        if pending.is_some() || *merging {
            return false;
        }
        if text == "<<" && style == ScalarStyle::Plain {
            *merging = true;
            return true;
        }
        if let Some(first) = keys.get(text) {
            self.problems.push(
                Problem::new(
                    src,
                    "catalog::duplicate-key",
                    range.clone(),
                    format!("duplicate key `{text}`"),
                )
                .label("defined again here")
                .note(first.clone(), "first defined here")
                .help("a key may appear once per mapping; remove one of the two entries"),
            );
        } else {
            keys.insert(text.to_owned(), range.clone());
        }
        *pending = Some((text.to_owned(), range));
        true
    }

    /// Check depth before opening a collection.
    fn open(&mut self, range: Range<usize>) -> bool {
        if self.stack.len() >= MAX_DEPTH {
            self.problems.push(
                Problem::new(
                    self.src,
                    "catalog::too-deep",
                    range,
                    format!("the catalog nests deeper than {MAX_DEPTH} levels"),
                )
                .help(
                    "a catalog needs only a few levels; check for runaway brackets or indentation",
                ),
            );
            return false;
        }
        true
    }

    /// The pointer of the node about to be added under the top frame.
    fn child_pointer(&self) -> String {
        match self.stack.last() {
            None => String::new(),
            Some(Frame::Map {
                pointer, pending, ..
            }) => match pending {
                Some((k, _)) => push_pointer(pointer, k),
                None => pointer.clone(),
            },
            Some(Frame::Seq { pointer, arr, .. }) => push_pointer(pointer, &arr.len().to_string()),
        }
    }

    /// Attach a finished node to its parent. Returns false when the node
    /// budget is exhausted.
    fn add_value(&mut self, value: Value, range: Range<usize>, anchor: usize, size: usize) -> bool {
        self.nodes = self.nodes.saturating_add(size.max(1));
        if self.nodes > MAX_NODES {
            self.problems.push(
                Problem::new(self.src, "catalog::too-large", range, format!("the catalog expands to more than {MAX_NODES} nodes"))
                    .help("aliases that repeat aliases multiply; write the values out or share fewer levels"),
            );
            return false;
        }
        if anchor != 0 {
            let count = count_nodes(&value);
            self.anchors.insert(anchor, (value.clone(), count));
        }
        let pointer = self.child_pointer();
        match self.stack.last_mut() {
            None => {
                Arc::make_mut(&mut self.spans.map).insert(
                    pointer,
                    NodeSpan {
                        key: None,
                        value: range,
                    },
                );
                self.root = Some(value);
            }
            Some(Frame::Map {
                obj,
                pending,
                merging,
                merges,
                ..
            }) => {
                if *merging {
                    *merging = false;
                    let items = match value {
                        Value::Array(items) => items,
                        v => vec![v],
                    };
                    if items.iter().any(|v| !v.is_object()) {
                        self.problems.push(
                            Problem::new(
                                self.src,
                                "catalog::yaml-merge",
                                range,
                                "a `<<` merge key needs a mapping (or a list of mappings)",
                            )
                            .label("not a mapping")
                            .help("merge an anchored mapping, e.g. `<<: *defaults`"),
                        );
                        return true;
                    }
                    merges.extend(items.into_iter().map(|v| (v, range.clone())));
                    return true;
                }
                let Some((key, key_span)) = pending.take() else {
                    return true;
                };
                Arc::make_mut(&mut self.spans.map)
                    .entry(pointer)
                    .or_insert(NodeSpan {
                        key: Some(key_span),
                        value: range,
                    });
                obj.entry(key).or_insert(value);
            }
            Some(Frame::Seq { arr, .. }) => {
                Arc::make_mut(&mut self.spans.map).insert(
                    pointer,
                    NodeSpan {
                        key: None,
                        value: range,
                    },
                );
                arr.push(value);
            }
        }
        true
    }
}

fn count_nodes(v: &Value) -> usize {
    let mut n = 0;
    let mut stack = vec![v];
    while let Some(v) = stack.pop() {
        n += 1;
        match v {
            Value::Array(a) => stack.extend(a.iter()),
            Value::Object(o) => stack.extend(o.values()),
            _ => {}
        }
    }
    n
}

fn is_core_handle(tag: &Tag) -> bool {
    tag.handle == "!!" || tag.handle == "tag:yaml.org,2002:"
}

fn collection_tag_error(tag: Option<&Tag>, expected: &str) -> Option<String> {
    let tag = tag?;
    if is_core_handle(tag) && tag.suffix == expected {
        return None;
    }
    let node = if expected == "map" {
        "a mapping"
    } else {
        "a list"
    };
    Some(
        if is_core_handle(tag) && CORE_SCALAR_TAGS.contains(&tag.suffix.as_str()) {
            format!(
                "the tag `!!{}` names a scalar, but this node is {node}",
                tag.suffix
            )
        } else {
            format!("unsupported YAML tag `{}{}`", tag.handle, tag.suffix)
        },
    )
}

/// The YAML 1.2 core schema's scalar tags.
const CORE_SCALAR_TAGS: [&str; 5] = ["str", "null", "bool", "int", "float"];

/// Resolve a scalar by the YAML 1.2 core schema (and explicit core tags).
///
/// A core tag must agree with the scalar's content: `!!int` takes only what
/// the core schema reads as an integer, `!!float` any number (and makes it a
/// float: `!!float 2` is 2.0), `!!bool` and `!!null` only their own forms,
/// `!!str` anything. A tag never turns content into a value of another type
/// (`!!null 8080`, `!!int 1e3`), so it cannot slip past the schema.
fn resolve_scalar(text: &str, style: ScalarStyle, tag: Option<&Tag>) -> Result<Value, String> {
    if let Some(tag) = tag {
        if !is_core_handle(tag) {
            return Err(format!(
                "unsupported YAML tag `{}{}`",
                tag.handle, tag.suffix
            ));
        }
        let disagree = |what: &str| {
            format!(
                "the tag `!!{}` says {what}, but `{text}` is {}",
                tag.suffix,
                describe(&resolve_plain(text))
            )
        };
        return match tag.suffix.as_str() {
            "str" => Ok(Value::String(text.to_owned())),
            "null" => match resolve_plain(text) {
                Value::Null => Ok(Value::Null),
                _ => Err(disagree("null")),
            },
            "bool" => match resolve_plain(text) {
                v @ Value::Bool(_) => Ok(v),
                _ => Err(disagree("a boolean")),
            },
            "int" => resolve_int(text).ok_or_else(|| disagree("an integer")),
            "float" => match resolve_plain(text) {
                Value::Number(n) => n
                    .as_f64()
                    .and_then(Number::from_f64)
                    .map(Value::Number)
                    .ok_or_else(|| disagree("a float")),
                _ if is_special_float(text) => Err(format!(
                    "`{text}` is a float JSON cannot hold (infinity or not-a-number)"
                )),
                _ => Err(disagree("a float")),
            },
            "seq" | "map" => Err(format!(
                "the tag `!!{}` names a {}, but this node is the scalar `{text}`",
                tag.suffix,
                if tag.suffix == "seq" {
                    "list"
                } else {
                    "mapping"
                }
            )),
            other => Err(format!("unsupported YAML tag `!!{other}`")),
        };
    }
    if style != ScalarStyle::Plain {
        return Ok(Value::String(text.to_owned()));
    }
    Ok(resolve_plain(text))
}

/// `.inf`, `-.Inf`, `.NaN`...: core-schema floats JSON has no value for.
fn is_special_float(text: &str) -> bool {
    let b = text.strip_prefix(['-', '+']).unwrap_or(text);
    matches!(b, ".inf" | ".Inf" | ".INF") || matches!(text, ".nan" | ".NaN" | ".NAN")
}

/// What a plain scalar means, for messages: `a string`, `an integer`, ...
fn describe(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(n) if n.is_f64() => "a float",
        Value::Number(_) => "an integer",
        _ => "a string",
    }
}

fn resolve_plain(text: &str) -> Value {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        "true" | "True" | "TRUE" => return Value::Bool(true),
        "false" | "False" | "FALSE" => return Value::Bool(false),
        _ => {}
    }
    if let Some(v) = resolve_int(text) {
        return v;
    }
    if is_float(text) {
        if let Ok(f) = text.parse::<f64>() {
            if let Some(n) = Number::from_f64(f) {
                return Value::Number(n);
            }
        }
    }
    Value::String(text.to_owned())
}

fn resolve_int(text: &str) -> Option<Value> {
    let (neg, body) = match text.as_bytes().first()? {
        b'-' => (true, &text[1..]),
        b'+' => (false, &text[1..]),
        _ => (false, text),
    };
    let (radix, digits) = if let Some(d) = body.strip_prefix("0o") {
        if neg || text.starts_with('+') {
            return None;
        }
        (8, d)
    } else if let Some(d) = body.strip_prefix("0x") {
        if neg || text.starts_with('+') {
            return None;
        }
        (16, d)
    } else {
        (10, body)
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    match u64::from_str_radix(digits, radix) {
        Ok(u) if !neg => Some(Value::Number(u.into())),
        Ok(u) => {
            let i = i64::try_from(u).ok().map(|i| -i).or({
                if u == 1u64 << 63 {
                    Some(i64::MIN)
                } else {
                    None
                }
            });
            match i {
                Some(i) => Some(Value::Number(i.into())),
                None => huge(text),
            }
        }
        Err(_) => huge(text),
    }
}

/// An integer too large for 64 bits becomes a float, so the schema reports it
/// as out of range rather than as a string.
fn huge(text: &str) -> Option<Value> {
    let f: f64 = text.parse().ok()?;
    Number::from_f64(f).map(Value::Number)
}

fn is_float(text: &str) -> bool {
    let b = text.strip_prefix(['-', '+']).unwrap_or(text);
    let (mantissa, exp) = match b.find(['e', 'E']) {
        Some(i) => (&b[..i], Some(&b[i + 1..])),
        None => (b, None),
    };
    let (int, frac) = match mantissa.find('.') {
        Some(i) => (&mantissa[..i], Some(&mantissa[i + 1..])),
        None => (mantissa, None),
    };
    let digits = |s: &str| s.chars().all(|c| c.is_ascii_digit());
    let mantissa_ok = match frac {
        Some(f) => digits(int) && digits(f) && !(int.is_empty() && f.is_empty()),
        None => !int.is_empty() && digits(int),
    };
    let exp_ok = match exp {
        None => true,
        Some(e) => {
            let e = e.strip_prefix(['-', '+']).unwrap_or(e);
            !e.is_empty() && digits(e)
        }
    };
    mantissa_ok && exp_ok
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load_str(s: &str) -> Result<Loaded, Vec<Problem>> {
        load(&SourceFile::new("t.yaml", s))
    }

    #[test]
    fn core_schema_scalars() {
        let l = load_str("a: yes\nb: on\nc: 0x1F\nd: 1.5\ne: ~\nf: '1'\ng: -3\nh: 1e3\ni: .5\n")
            .unwrap();
        let v = l.value;
        assert_eq!(v["a"], "yes");
        assert_eq!(v["b"], "on");
        assert_eq!(v["c"], 31);
        assert_eq!(v["d"], 1.5);
        assert!(v["e"].is_null());
        assert_eq!(v["f"], "1");
        assert_eq!(v["g"], -3);
        assert_eq!(v["h"], 1000.0);
        assert_eq!(v["i"], 0.5);
    }

    /// Every core tag on scalars of every kind, plain and quoted: a tag
    /// gives the value its own type only when the content agrees with it
    /// (what the untagged plain scalar means), and is refused otherwise.
    #[test]
    fn core_tags_agree_with_content() {
        let scalars = [
            "",
            "~",
            "null",
            "Null",
            "NULL",
            "true",
            "False",
            "TRUE",
            "yes",
            "on",
            "0",
            "2",
            "-3",
            "+7",
            "0o17",
            "0x1F",
            "0xff",
            "99999999999999999999",
            "2.0",
            "-0.5",
            ".5",
            "1e3",
            "1E-2",
            "+1.5e+3",
            ".inf",
            "-.Inf",
            ".nan",
            "0b101",
            "1_000",
            "2.",
            "abc",
            "/api",
            "http",
            "1.2.3",
            "12:30",
            "0777",
        ];
        let tags = ["str", "null", "bool", "int", "float", "seq", "map"];
        for text in scalars {
            let plain = resolve_plain(text);
            for tag in tags {
                for quoted in [false, true] {
                    let doc = if quoted {
                        format!("v: !!{tag} '{text}'\n")
                    } else {
                        format!("v: !!{tag} {text}\n")
                    };
                    let got = load_str(&doc).map(|l| (l.value["v"].clone(), l.problems));
                    let ok = |v: Option<Value>| match (&got, v) {
                        (Ok((value, problems)), Some(want)) => {
                            problems.is_empty() && *value == want
                        }
                        (Ok((_, problems)), None) => {
                            problems.len() == 1
                                && problems[0].code == "catalog::yaml-tag"
                                && problems[0].line_col() == (1, 4)
                        }
                        (Err(_), _) => false,
                    };
                    let want = match tag {
                        "str" => Some(Value::String(text.to_owned())),
                        "null" => plain.is_null().then_some(Value::Null),
                        "bool" => plain.is_boolean().then(|| plain.clone()),
                        // Integers too large for 64 bits stay what the
                        // untagged scalar is (a float the schema refuses).
                        "int" => (plain.is_i64()
                            || plain.is_u64()
                            || (plain.is_number() && text.bytes().all(|b| b.is_ascii_digit())))
                        .then(|| plain.clone()),
                        "float" => plain.as_f64().and_then(Number::from_f64).map(Value::Number),
                        _ => None,
                    };
                    if let Some(Value::Number(n)) = &want {
                        if tag == "float" {
                            assert!(n.is_f64(), "`!!float {text}` must be a float");
                        }
                    }
                    assert!(ok(want.clone()), "{doc:?}: want {want:?}, got {got:?}");
                }
            }
        }
    }

    /// Core tags on collections: only `!!seq` on a list and `!!map` on a
    /// mapping agree.
    #[test]
    fn core_tags_agree_with_collections() {
        for tag in ["str", "null", "bool", "int", "float", "seq", "map"] {
            for (node, fits) in [("[1, 2]", "seq"), ("{a: 1}", "map")] {
                for doc in [
                    format!("v: !!{tag} {node}\n"),
                    format!("v: [!!{tag} {node}]\n"),
                ] {
                    let l = load_str(&doc).expect("loads");
                    if tag == fits {
                        assert!(l.problems.is_empty(), "{doc:?}: {:?}", l.problems);
                    } else {
                        assert_eq!(l.problems.len(), 1, "{doc:?}");
                        assert_eq!(l.problems[0].code, "catalog::yaml-tag", "{doc:?}");
                        assert_eq!(l.problems[0].line_col().0, 1, "{doc:?}");
                    }
                }
            }
        }
    }

    #[test]
    fn spans_point_at_nodes() {
        let text = "services:\n  api:\n    port: 80\n";
        let l = load_str(text).unwrap();
        let s = l.spans.get("/services/api/port").unwrap();
        assert_eq!(&text[s.key.clone().unwrap()], "port");
        assert_eq!(&text[s.value.clone()], "80");
    }

    #[test]
    fn duplicate_keys_are_errors() {
        let l = load_str("a: 1\na: 2\n").unwrap();
        assert_eq!(l.problems[0].code, "catalog::duplicate-key");
        assert_eq!(l.problems[0].line_col(), (2, 1));
        assert_eq!(l.value["a"], 1, "the first value wins");
    }

    #[test]
    fn merge_keys_and_aliases() {
        let l = load_str("base: &b {x: 1, y: 2}\nc:\n  <<: *b\n  y: 3\n").unwrap();
        assert_eq!(l.value["c"]["x"], 1);
        assert_eq!(l.value["c"]["y"], 3);
    }

    #[test]
    fn non_ascii_offsets_are_bytes() {
        let text = "# 한국어\na: 값\nb: [\n";
        let e = load_str(text).unwrap_err();
        assert!(e[0].span.start <= text.len());
        let l = load_str("# 한국어\na: 값\n").unwrap();
        let s = l.spans.get("/a").unwrap();
        assert_eq!(&"# 한국어\na: 값\n"[s.value.clone()], "값");
    }

    #[test]
    fn deep_nesting_is_refused() {
        let text = "[".repeat(10_000) + &"]".repeat(10_000);
        let e = load_str(&text).unwrap_err();
        assert!(e
            .iter()
            .any(|p| p.code == "catalog::too-deep" || p.code == "catalog::yaml-syntax"));
    }

    #[test]
    fn billion_laughs_is_bounded() {
        let mut s = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..10 {
            s.push_str(&format!("a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n", p = i - 1));
        }
        let e = load_str(&s).unwrap_err();
        assert_eq!(e[0].code, "catalog::too-large");
    }
}
