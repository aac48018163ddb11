//! Argo CD Applications (`argocd/<service>.yaml`), one per chart, when the
//! catalog has `gitops.argocd` (with its `environment`, each renders the
//! chart with `values-<environment>.yaml`). Each is checked against the Application CRD
//! subset in `schemas/argocd-application.schema.json` before writing.

use serde_json::{json, Value};

use super::{EmitError, Tree, HEADER};
use crate::model::Model;

/// The Application CRD subset gen validates against.
pub const SCHEMA: &str = include_str!("../../schemas/argocd-application.schema.json");

static SUBSET: super::validate::Shipped =
    super::validate::Shipped::new("argocd-application.schema.json", SCHEMA, "Application");

/// Check one Application against the CRD subset.
pub fn validate(file: &str, app: &Value) -> Result<(), EmitError> {
    SUBSET.check(file, app)
}

/// Emit the Applications.
pub fn emit(model: &Model, tree: &mut Tree) -> Result<(), EmitError> {
    let Some(a) = &model.argocd else {
        return Ok(());
    };
    let automated = a.automated.unwrap_or(true);
    for svc in &model.services {
        let mut spec = json!({
            "project": a.project.clone().unwrap_or_else(|| "default".into()),
            "source": {
                "repoURL": a.repo_url,
                "targetRevision": a.target_revision.clone().unwrap_or_else(|| "HEAD".into()),
                "path": format!("{}/{}", a.charts_path, svc.name),
                "helm": {"releaseName": svc.name},
            },
            "destination": {
                "server": "https://kubernetes.default.svc",
                "namespace": svc.namespace,
            },
            "syncPolicy": {
                "syncOptions": ["CreateNamespace=true"],
                "retry": {"limit": 5, "backoff": {"duration": "10s", "factor": 2, "maxDuration": "3m"}},
            },
        });
        if let Some(env) = &a.environment {
            // The chart renders with the environment's overlay (a path
            // relative to the chart, as Argo CD resolves it).
            spec["source"]["helm"]["valueFiles"] = json!([format!("values-{env}.yaml")]);
        }
        if automated {
            spec["syncPolicy"]["automated"] = json!({"prune": true, "selfHeal": true});
        }
        let app = json!({
            "apiVersion": "argoproj.io/v1alpha1",
            "kind": "Application",
            "metadata": {
                "name": svc.name,
                "namespace": a.namespace.clone().unwrap_or_else(|| "argocd".into()),
                "labels": {"app.kubernetes.io/part-of": model.project, "app.kubernetes.io/managed-by": "gen"},
                // Deleting the Application deletes what it deployed.
                "finalizers": ["resources-finalizer.argocd.argoproj.io"],
            },
            "spec": spec,
        });
        let path = format!("argocd/{}.yaml", svc.name);
        validate(&path, &app)?;
        let text = serde_saphyr::to_string(&app).map_err(|e| EmitError::Serialize {
            what: path.clone(),
            why: e.to_string(),
        })?;
        tree.insert(path, format!("{HEADER}{text}"));
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
