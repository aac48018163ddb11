//! Every rendered object is checked against the Kubernetes OpenAPI schema of
//! its kind (from k8s-openapi's `schemars` support, made strict: unknown
//! fields are refused) and against the API server's name and label rules,
//! before anything is written. A violation is a bug in gen, reported as an
//! internal error naming the file, the object and the field.

use std::sync::OnceLock;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Service, ServiceAccount};
use k8s_openapi::api::networking::v1::{Ingress, NetworkPolicy};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use serde_json::Value;

use super::manifests::Object;
use super::EmitError;

fn schema_of<T: schemars::JsonSchema>() -> Value {
    let root = schemars::SchemaGenerator::default().into_root_schema_for::<T>();
    let mut v = root.to_value();
    strict(&mut v);
    v
}

/// Refuse unknown fields wherever an object lists its properties, and drop
/// descriptions.
pub(crate) fn strict(v: &mut Value) {
    match v {
        Value::Object(m) => {
            m.remove("description");
            if m.contains_key("properties") && !m.contains_key("additionalProperties") {
                m.insert("additionalProperties".to_owned(), Value::Bool(false));
            }
            m.values_mut().for_each(strict);
        }
        Value::Array(a) => a.iter_mut().for_each(strict),
        _ => {}
    }
}

/// The validator of one Kubernetes kind, compiled on first use: a run only
/// pays for the kinds it emits (compiling a schema costs more than checking
/// every object of a typical catalog against it).
struct Kind {
    kind: &'static str,
    schema: fn() -> Value,
    cell: OnceLock<Option<jsonschema::Validator>>,
}

impl Kind {
    const fn new(kind: &'static str, schema: fn() -> Value) -> Kind {
        Kind {
            kind,
            schema,
            cell: OnceLock::new(),
        }
    }
}

static KINDS: [Kind; 9] = [
    Kind::new("Namespace", schema_of::<Namespace>),
    Kind::new("ServiceAccount", schema_of::<ServiceAccount>),
    Kind::new("ConfigMap", schema_of::<ConfigMap>),
    Kind::new("Service", schema_of::<Service>),
    Kind::new("Deployment", schema_of::<Deployment>),
    Kind::new(
        "HorizontalPodAutoscaler",
        schema_of::<HorizontalPodAutoscaler>,
    ),
    Kind::new("PodDisruptionBudget", schema_of::<PodDisruptionBudget>),
    Kind::new("Ingress", schema_of::<Ingress>),
    Kind::new("NetworkPolicy", schema_of::<NetworkPolicy>),
];

/// The compiled schema of `kind` (None: not a kind gen emits, or its schema
/// does not compile).
fn validator(kind: &str) -> Option<&'static jsonschema::Validator> {
    let k = KINDS.iter().find(|k| k.kind == kind)?;
    k.cell
        .get_or_init(|| jsonschema::draft202012::new(&(k.schema)()).ok())
        .as_ref()
}

fn invalid(file: &str, what: &str, field: &str, why: String) -> EmitError {
    EmitError::Invalid {
        file: file.to_owned(),
        what: what.to_owned(),
        field: field.to_owned(),
        why,
    }
}

/// A JSON Schema shipped in `schemas/` (a CRD subset), compiled once.
pub struct Shipped {
    /// File name, for messages.
    pub name: &'static str,
    /// The schema text (`include_str!`).
    pub text: &'static str,
    /// Object kind, for messages.
    pub kind: &'static str,
    cell: OnceLock<Option<jsonschema::Validator>>,
}

impl Shipped {
    /// A schema that is compiled on first use.
    pub const fn new(name: &'static str, text: &'static str, kind: &'static str) -> Shipped {
        Shipped {
            name,
            text,
            kind,
            cell: OnceLock::new(),
        }
    }

    /// Check `obj` (written to `file`): the first violation is an internal
    /// error naming the file, the kind and the field.
    pub fn check(&self, file: &str, obj: &Value) -> Result<(), EmitError> {
        let validator = self.cell.get_or_init(|| {
            serde_json::from_str::<Value>(self.text)
                .ok()
                .and_then(|s| jsonschema::draft202012::new(&s).ok())
        });
        let Some(v) = validator else {
            return Err(EmitError::Serialize {
                what: self.name.into(),
                why: "the schema does not compile".into(),
            });
        };
        if let Some(e) = v.iter_errors(obj).next() {
            return Err(invalid(
                file,
                self.kind,
                &e.instance_path().to_string(),
                e.to_string(),
            ));
        }
        Ok(())
    }
}

/// Validate the objects of one output file.
pub fn objects(file: &str, docs: &[Object]) -> Result<(), EmitError> {
    for (what, doc) in docs {
        one(file, what, doc)?;
    }
    Ok(())
}

fn one(file: &str, what: &str, doc: &Value) -> Result<(), EmitError> {
    let kind = doc.get("kind").and_then(Value::as_str).unwrap_or("");
    let Some(v) = validator(kind) else {
        return Err(invalid(
            file,
            what,
            "/kind",
            format!("no schema for kind `{kind}`"),
        ));
    };
    if let Some(e) = v.iter_errors(doc).next() {
        return Err(invalid(
            file,
            what,
            &e.instance_path().to_string(),
            e.to_string(),
        ));
    }
    let name = doc
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("");
    let name_ok = match kind {
        // Services and Namespaces need DNS-1035 / DNS-1123 labels.
        "Service" => dns_label(name) && name.starts_with(|c: char| c.is_ascii_lowercase()),
        "Namespace" => dns_label(name),
        _ => dns_subdomain(name),
    };
    if !name_ok {
        return Err(invalid(
            file,
            what,
            "/metadata/name",
            format!("`{name}` is not a valid {kind} name"),
        ));
    }
    check_labels(file, what, doc)
}

/// Every `labels` / `matchLabels` map in the object.
fn check_labels(file: &str, what: &str, doc: &Value) -> Result<(), EmitError> {
    let mut stack = vec![(String::new(), doc)];
    while let Some((path, v)) = stack.pop() {
        match v {
            Value::Object(m) => {
                for (k, x) in m {
                    let p = format!("{path}/{k}");
                    if k == "annotations" {
                        if let Value::Object(ann) = x {
                            if let Some(bad) = ann.keys().find(|a| !label_key(a)) {
                                return Err(invalid(
                                    file,
                                    what,
                                    &format!("{p}/{bad}"),
                                    format!("`{bad}` is not a valid annotation key"),
                                ));
                            }
                        }
                    }
                    if k == "labels" || k == "matchLabels" {
                        if let Value::Object(labels) = x {
                            for (lk, lv) in labels {
                                let lv = lv.as_str().unwrap_or("");
                                if !label_key(lk) || !label_value(lv) {
                                    return Err(invalid(
                                        file,
                                        what,
                                        &format!("{p}/{lk}"),
                                        format!("`{lk}: {lv}` is not a valid label"),
                                    ));
                                }
                            }
                        }
                    }
                    stack.push((p, x));
                }
            }
            Value::Array(a) => {
                for (i, x) in a.iter().enumerate() {
                    stack.push((format!("{path}/{i}"), x));
                }
            }
            _ => {}
        }
    }
    Ok(())
}

fn dns_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

fn dns_subdomain(s: &str) -> bool {
    !s.is_empty() && s.len() <= 253 && s.split('.').all(dns_label)
}

fn label_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        && s.starts_with(|c: char| c.is_ascii_alphanumeric())
        && s.ends_with(|c: char| c.is_ascii_alphanumeric())
}

fn label_key(k: &str) -> bool {
    match k.split_once('/') {
        Some((prefix, name)) => dns_subdomain(prefix) && label_name(name),
        None => label_name(k),
    }
}

fn label_value(v: &str) -> bool {
    v.is_empty() || label_name(v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_kind_compiles() {
        for k in &KINDS {
            assert!(validator(k.kind).is_some(), "{} does not compile", k.kind);
        }
        assert!(validator("Pod").is_none());
    }

    #[test]
    fn unknown_field_is_refused() {
        let doc = json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "x"}, "dataa": {}});
        let e = one("f.yaml", "ConfigMap x", &doc).unwrap_err().to_string();
        assert!(e.contains("ConfigMap x") && e.contains("f.yaml"), "{e}");
    }

    #[test]
    fn wrong_type_is_refused_with_its_field() {
        let doc = json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "x"},
            "spec": {"replicas": "two", "selector": {}, "template": {}}});
        let e = one("f.yaml", "Deployment x", &doc).unwrap_err();
        let EmitError::Invalid { field, .. } = &e else {
            panic!("{e}")
        };
        assert_eq!(field, "/spec/replicas");
    }

    #[test]
    fn missing_required_field_is_refused() {
        let doc = json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "x"}, "spec": {"template": {}}});
        assert!(one("f.yaml", "Deployment x", &doc).is_err());
    }

    #[test]
    fn bad_names_and_labels_are_refused() {
        let doc = json!({"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": "9lives"}});
        assert!(one("f", "Service 9lives", &doc).is_err());
        let doc = json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "ok", "labels": {"a": "-bad"}}});
        assert!(one("f", "ConfigMap ok", &doc).is_err());
        let doc = json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "ok", "labels": {"app.kubernetes.io/name": "ok"}}});
        assert!(one("f", "ConfigMap ok", &doc).is_ok());
        let long = format!(
            "alb.ingress.kubernetes.io/actions.{}-weighted",
            "a".repeat(53)
        );
        let doc = json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "ok", "annotations": {long: "x"}}});
        assert!(one("f", "ConfigMap ok", &doc).is_err());
    }
}
