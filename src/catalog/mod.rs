//! Stage 1: catalog text -> typed [`Catalog`] with a span for every node.
//!
//! Order: decode UTF-8 -> YAML events to a JSON value with spans ([`yaml`]) ->
//! JSON Schema check collecting every error ([`schema`]) -> typed
//! deserialization. Semantic checks that relate values come next, in `model`.
//!
//! Architecture invariant: this stage is pure: bytes in, values or located
//! problems out. It never touches the filesystem.

pub mod scalars;
pub mod schema;
pub mod types;
pub mod yaml;

pub use types::Catalog;
pub use yaml::{push_pointer, SpanIndex};

use crate::diag::{Problem, Problems, SourceFile};

/// A catalog that passed the schema, with where each node came from.
#[derive(Debug, Clone)]
pub struct Parsed {
    /// The typed catalog.
    pub catalog: Catalog,
    /// JSON pointer -> source span.
    pub spans: SpanIndex,
    /// The source text.
    pub source: SourceFile,
}

/// Decode catalog bytes. Invalid UTF-8 is reported at the first bad byte.
pub fn decode(name: &str, bytes: &[u8]) -> Result<SourceFile, Problems> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    match std::str::from_utf8(bytes) {
        Ok(s) => match lone_carriage_return(s) {
            // YAML breaks lines at a lone CR, diagnostics count LFs: refuse
            // the one old line ending on which the two would disagree.
            Some(at) => {
                let src = SourceFile::new(name, s);
                Err(Problems(vec![Problem::new(
                    &src,
                    "catalog::line-ending",
                    at..at + 1,
                    "a carriage return without a line feed",
                )
                .label("a lone CR (classic Mac line ending)")
                .help("save the file with LF (or CRLF) line endings")]))
            }
            None => Ok(SourceFile::new(name, s)),
        },
        Err(e) => {
            let at = e.valid_up_to();
            // Shown lossily; a lone CR there becomes a space (same width),
            // so the excerpt's lines are the ones gen counts.
            let mut shown = String::from_utf8_lossy(bytes).into_owned().into_bytes();
            for i in 0..shown.len() {
                if shown[i] == b'\r' && shown.get(i + 1) != Some(&b'\n') {
                    shown[i] = b' ';
                }
            }
            let shown = String::from_utf8(shown).unwrap_or_default();
            let src = SourceFile::new(name, shown);
            // Up to `at` the lossy text is the input; there it holds the
            // replacement character, whose whole width the span must cover.
            Err(Problems(vec![Problem::new(
                &src,
                "catalog::encoding",
                at..at + char::REPLACEMENT_CHARACTER.len_utf8(),
                "the catalog is not valid UTF-8",
            )
            .label("this byte is not UTF-8")
            .help(
                "save the file as UTF-8 (without other encodings such as Latin-1 or UTF-16)",
            )]))
        }
    }
}

/// The byte offset of the first CR not followed by LF.
fn lone_carriage_return(s: &str) -> Option<usize> {
    let b = s.as_bytes();
    b.iter()
        .enumerate()
        .find(|&(i, &c)| c == b'\r' && b.get(i + 1) != Some(&b'\n'))
        .map(|(i, _)| i)
}

/// Parse and schema-check a catalog. All problems found are returned together.
pub fn parse(src: &SourceFile) -> Result<Parsed, Problems> {
    match parse_lenient(src) {
        (Some(p), problems, _) if problems.is_empty() => Ok(p),
        (_, problems, _) => Err(Problems(problems).finish()),
    }
}

/// Parse leniently: besides the problems, return a best-effort typed catalog
/// when the schema errors could be repaired (invalid optional values removed,
/// missing values filled with placeholders), so that semantic checks can still
/// run and report everything in one pass. The third element lists the
/// *tainted* scopes (JSON pointers) whose semantic findings must be discarded
/// because they were repaired.
pub fn parse_lenient(src: &SourceFile) -> (Option<Parsed>, Vec<Problem>, Vec<String>) {
    if src.text().trim().is_empty() || is_only_comments(src.text()) {
        return (
            None,
            vec![Problem::new(src, "catalog::empty", 0..0, "the catalog is empty")
                .label("nothing here")
                .help("start with `version: 1`, `project: <name>` and a `services:` mapping (see docs/catalog.md)")],
            vec![],
        );
    }
    let mut loaded = match yaml::load(src) {
        Ok(l) => l,
        Err(p) => return (None, p, vec![]),
    };
    if !loaded.value.is_object() {
        let span = loaded.spans.value("");
        return (
            None,
            vec![Problem::new(
                src,
                "catalog::not-a-mapping",
                span,
                "the catalog must be a YAML mapping of keys to values",
            )
            .label("this is not a mapping")
            .help("start with `version: 1`, `project: <name>` and a `services:` mapping")],
            vec![],
        );
    }
    let mut problems = std::mem::take(&mut loaded.problems);
    problems.extend(schema::check(src, &loaded));
    if problems.is_empty() {
        return match typed(src, loaded.value, &loaded.spans) {
            Ok(catalog) => (
                Some(Parsed {
                    catalog,
                    spans: loaded.spans,
                    source: src.clone(),
                }),
                vec![],
                vec![],
            ),
            Err(p) => (None, vec![*p], vec![]),
        };
    }
    // Repair a copy so semantic checks can run on the rest of the catalog.
    let (repaired, tainted) = schema::repair(&loaded.value);
    let parsed = repaired.and_then(|value| {
        // Valid except possibly for names kept on purpose; serde does not care.
        typed(src, value, &loaded.spans).ok().map(|catalog| Parsed {
            catalog,
            spans: loaded.spans.clone(),
            source: src.clone(),
        })
    });
    (parsed, problems, tainted)
}

/// Deserialize a schema-valid value (taken by value: `x-` extension keys are
/// dropped in place, without copying the document).
fn typed(
    src: &SourceFile,
    mut value: serde_json::Value,
    spans: &SpanIndex,
) -> Result<Catalog, Box<Problem>> {
    if let serde_json::Value::Object(m) = &mut value {
        m.retain(|k, _| !k.starts_with("x-"));
    }
    serde_path_to_error::deserialize::<_, Catalog>(&value).map_err(|e| {
        let mut pointer = String::new();
        for seg in e.path().iter() {
            use serde_path_to_error::Segment;
            match seg {
                Segment::Map { key } => pointer = push_pointer(&pointer, key),
                Segment::Seq { index } => pointer = push_pointer(&pointer, &index.to_string()),
                Segment::Enum { variant } => pointer = push_pointer(&pointer, variant),
                Segment::Unknown => {}
            }
        }
        let inner = e.inner().to_string();
        let (message, help) = if inner.contains("floating point") {
            (
                format!("`{}` must be a whole number", schema::dotted(&pointer)),
                "write it without a fraction, e.g. `8080` instead of `8080.0`".to_owned(),
            )
        } else {
            (
                format!("`{}` is invalid: {inner}", schema::dotted(&pointer)),
                "see docs/catalog.md for the allowed values".to_owned(),
            )
        };
        Box::new(
            Problem::new(
                src,
                "catalog::invalid-value",
                spans.value(&pointer),
                message,
            )
            .label("invalid value")
            .help(help),
        )
    })
}

fn is_only_comments(text: &str) -> bool {
    text.lines().all(|l| {
        let t = l.trim();
        t.is_empty() || t.starts_with('#') || t == "---" || t == "..."
    })
}
