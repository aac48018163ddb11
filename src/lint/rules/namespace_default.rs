use std::collections::BTreeMap;

use crate::lint::{Ctx, Hit, Rule, Scope, Severity};
use crate::model::ServiceModel;

/// Services in the `default` namespace (checkov CKV_K8S_21).
pub static RULE: Rule = Rule {
    id: "namespace-default",
    severity: Severity::Warning,
    scope: Scope::Workloads,
    summary: "service runs in the `default` namespace",
    what: "A service's namespace is `default`: set on the service, inherited \
from `defaults.namespace`, or taken from a `project` named `default`. The \
finding points at the value that puts it there; a finding on \
`defaults.namespace` or `project` lists every service that inherits it and \
leaves out the services that waive this rule.",
    why: "`default` is where everything lands that names no namespace: ad-hoc \
pods, forgotten test deployments, other tools' objects. Services there share \
its quotas, RBAC bindings and network policies with all of that, and no team \
owns the namespace, so per-team access and policy cannot be set. checkov \
reports the same as CKV_K8S_21.",
    example: "version: 1\nproject: shop\nservices:\n  web:\n    namespace: default # <-\n    image: ghcr.io/shop/web:1.0.0\n    port: 8080\n",
    fix: "Give the service a namespace of its own team or application \
(`namespace: web`), or set `defaults.namespace` for all services; declare it \
under `namespaces` when the catalog has that block.",
    passing: "version: 1\nproject: shop\nservices:\n  web:\n    namespace: web\n    image: ghcr.io/shop/web:1.0.0\n    port: 8080\n",
    params: &[],
    check,
};

fn check(cx: &Ctx, out: &mut Vec<Hit>) {
    report(
        cx,
        out,
        RULE.id,
        |ns| ns == "default",
        |_, who| {
            format!(
                "{who} in the `default` namespace, shared with everything that names no namespace"
            )
        },
    );
}

/// Where a service's namespace comes from: the pointer of the catalog value
/// that sets it (`/services/<name>/namespace`, `/defaults/namespace` or
/// `/project`).
pub(super) fn namespace_source(cx: &Ctx, s: &ServiceModel) -> String {
    let c = &cx.parsed.catalog;
    if c.services
        .get(&s.name)
        .is_some_and(|cs| cs.namespace.is_some())
    {
        super::svc_key(&s.name, "namespace")
    } else if c.defaults.as_ref().is_some_and(|d| d.namespace.is_some()) {
        "/defaults/namespace".to_owned()
    } else {
        "/project".to_owned()
    }
}

/// Report services whose namespace matches `bad`: one finding per service
/// that sets it itself, one finding per inherited source listing the
/// services (those waiving `rule` are left out, since the finding is not
/// inside them). `message` gets the namespace and "service `a` runs" or
/// "services `a`, `b` run".
pub(super) fn report(
    cx: &Ctx,
    out: &mut Vec<Hit>,
    rule: &str,
    bad: fn(&str) -> bool,
    message: fn(&str, &str) -> String,
) {
    let mut inherited: BTreeMap<String, (String, Vec<&str>)> = BTreeMap::new();
    for s in cx.model.services.iter().filter(|s| bad(&s.namespace)) {
        let at = namespace_source(cx, s);
        if at.starts_with("/services/") {
            out.push(Hit::at(at, message(&s.namespace, &who(&[&s.name]))));
        } else if !s.waivers.iter().any(|w| w == rule) {
            inherited
                .entry(at)
                .or_insert_with(|| (s.namespace.clone(), Vec::new()))
                .1
                .push(&s.name);
        }
    }
    for (at, (ns, names)) in inherited {
        let from = if at == "/project" {
            "the project name"
        } else {
            "`defaults.namespace`"
        };
        out.push(Hit::at(
            at,
            format!("{} (inherited from {from})", message(&ns, &who(&names))),
        ));
    }
}

/// "service `a` runs" or "services `a`, `b` run".
fn who(names: &[&str]) -> String {
    let list = names
        .iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ");
    if names.len() == 1 {
        format!("service {list} runs")
    } else {
        format!("services {list} run")
    }
}
