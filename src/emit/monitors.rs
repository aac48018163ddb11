//! ServiceMonitors: how the prometheus-operator's Prometheus scrapes a
//! service whose alerts read its own metrics (`error_rate`, or `metrics`
//! set). The monitor selects the service's Services by the chart's selector
//! labels, so a canary's second Service is scraped too, and scrapes the
//! Service port by name (`metrics` when the service serves its metrics on a
//! port of its own, else the service's port); Prometheus then labels every series with
//! `namespace` and `service` (the Service's name), which the error-rate rule
//! reads. Checked against the CRD subset in
//! `schemas/servicemonitor.schema.json`.

use serde_json::{json, Value};

use super::helm::values::METRICS_PORT_NAME;
use super::helm::Values;
use super::EmitError;
use crate::model::{Model, ServiceModel};

/// The ServiceMonitor CRD subset gen validates against.
pub const SCHEMA: &str = include_str!("../../schemas/servicemonitor.schema.json");

static SUBSET: super::validate::Shipped =
    super::validate::Shipped::new("servicemonitor.schema.json", SCHEMA, "ServiceMonitor");

/// Labels of gen's monitoring objects: gen's own, then the catalog's
/// `alerting.prometheus_labels` (which the Prometheus selects on).
pub fn labels(model: &Model, svc: &ServiceModel) -> Value {
    let mut labels = serde_json::Map::new();
    if let Some(a) = &model.alerting {
        for (k, v) in &a.prometheus_labels {
            labels.insert(k.clone(), json!(v));
        }
    }
    labels.insert("app.kubernetes.io/name".into(), json!(svc.name));
    labels.insert("app.kubernetes.io/part-of".into(), json!(model.project));
    labels.insert("app.kubernetes.io/managed-by".into(), json!("gen"));
    Value::Object(labels)
}

/// The ServiceMonitor of one service, when its alerts read its metrics.
/// `values` are the chart values the Services are rendered from (the port's
/// name). The chart is installed with release name = service name.
pub fn service_monitor(
    model: &Model,
    svc: &ServiceModel,
    values: &Values,
) -> Result<Option<Value>, EmitError> {
    let Some(path) = svc.alerts.as_ref().and_then(|a| a.metrics_path.as_ref()) else {
        return Ok(None);
    };
    let obj = json!({
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "ServiceMonitor",
        "metadata": {
            "name": svc.name,
            "namespace": svc.namespace,
            "labels": labels(model, svc),
        },
        "spec": {
            "selector": {"matchLabels": {
                "app.kubernetes.io/name": svc.name,
                "app.kubernetes.io/instance": svc.name,
            }},
            "endpoints": [{
                "port": if values.service.metrics_port().is_some() {
                    METRICS_PORT_NAME
                } else {
                    values.service.port_name.as_str()
                },
                "path": path,
            }],
        },
    });
    SUBSET.check(
        &format!("monitoring/{}/{}.yaml", svc.namespace, svc.name),
        &obj,
    )?;
    Ok(Some(obj))
}
