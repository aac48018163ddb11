//! Argo CD Applications (`argocd/<service>.yaml`), one per chart, when the
//! catalog has `gitops.argocd` (with its `environment`, each renders the
//! chart with `values-<environment>.yaml`). Each is checked against the Application CRD
//! subset in `schemas/argocd-application.schema.json` before writing.

use serde_json::{json, Value};

use super::{EmitError, Tree, HEADER};
use crate::catalog::types::ArgoCd;
use crate::model::Model;

/// The Application CRD subset gen validates against.
pub const SCHEMA: &str = include_str!("../../schemas/argocd-application.schema.json");

static SUBSET: super::validate::Shipped =
    super::validate::Shipped::new("argocd-application.schema.json", SCHEMA, "Application");

/// Check one Application against the CRD subset.
pub fn validate(file: &str, app: &Value) -> Result<(), EmitError> {
    SUBSET.check(file, app)
}

/// An Application of `model` named `name` that deploys `source` into
/// `namespace` (created if missing), with gen's sync policy: retries with
/// backoff, and unless `automated: false`, automated sync with prune and
/// self-heal.
pub fn application(model: &Model, a: &ArgoCd, name: &str, source: Value, namespace: &str) -> Value {
    let mut sync = json!({
        "syncOptions": ["CreateNamespace=true"],
        "retry": {"limit": 5, "backoff": {"duration": "10s", "factor": 2, "maxDuration": "3m"}},
    });
    if a.automated.unwrap_or(true) {
        sync["automated"] = json!({"prune": true, "selfHeal": true});
    }
    json!({
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": {
            "name": name,
            "namespace": a.namespace.clone().unwrap_or_else(|| "argocd".into()),
            "labels": {"app.kubernetes.io/part-of": model.project, "app.kubernetes.io/managed-by": "gen"},
            // Deleting the Application deletes what it deployed.
            "finalizers": ["resources-finalizer.argocd.argoproj.io"],
        },
        "spec": {
            "project": a.project.clone().unwrap_or_else(|| "default".into()),
            "source": source,
            "destination": {
                "server": "https://kubernetes.default.svc",
                "namespace": namespace,
            },
            "syncPolicy": sync,
        },
    })
}

/// Serialize an Application checked against the CRD subset.
pub fn to_yaml(path: &str, app: &Value) -> Result<String, EmitError> {
    validate(path, app)?;
    let text = serde_saphyr::to_string(app).map_err(|e| EmitError::Serialize {
        what: path.to_owned(),
        why: e.to_string(),
    })?;
    Ok(format!("{HEADER}{text}"))
}

/// Emit the Applications.
pub fn emit(model: &Model, tree: &mut Tree) -> Result<(), EmitError> {
    let Some(a) = &model.argocd else {
        return Ok(());
    };
    for svc in &model.services {
        let mut source = json!({
            "repoURL": a.repo_url,
            "targetRevision": a.target_revision.clone().unwrap_or_else(|| "HEAD".into()),
            "path": format!("{}/{}", a.charts_path, svc.name),
            "helm": {"releaseName": svc.name},
        });
        if let Some(env) = &a.environment {
            // The chart renders with the environment's overlay (a path
            // relative to the chart, as Argo CD resolves it).
            source["helm"]["valueFiles"] = json!([format!("values-{env}.yaml")]);
        }
        let app = application(model, a, &svc.name, source, &svc.namespace);
        let path = format!("argocd/{}.yaml", svc.name);
        let text = to_yaml(&path, &app)?;
        tree.insert(path, text);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_schema_refuses_what_argo_cd_would() {
        let good = json!({"apiVersion": "argoproj.io/v1alpha1", "kind": "Application",
            "metadata": {"name": "a", "namespace": "argocd"},
            "spec": {"project": "default", "source": {"repoURL": "https://x/y.git", "path": "c/a"},
                     "destination": {"server": "https://kubernetes.default.svc", "namespace": "n"}}});
        assert!(validate("a.yaml", &good).is_ok());
        let mut no_project = good.clone();
        no_project["spec"]
            .as_object_mut()
            .unwrap()
            .remove("project");
        assert!(validate("a.yaml", &no_project).is_err());
        let mut typo = good.clone();
        typo["spec"]["syncPolicy"] = json!({"automated": {"selfheal": true}});
        assert!(validate("a.yaml", &typo).is_err());
        let mut bad_type = good;
        bad_type["spec"]["syncPolicy"] = json!({"automated": {"prune": "yes"}});
        assert!(validate("a.yaml", &bad_type).is_err());
    }
}
