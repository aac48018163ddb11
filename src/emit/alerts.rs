//! Alerts (scenario B): for each service that asks for alerts,
//! `monitoring/<namespace>/<service>.yaml` with its ServiceMonitor (when a
//! rule reads the service's own metrics, see `emit::monitors`) and its
//! `PrometheusRule`; and, with `alerting`, `monitoring/alertmanager.yaml`: a
//! complete Alertmanager configuration whose one receiver reads its URL
//! from a mounted Secret. Rules are checked against the CRD subset in
//! `schemas/prometheusrule.schema.json` before writing.

use serde_json::{json, Value};

use super::helm::Values;
use super::{EmitError, Tree, HEADER};
use crate::model::{Model, Receiver, ServiceModel, StrategyModel};

/// The PrometheusRule CRD subset gen validates against.
pub const SCHEMA: &str = include_str!("../../schemas/prometheusrule.schema.json");

static SUBSET: super::validate::Shipped =
    super::validate::Shipped::new("prometheusrule.schema.json", SCHEMA, "PrometheusRule");

/// Where the prometheus-operator mounts a Secret listed under an
/// Alertmanager's `spec.secrets`.
pub const SECRETS_DIR: &str = "/etc/alertmanager/secrets";

/// The rule object of one service.
pub fn rule(model: &Model, svc: &ServiceModel) -> Option<Value> {
    let a = svc.alerts.as_ref()?;
    let (ns, name) = (&svc.namespace, &svc.name);
    let labels = |severity: &str| json!({"severity": severity, "service": name, "namespace": ns, "project": model.project});
    let minutes = a.unavailable_minutes;
    // What users reach is the main Service (for blue-green, the live
    // colour only): alert when it has no ready endpoint. Without the
    // Service's `kube_endpoint_info` (kube-state-metrics down) it stays
    // quiet rather than firing for every service.
    let svc_name = &svc.service_name;
    let endpoint = format!("namespace=\"{ns}\", endpoint=\"{svc_name}\"");
    let mut rules = vec![json!({
        "alert": format!("{}Unavailable", super::camel(name)),
        "expr": format!(
            "count(kube_endpoint_info{{{endpoint}}}) unless count(kube_endpoint_address{{{endpoint}, ready=\"true\"}})"
        ),
        "for": format!("{minutes}m"),
        "labels": labels("critical"),
        "annotations": {
            "summary": format!("{name} has no ready pod behind its Service"),
            "description": format!("The Service {svc_name} in {ns} has had no ready endpoint for {minutes} minutes: requests to it fail."),
        },
    })];
    if let Some(pct) = a.error_rate {
        // The ServiceMonitor labels series with the Service's name; a
        // canary's traffic also reaches `<name>-canary`.
        let services = match svc.strategy {
            StrategyModel::Canary { .. } => {
                format!("service=~\"{svc_name}|{svc_name}-canary\"")
            }
            _ => format!("service=\"{svc_name}\""),
        };
        let series = format!("http_server_requests_seconds_count{{namespace=\"{ns}\", {services}");
        rules.push(json!({
            "alert": format!("{}HighErrorRate", super::camel(name)),
            "expr": format!(
                "sum(rate({series}, status=~\"5..\"}}[5m])) / sum(rate({series}}}[5m])) * 100 > {pct}"
            ),
            "for": "5m",
            "labels": labels("warning"),
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
            "labels": super::monitors::labels(model, svc),
        },
        "spec": {"groups": [{"name": format!("{name}.rules"), "rules": rules}]},
    }))
}

/// The complete Alertmanager configuration: every alert goes to the one
/// receiver, grouped per alert, namespace and service. The receiver reads
/// its URL from the Secret mounted under [`SECRETS_DIR`].
pub fn alertmanager(model: &Model) -> Option<Value> {
    let a = model.alerting.as_ref()?;
    let file = |s: &crate::model::SecretRef| format!("{SECRETS_DIR}/{}/{}", s.secret, s.key);
    let (name, receiver) = match &a.receiver {
        Receiver::Slack { url, channel } => {
            let name = format!("{}-slack", model.project);
            let mut cfg = json!({"api_url_file": file(url), "send_resolved": true});
            if let Some(c) = channel {
                cfg["channel"] = json!(c);
            }
            let r = json!({"name": name, "slack_configs": [cfg]});
            (name, r)
        }
        Receiver::Webhook { url } => {
            let name = format!("{}-webhook", model.project);
            let r = json!({"name": name, "webhook_configs": [{"url_file": file(url), "send_resolved": true}]});
            (name, r)
        }
    };
    Some(json!({
        "route": {
            "receiver": name,
            "group_by": ["alertname", "namespace", "service"],
        },
        "receivers": [receiver],
    }))
}

fn ser(path: &str, v: &Value) -> Result<String, EmitError> {
    let text = serde_saphyr::to_string(v).map_err(|e| EmitError::Serialize {
        what: path.to_owned(),
        why: e.to_string(),
    })?;
    Ok(format!("{HEADER}{text}"))
}

/// Emit each service's monitor and rules, and the Alertmanager
/// configuration. `values` are the chart values, in model order.
pub fn emit(model: &Model, values: &[Values], tree: &mut Tree) -> Result<(), EmitError> {
    for (svc, v) in model.services.iter().zip(values) {
        let Some(rule) = rule(model, svc) else {
            continue;
        };
        let path = format!("monitoring/{}/{}.yaml", svc.namespace, svc.name);
        SUBSET.check(&path, &rule)?;
        let mut docs = Vec::new();
        if let Some(m) = super::monitors::service_monitor(model, svc, v)? {
            docs.push((format!("ServiceMonitor {}", svc.name), m));
        }
        docs.push((format!("PrometheusRule {}-alerts", svc.name), rule));
        tree.insert(path, super::manifests::yaml_documents(&docs)?);
    }
    if let Some(cfg) = alertmanager(model) {
        let path = "monitoring/alertmanager.yaml";
        tree.insert(path, ser(path, &cfg)?);
    }
    Ok(())
}
