//! Label and field selectors of list and watch requests.
//!
//! Mirrors the apimachinery grammar for the operators clients use: labels
//! `k=v`, `k==v`, `k!=v`, `k`, `!k`, `k in (a,b)`, `k notin (a,b)`; fields
//! `f=v`, `f==v`, `f!=v`; a comma means AND. Field selectors accept
//! `metadata.name` and `metadata.namespace` for every kind plus the extra
//! fields the real server indexes for Events and Pods. Simplified: `k>n` /
//! `k<n` label operators are rejected (400) instead of supported.

use std::collections::BTreeSet;

use serde_json::Value;

#[derive(Debug, Clone)]
enum LabelReq {
    Eq(String, String),
    NotEq(String, String),
    Exists(String),
    NotExists(String),
    In(String, BTreeSet<String>),
    NotIn(String, BTreeSet<String>),
}

/// A parsed `labelSelector`.
#[derive(Debug, Clone, Default)]
pub struct LabelSelector(Vec<LabelReq>);

/// A parsed `fieldSelector`: (field path, wanted value, equal?).
#[derive(Debug, Clone, Default)]
pub struct FieldSelector(Vec<(String, String, bool)>);

/// Split on commas outside parentheses.
fn split_top(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut depth = 0i32;
    let mut cur = String::new();
    for c in s.chars() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                out.push(std::mem::take(&mut cur));
                continue;
            }
            _ => {}
        }
        cur.push(c);
    }
    out.push(cur);
    out
}

fn valid_key(k: &str) -> bool {
    !k.is_empty()
        && k.len() <= 316
        && k.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '/'))
}

fn valid_value(v: &str) -> bool {
    v.len() <= 63
        && v.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
}

fn parse_set(rest: &str) -> Result<BTreeSet<String>, String> {
    let inner = rest
        .trim()
        .strip_prefix('(')
        .and_then(|r| r.strip_suffix(')'))
        .ok_or_else(|| {
            format!("unable to parse requirement: expected a parenthesised set, found {rest:?}")
        })?;
    let mut set = BTreeSet::new();
    for v in inner.split(',') {
        let v = v.trim();
        if !valid_value(v) {
            return Err(format!(
                "unable to parse requirement: invalid label value: {v:?}"
            ));
        }
        set.insert(v.to_string());
    }
    Ok(set)
}

impl LabelSelector {
    /// Parse a selector string; the error becomes a 400 BadRequest message.
    pub fn parse(s: &str) -> Result<Self, String> {
        let mut reqs = Vec::new();
        if s.trim().is_empty() {
            return Ok(Self(reqs));
        }
        for part in split_top(s) {
            let p = part.trim();
            let bad = |what: &str| Err(format!("unable to parse requirement: {what}: {p:?}"));
            if p.is_empty() {
                return bad("empty requirement");
            }
            let req = if let Some(k) = p.strip_prefix('!') {
                let k = k.trim();
                if !valid_key(k) {
                    return bad("invalid label key");
                }
                LabelReq::NotExists(k.to_string())
            } else if let Some((k, v)) = p.split_once("!=") {
                LabelReq::NotEq(k.trim().to_string(), v.trim().to_string())
            } else if let Some((k, v)) = p.split_once("==") {
                LabelReq::Eq(k.trim().to_string(), v.trim().to_string())
            } else if let Some((k, v)) = p.split_once('=') {
                LabelReq::Eq(k.trim().to_string(), v.trim().to_string())
            } else if let Some((k, rest)) = p.split_once(" notin ") {
                LabelReq::NotIn(k.trim().to_string(), parse_set(rest)?)
            } else if let Some((k, rest)) = p.split_once(" in ") {
                LabelReq::In(k.trim().to_string(), parse_set(rest)?)
            } else if p.contains(['<', '>', '(', ')', ' ']) {
                return bad("unsupported operator");
            } else {
                LabelReq::Exists(p.to_string())
            };
            match &req {
                LabelReq::Eq(k, v) | LabelReq::NotEq(k, v) => {
                    if !valid_key(k) {
                        return bad("invalid label key");
                    }
                    if !valid_value(v) {
                        return bad("invalid label value");
                    }
                }
                LabelReq::Exists(k) | LabelReq::In(k, _) | LabelReq::NotIn(k, _)
                    if !valid_key(k) =>
                {
                    return bad("invalid label key");
                }
                _ => {}
            }
            reqs.push(req);
        }
        Ok(Self(reqs))
    }

    /// Whether the object's `metadata.labels` satisfy every requirement.
    pub fn matches(&self, obj: &Value) -> bool {
        let labels = obj.pointer("/metadata/labels");
        let get = |k: &str| labels.and_then(|l| l.get(k)).and_then(Value::as_str);
        self.0.iter().all(|r| match r {
            LabelReq::Eq(k, v) => get(k) == Some(v.as_str()),
            LabelReq::NotEq(k, v) => get(k) != Some(v.as_str()),
            LabelReq::Exists(k) => get(k).is_some(),
            LabelReq::NotExists(k) => get(k).is_none(),
            LabelReq::In(k, set) => get(k).is_some_and(|v| set.contains(v)),
            LabelReq::NotIn(k, set) => get(k).is_none_or(|v| !set.contains(v)),
        })
    }
}

/// Field selector paths the real server accepts for `kind`.
fn supported_fields(kind: &str) -> &'static [&'static str] {
    match kind {
        "Event" => &[
            "involvedObject.kind",
            "involvedObject.namespace",
            "involvedObject.name",
            "involvedObject.uid",
            "involvedObject.apiVersion",
            "involvedObject.resourceVersion",
            "involvedObject.fieldPath",
            "reason",
            "reportingComponent",
            "source",
            "type",
        ],
        "Pod" => &[
            "spec.nodeName",
            "spec.restartPolicy",
            "spec.schedulerName",
            "spec.serviceAccountName",
            "status.phase",
            "status.podIP",
        ],
        "Secret" => &["type"],
        _ => &[],
    }
}

impl FieldSelector {
    /// Parse a selector for objects of `kind`; unknown fields are a 400, as in
    /// the real server.
    pub fn parse(s: &str, kind: &str) -> Result<Self, String> {
        let mut reqs = Vec::new();
        if s.trim().is_empty() {
            return Ok(Self(reqs));
        }
        for part in s.split(',') {
            let p = part.trim();
            let (f, v, eq) = if let Some((f, v)) = p.split_once("!=") {
                (f, v, false)
            } else if let Some((f, v)) = p.split_once("==") {
                (f, v, true)
            } else if let Some((f, v)) = p.split_once('=') {
                (f, v, true)
            } else {
                return Err(format!("invalid selector: '{s}'; can't understand '{p}'"));
            };
            let f = f.trim();
            if f != "metadata.name"
                && f != "metadata.namespace"
                && !supported_fields(kind).contains(&f)
            {
                return Err(format!(
                    "field label not supported: {f} (\"{f}\" is not a known field selector: only \"metadata.name\", \"metadata.namespace\")"
                ));
            }
            reqs.push((f.to_string(), v.trim().to_string(), eq));
        }
        Ok(Self(reqs))
    }

    /// Whether the object satisfies every requirement (a missing field reads
    /// as the empty string, as in the real server).
    pub fn matches(&self, obj: &Value) -> bool {
        self.0.iter().all(|(f, want, eq)| {
            let mut cur = Some(obj);
            for seg in f.split('.') {
                cur = cur.and_then(|c| c.get(seg));
            }
            let have = match cur {
                Some(Value::String(s)) => s.clone(),
                Some(Value::Null) | None => String::new(),
                Some(Value::Object(m)) if f == "source" => m
                    .get("component")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string(),
                Some(other) => other.to_string(),
            };
            (have == *want) == *eq
        })
    }
}
