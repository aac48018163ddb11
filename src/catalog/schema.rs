//! The catalog JSON Schema (generated from [`super::types`]) and the mapping
//! of its validation errors to located, helpful diagnostics.

use std::sync::OnceLock;

use jsonschema::error::{TypeKind, ValidationErrorKind};
use serde_json::Value;

use super::yaml::{push_pointer, Loaded};
use crate::diag::{Problem, SourceFile};

/// The catalog JSON Schema (2020-12) as a JSON value.
pub fn schema() -> &'static Value {
    static SCHEMA: OnceLock<Value> = OnceLock::new();
    SCHEMA.get_or_init(|| {
        let s = schemars::schema_for!(super::types::Catalog);
        let mut v = s.to_value();
        strip_null(&mut v);
        v
    })
}

/// Marks a schema whose `null` means something ([`super::types::Override`]:
/// unset in an environment); [`strip_null`] keeps its `null` and drops the mark.
pub(crate) const KEEP_NULL: &str = "x-gen-keep-null";

/// Optional keys are written either with a value or not at all: drop the
/// `null` alternative schemars adds for `Option<T>`, so that a nested error is
/// reported at its node instead of as a failed `anyOf` on the parent.
pub(crate) fn strip_null(v: &mut Value) {
    match v {
        Value::Object(m) => {
            let keep = m.remove(KEEP_NULL).is_some();
            if let Some(Value::Array(types)) = m.get_mut("type").filter(|_| !keep) {
                types.retain(|t| t != "null");
                if types.len() == 1 {
                    let only = types[0].clone();
                    m.insert("type".to_owned(), only);
                }
            }
            let collapse = match m.get("anyOf") {
                Some(Value::Array(alts)) if alts.len() == 2 => {
                    let is_null = |a: &Value| a.get("type").and_then(Value::as_str) == Some("null");
                    match (is_null(&alts[0]), is_null(&alts[1])) {
                        (true, false) => Some(alts[1].clone()),
                        (false, true) => Some(alts[0].clone()),
                        _ => None,
                    }
                }
                _ => None,
            };
            if let Some(Value::Object(inner)) = collapse {
                m.remove("anyOf");
                for (k, val) in inner {
                    m.entry(k).or_insert(val);
                }
            }
            for val in m.values_mut() {
                strip_null(val);
            }
        }
        Value::Array(a) => a.iter_mut().for_each(strip_null),
        _ => {}
    }
}

/// The schema as the pretty-printed text stored in `schemas/catalog.schema.json`.
pub fn schema_text() -> String {
    let mut s = serde_json::to_string_pretty(schema()).unwrap_or_default();
    s.push('\n');
    s
}

/// The catalog schema compiled into code at build time from the committed
/// `schemas/catalog.schema.json` (tests/schema.rs holds that file equal to
/// [`schema`], generated from the types). It only answers "valid or not":
/// a valid catalog, the usual case, then needs no run-time compilation of
/// the schema (the largest single cost of a small `gen build`); the errors
/// of an invalid one still come from the run-time validator, whose error
/// paths the diagnostics are written against.
#[jsonschema::validator(
    path = "schemas/catalog.schema.json",
    methods = { is_valid = true, validate = false, iter_errors = false }
)]
struct Precompiled;

/// Whether the build-time and the run-time validators agree on `value`
/// (for tests: `check` trusts the first's "valid").
#[doc(hidden)]
pub fn validators_agree(value: &Value) -> bool {
    validator().is_some_and(|v| v.is_valid(value) == Precompiled::is_valid(value))
}

fn validator() -> Option<&'static jsonschema::Validator> {
    static V: OnceLock<Option<jsonschema::Validator>> = OnceLock::new();
    V.get_or_init(|| jsonschema::draft202012::new(schema()).ok())
        .as_ref()
}

/// Validate the loaded document against the schema; every error becomes a
/// [`Problem`] located at its node.
pub fn check(src: &SourceFile, doc: &Loaded) -> Vec<Problem> {
    if Precompiled::is_valid(&doc.value) {
        return Vec::new();
    }
    let Some(v) = validator() else {
        return vec![Problem::new(
            src,
            "gen::internal",
            0..0,
            "internal error: the catalog schema does not compile",
        )];
    };
    let mut out = Vec::new();
    for err in v.iter_errors(&doc.value) {
        let pointer = err.instance_path().as_str().to_owned();
        let schema_path = err.schema_path().as_str().to_owned();
        out.extend(describe(
            src,
            doc,
            &pointer,
            &schema_path,
            err.kind(),
            err.instance(),
        ));
    }
    out
}

/// The scope a schema error taints: the service it is in, else its top-level
/// section (the whole catalog for top-level keys).
fn scope_of(pointer: &str) -> String {
    if pointer.is_empty() {
        return String::new();
    }
    let segs: Vec<&str> = pointer.trim_start_matches('/').split('/').collect();
    match segs.as_slice() {
        ["services", name, ..] => format!("/services/{name}"),
        ["cluster", part, ..] => format!("/cluster/{part}"),
        [first, ..] => format!("/{first}"),
        [] => String::new(),
    }
}

/// How to repair one schema error in the lenient pass.
enum Fix {
    /// Insert a placeholder for a missing required key (None: no obvious one).
    Fill(String, Option<Value>),
    /// Drop unknown keys from the mapping.
    RemoveKeys(Vec<String>),
    /// Keep the node (invalid names: removing them would invent errors).
    Keep(String),
    /// Remove the invalid node.
    Remove,
}

/// Remove or replace schema-invalid nodes in a copy of `value` until it
/// validates (at most a few rounds). Returns the repaired value (None if it
/// could not be repaired) and the tainted scopes.
pub fn repair(value: &Value) -> (Option<Value>, Vec<String>) {
    let Some(v) = validator() else {
        return (None, vec![]);
    };
    let mut cur = value.clone();
    let mut tainted: Vec<String> = Vec::new();
    for _ in 0..4 {
        let fixes: Vec<(String, Fix)> = v
            .iter_errors(&cur)
            .map(|e| {
                let pointer = e.instance_path().as_str().to_owned();
                let fix = match e.kind() {
                    ValidationErrorKind::Required { property } => {
                        let prop = property.as_str().unwrap_or_default().to_owned();
                        let prop_schema = owner(e.schema_path().as_str())
                            .and_then(|o| o.get("properties"))
                            .and_then(|p| p.get(&prop))
                            .map(|s| deref(schema(), s));
                        let fill = placeholder(prop_schema);
                        Fix::Fill(prop, fill)
                    }
                    ValidationErrorKind::AdditionalProperties { unexpected } => {
                        Fix::RemoveKeys(unexpected.clone())
                    }
                    ValidationErrorKind::PropertyNames { error } => {
                        Fix::Keep(error.instance().as_str().unwrap_or_default().to_owned())
                    }
                    _ => Fix::Remove,
                };
                (pointer, fix)
            })
            .collect();
        for (pointer, fix) in &fixes {
            if let Fix::Keep(name) = fix {
                tainted.push(scope_of(&push_pointer(pointer, name)));
            }
        }
        let fixes: Vec<(String, Fix)> = fixes
            .into_iter()
            .filter(|(_, f)| !matches!(f, Fix::Keep(_)))
            .collect();
        if fixes.is_empty() {
            tainted.sort();
            tainted.dedup();
            return (Some(cur), tainted);
        }
        for (pointer, fix) in fixes {
            tainted.push(scope_of(&pointer));
            match fix {
                Fix::Keep(_) => {}
                Fix::RemoveKeys(keys) => {
                    if let Some(Value::Object(m)) = cur.pointer_mut(&pointer) {
                        for k in keys {
                            m.remove(&k);
                        }
                    }
                }
                Fix::Fill(prop, fill) => match (cur.pointer_mut(&pointer), fill) {
                    (Some(Value::Object(m)), Some(val)) => {
                        tainted.push(scope_of(&push_pointer(&pointer, &prop)));
                        m.insert(prop, val);
                    }
                    _ => return (None, tainted),
                },
                Fix::Remove => {
                    if pointer.is_empty() || !remove_member(&mut cur, &pointer) {
                        return (None, tainted);
                    }
                }
            }
        }
    }
    (None, tainted)
}

/// Remove the nearest mapping member holding the node at `pointer` (a whole
/// list rather than shifting list indices mid-round).
fn remove_member(cur: &mut Value, pointer: &str) -> bool {
    let mut target = pointer.to_owned();
    while let Some((parent, _)) = target.rsplit_once('/') {
        if matches!(cur.pointer(parent), Some(Value::Array(_))) {
            target = parent.to_owned();
        } else {
            break;
        }
    }
    let Some((parent, last)) = target.rsplit_once('/') else {
        return false;
    };
    let last = last.replace("~1", "/").replace("~0", "~");
    if let Some(Value::Object(m)) = cur.pointer_mut(parent) {
        m.remove(&last);
    }
    true
}

/// A schema-valid stand-in for a missing required value, if one is obvious.
fn placeholder(schema: Option<&Value>) -> Option<Value> {
    let s = schema?;
    let min = s.get("minimum").and_then(Value::as_u64).unwrap_or(1);
    match s.get("type").and_then(Value::as_str)? {
        "integer" | "number" => Some(Value::from(min.max(1))),
        "array" => Some(Value::Array(vec![])),
        "object" => Some(Value::Object(Default::default())),
        // The first stand-in the property's own schema accepts (patterns
        // differ: names, references, ids).
        "string" => [
            "placeholder:0",
            "placeholder",
            "x",
            "0",
            "x/y",
            "2000-01-01",
        ]
        .into_iter()
        .map(|c| Value::String(c.to_owned()))
        .find(|c| jsonschema::validator_for(s).is_ok_and(|v| v.is_valid(c))),
        _ => None,
    }
}

/// `/services/api/port` -> `services.api.port`.
pub fn dotted(pointer: &str) -> String {
    if pointer.is_empty() {
        return "the catalog".to_owned();
    }
    pointer
        .trim_start_matches('/')
        .split('/')
        .map(|s| s.replace("~1", "/").replace("~0", "~"))
        .collect::<Vec<_>>()
        .join(".")
}

/// Walk a schema location (JSON pointer into the schema document), following
/// `$ref`s met on the way.
fn schema_at(path: &str) -> Option<&'static Value> {
    let root = schema();
    let mut cur = root;
    for seg in path
        .trim_start_matches('/')
        .split('/')
        .filter(|s| !s.is_empty())
    {
        let seg = seg.replace("~1", "/").replace("~0", "~");
        cur = deref(root, cur);
        cur = match cur {
            Value::Object(m) => m.get(&seg)?,
            Value::Array(a) => a.get(seg.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    Some(deref(root, cur))
}

fn deref<'a>(root: &'a Value, mut v: &'a Value) -> &'a Value {
    for _ in 0..16 {
        let Some(r) = v.get("$ref").and_then(Value::as_str) else {
            return v;
        };
        let Some(p) = r.strip_prefix('#') else {
            return v;
        };
        match root.pointer(p) {
            Some(t) => v = t,
            None => return v,
        }
    }
    v
}

/// The schema object that owns the keyword at `schema_path`.
fn owner(schema_path: &str) -> Option<&'static Value> {
    let parent = schema_path.rsplit_once('/').map(|(p, _)| p).unwrap_or("");
    schema_at(parent)
}

fn description(schema: Option<&Value>) -> Option<String> {
    schema?
        .get("description")
        .and_then(Value::as_str)
        .map(|d| d.replace('\n', " "))
}

/// Closest candidate by edit distance, if close enough to be a likely typo.
pub fn closest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let mut best: Option<(f64, &str)> = None;
    for c in candidates {
        let score = strsim::jaro_winkler(&word.to_lowercase(), &c.to_lowercase());
        if score > 0.8 && best.is_none_or(|(s, _)| score > s) {
            best = Some((score, c));
        }
    }
    best.map(|(_, c)| c)
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "nothing (null)",
        Value::Bool(_) => "a boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "an integer",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a mapping",
    }
}

fn type_name(t: &str) -> &'static str {
    match t {
        "integer" => "a whole number",
        "number" => "a number",
        "string" => "a string",
        "boolean" => "true or false",
        "array" => "a list",
        "object" => "a mapping",
        "null" => "empty",
        _ => "a value of another type",
    }
}

fn short(v: &Value) -> String {
    let s = match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    if s.chars().count() > 60 {
        let cut: String = s.chars().take(57).collect();
        format!("{cut}...")
    } else {
        s
    }
}

/// A DNS-1123 label close to `name`, to suggest as a fix.
pub fn suggest_label(name: &str) -> Option<String> {
    let mut s: String = name
        .to_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    while s.contains("--") {
        s = s.replace("--", "-");
    }
    let s = s.trim_matches('-').chars().take(63).collect::<String>();
    let s = s.trim_end_matches('-').to_owned();
    (!s.is_empty() && s != name).then_some(s)
}

fn describe(
    src: &SourceFile,
    doc: &Loaded,
    pointer: &str,
    schema_path: &str,
    kind: &ValidationErrorKind,
    instance: &Value,
) -> Vec<Problem> {
    let spans = &doc.spans;
    let path = dotted(pointer);
    let field = pointer.rsplit('/').next().unwrap_or("");
    let own = owner(schema_path);
    let help_desc = description(own);
    // Enums, and `oneOf` lists of documented constants (how schemars writes
    // enums with doc comments), share one "not one of the choices" message.
    let choices = match kind {
        ValidationErrorKind::Enum { options } => {
            options.as_array().map(|a| a.iter().map(short).collect())
        }
        ValidationErrorKind::OneOfNotValid { .. } | ValidationErrorKind::AnyOf { .. } => {
            enum_options(schema_path)
        }
        _ => None,
    };
    if let Some(opts) = choices {
        let got = short(instance);
        let help = match closest(&got, opts.iter().map(String::as_str)) {
            Some(c) => format!("did you mean `{c}`? Choose one of: {}", opts.join(", ")),
            None => format!("choose one of: {}", opts.join(", ")),
        };
        return vec![Problem::new(
            src,
            "catalog::invalid-value",
            spans.value(pointer),
            format!("`{got}` is not a valid value for `{path}`"),
        )
        .label("unknown value")
        .help(help)];
    }
    match kind {
        ValidationErrorKind::AdditionalProperties { unexpected } => {
            let allowed: Vec<&str> = own
                .and_then(|o| o.get("properties"))
                .and_then(Value::as_object)
                .map(|m| m.keys().map(String::as_str).collect())
                .unwrap_or_default();
            unexpected
                .iter()
                .map(|k| {
                    let p = push_pointer(pointer, k);
                    let at = if pointer.is_empty() {
                        "at the top level".to_owned()
                    } else {
                        format!("in `{path}`")
                    };
                    let help = match closest(k, allowed.iter().copied()) {
                        Some(c) => format!(
                            "did you mean `{c}`? Keys allowed here: {}",
                            allowed.join(", ")
                        ),
                        None => format!("keys allowed here: {}", allowed.join(", ")),
                    };
                    Problem::new(
                        src,
                        "catalog::unknown-key",
                        spans.key_or_value(&p),
                        format!("unknown key `{k}` {at}"),
                    )
                    .label("not a catalog key")
                    .help(help)
                })
                .collect()
        }
        ValidationErrorKind::PropertyNames { error } => {
            let Some(name) = error.instance().as_str() else {
                return vec![];
            };
            let p = push_pointer(pointer, name);
            let what = match field {
                "services" => "service name",
                "namespaces" => "namespace name",
                "env" | "secret_env" => "environment variable name",
                _ => "name",
            };
            let help = if what == "environment variable name" {
                "use letters, digits, `_`, `.` and `-`, not starting with a digit".to_owned()
            } else if what == "service name" {
                let base = "service names use lowercase letters, digits and `-`, start with a letter, end with a letter or digit, and have at most 53 characters (Kubernetes Service and Helm release names)";
                match suggest_label(name) {
                    Some(s) if s.starts_with(|c: char| c.is_ascii_lowercase()) => format!(
                        "{base}; try `{}`",
                        s.chars().take(53).collect::<String>().trim_end_matches('-')
                    ),
                    _ => base.to_owned(),
                }
            } else {
                let base = "names must be DNS-1123 labels: lowercase letters, digits and `-`, starting and ending with a letter or digit, at most 63 characters";
                match suggest_label(name) {
                    Some(s) => format!("{base}; try `{s}`"),
                    None => base.to_owned(),
                }
            };
            vec![Problem::new(
                src,
                "catalog::invalid-name",
                spans.key_or_value(&p),
                format!("`{name}` is not a valid {what}"),
            )
            .label("invalid name")
            .help(help)]
        }
        ValidationErrorKind::Required { property } => {
            let prop = property.as_str().unwrap_or_default();
            let prop_desc = own
                .and_then(|o| o.get("properties"))
                .and_then(|p| p.get(prop))
                .map(|s| deref(schema(), s))
                .and_then(|s| description(Some(s)));
            let at = if pointer.is_empty() {
                "at the top level".to_owned()
            } else {
                format!("in `{path}`")
            };
            let span = if pointer.is_empty() {
                0..0
            } else {
                spans.key_or_value(pointer)
            };
            let mut pr = Problem::new(
                src,
                "catalog::missing-key",
                span,
                format!("missing required key `{prop}` {at}"),
            )
            .label(format!("`{prop}` is missing here"));
            pr = pr.help(match prop_desc {
                Some(d) => format!("add `{prop}:` ({d})"),
                None => format!("add `{prop}:`"),
            });
            vec![pr]
        }
        ValidationErrorKind::Type { kind } => {
            let expected: Vec<&str> = match kind {
                TypeKind::Single(t) => vec![type_str(*t)],
                TypeKind::Multiple(ts) => ts.iter().map(type_str).collect(),
            };
            let expected_text = expected
                .iter()
                .map(|t| type_name(t))
                .collect::<Vec<_>>()
                .join(" or ");
            let written = src
                .text()
                .get(spans.value(pointer))
                .unwrap_or_default()
                .trim()
                .to_owned();
            let help = type_help(&expected, instance, field, &written).or(help_desc);
            let mut pr = Problem::new(
                src,
                "catalog::wrong-type",
                spans.value(pointer),
                format!(
                    "`{path}` must be {expected_text}, found {}",
                    kind_of(instance)
                ),
            )
            .label(format!("expected {expected_text}"));
            if let Some(h) = help {
                pr = pr.help(h);
            }
            vec![pr]
        }
        ValidationErrorKind::Minimum { limit } | ValidationErrorKind::Maximum { limit } => {
            let bound = if matches!(kind, ValidationErrorKind::Minimum { .. }) {
                "at least"
            } else {
                "at most"
            };
            if pointer == "/version" {
                return vec![Problem::new(
                    src,
                    "catalog::version",
                    spans.value(pointer),
                    format!("catalog version {} is not supported", short(instance)),
                )
                .label("unsupported version")
                .help("this gen reads catalog version 1; write `version: 1`")];
            }
            let mut pr = Problem::new(
                src,
                "catalog::out-of-range",
                spans.value(pointer),
                format!(
                    "`{path}` is {}, but must be {bound} {limit}",
                    short(instance)
                ),
            )
            .label("out of range");
            if let Some(h) = help_desc {
                pr = pr.help(h);
            }
            vec![pr]
        }
        ValidationErrorKind::Pattern { .. } => {
            let mut pr = Problem::new(
                src,
                "catalog::invalid-value",
                spans.value(pointer),
                format!("`{}` is not a valid value for `{path}`", short(instance)),
            )
            .label("invalid format");
            let mut help = help_desc.unwrap_or_default();
            if matches!(field, "namespace" | "project") || pointer.contains("/calls/") {
                if let Some(s) = instance.as_str().and_then(suggest_label) {
                    help = format!("{help} Try `{s}`.");
                }
            }
            if !help.is_empty() {
                pr = pr.help(help.trim().to_owned());
            }
            vec![pr]
        }
        ValidationErrorKind::Constant { expected_value } => {
            let mut pr = Problem::new(
                src,
                "catalog::invalid-value",
                spans.value(pointer),
                format!(
                    "`{path}` is `{}`, but only `{}` is allowed here",
                    short(instance),
                    short(expected_value)
                ),
            )
            .label("invalid value");
            // The one direct constant: an environment's `hpa: false`.
            let help = if field == "hpa" {
                Some("write the environment's HPA as `{min, max, cpu}`, or `false` to run it without one (then set `replicas`)".to_owned())
            } else {
                help_desc
            };
            if let Some(h) = help {
                pr = pr.help(h);
            }
            vec![pr]
        }
        ValidationErrorKind::MinItems { limit } => vec![Problem::new(
            src,
            "catalog::invalid-value",
            spans.value(pointer),
            format!("`{path}` needs at least {limit} item(s)"),
        )
        .label("too few items")
        .help(help_desc.unwrap_or_else(|| "add an item".to_owned()))],
        ValidationErrorKind::MaxLength { limit } | ValidationErrorKind::MinLength { limit } => {
            let bound = if matches!(kind, ValidationErrorKind::MaxLength { .. }) {
                "at most"
            } else {
                "at least"
            };
            let mut pr = Problem::new(
                src,
                "catalog::invalid-value",
                spans.value(pointer),
                format!("`{path}` must be {bound} {limit} characters long"),
            )
            .label("wrong length");
            if let Some(h) = help_desc {
                pr = pr.help(h);
            }
            vec![pr]
        }
        other => vec![Problem::new(
            src,
            "catalog::invalid-value",
            spans.value(pointer),
            format!("`{path}` is invalid: {}", other_message(other)),
        )
        .help(
            help_desc.unwrap_or_else(|| "see docs/catalog.md for the allowed values".to_owned()),
        )],
    }
}

/// The allowed values when the keyword at `schema_path` is a `oneOf`/`anyOf`
/// of constants (how schemars writes documented enum variants).
fn enum_options(schema_path: &str) -> Option<Vec<String>> {
    let alts = schema_at(schema_path)?.as_array()?;
    let mut opts = Vec::new();
    for a in alts {
        let a = deref(schema(), a);
        if let Some(c) = a.get("const") {
            opts.push(short(c));
        } else if let Some(e) = a.get("enum").and_then(Value::as_array) {
            opts.extend(e.iter().map(short));
        } else {
            return None;
        }
    }
    Some(opts)
}

fn other_message(kind: &ValidationErrorKind) -> String {
    format!("failed the `{}` check", kind.keyword())
}

fn type_str(t: jsonschema::types::JsonType) -> &'static str {
    use jsonschema::types::JsonType as J;
    match t {
        J::Array => "array",
        J::Boolean => "boolean",
        J::Integer => "integer",
        J::Null => "null",
        J::Number => "number",
        J::Object => "object",
        J::String => "string",
    }
}

fn type_help(expected: &[&str], found: &Value, field: &str, written: &str) -> Option<String> {
    let wants = |t: &str| expected.contains(&t);
    // Quote what the user wrote (`1.10`), not the number YAML made of it (`1.1`).
    let literal = if written.is_empty() {
        found.to_string()
    } else {
        written.to_owned()
    };
    match found {
        Value::Number(_) | Value::Bool(_) if wants("string") => Some(format!(
            "quote the value so YAML reads it as text: `{field}: \"{literal}\"`"
        )),
        Value::String(s) if wants("boolean") => Some(match s.to_lowercase().as_str() {
            "yes" | "on" | "y" => "write `true` (YAML 1.2 reads yes/on as text)".to_owned(),
            "no" | "off" | "n" => "write `false` (YAML 1.2 reads no/off as text)".to_owned(),
            _ => "write `true` or `false`".to_owned(),
        }),
        Value::String(s)
            if (wants("integer") || wants("number")) && s.trim().parse::<f64>().is_ok() =>
        {
            Some(format!("remove the quotes: `{field}: {}`", s.trim()))
        }
        Value::Null if wants("object") => Some(format!(
            "`{field}` is empty: give it keys, or delete the line"
        )),
        Value::Null if wants("array") => Some(format!(
            "`{field}` is empty: write `{field}: []` or list items"
        )),
        Value::Null => Some(format!(
            "`{field}` has no value: give it one, or delete the line"
        )),
        Value::String(_) if wants("array") => {
            Some(format!("write a list: `{field}: [{}]`", short(found)))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every example, golden and bad catalog: both validators agree, and
    /// both answers occur.
    #[test]
    fn precompiled_and_runtime_validators_agree() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut files = Vec::new();
        for dir in ["examples", "golden"] {
            for e in std::fs::read_dir(root.join(dir)).unwrap() {
                files.push(e.unwrap().path().join("catalog.yaml"));
            }
        }
        for e in std::fs::read_dir(root.join("tests/bad")).unwrap() {
            files.push(e.unwrap().path());
        }
        let (mut valid, mut invalid) = (0, 0);
        for f in files.iter().filter(|f| f.is_file()) {
            let text = String::from_utf8_lossy(&std::fs::read(f).unwrap()).into_owned();
            let Ok(loaded) = super::super::yaml::load(&SourceFile::new("c.yaml", text)) else {
                continue;
            };
            assert!(validators_agree(&loaded.value), "{}", f.display());
            if Precompiled::is_valid(&loaded.value) {
                valid += 1;
            } else {
                invalid += 1;
            }
        }
        assert!(
            valid >= 8 && invalid >= 30,
            "{valid} valid, {invalid} invalid"
        );
    }
}
