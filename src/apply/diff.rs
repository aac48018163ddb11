//! Live versus desired as a unified diff of YAML (pure).
//!
//! Both sides are normalized first (managed fields, versions, uid,
//! timestamps and status dropped), and Secret values are always redacted:
//! a diff shows *that* a secret value changed, never the value. Other
//! secret-looking values (`crate::secrets`) are masked in the text.

use serde_json::Value;

use super::engine::{normalize, Change, ObjectResult};

/// What replaces a Secret value that is the same on both sides.
pub const REDACTED: &str = "***";

/// The unified diff of one object (`None` when both sides are equal).
/// Headers name the object the way kubectl does.
pub fn object(result: &ObjectResult) -> Option<String> {
    if matches!(result.change, Change::Unchanged) {
        return None;
    }
    let before = result.before.as_ref().map(normalize);
    let after = result.after.as_ref().map(normalize);
    let (before, after) = redact_secrets(before, after);
    let text = |v: &Option<Value>| {
        v.as_ref()
            .and_then(|v| serde_saphyr::to_string(v).ok())
            .unwrap_or_default()
    };
    let (old, new) = (text(&before), text(&after));
    if old == new {
        return None;
    }
    let name = result.id.to_string();
    // Secret-looking values elsewhere (a ConfigMap's env) are masked too.
    Some(crate::secrets::masked_diff(
        &old,
        &new,
        &format!("live: {name}"),
        &format!("desired: {name}"),
    ))
}

/// Replace the values under `data` and `stringData` of Secrets: equal
/// values become `***`, differing ones `*** (before)` / `*** (after)`.
fn redact_secrets(before: Option<Value>, after: Option<Value>) -> (Option<Value>, Option<Value>) {
    let is_secret = |v: &Option<Value>| {
        v.as_ref()
            .is_some_and(|v| v["kind"] == "Secret" && v["apiVersion"] == "v1")
    };
    if !is_secret(&before) && !is_secret(&after) {
        return (before, after);
    }
    let mut before = before;
    let mut after = after;
    for field in ["data", "stringData"] {
        let old = before.as_ref().map(|v| v[field].clone());
        let new = after.as_ref().map(|v| v[field].clone());
        let mut keys: Vec<String> = Vec::new();
        for m in [&old, &new].into_iter().flatten() {
            if let Some(o) = m.as_object() {
                keys.extend(o.keys().cloned());
            }
        }
        for key in keys {
            let a = old.as_ref().map(|m| m[&key].clone());
            let b = new.as_ref().map(|m| m[&key].clone());
            let same = a == b;
            for (side, tag) in [(&mut before, "before"), (&mut after, "after")] {
                if let Some(m) = side
                    .as_mut()
                    .and_then(|v| v.get_mut(field))
                    .and_then(Value::as_object_mut)
                {
                    if m.contains_key(&key) {
                        let shown = if same {
                            REDACTED.to_owned()
                        } else {
                            format!("{REDACTED} ({tag})")
                        };
                        m.insert(key.clone(), Value::String(shown));
                    }
                }
            }
        }
    }
    (before, after)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::apply::desired::{Kind, ObjectRef};
    use serde_json::json;

    fn result(before: Option<Value>, after: Option<Value>, change: Change) -> ObjectResult {
        ObjectResult {
            note: None,
            id: ObjectRef {
                kind: Kind::of("v1", "Secret").unwrap_or(crate::apply::desired::KINDS[2]),
                namespace: Some("ns".into()),
                name: "s".into(),
            },
            change,
            before,
            after,
        }
    }

    #[test]
    fn secret_values_never_appear() {
        let before = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"},
                            "data": {"same": "c2VjcmV0MQ==", "changed": "b2xkLXB3"}});
        let after = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"},
                           "data": {"same": "c2VjcmV0MQ==", "changed": "bmV3LXB3"}});
        let d = object(&result(Some(before), Some(after), Change::Configured)).expect("differs");
        for secret in ["c2VjcmV0MQ==", "b2xkLXB3", "bmV3LXB3"] {
            assert!(!d.contains(secret), "{secret} leaked:\n{d}");
        }
        assert!(
            d.contains("-  changed: '*** (before)'") || d.contains("-  changed: \"*** (before)\""),
            "{d}"
        );
        assert!(
            d.contains("same: '***'") || d.contains("same: \"***\""),
            "{d}"
        );
    }

    #[test]
    fn equal_objects_have_no_diff_and_changes_do() {
        let a = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "resourceVersion": "1"}, "data": {"A": "1"}});
        let b = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "resourceVersion": "2"}, "data": {"A": "1"}});
        assert!(object(&result(Some(a.clone()), Some(b), Change::Configured)).is_none());
        let c = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"A": "2"}});
        let d = object(&result(Some(a), Some(c), Change::Configured)).expect("differs");
        assert!(
            d.contains("-  A: \"1\"") && d.contains("+  A: \"2\""),
            "{d}"
        );
        assert!(d.starts_with("--- live: "), "{d}");
    }
}
