//! Alerts (scenario B): one `PrometheusRule` per service that asks for
//! alerts (`monitoring/<namespace>/<service>.yaml`), and the Alertmanager
//! receiver for `alerting.webhook_secret` (`monitoring/alertmanager-receiver.yaml`).
//! Rules are checked against the CRD subset in
//! `schemas/prometheusrule.schema.json` before writing.

use serde_json::{json, Value};

use super::{EmitError, Tree, HEADER};
use crate::model::{Model, ServiceModel};

/// The PrometheusRule CRD subset gen validates against.
pub const SCHEMA: &str = include_str!("../../schemas/prometheusrule.schema.json");

static SUBSET: super::validate::Shipped =
    super::validate::Shipped::new("prometheusrule.schema.json", SCHEMA, "PrometheusRule");

/// The rule object of one service.
pub fn rule(model: &Model, svc: &ServiceModel) -> Option<Value> {
    let a = svc.alerts.as_ref()?;
    let (ns, name) = (&svc.namespace, &svc.name);
    let labels =
        json!({"severity": "critical", "service": name, "namespace": ns, "project": model.project});
    let mut rules = vec![json!({
        "alert": format!("{}Unavailable", super::camel(name)),
        // Deployments of every track (blue/green, canary) count.
        "expr": format!(
            "sum(kube_deployment_status_replicas_available{{namespace=\"{ns}\", deployment=~\"{name}(-blue|-green|-canary)?\"}}) < 1"
        ),
        "for": format!("{}m", a.unavailable_minutes.unwrap_or(5)),
        "labels": labels,
        "annotations": {
            "summary": format!("{name} has no available pod"),
            "description": format!("No pod of {name} in {ns} has been available for {} minutes.", a.unavailable_minutes.unwrap_or(5)),
        },
    })];
    if let Some(pct) = a.error_rate {
        rules.push(json!({
            "alert": format!("{}HighErrorRate", super::camel(name)),
            "expr": format!(
                "sum(rate(http_server_requests_seconds_count{{namespace=\"{ns}\", service=\"{name}\", status=~\"5..\"}}[5m])) / sum(rate(http_server_requests_seconds_count{{namespace=\"{ns}\", service=\"{name}\"}}[5m])) * 100 > {pct}"
            ),
            "for": "5m",
            "labels": {"severity": "warning", "service": name, "namespace": ns, "project": model.project},
            "annotations": {
                "summary": format!("{name} answers more than {pct}% of requests with 5xx"),
                "description": format!("More than {pct}% of {name}'s HTTP requests failed over the last 5 minutes."),
            },
        }));
    }
    Some(json!({
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": {
            "name": format!("{name}-alerts"),
            "namespace": ns,
            "labels": {"app.kubernetes.io/name": name, "app.kubernetes.io/part-of": model.project, "app.kubernetes.io/managed-by": "gen"},
        },
        "spec": {"groups": [{"name": format!("{name}.rules"), "rules": rules}]},
    }))
}

fn ser(path: &str, v: &Value) -> Result<String, EmitError> {
    let text = serde_saphyr::to_string(v).map_err(|e| EmitError::Serialize {
        what: path.to_owned(),
        why: e.to_string(),
    })?;
    Ok(format!("{HEADER}{text}"))
}

/// Emit the rules and the receiver.
pub fn emit(model: &Model, tree: &mut Tree) -> Result<(), EmitError> {
    for svc in &model.services {
        let Some(obj) = rule(model, svc) else {
            continue;
        };
        let path = format!("monitoring/{}/{}.yaml", svc.namespace, svc.name);
        SUBSET.check(&path, &obj)?;
        tree.insert(path.clone(), ser(&path, &obj)?);
    }
    if let Some(a) = &model.alerting {
        let (secret, key) = a
            .webhook_secret
            .split_once('/')
            .unwrap_or((&a.webhook_secret, ""));
        // A fragment of the Alertmanager configuration: mount the Secret into
        // Alertmanager (prometheus-operator: `alertmanager.spec.secrets:
        // [<secret>]`), and the URL is read from the file, never written here.
        let receiver = json!({
            "route": {
                "receiver": format!("{}-webhook", model.project),
                "group_by": ["alertname", "namespace", "service"],
                "matchers": [format!("project=\"{}\"", model.project)],
            },
            "receivers": [{
                "name": format!("{}-webhook", model.project),
                "webhook_configs": [{
                    "url_file": format!("/etc/alertmanager/secrets/{secret}/{key}"),
                    "send_resolved": true,
                }],
            }],
        });
        let path = "monitoring/alertmanager-receiver.yaml";
        tree.insert(path, ser(path, &receiver)?);
    }
    Ok(())
}
