use crate::catalog::push_pointer;
use crate::lint::{Ctx, Hit, Rule, Scope, Severity};

/// An RBAC rule granting every verb, resource or group, or access to Secrets.
pub static RULE: Rule = Rule {
    id: "rbac-wildcard",
    severity: Severity::Warning,
    scope: Scope::Workloads,
    summary: "service account granted `*` or Secrets",
    what: "A rule of `service_account.rules` has `*` among its verbs, resources \
or API groups, or grants access to `secrets`.",
    why: "A pod's token is readable by anything running in the pod: a wildcard \
grants that to every present and future resource of the namespace, and \
reading Secrets hands over every credential stored beside the service.",
    example: "version: 1\nproject: shop\nservices:\n  discovery:\n    image: ghcr.io/shop/discovery:1.0.0\n    port: 8761\n    service_account:\n      rules:\n        - {resources: ['*'], verbs: [get, list]} # <-\n",
    fix: "List the resources and verbs the service uses (service discovery: \
`endpoints`, `services`, `pods` with `get`, `list`, `watch`), or waive the \
rule saying why it needs more.",
    passing: "version: 1\nproject: shop\nservices:\n  discovery:\n    image: ghcr.io/shop/discovery:1.0.0\n    port: 8761\n    service_account:\n      rules:\n        - {resources: [endpoints, services], verbs: [get, list, watch]}\n",
    params: &[],
    check,
};

fn check(cx: &Ctx, out: &mut Vec<Hit>) {
    for s in &cx.model.services {
        let rules = push_pointer(&super::svc_key(&s.name, "service_account"), "rules");
        for (i, r) in s.container.rules.iter().enumerate() {
            let at = push_pointer(&rules, &i.to_string());
            let groups = r.api_groups.as_deref().unwrap_or_default();
            for (key, list) in [
                ("verbs", r.verbs.as_slice()),
                ("resources", r.resources.as_slice()),
                ("api_groups", groups),
            ] {
                if let Some(j) = list.iter().position(|x| x == "*") {
                    out.push(Hit::at(
                        push_pointer(&push_pointer(&at, key), &j.to_string()),
                        format!("`{}` is granted every one of its {key}", s.name),
                    ));
                }
            }
            if let Some(j) = r.resources.iter().position(|x| x == "secrets") {
                out.push(Hit::at(
                    push_pointer(&push_pointer(&at, "resources"), &j.to_string()),
                    format!("`{}` is granted access to the namespace's Secrets", s.name),
                ));
            }
        }
    }
}
