//! Field paths, field ownership sets and the patch formats.
//!
//! Mirrors server-side apply's field tracking (structured-merge-diff) in a
//! simplified form: an object's fields are the *leaves* of its JSON tree,
//! where maps recurse and every list is one atomic leaf (the real server
//! tracks associative lists such as `containers` per item, by merge key).
//! `metadata.labels` / `metadata.annotations` are maps, so each key is a
//! leaf of its own, as in the real server. Server-owned parts (`apiVersion`,
//! `kind`, `status`, and `metadata` other than labels, annotations,
//! finalizers and ownerReferences) are never tracked for the main resource.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value};

/// A field path, one segment per map key: `["spec", "replicas"]`.
pub type Path = Vec<String>;

/// `.spec.replicas`, as printed in conflict messages.
pub fn dotted(path: &Path) -> String {
    path.iter().map(|s| format!(".{s}")).collect()
}

/// Metadata fields a client owns; the rest of `metadata` is server-set.
const CLIENT_METADATA: &[&str] = &["labels", "annotations", "finalizers", "ownerReferences"];

/// Leaves of the client-owned part of an object, with their values.
pub fn leaves(obj: &Value) -> BTreeMap<Path, Value> {
    let mut out = BTreeMap::new();
    let Some(map) = obj.as_object() else {
        return out;
    };
    for (k, v) in map {
        match k.as_str() {
            "apiVersion" | "kind" | "status" => {}
            "metadata" => {
                if let Some(meta) = v.as_object() {
                    for (mk, mv) in meta {
                        if CLIENT_METADATA.contains(&mk.as_str()) {
                            walk(mv, vec!["metadata".into(), mk.clone()], &mut out);
                        }
                    }
                }
            }
            _ => walk(v, vec![k.clone()], &mut out),
        }
    }
    out
}

/// Leaves of `status` (for the controller's status-subresource entry).
pub fn status_leaves(obj: &Value) -> BTreeSet<Path> {
    let mut out = BTreeMap::new();
    if let Some(s) = obj.get("status") {
        walk(s, vec!["status".into()], &mut out);
    }
    out.into_keys().collect()
}

fn walk(v: &Value, path: Path, out: &mut BTreeMap<Path, Value>) {
    match v {
        Value::Null => {}
        Value::Object(m) if !m.is_empty() => {
            for (k, child) in m {
                let mut p = path.clone();
                p.push(k.clone());
                walk(child, p, out);
            }
        }
        _ => {
            out.insert(path, v.clone());
        }
    }
}

/// The value at `path`, if every step is a map key.
pub fn get<'a>(v: &'a Value, path: &[String]) -> Option<&'a Value> {
    path.iter()
        .try_fold(v, |cur, seg| cur.as_object()?.get(seg))
}

/// Set the value at `path`, creating (or replacing non-map) parents.
pub fn set(v: &mut Value, path: &[String], value: Value) {
    let Some((last, parents)) = path.split_last() else {
        *v = value;
        return;
    };
    let mut cur = v;
    for seg in parents {
        if !cur.is_object() {
            *cur = Value::Object(Map::new());
        }
        cur = cur
            .as_object_mut()
            .expect("just made an object")
            .entry(seg.clone())
            .or_insert(Value::Object(Map::new()));
    }
    if !cur.is_object() {
        *cur = Value::Object(Map::new());
    }
    cur.as_object_mut()
        .expect("just made an object")
        .insert(last.clone(), value);
}

/// Remove the value at `path`, then drop maps it leaves empty (below the
/// top level; the typed real server omits empty maps when serializing).
pub fn remove(v: &mut Value, path: &[String]) {
    fn rec(cur: &mut Value, path: &[String], depth: usize) {
        let Some(map) = cur.as_object_mut() else {
            return;
        };
        match path {
            [] => {}
            [last] => {
                map.remove(last);
            }
            [first, rest @ ..] => {
                if let Some(child) = map.get_mut(first) {
                    rec(child, rest, depth + 1);
                    if depth >= 1 && child.as_object().is_some_and(Map::is_empty) {
                        map.remove(first);
                    }
                }
            }
        }
    }
    rec(v, path, 0)
}

/// `nested "f:" fieldsV1` encoding of a set of leaf paths, as in
/// `metadata.managedFields[].fieldsV1`. Simplified: no `"."` self entries and
/// no `k:{...}` list-item keys (lists are atomic here).
pub fn fields_v1(paths: &BTreeSet<Path>) -> Value {
    let mut root = Value::Object(Map::new());
    for p in paths {
        let keyed: Path = p.iter().map(|s| format!("f:{s}")).collect();
        if get(&root, &keyed).is_none() {
            set(&mut root, &keyed, Value::Object(Map::new()));
        }
    }
    root
}

/// RFC 7386 JSON merge patch.
pub fn merge_patch(target: &mut Value, patch: &Value) {
    let Some(pm) = patch.as_object() else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    let tm = target.as_object_mut().expect("just made an object");
    for (k, v) in pm {
        if v.is_null() {
            tm.remove(k);
        } else {
            merge_patch(tm.entry(k.clone()).or_insert(Value::Null), v);
        }
    }
}

/// Deep-merge an applied configuration into an object: maps recurse, other
/// values (lists included) replace; nulls are skipped.
pub fn merge_applied(target: &mut Value, applied: &Value) {
    match (target.as_object_mut(), applied.as_object()) {
        (Some(tm), Some(am)) => {
            for (k, v) in am {
                if v.is_null() {
                    continue;
                }
                match tm.get_mut(k) {
                    Some(t) if t.is_object() && v.is_object() => merge_applied(t, v),
                    _ => {
                        tm.insert(k.clone(), v.clone());
                    }
                }
            }
        }
        _ => *target = applied.clone(),
    }
}

fn unescape(seg: &str) -> String {
    seg.replace("~1", "/").replace("~0", "~")
}

fn pointer_parts(ptr: &str) -> Result<Vec<String>, String> {
    if ptr.is_empty() {
        return Ok(Vec::new());
    }
    let rest = ptr
        .strip_prefix('/')
        .ok_or_else(|| format!("invalid JSON pointer {ptr:?}"))?;
    Ok(rest.split('/').map(unescape).collect())
}

fn pointer_string(parts: &[String]) -> String {
    parts
        .iter()
        .map(|p| format!("/{}", p.replace('~', "~0").replace('/', "~1")))
        .collect()
}

/// Insert at a JSON pointer (RFC 6902 `add`).
fn add_at(doc: &mut Value, parts: &[String], value: Value) -> Result<(), String> {
    let Some((last, parents)) = parts.split_last() else {
        *doc = value;
        return Ok(());
    };
    let parent = doc.pointer_mut(&pointer_string(parents)).ok_or_else(|| {
        format!(
            "add operation does not apply: doc is missing path: {:?}",
            pointer_string(parts)
        )
    })?;
    match parent {
        Value::Object(m) => {
            m.insert(last.clone(), value);
            Ok(())
        }
        Value::Array(a) => {
            let idx = if last == "-" {
                a.len()
            } else {
                last.parse::<usize>()
                    .map_err(|_| format!("invalid array index {last:?}"))?
            };
            if idx > a.len() {
                return Err(format!(
                    "add operation does not apply: index {idx} out of bounds"
                ));
            }
            a.insert(idx, value);
            Ok(())
        }
        _ => Err(format!(
            "add operation does not apply: {:?} is not a container",
            pointer_string(parents)
        )),
    }
}

/// Remove at a JSON pointer, returning the removed value.
fn remove_at(doc: &mut Value, parts: &[String]) -> Result<Value, String> {
    let missing = || {
        format!(
            "remove operation does not apply: doc is missing path: {:?}",
            pointer_string(parts)
        )
    };
    let (last, parents) = parts.split_last().ok_or_else(missing)?;
    match doc
        .pointer_mut(&pointer_string(parents))
        .ok_or_else(missing)?
    {
        Value::Object(m) => m.remove(last).ok_or_else(missing),
        Value::Array(a) => match last.parse::<usize>() {
            Ok(i) if i < a.len() => Ok(a.remove(i)),
            _ => Err(missing()),
        },
        _ => Err(missing()),
    }
}

/// RFC 6902 JSON patch (`add`, `remove`, `replace`, `move`, `copy`, `test`).
/// Errors are reported by the caller as 422, like the real server.
pub fn json_patch(doc: &mut Value, patch: &Value) -> Result<(), String> {
    let ops = patch
        .as_array()
        .ok_or("a JSON patch must be an array of operations")?;
    for op in ops {
        let kind = op
            .get("op")
            .and_then(Value::as_str)
            .ok_or("JSON patch operation without \"op\"")?;
        let path = op
            .get("path")
            .and_then(Value::as_str)
            .ok_or("JSON patch operation without \"path\"")?;
        let parts = pointer_parts(path)?;
        let value = || {
            op.get("value")
                .cloned()
                .ok_or_else(|| format!("{kind} operation without \"value\""))
        };
        let from = || -> Result<Vec<String>, String> {
            pointer_parts(
                op.get("from")
                    .and_then(Value::as_str)
                    .ok_or_else(|| format!("{kind} operation without \"from\""))?,
            )
        };
        match kind {
            "add" => add_at(doc, &parts, value()?)?,
            "remove" => {
                remove_at(doc, &parts)?;
            }
            "replace" => {
                remove_at(doc, &parts).map_err(|_| {
                    format!("replace operation does not apply: doc is missing key: {path}")
                })?;
                add_at(doc, &parts, value()?)?;
            }
            "move" => {
                let v = remove_at(doc, &from()?)?;
                add_at(doc, &parts, v)?;
            }
            "copy" => {
                let v = doc
                    .pointer(&pointer_string(&from()?))
                    .cloned()
                    .ok_or("copy operation does not apply: missing from path")?;
                add_at(doc, &parts, v)?;
            }
            "test" => {
                let want = value()?;
                if doc.pointer(&pointer_string(&parts)) != Some(&want) {
                    return Err(format!("testing value {path} failed: test failed"));
                }
            }
            other => return Err(format!("Unexpected kind: {other}")),
        }
    }
    Ok(())
}
