//! Every rendered object is checked against the Kubernetes OpenAPI schema of
//! its kind (from k8s-openapi's `schemars` support, made strict: unknown
//! fields are refused) and against the API server's name and label rules,
//! before anything is written. A violation is a bug in gen, reported as an
//! internal error naming the file, the object and the field.

use std::sync::OnceLock;

use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use k8s_openapi::api::batch::v1::{CronJob, Job};
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Service, ServiceAccount};
use k8s_openapi::api::networking::v1::{Ingress, NetworkPolicy};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::api::rbac::v1::{Role, RoleBinding};
use serde_json::Value;

use super::manifests::Object;
use super::EmitError;
use crate::model::names::{dns_label, dns_subdomain, label_key, label_value};

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

/// One Kubernetes kind: its schema as generated from k8s-openapi (the
/// authority, compiled at run time only to explain a violation), and the same
/// schema compiled into code at build time from its committed copy in
/// `schemas/k8s/` (tests/schema.rs holds the two equal). The build-time one
/// only answers "valid or not"; a valid object, the only kind a correct gen
/// renders, then costs no run-time compilation (compiling the nine schemas
/// was most of a small `gen build --check`).
struct Kind {
    kind: &'static str,
    file: &'static str,
    schema: fn() -> Value,
    precompiled: fn(&Value) -> bool,
    cell: OnceLock<Option<jsonschema::Validator>>,
}

impl Kind {
    const fn new(
        kind: &'static str,
        file: &'static str,
        schema: fn() -> Value,
        precompiled: fn(&Value) -> bool,
    ) -> Kind {
        Kind {
            kind,
            file,
            schema,
            precompiled,
            cell: OnceLock::new(),
        }
    }

    /// The run-time validator, compiled on first use (None: the schema does
    /// not compile).
    fn validator(&self) -> Option<&jsonschema::Validator> {
        self.cell
            .get_or_init(|| jsonschema::draft202012::new(&(self.schema)()).ok())
            .as_ref()
    }
}

/// `KINDS`: each kind (named by its k8s-openapi type), its committed schema
/// and the build-time validator compiled from it (in `precompiled`).
macro_rules! kinds {
    ($($kind:ident = $path:tt;)*) => {
        mod precompiled {
            $(
                #[jsonschema::validator(
                    path = $path,
                    methods = { is_valid = true, validate = false, iter_errors = false }
                )]
                pub(super) struct $kind;
            )*
        }

        static KINDS: [Kind; [$(stringify!($kind)),*].len()] = [$(
            Kind::new(stringify!($kind), $path, schema_of::<$kind>, precompiled::$kind::is_valid),
        )*];
    };
}

kinds! {
    Namespace = "schemas/k8s/namespace.schema.json";
    ServiceAccount = "schemas/k8s/serviceaccount.schema.json";
    ConfigMap = "schemas/k8s/configmap.schema.json";
    Service = "schemas/k8s/service.schema.json";
    Deployment = "schemas/k8s/deployment.schema.json";
    StatefulSet = "schemas/k8s/statefulset.schema.json";
    HorizontalPodAutoscaler = "schemas/k8s/horizontalpodautoscaler.schema.json";
    PodDisruptionBudget = "schemas/k8s/poddisruptionbudget.schema.json";
    Ingress = "schemas/k8s/ingress.schema.json";
    NetworkPolicy = "schemas/k8s/networkpolicy.schema.json";
    Role = "schemas/k8s/role.schema.json";
    RoleBinding = "schemas/k8s/rolebinding.schema.json";
    Job = "schemas/k8s/job.schema.json";
    CronJob = "schemas/k8s/cronjob.schema.json";
}

/// The strict schema of every kind gen emits, as the pretty-printed text
/// committed at its path (relative to the repository root) in `schemas/k8s/`.
pub fn kind_schemas() -> Vec<(&'static str, String)> {
    KINDS
        .iter()
        .map(|k| {
            let mut text = serde_json::to_string_pretty(&(k.schema)()).unwrap_or_default();
            text.push('\n');
            (k.file, text)
        })
        .collect()
}

/// The run-time validator of `kind` (None: not a kind gen emits, or its
/// schema does not compile).
#[cfg(test)]
fn validator(kind: &str) -> Option<&'static jsonschema::Validator> {
    KINDS.iter().find(|k| k.kind == kind)?.validator()
}

fn invalid(file: &str, what: &str, field: &str, why: String) -> EmitError {
    EmitError::Invalid {
        file: file.to_owned(),
        what: what.to_owned(),
        field: field.to_owned(),
        why,
    }
}

fn no_schema(file: &str, what: &str, kind: &str) -> EmitError {
    invalid(file, what, "/kind", format!("no schema for kind `{kind}`"))
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
    let Some(k) = KINDS.iter().find(|k| k.kind == kind) else {
        return Err(no_schema(file, what, kind));
    };
    // The build-time validator's "valid" is trusted; anything else is
    // explained (or, should the two ever disagree, accepted) by the run-time
    // one, whose errors the messages are written against.
    if !(k.precompiled)(doc) {
        let Some(v) = k.validator() else {
            return Err(no_schema(file, what, kind));
        };
        if let Some(e) = v.iter_errors(doc).next() {
            return Err(invalid(
                file,
                what,
                &e.instance_path().to_string(),
                e.to_string(),
            ));
        }
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

    /// A broken object is refused by the build-time validator and explained
    /// by the run-time one: the same error, word for word, as before.
    #[test]
    fn broken_object_keeps_its_message() {
        let doc = json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "x", "labelz": {}},
            "spec": {"replicas": 1, "selector": {}, "template": {}}});
        let k = KINDS.iter().find(|k| k.kind == "Deployment").unwrap();
        assert!(!(k.precompiled)(&doc));
        let e = one("manifests/x.yaml", "Deployment x", &doc).unwrap_err();
        let EmitError::Invalid {
            file,
            what,
            field,
            why,
        } = &e
        else {
            panic!("{e}")
        };
        assert_eq!(
            (file.as_str(), what.as_str(), field.as_str(), why.as_str()),
            (
                "manifests/x.yaml",
                "Deployment x",
                "/metadata",
                "Additional properties are not allowed ('labelz' was unexpected)"
            )
        );
        assert_eq!(
            e.to_string(),
            "internal error: manifests/x.yaml: Deployment x is invalid at /metadata: \
             Additional properties are not allowed ('labelz' was unexpected)"
        );
    }

    /// The build-time and the run-time validators agree: on every object of
    /// the examples' and golden cases' manifests (all valid), and on broken
    /// ones.
    #[test]
    fn build_time_and_run_time_validators_agree() {
        use crate::diag::SourceFile;
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let agree = |doc: &Value| {
            let kind = doc.get("kind").and_then(Value::as_str).unwrap_or("");
            let Some(k) = KINDS.iter().find(|k| k.kind == kind) else {
                return;
            };
            let runtime = k.validator().unwrap().is_valid(doc);
            assert_eq!((k.precompiled)(doc), runtime, "{kind}: {doc}");
        };
        let mut dirs = Vec::new();
        for top in ["examples", "golden"] {
            for e in std::fs::read_dir(root.join(top)).unwrap().flatten() {
                dirs.push(e.path().join("out"));
            }
        }
        let mut seen = std::collections::BTreeSet::new();
        while let Some(d) = dirs.pop() {
            let Ok(rd) = std::fs::read_dir(&d) else {
                continue;
            };
            for e in rd.flatten() {
                let p = e.path();
                if p.is_dir() {
                    if !p.ends_with("templates") {
                        dirs.push(p);
                    }
                    continue;
                }
                if p.extension().is_none_or(|x| x != "yaml") {
                    continue;
                }
                let text = std::fs::read_to_string(&p).unwrap();
                for part in text.split("\n---\n") {
                    let src =
                        SourceFile::new("m.yaml", part.trim_start_matches("---\n").to_owned());
                    let Ok(loaded) = crate::catalog::yaml::load(&src) else {
                        continue;
                    };
                    let v = loaded.value;
                    if v.get("apiVersion").is_none() {
                        continue;
                    }
                    agree(&v);
                    if let Some(kind) = v.get("kind").and_then(Value::as_str) {
                        seen.insert(kind.to_owned());
                    }
                    // The same object broken: an unknown field at the top,
                    // a wrong type in its metadata.
                    let mut bad = v.clone();
                    bad["bogus"] = json!(1);
                    agree(&bad);
                    let mut bad = v.clone();
                    bad["metadata"]["name"] = json!(7);
                    agree(&bad);
                }
            }
        }
        for k in &KINDS {
            assert!(seen.contains(k.kind), "no example renders a {}", k.kind);
        }
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
